"""What a DAG run did, in a few lines: its state, the figures its tasks reported (XCom), the
operations it journaled by kind and outcome (the warehouse, as the "Credly sync" page counts
them), and the mail it sent (the SMTP sink's files)."""

from __future__ import annotations

import contextlib
import email
import email.policy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from credly_sync.warehouse.monitoring import run_operation_counts
from credly_sync.warehouse.status import inbox_counts, journal_status_counts
from scripts.demo.runs import RunRecord

# task id -> a line from the figures it pushed (a line whose figures are missing is left out)
FIGURES = {
    "sync_template_table": "templates: {retrieved} read, {inserted} new, {updated} changed, "
    "{deleted} deleted",
    "plan_badges": "read {achievements} completions and certification awards",
    "plan_credly_to_lms": "read {badges} Credly badges, {lms_users_matched} matched to LMS users",
    "plan_lms_events": "webhook events: {events} due, {processed} processed, "
    "{closed_failed} closed as failed",
}
INDENT = "     "


@dataclass(frozen=True)
class Mail:
    path: Path
    to: str
    subject: str


def read_mail(paths: Iterable[Path]) -> list[Mail]:
    mails = []
    for path in sorted(paths):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        mails.append(Mail(path, str(message.get("To", "")), str(message.get("Subject", ""))))
    return mails


def describe_run(
    record: RunRecord,
    operations: Mapping[tuple[str, str], int],
    mails: Iterable[Mail] = (),
    *,
    root: Path | None = None,
) -> list[str]:
    """The lines for one run: a heading, then figures, operations and mail, indented (a run
    that failed: the heading only, :func:`failure_lines` tells the rest)."""
    conf = " " + " ".join(f"{key}={value}" for key, value in record.conf.items()) if record.conf else ""
    if record.state != "success":
        return [f"{record.dag_id}{conf}: FAILED after {record.seconds:.0f} s ({record.state})"]
    lines = [f"{record.dag_id}{conf}: ok in {record.seconds:.0f} s"]
    for task_id, template in FIGURES.items():
        figures = record.figures.get(task_id)
        if figures:
            with contextlib.suppress(KeyError, ValueError):  # figures the operator no longer reports
                lines.append(INDENT + template.format_map(figures))
    lines.append(INDENT + operations_line(operations))
    lines.extend(INDENT + line for line in mail_lines(list(mails), root))
    return lines


def operations_line(operations: Mapping[tuple[str, str], int]) -> str:
    """``operations: issue applied 8, issue rejected 2`` (kinds in order, then outcomes)."""
    if not operations:
        return "operations: none planned (nothing to change)"
    parts = [f"{kind} {status} {count}" for (kind, status), count in sorted(operations.items()) if count]
    return "operations: " + ", ".join(parts)


def mail_lines(mails: list[Mail], root: Path | None = None) -> list[str]:
    lines = []
    for mail in mails:
        path = mail.path.relative_to(root) if root and mail.path.is_relative_to(root) else mail.path
        lines.append(f"mail to {mail.to}: {mail.subject!r} -> {path}")
    return lines


def run_operations(engine: Engine, run_id: str | None) -> dict[tuple[str, str], int]:
    """The operations the run journaled (it planned them last), by (kind, status)."""
    if run_id is None:
        return {}
    return run_operation_counts(engine, [run_id]).get(run_id, {})


def warehouse_lines(engine: Engine) -> list[str]:
    """The journal and inbox of the whole warehouse, one line each."""
    journal = journal_status_counts(engine)
    total = sum(journal.values())
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(journal.items()))
    inbox: dict[str, int] = {}
    for (_, status), count in inbox_counts(engine).items():
        inbox[status] = inbox.get(status, 0) + count
    events = ", ".join(f"{count} {status}" for status, count in sorted(inbox.items())) or "empty"
    return [f"journal: {total} operations ({statuses or 'none'})", f"webhook inbox: {events}"]


def failure_lines(record: RunRecord, log_lines: list[str], log_path: Any) -> list[str]:
    """What to show when a run failed: the failing tasks, the log lines that say why, the log."""
    lines = [f"failed task(s) of {record.dag_id}: {', '.join(record.failed_tasks) or 'none recorded'}"]
    lines.append("last relevant log lines:")
    lines.extend(f"  {line}" for line in log_lines)
    lines.append(f"full log: {log_path}")
    return lines
