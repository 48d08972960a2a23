"""
### Real time: webhook events from Credly and the LMS, applied within a minute

The webhook intake (the `credly_sync_webhooks` plugin, served by the Airflow API server at
`/credly-sync-intake/webhooks/<source>`) stores each event once in the warehouse's `event_inbox`
and records an Asset event; this DAG drains the inbox through **the same plans, journal and
apply operators as the batch DAGs** `lms_to_credly` and `credly_to_lms`, for the learners and
earners the events name. Docebo Connect calls these the "Event Dispatcher" recipes.

**Schedule:** when the intake records an event (Asset `credly_sync_event_inbox`), and every
minute in case a notification was lost; one run at a time, no catch-up.

**Trust:** webhook bodies are hints. A Credly event is fetched again by id with the
organisation's token and must carry its `organization_id`: an id Credly does not know, or
another organisation's event, is closed as `ignored` with the reason and changes nothing. A
Docebo event (course or learning plan completed, certification awarded / updated / revoked)
only names a learner: their enrollments and awards are read again from Docebo, so a forged
completion never mints a badge. An Adobe Learning Manager event (course, learning path or
certification completed, learner or `_BATCH` form) likewise only names a learner, whose
enrollments and user badges are read again from ALM. Credly template events are closed as `ignored`: the
`credly_templates` DAG applies template changes.

**What a run does**
1. `plan_lms_events` / `plan_credly_events` take the due events (a task with none is
   skipped, and its apply tasks with it), read what the batch run would read for those
   learners (everything since BATCH_SYNC_START_DATE), plan with the batch planners and journal
   the operations; then close the events as `processed`.
2. `issue_badges`, `revoke_badges`, `replace_badges`, `apply_external_training`,
   `apply_certification_awards`: the batch DAGs' apply operators, draining the journal
   (claims keep them from sending an operation a batch run is sending).

An event whose planning fails (an outage, a bad event) is tried again after 1, 2, 4, 8
minutes and closed as `failed` after 5 attempts with its reason, listed by
`python -m credly_sync status`; the other events go on. The hourly batch runs and the
weekly full reconcile remain the safety net for anything a lost or failed event was about.
Failed and rejected operations are mailed by the batch DAGs' failure digest.

**Connections:** `credly_sync_webhooks` (the secrets, read by the intake), `credly_default`,
`docebo_default` (or `alm_default` with the setting `LMS=ALM`: ALM webhooks are then read,
Docebo's closed as ignored), `credly_sync_warehouse`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable

from credly_sync.assets import WEBHOOK_INBOX
from credly_sync.operators.badges import IssueBadgesOperator, ReplaceBadgesOperator, RevokeBadgesOperator
from credly_sync.operators.credly_to_lms import (
    ApplyCertificationAwardsOperator,
    ApplyExternalTrainingOperator,
)
from credly_sync.operators.events import PlanCredlyEventsOperator, PlanLmsEventsOperator

with DAG(
    dag_id="credly_sync_events",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("* * * * *", timezone="UTC"), assets=[WEBHOOK_INBOX]
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    default_args={"owner": "credly-sync", "retries": 1, "retry_delay": timedelta(seconds=20)},
    tags=["credly-sync", "credly", "docebo", "alm", "webhooks"],
):
    PlanLmsEventsOperator(task_id="plan_lms_events") >> [
        IssueBadgesOperator(task_id="issue_badges", max_workers=8),
        RevokeBadgesOperator(task_id="revoke_badges"),
        ReplaceBadgesOperator(task_id="replace_badges"),
    ]
    PlanCredlyEventsOperator(task_id="plan_credly_events") >> [
        ApplyExternalTrainingOperator(task_id="apply_external_training"),
        ApplyCertificationAwardsOperator(task_id="apply_certification_awards"),
    ]
