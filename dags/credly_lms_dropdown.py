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

**Settings first.** Both tasks validate the integration settings before touching the LMS; with
any invalid setting the task fails listing every bad key and nothing is written
(`python -m credly_sync settings validate`).

**Guard against wiping the dropdown.** Removing an option resets every course that selected it,
so `plan_dropdown` fails, journaling and changing nothing, when the plan would
- remove any option while the Credly Badge Templates table is empty (never synced, or the
  warehouse connection points elsewhere: run `credly_templates` first), or
- leave the dropdown empty, or
- remove more than max(2, 20 %) of the existing options in one run.

The error names the counts. When the removal is intended (templates really were archived or
deleted in Credly), trigger the DAG with the param `allow_large_dropdown_cut` = true:
`{"allow_large_dropdown_cut": true}`. Scheduled runs keep it false.

**Params:** `allow_large_dropdown_cut` (default false), see above.
**Reads:** integration settings (COURSE_ADDITIONAL_FIELD), the template table.
**Connections:** `docebo_default`, `credly_sync_warehouse`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, Param

from credly_sync.assets import BADGE_TEMPLATES_TABLE
from credly_sync.operators.dropdown import ApplyCourseDropdownOperator, PlanCourseDropdownOperator
from credly_sync.planning.dropdown import ALLOW_LARGE_CUT_PARAM

with DAG(
    dag_id="credly_lms_dropdown",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/5 * * * *", timezone="UTC"), assets=[BADGE_TEMPLATES_TABLE]
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    params={
        ALLOW_LARGE_CUT_PARAM: Param(
            False,
            type="boolean",
            description="Let this run empty the dropdown or remove more than max(2, 20 %) of its options.",
        )
    },
    doc_md=__doc__,
    default_args={"owner": "credly-sync", "retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["credly-sync", "docebo", "templates"],
):
    PlanCourseDropdownOperator(task_id="plan_dropdown") >> ApplyCourseDropdownOperator(
        task_id="apply_dropdown"
    )
