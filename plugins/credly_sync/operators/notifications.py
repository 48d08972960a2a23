"""Mail the admin (NOTIFICATION_MAIL_ID) the journaled notices."""

from __future__ import annotations

from typing import Any

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk import BaseOperator, Context
from sqlalchemy import Engine

from credly_sync.notices import template_deletion_notice
from credly_sync.planning.templates import NOTICE_KIND
from credly_sync.settings import load_settings
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, warehouse_engine
from credly_sync.warehouse.journal import (
    JournalEntry,
    mark_applied,
    mark_failed,
    open_operations,
    start_attempt,
)

DEFAULT_FROM = "credly-sync@localhost"


class TemplateDeletionNoticeOperator(BaseOperator):
    """Send one e-mail listing every deleted template not yet reported, with its deactivated mappings.

    A notice stays in the journal until the mail is accepted by the SMTP server, so a failed
    send is retried by the next run (and by task retries) and nothing is lost.

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

    def execute(self, context: Context) -> dict[str, Any]:
        engine = warehouse_engine(self.warehouse_conn_id)
        notices = open_operations(engine, [NOTICE_KIND])
        if not notices:
            self.log.info("no template deletion to report")
            return {"sent": 0, "templates": 0}
        recipient = load_settings(engine).notification_mail_id
        subject, body = template_deletion_notice([notice.payload for notice in notices])
        for notice in notices:
            start_attempt(engine, notice.op_key)
        try:
            with SmtpHook(smtp_conn_id=self.smtp_conn_id) as smtp:
                smtp.send_email_smtp(
                    to=recipient,
                    subject=subject,
                    html_content=body,
                    from_email=smtp.from_email or DEFAULT_FROM,
                )
        except Exception as exc:
            self._finish(engine, notices, error=f"mail to {recipient} failed: {type(exc).__name__}: {exc}")
            raise
        self._finish(engine, notices, error=None)
        self.log.info("mailed %s about %d deleted template(s)", recipient, len(notices))
        return {"sent": 1, "templates": len(notices)}

    @staticmethod
    def _finish(engine: Engine, notices: list[JournalEntry], *, error: str | None) -> None:
        with engine.begin() as connection:
            for notice in notices:
                if error is None:
                    mark_applied(connection, notice.op_key)
                else:
                    mark_failed(connection, notice.op_key, error)
