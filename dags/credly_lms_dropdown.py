"""
### Credly Badge Templates table -> LMS course dropdown

Keeps the course additional field named by the COURSE_ADDITIONAL_FIELD setting (a dropdown in
Docebo) equal to the active badge templates of the **Credly Badge Templates** lookup table, as
the Docebo Connect recipes *Synchronisation from Credly Lookup table to Docebo LMS* and
*Retrieve course additional field from Docebo LMS* do. Course admins pick a course's badge in
that dropdown; `lms_to_credly` issues the badge when the course is completed.

**Schedule:** whenever `credly_templates` updates the `credly_badge_templates` Asset, and every
5 minutes (UTC). No data interval is used: every run compares the whole table with the field.

**What a run does**
1. `plan_dropdown` creates the dropdown field if it is missing, reads its options and journals
   what differs: an option for each active template without one (an existing option with the
   template's name is adopted instead of duplicated), a new label for renamed templates, and the
   removal of options of archived, draft or deleted templates. Element ids are stored in the
   table (`dropdown_element_id`) and cleared for inactive templates.
2. `apply_dropdown` sends the journaled changes. A removed option resets the courses that used
   it to the field's default value; the courses stay completed. Failures keep their reason in
   the journal (`python -m credly_sync status`) and the next run plans again from what the LMS
   really holds, so nothing is applied twice.

A run with nothing to change makes no write call.

**Reads:** integration settings (COURSE_ADDITIONAL_FIELD), the template table.
**Connections:** `docebo_default`, `credly_sync_warehouse`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable

from credly_sync.assets import BADGE_TEMPLATES_TABLE
from credly_sync.operators.dropdown import ApplyCourseDropdownOperator, PlanCourseDropdownOperator

with DAG(
    dag_id="credly_lms_dropdown",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/5 * * * *", timezone="UTC"), assets=[BADGE_TEMPLATES_TABLE]
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    default_args={"owner": "credly-sync", "retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["credly-sync", "docebo", "templates"],
):
    PlanCourseDropdownOperator(task_id="plan_dropdown") >> ApplyCourseDropdownOperator(
        task_id="apply_dropdown"
    )
