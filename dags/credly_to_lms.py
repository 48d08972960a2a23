"""
### Credly -> LMS: external training and certification awards from Credly badges

The Docebo Connect *Credly to Docebo synchronization recipes* as one DAG. For every active row
of **Credly Integration Mappings**, the badges issued from its template in Credly reach the
learner's Docebo profile:

- *Import As External Training* true: a badge issued becomes an external training record
  (course name = the template, institute = EXTERNAL_TRAINING_INSTITUTE_NAME, date and expiry of
  the badge, link = the badge's URL). A badge replaced by one of the same template updates that
  record; a badge revoked, rejected or replaced by another template deletes it.
- *Certification code* set: a badge issued awards that certification with Credly's issue and
  expiry dates; a replacement updates the award; a revocation revokes it. An award already held
  is updated, never awarded twice.

The learner is found by the badge's e-mail; a badge without an LMS user is reported (log and
XCom summary), never sent. Badges this package issued (`lms_to_credly`: `issuer_earner_id` is
the LMS user id, or the badge is in the ledger) are skipped.

**CREDLY_INTEGRATION_MASTER** decides certifications only: with the LMS (`DOCEBO`) no
certification award is planned here (they flow LMS -> Credly); with `CREDLY` or empty they
are. External training runs whatever its value. Every run also refreshes the badge holders
table (`python -m credly_sync holders QUERY`).

**Schedule:** hourly; a run reads the badges changed (`updated_at`) since the `credly.badges`
watermark (less 15 minutes) up to the end of its data interval, plus every badge of the mapped
templates held by the same learners; a backfill run reads its own interval. The twin DAG
`credly_to_lms_weekly_reconcile` runs the full reconcile every week (default Sunday 03:00 UTC;
`CREDLY_SYNC_FULL_RECONCILE_CRON`, `CREDLY_SYNC_FULL_RECONCILE_TIMEZONE`). Credly documents no date
filter on issued badges, so the window is checked on every badge read.

**Params**
- `full_reconcile` (default false; true in the weekly twin): read every badge of the mapped
  templates and compare it with the LMS. Run it once after the first setup (the batch sync).
- `dry_run` (default false): plan and report in the log and the XCom summary, write nothing.

**What a run does**
1. `plan_credly_to_lms` pages through the badges, the LMS users (once), and the external training
   and certification awards of the learners involved, then journals the operations (keys name
   the badge and the target values, so nothing applied is planned again).
2. `apply_external_training` and `apply_certification_awards` send them with bounded
   concurrency (a slot of the Airflow pool `lms_api` per call in flight, 4 per task) and
   retries, each claiming the operations it sends (overlapping runs never send one twice). A
   retried create or award looks first, so no duplicate appears after a timeout or a killed run.
   A transient failure is sent again by the next run, up to 5 attempts, then
   `failed`; a refusal by the LMS is `rejected` at once. Either fails the task.
3. `mail_failure_digest` (runs even when an apply task failed; `fail_run_if_apply_failed`
   then keeps the run red) mails NOTIFICATION_MAIL_ID one message listing the operations
   newly failed or rejected, with their reasons; after fixing the cause,
   `python -m credly_sync journal retry --status failed` sends them again.

A rerun with nothing new writes nothing.

**Backfill** (the scheduler must be running; PostgreSQL recommended):
`airflow backfill create --dag-id credly_to_lms --from-date 2026-01-01 --to-date 2026-01-31`.
Each backfill run covers its own hour. To catch up in one run instead, trigger the DAG with
`{"full_reconcile": true}`.

**Reads:** integration settings, mappings, the issued-badge ledger.
**With `LMS=ALM`** (Adobe Learning Manager) nothing is written to the LMS: ALM shows Credly
badges through its own connector. The run still reads the badges of every active template and
refreshes the badge holders table.

**Connections:** `credly_default`, `docebo_default` (Docebo only), `credly_sync_warehouse`,
`smtp_default`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, CronDataIntervalTimetable, TriggerRule

from credly_sync.operators.apply import LMS_API_POOL, FailRunOperator
from credly_sync.operators.credly_to_lms import (
    ApplyCertificationAwardsOperator,
    ApplyExternalTrainingOperator,
    PlanCredlyToLmsOperator,
)
from credly_sync.operators.notifications import FailureDigestOperator
from credly_sync.planning.credly_to_lms import KINDS
from credly_sync.runs import full_reconcile_timetable, sync_params

for dag_id, schedule, full in (
    ("credly_to_lms", CronDataIntervalTimetable("@hourly", timezone="UTC"), False),
    ("credly_to_lms_weekly_reconcile", full_reconcile_timetable(), True),
):
    with DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        params=sync_params(full_reconcile=full),
        doc_md=__doc__,
        default_args={"owner": "credly-sync", "retries": 2, "retry_delay": timedelta(minutes=2)},
        tags=["credly-sync", "credly", "docebo", "external-training", "certifications"],
    ):
        apply = [
            # a pool slot per call in flight: the LMS sees at most LMS_API_POOL's slots at once
            ApplyExternalTrainingOperator(
                task_id="apply_external_training", max_workers=4, pool=LMS_API_POOL, pool_slots=4
            ),
            ApplyCertificationAwardsOperator(
                task_id="apply_certification_awards", max_workers=4, pool=LMS_API_POOL, pool_slots=4
            ),
        ]
        digest = FailureDigestOperator(
            task_id="mail_failure_digest", kinds=KINDS, trigger_rule=TriggerRule.ALL_DONE
        )
        PlanCredlyToLmsOperator(task_id="plan_credly_to_lms") >> apply >> digest
        apply >> FailRunOperator(task_id="fail_run_if_apply_failed")
