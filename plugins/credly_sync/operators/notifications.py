"""Mail the admin (NOTIFICATION_MAIL_ID) the journaled notices and the failure digest."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException

from credly_sync.notices import failure_digest, template_deletion_notice
from credly_sync.planning.templates import NOTICE_KIND
from credly_sync.runs import is_dry_run
from credly_sync.settings import load_settings
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, warehouse_engine
from credly_sync.warehouse.journal import (
    DEFAULT_MAX_ATTEMPTS,
    Outcome,
    claim_operations,
    claim_unreported,
    claimable_keys,
    finish_report,
    record_outcomes,
)

DEFAULT_FROM = "credly-sync@localhost"
CLAIM_TTL = timedelta(minutes=10)  # far longer than one SMTP exchange


class _MailOperator(BaseOperator):
    """Shared by the operators that mail NOTIFICATION_MAIL_ID through ``smtp_conn_id``.

    :param smtp_conn_id: the SMTP connection (``from_email`` in its extra, else ``credly-sync@localhost``).
    :param warehouse_conn_id: the warehouse SQL connection.
    """

    template_fields = ("smtp_conn_id", "warehouse_conn_id")

    def __init__(
        self,
        *,
        smtp_conn_id: str = SmtpHook.default_conn_name,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.smtp_conn_id = smtp_conn_id
        self.warehouse_conn_id = warehouse_conn_id

    def send(self, to: str, subject: str, html: str) -> None:
        """Hand one message to the SMTP server; raises unless the server accepted it."""
        with SmtpHook(smtp_conn_id=self.smtp_conn_id) as smtp:
            smtp.send_email_smtp(
                to=to, subject=subject, html_content=html, from_email=smtp.from_email or DEFAULT_FROM
            )

    def claimant(self, context: Context) -> str:
        return f"{self.task_id}/{context.get('run_id')}#{uuid.uuid4().hex[:12]}"


class TemplateDeletionNoticeOperator(_MailOperator):
    """Send one e-mail listing every deleted template not yet reported, with its deactivated mappings.

    A notice stays pending in the journal until the mail is accepted by the SMTP server, so a
    failed send is retried by the task's retries and by the next run (``failed`` after
    ``DEFAULT_MAX_ATTEMPTS`` refusals, then re-opened with ``python -m credly_sync journal retry``).
    """

    def execute(self, context: Context) -> dict[str, Any]:
        engine = warehouse_engine(self.warehouse_conn_id)
        claimant = self.claimant(context)
        notices = claim_operations(engine, claimable_keys(engine, [NOTICE_KIND]), claimant, ttl=CLAIM_TTL)
        if not notices:
            self.log.info("no template deletion to report")
            return {"sent": 0, "templates": 0}
        recipient = load_settings(engine).notification_mail_id
        subject, body = template_deletion_notice([notice.payload for notice in notices])
        try:
            self.send(recipient, subject, body)
        except Exception as exc:
            error = f"mail to {recipient} failed: {type(exc).__name__}: {exc}"
            outcomes = [
                Outcome(
                    n.op_key, "failed" if n.attempts + 1 >= DEFAULT_MAX_ATTEMPTS else "pending", None, error
                )
                for n in notices
            ]
            with engine.begin() as connection:
                record_outcomes(connection, outcomes, claimant=claimant)
            raise
        with engine.begin() as connection:
            record_outcomes(connection, [Outcome(n.op_key, "applied") for n in notices], claimant=claimant)
        self.log.info("mailed %s about %d deleted template(s)", recipient, len(notices))
        return {"sent": 1, "templates": len(notices)}


class FailureDigestOperator(_MailOperator):
    """Mail one digest of the failed and rejected operations (of ``kinds``) not yet reported.

    Put it last in a sync DAG with ``trigger_rule="all_done"``, so it runs when an apply task
    failed. Operations are marked reported only once the SMTP server accepted the mail: a refused
    mail leaves them for the task's retries and the next run. No mail when nothing is new. The
    mail lists key, kind, target and reason (it goes to the admin); the XCom holds counts only.

    :param kinds: the operation kinds of this DAG (None = every kind).
    """

    def __init__(self, *, kinds: Sequence[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kinds = list(kinds) if kinds is not None else None

    def execute(self, context: Context) -> dict[str, Any]:
        if is_dry_run(context):
            raise AirflowSkipException("dry run: nothing is mailed")
        engine = warehouse_engine(self.warehouse_conn_id)
        claimant = self.claimant(context)
        problems = claim_unreported(engine, self.kinds, claimant, ttl=CLAIM_TTL)
        if not problems:
            self.log.info("no new failed or rejected operation to report")
            return {"sent": 0, "failed": 0, "rejected": 0}
        keys = [entry.op_key for entry in problems]
        try:
            recipient = load_settings(engine).notification_mail_id
            subject, body = failure_digest(problems, str(context.get("run_id")))
            self.send(recipient, subject, body)
        except BaseException:
            finish_report(engine, keys, claimant, reported=False)
            raise
        finish_report(engine, keys, claimant, reported=True)
        counts = Counter(entry.status for entry in problems)
        self.log.info("mailed the admin a digest of %d operation(s): %s", len(problems), dict(counts))
        return {"sent": 1, "failed": counts["failed"], "rejected": counts["rejected"]}
