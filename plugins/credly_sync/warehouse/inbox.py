"""The webhook inbox (``event_inbox``): the intake stores each event once by (source, id); the
event DAG takes the due ones, and closes each as ``processed``, ``ignored`` (verified and found
to need nothing, or not genuine: the reason is kept) or, after repeated failures, ``failed``.

Statuses (``schema.INBOX_STATUSES``): ``received`` is open. A failed attempt keeps the event
``received`` with its reason and a growing delay before the next try (``next_attempt_at``);
at ``max_attempts`` it is closed as ``failed`` and listed by ``python -m credly_sync status``.
The batch syncs stay the safety net: whatever a failed event was about, they apply it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from credly_sync.warehouse.schema import event_inbox, utcnow

OPEN_STATUS = "received"
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_BASE = timedelta(minutes=1)  # then 2, 4, 8 minutes: an outage does not burn attempts
MAX_RETRY_DELAY = timedelta(minutes=30)


@dataclass(frozen=True)
class InboxEvent:
    """One event as the intake stores it: ``payload`` is the event alone (one Docebo payload
    with its message's common fields, or Credly's slim body)."""

    source: str
    event_id: str
    event_type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class StoredEvent:
    id: int
    source: str
    event_id: str
    event_type: str | None
    payload: dict[str, Any]
    attempts: int


def store_events(connection: Connection, events: Sequence[InboxEvent]) -> int:
    """Insert the events not stored yet (one statement; a duplicate delivery inserts nothing);
    returns how many were new."""
    if not events:
        return 0
    rows = [
        {
            "source": e.source,
            "event_id": e.event_id,
            "event_type": e.event_type,
            "payload": e.payload,
            "status": OPEN_STATUS,
            "attempts": 0,
            "received_at": utcnow(),
        }
        for e in events
    ]
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(event_inbox).on_conflict_do_nothing(
            index_elements=["source", "event_id"]
        )
    elif dialect == "sqlite":
        statement = sqlite.insert(event_inbox).on_conflict_do_nothing(index_elements=["source", "event_id"])
    else:  # pragma: no cover - the warehouse runs on PostgreSQL or SQLite
        raise NotImplementedError(f"no insert-if-absent for {dialect}")
    # RETURNING lists only the rows inserted (PostgreSQL, SQLite >= 3.35), duplicates left out
    return len(connection.execute(statement.returning(event_inbox.c.id), rows).all())


def due_events(
    engine: Engine, sources: Iterable[str], *, limit: int, now: datetime | None = None
) -> list[StoredEvent]:
    """Open events of these sources whose next attempt is due, oldest first."""
    now = now or utcnow()
    inbox = event_inbox
    query = (
        select(inbox)
        .where(
            inbox.c.source.in_(list(sources)),
            inbox.c.status == OPEN_STATUS,
            or_(inbox.c.next_attempt_at.is_(None), inbox.c.next_attempt_at <= now),
        )
        .order_by(inbox.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [
            StoredEvent(r.id, r.source, r.event_id, r.event_type, r.payload, r.attempts)
            for r in connection.execute(query)
        ]


def mark_processed(engine: Engine, ids: Iterable[int]) -> None:
    """Close events whose operations are journaled (the apply steps send them)."""
    _close(engine, {i: None for i in ids}, "processed")


def mark_ignored(engine: Engine, reasons: Mapping[int, str]) -> None:
    """Close events that need nothing (or are not genuine), each with its reason."""
    _close(engine, reasons, "ignored")


def _close(engine: Engine, reasons: Mapping[int, str | None], status: str) -> None:
    if not reasons:
        return
    now = utcnow()
    with engine.begin() as connection:
        for event_id, reason in reasons.items():
            connection.execute(
                event_inbox.update()
                .where(event_inbox.c.id == event_id, event_inbox.c.status == OPEN_STATUS)
                .values(status=status, last_error=reason, processed_at=now, next_attempt_at=None)
            )


def record_failure(
    engine: Engine,
    events: Iterable[StoredEvent],
    reason: str,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    retry_base: timedelta = DEFAULT_RETRY_BASE,
) -> list[int]:
    """Count a failed attempt on each event: due again after ``retry_base * 2 ** (n - 1)``
    (capped), or closed as ``failed`` at ``max_attempts``. Returns the ids closed as failed."""
    now = utcnow()
    failed = []
    with engine.begin() as connection:
        for event in events:
            attempts = event.attempts + 1
            values: dict[str, Any] = {"attempts": attempts, "last_error": reason}
            if attempts >= max_attempts:
                values.update(
                    status="failed",
                    processed_at=now,
                    next_attempt_at=None,
                    last_error=f"{reason} (gave up after {attempts} attempts)",
                )
                failed.append(event.id)
            else:
                values["next_attempt_at"] = now + min(retry_base * 2 ** (attempts - 1), MAX_RETRY_DELAY)
            connection.execute(
                event_inbox.update()
                .where(event_inbox.c.id == event.id, event_inbox.c.status == OPEN_STATUS)
                .values(**values)
            )
    return failed
