"""Read-only summaries of the warehouse for the CLI and the run reports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from credly_sync.warehouse.journal import PROBLEM_STATUSES
from credly_sync.warehouse.schema import event_inbox, metadata, operation_journal


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per warehouse table."""
    with engine.connect() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in sorted(metadata.tables.items())
        }


def journal_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """Journal rows per (kind, status)."""
    journal = operation_journal
    query = select(journal.c.kind, journal.c.status, func.count()).group_by(journal.c.kind, journal.c.status)
    with engine.connect() as connection:
        return {(kind, status): count for kind, status, count in connection.execute(query)}


def journal_status_counts(engine: Engine) -> dict[str, int]:
    """Journal rows per status."""
    journal = operation_journal
    query = select(journal.c.status, func.count()).group_by(journal.c.status)
    with engine.connect() as connection:
        return dict(connection.execute(query).all())


def journal_failures(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent failed and rejected operations with their reasons."""
    journal = operation_journal
    query = (
        select(
            journal.c.op_key,
            journal.c.kind,
            journal.c.target,
            journal.c.status,
            journal.c.attempts,
            journal.c.last_error,
            journal.c.updated_at,
        )
        .where(journal.c.status.in_(PROBLEM_STATUSES))
        .order_by(journal.c.updated_at.desc(), journal.c.op_key)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def inbox_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """Inbox rows per (source, status)."""
    inbox = event_inbox
    query = select(inbox.c.source, inbox.c.status, func.count()).group_by(inbox.c.source, inbox.c.status)
    with engine.connect() as connection:
        return {(source, status): count for source, status, count in connection.execute(query)}


def inbox_failures(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent events closed as failed, with their reasons."""
    inbox = event_inbox
    query = (
        select(
            inbox.c.source,
            inbox.c.event_id,
            inbox.c.event_type,
            inbox.c.attempts,
            inbox.c.last_error,
            inbox.c.processed_at,
        )
        .where(inbox.c.status == "failed")
        .order_by(inbox.c.processed_at.desc(), inbox.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
