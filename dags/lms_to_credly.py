"""
### LMS -> Credly: issue, revoke and replace badges

The Docebo Connect *Docebo to Credly synchronization recipes* as one DAG. A learner earns a
Credly badge by completing a course whose course additional field (COURSE_ADDITIONAL_FIELD,
kept by `credly_lms_dropdown`) selects a badge template, by completing a learning plan mapped in
**Credly Integration Mappings**, or by being awarded a certification whose code is mapped there.
Only completions on or after BATCH_SYNC_START_DATE count.

**Schedule:** hourly. A run reads from where the last one stopped (the streams' watermarks in
`sync_watermarks`, less 15 minutes of overlap) to the end of its data interval, so hours missed
while the DAG was paused, the scheduler was down or a run failed are read by the next run. A
backfill run reads its own interval and leaves the watermarks alone. The twin DAG
`lms_to_credly_weekly_reconcile` runs the full reconcile every week (default Sunday 03:00 UTC;
set `CREDLY_SYNC_FULL_RECONCILE_CRON` and `CREDLY_SYNC_FULL_RECONCILE_TIMEZONE`), catching
completions recorded late, resets and changes made by hand in Credly. Filters the LMS may
ignore (completion dates, learning-plan status) are checked again on every row, and Docebo's
empty `0000-00-00` dates count as no date.

**CREDLY_INTEGRATION_MASTER** decides certifications only: with `CREDLY`, certification awards
are not read here (they flow Credly -> LMS in `credly_to_lms`); with `DOCEBO` or empty they
are. Course and learning-plan badges are issued whatever its value.

**Params**
- `full_reconcile` (default false; true in the weekly twin): compare everything since
  BATCH_SYNC_START_DATE with every badge of the templates involved in Credly. Run it once after
  the first setup (the batch sync); the weekly twin runs it after that.
- `dry_run` (default false): plan and report in the log and XCom, write nothing.
- `allow_mass_revocation` (default false): a plan that would revoke more than max(10, 2 %) of
  the badges held stops before anything is journaled, with the count in the error. Check the
  mappings and SYNC_REVOCATION; if the revocations are right, trigger with this param.

**What a run does**
1. `plan_badges` reads completions, learning plan completions and certification awards page by
   page, and the badges already held (the ledger on incremental runs; Credly on a full
   reconcile), then journals: *issue* (learner holds no badge of the template; issued at the
   completion time, `issuer_earner_id` = LMS user id, evidence titled EVIDENCE_TITLE; expiry:
   the certification's own, none for an "always valid" one, today +
   CREDLY_DEFAULT_EXPIRATION_DAYS for courses and learning plans), *revoke* (SYNC_REVOCATION
   true and the run read the award as revoked or the completion as reset; a full reconcile
   reads every enrollment of the mapped objects; only badges this package issued: in the
   ledger, or carrying the learner's LMS id *and* e-mail) and *replace* (a certification
   renewed or its expiry changed; of several awards the latest counts; Credly keeps the
   history). Open operations this plan no longer makes (a completion restored, revocation
   switched off) are `superseded` and never sent. Awards that came from Credly are not read
   back. Learners without a first or last name or with an invalid e-mail are reported in the
   log (LMS ids and reasons in the `summary` XCom), never issued; revoking needs neither. A
   mapping row with a bad id is skipped and named in the log.
2. `issue_badges` (mapped over chunks of the journal), `revoke_badges`, `replace_badges` apply
   the journal with bounded concurrency: each takes a slot of the Airflow pool `credly_api` per
   call it may have in flight (8 for an issue task, 4 otherwise), so all of them together, across
   runs, stay within the pool's slots (16 by default); a 429 from Credly holds back every worker
   of the task for its Retry-After. Each task claims the operations it sends, so
   overlapping runs (a backfill) never send one twice. A retried issue looks the badge up
   first; a duplicate is "already issued". A transient failure (outage, timeout) is sent again
   by the task's retries and the next run, up to 5 attempts, then `failed`; a refusal (archived
   template, invalid e-mail) is `rejected` at once and not sent again. The task fails so the
   run shows red. A 401 stops the task: fix the token of `credly_default`.
3. `mail_failure_digest` (runs even when an apply task failed; `fail_run_if_apply_failed`
   then keeps the run red) mails NOTIFICATION_MAIL_ID one message listing the operations
   newly failed or rejected, with their reasons. Fix the cause, then
   `python -m credly_sync journal retry --status failed` (or `--kind issue`, or a key) sends
   them again; `python -m credly_sync status` lists them.

A rerun with nothing new writes nothing.

**Backfill** from a start date (the scheduler must be running; PostgreSQL recommended):
`airflow backfill create --dag-id lms_to_credly --from-date 2026-01-01 --to-date 2026-01-31`.
Each backfill run covers its own hour, so every completion is processed once.

**The LMS** is the one the setting `LMS` names: `DOCEBO` (default; the three routes above) or
`ALM` (Adobe Learning Manager: a learner's user badge of an ALM badge that names a Credly
template through badge.csv, or a completion of the course, learning path or certification
carrying it, becomes that Credly badge, issued at `dateAchieved`, with the same ledger,
revocation and check-before-issue rules; a Retired badge or an inactive template is reported in
the log and in `summary.lms_problems`). See the README, "Using Adobe Learning Manager".

**Connections:** `docebo_default` (or `alm_default` with `LMS=ALM`), `credly_default`,
`credly_sync_warehouse`, `smtp_default`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, CronDataIntervalTimetable, TriggerRule

from credly_sync.operators.apply import CREDLY_API_POOL, FailRunOperator
from credly_sync.operators.badges import IssueBadgesOperator, ReplaceBadgesOperator, RevokeBadgesOperator
from credly_sync.operators.lms_to_credly import PlanLmsToCredlyOperator
from credly_sync.operators.notifications import FailureDigestOperator
from credly_sync.planning.lms_to_credly import ISSUE, REPLACE, REVOKE
from credly_sync.runs import allow_mass_revocation_param, full_reconcile_timetable, sync_params

for dag_id, schedule, full in (
    ("lms_to_credly", CronDataIntervalTimetable("@hourly", timezone="UTC"), False),
    ("lms_to_credly_weekly_reconcile", full_reconcile_timetable(), True),
):
    with DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        params={**sync_params(full_reconcile=full), **allow_mass_revocation_param()},
        doc_md=__doc__,
        default_args={"owner": "credly-sync", "retries": 2, "retry_delay": timedelta(minutes=2)},
        tags=["credly-sync", "credly", "docebo", "alm", "badges"],
    ):
        plan = PlanLmsToCredlyOperator(task_id="plan_badges")
        # a pool slot per call in flight: every apply task of every run shares CREDLY_API_POOL
        issue = IssueBadgesOperator.partial(
            task_id="issue_badges", max_workers=8, pool=CREDLY_API_POOL, pool_slots=8
        ).expand(partition=plan.output)
        apply = [
            issue,
            RevokeBadgesOperator(task_id="revoke_badges", max_workers=4, pool=CREDLY_API_POOL, pool_slots=4),
            ReplaceBadgesOperator(
                task_id="replace_badges", max_workers=4, pool=CREDLY_API_POOL, pool_slots=4
            ),
        ]
        digest = FailureDigestOperator(
            task_id="mail_failure_digest", kinds=(ISSUE, REPLACE, REVOKE), trigger_rule=TriggerRule.ALL_DONE
        )
        plan >> apply >> digest
        apply >> FailRunOperator(task_id="fail_run_if_apply_failed")
