"""Read-only questions the "Credly sync" monitoring page asks the warehouse (see webui/)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func, or_, select

from credly_sync.warehouse.journal import OPEN_STATUS, PROBLEM_STATUSES
from credly_sync.warehouse.schema import operation_journal, sync_watermarks

_LISTED = (
    operation_journal.c.op_key,
    operation_journal.c.kind,
    operation_journal.c.target,
    operation_journal.c.status,
    operation_journal.c.attempts,
    operation_journal.c.last_error,
    operation_journal.c.dag_run_id,
    operation_journal.c.updated_at,
)


def journal_problems(
    engine: Engine,
    *,
    statuses: Sequence[str] = PROBLEM_STATUSES,
    kind: str | None = None,
    text: str | None = None,
    limit: int = 200,
) -> tuple[int, list[dict[str, Any]]]:
    """Failed and rejected operations, newest first, narrowed by status, kind and a text found
    in the key, target or reason (case-insensitive); returns (how many match, the first ``limit``)."""
    journal = operation_journal
    conditions = [journal.c.status.in_([s for s in statuses if s in PROBLEM_STATUSES])]
    if kind:
        conditions.append(journal.c.kind == kind)
    if text and text.strip():
        needle = text.strip().lower()
        conditions.append(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (journal.c.op_key, journal.c.target, journal.c.last_error)
                )
            )
        )
    return _listed(engine, conditions, limit)


def waiting_operations(engine: Engine, *, limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
    """Operations journaled and not yet applied (``pending``): (how many, the oldest ``limit``)."""
    return _listed(engine, [operation_journal.c.status == OPEN_STATUS], limit, oldest_first=True)


def run_operation_counts(engine: Engine, dag_run_ids: Sequence[str]) -> dict[str, dict[tuple[str, str], int]]:
    """Per DAG run: its journaled operations (the run that last planned them) by (kind, status)."""
    journal = operation_journal
    query = (
        select(journal.c.dag_run_id, journal.c.kind, journal.c.status, func.count())
        .where(journal.c.dag_run_id.in_(list(dag_run_ids)))
        .group_by(journal.c.dag_run_id, journal.c.kind, journal.c.status)
    )
    counts: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    with engine.connect() as connection:
        for run_id, kind, status, count in connection.execute(query):
            counts[run_id][(kind, status)] = count
    return dict(counts)


def watermarks(engine: Engine) -> dict[str, Any]:
    """The high-water mark of each incremental stream."""
    with engine.connect() as connection:
        return dict(connection.execute(select(sync_watermarks.c.stream, sync_watermarks.c.value)).all())


def _listed(
    engine: Engine, conditions: list[Any], limit: int, *, oldest_first: bool = False
) -> tuple[int, list[dict[str, Any]]]:
    journal = operation_journal
    order = journal.c.updated_at.asc() if oldest_first else journal.c.updated_at.desc()
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(journal).where(*conditions)).scalar_one()
        rows = connection.execute(
            select(*_LISTED).where(*conditions).order_by(order, journal.c.op_key).limit(limit)
        )
        return total, [dict(row._mapping) for row in rows]
