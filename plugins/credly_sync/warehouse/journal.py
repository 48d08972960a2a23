"""The operations journal: planned operations are written here, under a deterministic key,
before anything is sent; apply steps drain it and record each outcome.

An operation already ``applied`` or ``skipped`` is never planned again under the same key, so
a rerun after a crash resumes where it stopped instead of repeating what was done.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from credly_sync.warehouse.schema import operation_journal, utcnow

OPEN_STATUSES = ("pending", "failed")
# Keys per ``IN (...)`` look-up: PostgreSQL takes at most 65,535 bound parameters per statement
# (SQLite 32,766 by default), and a batch sync journals hundreds of thousands of operations.
LOOKUP_CHUNK = 10_000


@dataclass(frozen=True)
class Operation:
    """One planned change: ``kind`` (issue, dropdown_add, ...), whom it targets, and its data."""

    op_key: str
    kind: str
    target: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JournalEntry:
    op_key: str
    kind: str
    target: str
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None


def record_operations(connection: Connection, operations: Iterable[Operation], dag_run_id: str | None) -> int:
    """Journal operations not yet journaled; refresh the payload of open ones. Returns how many are new."""
    journal = operation_journal
    operations = list(operations)
    keys = [op.op_key for op in operations]
    existing: dict[str, str] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        query = select(journal.c.op_key, journal.c.status).where(journal.c.op_key.in_(chunk))
        existing.update({row.op_key: row.status for row in connection.execute(query)})
    new = [op for op in operations if op.op_key not in existing]
    if new:
        connection.execute(
            journal.insert(),
            [
                {
                    "op_key": op.op_key,
                    "kind": op.kind,
                    "target": op.target,
                    "payload": op.payload,
                    "status": "pending",
                    "dag_run_id": dag_run_id,
                }
                for op in new
            ],
        )
    for op in operations:
        if existing.get(op.op_key) in OPEN_STATUSES:
            connection.execute(
                journal.update()
                .where(journal.c.op_key == op.op_key)
                .values(payload=op.payload, dag_run_id=dag_run_id, updated_at=utcnow())
            )
    return len(new)


def open_operations(engine: Engine, kinds: Sequence[str]) -> list[JournalEntry]:
    """Pending and failed operations of the given kinds, oldest first."""
    journal = operation_journal
    query = (
        select(journal)
        .where(journal.c.kind.in_(kinds), journal.c.status.in_(OPEN_STATUSES))
        .order_by(journal.c.created_at, journal.c.op_key)
    )
    with engine.connect() as connection:
        return [_entry(r) for r in connection.execute(query)]


def open_operation_keys(engine: Engine, kinds: Sequence[str]) -> list[str]:
    """The keys of :func:`open_operations`, in the same order, without loading any payload."""
    journal = operation_journal
    query = (
        select(journal.c.op_key)
        .where(journal.c.kind.in_(kinds), journal.c.status.in_(OPEN_STATUSES))
        .order_by(journal.c.created_at, journal.c.op_key)
    )
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def operations_by_key(engine: Engine, op_keys: Sequence[str]) -> list[JournalEntry]:
    """The journal entries of these keys (those that exist), in the order of ``op_keys``."""
    journal = operation_journal
    found: dict[str, JournalEntry] = {}
    with engine.connect() as connection:
        for start in range(0, len(op_keys), LOOKUP_CHUNK):
            chunk = list(op_keys[start : start + LOOKUP_CHUNK])
            for row in connection.execute(select(journal).where(journal.c.op_key.in_(chunk))):
                found[row.op_key] = _entry(row)
    return [found[key] for key in op_keys if key in found]


def _entry(row: Any) -> JournalEntry:
    return JournalEntry(
        row.op_key, row.kind, row.target, row.payload, row.status, row.attempts, row.last_error
    )


def start_attempt(engine: Engine, op_key: str) -> None:
    """Count an attempt before the call is sent: after a crash, ``attempts > 0`` on an open
    operation means an earlier call may have taken effect, so the apply step looks first."""
    journal = operation_journal
    with engine.begin() as connection:
        connection.execute(
            journal.update()
            .where(journal.c.op_key == op_key)
            .values(attempts=journal.c.attempts + 1, updated_at=utcnow())
        )


@dataclass(frozen=True)
class Outcome:
    """How one operation ended: ``applied`` (with its result), ``skipped`` or ``failed`` (with why)."""

    op_key: str
    status: str
    result: dict[str, Any] | None = None
    last_error: str | None = None


def record_outcomes(connection: Connection, outcomes: Sequence[Outcome]) -> None:
    """Close many operations with one statement (executemany)."""
    if not outcomes:
        return
    journal = operation_journal
    statement = (
        journal.update()
        .where(journal.c.op_key == bindparam("outcome_key"))
        .values(
            status=bindparam("outcome_status"),
            result=bindparam("outcome_result", type_=journal.c.result.type),
            last_error=bindparam("outcome_error"),
            updated_at=bindparam("outcome_at", type_=journal.c.updated_at.type),
        )
    )
    now = utcnow()
    connection.execute(
        statement,
        [
            {
                "outcome_key": o.op_key,
                "outcome_status": o.status,
                "outcome_result": o.result,
                "outcome_error": o.last_error,
                "outcome_at": now,
            }
            for o in outcomes
        ],
    )


def mark_applied(connection: Connection, op_key: str, result: dict[str, Any] | None = None) -> None:
    record_outcomes(connection, [Outcome(op_key, "applied", result=result)])


def mark_skipped(connection: Connection, op_key: str, reason: str) -> None:
    record_outcomes(connection, [Outcome(op_key, "skipped", last_error=reason)])


def mark_failed(connection: Connection, op_key: str, error: str) -> None:
    record_outcomes(connection, [Outcome(op_key, "failed", last_error=error)])


def supersede_open(connection: Connection, kinds: Sequence[str], reason: str) -> None:
    """Close every open operation of ``kinds`` as skipped: a fresh plan replaces them."""
    journal = operation_journal
    connection.execute(
        journal.update()
        .where(journal.c.kind.in_(kinds), journal.c.status.in_(OPEN_STATUSES))
        .values(status="skipped", last_error=reason, updated_at=utcnow())
    )


def supersede_unplanned(
    connection: Connection,
    kinds: Sequence[str],
    planned_keys: Iterable[str],
    *,
    targets: Iterable[str] | None = None,
    reason: str,
) -> int:
    """Close as ``superseded`` the open operations of ``kinds`` (for ``targets`` only, when
    given) that a newer plan did not make again; they are never sent. Returns how many."""
    journal = operation_journal
    planned = set(planned_keys)
    query = select(journal.c.op_key, journal.c.target).where(
        journal.c.kind.in_(kinds), journal.c.status.in_(OPEN_STATUSES)
    )
    wanted_targets = None if targets is None else set(targets)
    stale = [
        row.op_key
        for row in connection.execute(query)
        if row.op_key not in planned and (wanted_targets is None or row.target in wanted_targets)
    ]
    for start in range(0, len(stale), LOOKUP_CHUNK):
        connection.execute(
            journal.update()
            .where(journal.c.op_key.in_(stale[start : start + LOOKUP_CHUNK]))
            .values(status="superseded", last_error=reason, updated_at=utcnow())
        )
    return len(stale)


def applied_results(engine: Engine, kinds: Sequence[str], field: str) -> set[str]:
    """The values of ``field`` in the results of applied operations of ``kinds`` (e.g. the LMS
    award ids ``credly_to_lms`` created)."""
    journal = operation_journal
    query = select(journal.c.result).where(journal.c.kind.in_(kinds), journal.c.status == "applied")
    with engine.connect() as connection:
        return {
            str(result[field])
            for result in connection.execute(query).scalars()
            if isinstance(result, dict) and result.get(field) is not None
        }
