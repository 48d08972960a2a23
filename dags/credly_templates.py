"""
### Credly badge templates -> lookup table

Mirrors every Credly badge template into the **Credly Badge Templates** lookup table
(`credly_badge_templates` in the warehouse), as the Docebo Connect recipe
*Synchronisation from Credly to Lookup table* does.

**Schedule:** daily at 02:00 America/Los_Angeles; trigger it by hand after changing templates
in Credly. No data interval is used: every run reads all templates.

**What a run does**
1. `sync_template_table` first validates the integration settings: with any invalid setting the
   task fails, listing every bad key, before Credly is read or anything is written (fix them with
   `python -m credly_sync settings validate` / `settings set`). It then pages through all
   templates (`credly_default`) and, in one warehouse transaction: inserts new templates; updates
   renamed ones; sets `is_active` false for archived (and draft) templates and true again when
   un-archived; deletes rows of templates gone from Credly and deactivates every mapping that
   used them. Names must be unique: the first template retrieved keeps a name, the rest are
   skipped and listed in the log and in the XCom summary.
   Updates the `credly_badge_templates` Asset, which triggers `credly_lms_dropdown`.

   **Deletion is confirmed one by one.** A listing can miss a template (paging over a list that
   changes meanwhile, a page-size cap), so a template absent from it is looked up with
   `GET /badge_templates/{id}`. Only a **404** deletes it (row removed, mappings deactivated,
   mail). A 200 keeps it, with the name and state of that answer (`kept_after_lookup` in the
   summary). Any other failure (5xx or timeout after retries, a malformed answer) leaves the row
   and its mappings exactly as they were and is reported in the log and under
   `unconfirmed_deletions` in the XCom summary; the run still succeeds and the next run asks
   again. A 401/403 fails the task before anything is written: fix the `credly_default` token.
2. `mail_deletion_notices` mails NOTIFICATION_MAIL_ID (`smtp_default`) one message listing the
   deleted templates and the deactivated mappings. Notices wait in the operations journal until
   the SMTP server accepts them: a failed mail is retried by the task's retries and by the next run.

**Reads:** integration settings (NOTIFICATION_MAIL_ID), the mappings table.
**Connections:** `credly_default`, `credly_sync_warehouse`, `smtp_default`.
**Check:** `python -m credly_sync status` shows table counts and journal failures.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, CronTriggerTimetable

from credly_sync.assets import BADGE_TEMPLATES_TABLE
from credly_sync.operators.notifications import TemplateDeletionNoticeOperator
from credly_sync.operators.templates import SyncBadgeTemplatesOperator

with DAG(
    dag_id="credly_templates",
    schedule=CronTriggerTimetable("0 2 * * *", timezone="America/Los_Angeles"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    default_args={"owner": "credly-sync", "retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["credly-sync", "credly", "templates"],
):
    sync_template_table = SyncBadgeTemplatesOperator(
        task_id="sync_template_table", outlets=[BADGE_TEMPLATES_TABLE]
    )
    mail_deletion_notices = TemplateDeletionNoticeOperator(task_id="mail_deletion_notices")
    sync_template_table >> mail_deletion_notices
