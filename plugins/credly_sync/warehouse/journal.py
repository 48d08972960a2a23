"""The operations journal: planned operations are written here, under a deterministic key,
before anything is sent; apply steps claim them, send them and record each outcome.

Statuses (``schema.JOURNAL_STATUSES``): an operation is open while ``pending`` (a transient
failure leaves it pending with ``last_error`` and the attempt counted); it is closed as
``applied``, ``skipped`` (nothing to send), ``superseded`` (a newer plan no longer wants it),
``rejected`` (the API refused it for good) or ``failed`` (transient failures reached the cap).
A closed operation is never sent or planned again under the same key, so a rerun after a crash
resumes where it stopped; :func:`reopen` puts failed and rejected ones back once the cause is
fixed, and a newer plan that wants a superseded operation again re-opens it.

Claims: an apply task owns the operations it sends through ``claimed_by`` / ``claimed_until``
(a plain column with an expiry, so it works the same on SQLite and PostgreSQL): one UPDATE
claims a chunk of open, unclaimed rows and counts their attempt; only the rows it won are sent.
A killed task's claims expire and the rows are taken over, ``attempts > 0`` telling the next
task that an earlier call may have taken effect.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from credly_sync.planning.operations import Operation
from credly_sync.warehouse.schema import operation_journal, utcnow

OPEN_STATUS = "pending"
PROBLEM_STATUSES = ("failed", "rejected")  # closed, listed by `status` and mailed in the digest
# Transient failures an operation may have before it is closed as failed (not retried by itself).
DEFAULT_MAX_ATTEMPTS = 5
# Keys per ``IN (...)`` look-up: PostgreSQL takes at most 65,535 bound parameters per statement
# (SQLite 32,766 by default), and a batch sync journals hundreds of thousands of operations.
LOOKUP_CHUNK = 10_000
WRITE_BATCH = 5_000  # rows per executemany where COPY is not available


@dataclass(frozen=True)
class JournalEntry:
    """A journaled operation. From :func:`claim_operations`, ``attempts`` counts the attempts
    made before this one: ``> 0`` means an earlier call may have taken effect."""

    op_key: str
    kind: str
    target: str
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None


def _chunks(keys: Sequence[str], size: int = LOOKUP_CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])


def record_operations(connection: Connection, operations: Iterable[Operation], dag_run_id: str | None) -> int:
    """Journal operations not yet journaled; refresh the payload of open ones and re-open
    superseded ones (the plan wants them again). Returns how many are new.

    Set-based, in the caller's transaction: on PostgreSQL the operations are copied (``COPY``)
    into a temporary table and merged with two statements; elsewhere existing keys are looked up
    in chunks and the rows written with ``executemany`` in batches.
    """
    operations = list(operations)
    if not operations:
        return 0
    if connection.dialect.name == "postgresql":
        return _record_by_copy(connection, operations, dag_run_id)
    return _record_by_batches(connection, operations, dag_run_id)


# Written in the caller's transaction and dropped at its end (or at once, after the merge).
_INCOMING = "credly_sync_incoming_operations"


def _record_by_copy(connection: Connection, operations: list[Operation], dag_run_id: str | None) -> int:
    journal = operation_journal.name
    now = utcnow()
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {_INCOMING} (position bigint, op_key varchar(255), kind varchar(64), "
        "target varchar(255), payload json) ON COMMIT DROP"
    )
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {_INCOMING} (position, op_key, kind, target, payload) FROM STDIN") as copy:
        dumps = json.dumps
        for position, op in enumerate(operations):
            copy.write_row((position, op.op_key, op.kind, op.target, dumps(op.payload)))
    # open rows get the newest payload; superseded ones are wanted again (``last_error`` cleared)
    connection.exec_driver_sql(
        f"UPDATE {journal} AS j SET payload = i.payload, dag_run_id = %(run)s, updated_at = %(now)s, "
        f"status = '{OPEN_STATUS}', last_error = CASE WHEN j.status = 'superseded' THEN NULL "
        f"ELSE j.last_error END FROM {_INCOMING} AS i "
        f"WHERE j.op_key = i.op_key AND j.status IN ('{OPEN_STATUS}', 'superseded')",
        {"run": dag_run_id, "now": now},
    )
    # created_at keeps the plan's order (apply drains oldest first), one microsecond apart
    inserted = connection.exec_driver_sql(
        f"INSERT INTO {journal} (op_key, kind, target, payload, status, attempts, dag_run_id, "
        "created_at, updated_at) "
        f"SELECT i.op_key, i.kind, i.target, i.payload, '{OPEN_STATUS}', 0, %(run)s, "
        "%(now)s + i.position * interval '1 microsecond', %(now)s "
        f"FROM {_INCOMING} AS i WHERE NOT EXISTS (SELECT 1 FROM {journal} AS j WHERE j.op_key = i.op_key) "
        "ORDER BY i.position",
        {"run": dag_run_id, "now": now},
    ).rowcount
    connection.exec_driver_sql(f"DROP TABLE {_INCOMING}")
    return inserted


def _record_by_batches(connection: Connection, operations: list[Operation], dag_run_id: str | None) -> int:
    journal = operation_journal
    existing: dict[str, str] = {}
    for chunk in _chunks([op.op_key for op in operations]):
        query = select(journal.c.op_key, journal.c.status).where(journal.c.op_key.in_(chunk))
        existing.update({row.op_key: row.status for row in connection.execute(query)})
    now = utcnow()
    new = [
        {
            "op_key": op.op_key,
            "kind": op.kind,
            "target": op.target,
            "payload": op.payload,
            "status": OPEN_STATUS,
            "attempts": 0,
            "dag_run_id": dag_run_id,
            "created_at": now + timedelta(microseconds=position),  # the plan's order
            "updated_at": now,
        }
        for position, op in enumerate(op for op in operations if op.op_key not in existing)
    ]
    for start in range(0, len(new), WRITE_BATCH):
        connection.execute(journal.insert(), new[start : start + WRITE_BATCH])
    refresh = journal.update().where(
        journal.c.op_key == bindparam("refresh_key"), journal.c.status == bindparam("refresh_status")
    )
    for status, values in ((OPEN_STATUS, {}), ("superseded", {"status": OPEN_STATUS, "last_error": None})):
        rows = [
            {"refresh_key": op.op_key, "refresh_status": status, "refresh_payload": op.payload}
            for op in operations
            if existing.get(op.op_key) == status
        ]
        statement = refresh.values(
            payload=bindparam("refresh_payload", type_=journal.c.payload.type),
            dag_run_id=dag_run_id,
            updated_at=now,
            **values,
        )
        for start in range(0, len(rows), WRITE_BATCH):
            connection.execute(statement, rows[start : start + WRITE_BATCH])
    return len(new)


def open_operations(engine: Engine, kinds: Sequence[str]) -> list[JournalEntry]:
    """Pending operations of the given kinds, oldest first (claimed or not)."""
    journal = operation_journal
    query = (
        select(journal)
        .where(journal.c.kind.in_(kinds), journal.c.status == OPEN_STATUS)
        .order_by(journal.c.created_at, journal.c.op_key)
    )
    with engine.connect() as connection:
        return [_entry(r) for r in connection.execute(query)]


def open_operation_keys(engine: Engine, kinds: Sequence[str]) -> list[str]:
    """The keys of :func:`open_operations`, in the same order, without loading any payload."""
    journal = operation_journal
    query = (
        select(journal.c.op_key)
        .where(journal.c.kind.in_(kinds), journal.c.status == OPEN_STATUS)
        .order_by(journal.c.created_at, journal.c.op_key)
    )
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def claimable_keys(
    engine: Engine,
    kinds: Sequence[str],
    *,
    inherit_from: str | None = None,
    partition: Sequence[int] | None = None,
) -> list[str]:
    """Keys of open operations of ``kinds`` that nobody holds a live claim on, oldest first.

    With ``partition`` ``(index, count)``, only the keys whose hash modulo ``count`` is ``index``:
    on PostgreSQL the database hashes and filters (a mapped apply task reads its own rows only),
    elsewhere CRC-32 here. Every task draining one journal uses the same function.
    """
    journal = operation_journal
    query = (
        select(journal.c.op_key)
        .where(journal.c.kind.in_(kinds), journal.c.status == OPEN_STATUS, _unclaimed(inherit_from))
        .order_by(journal.c.created_at, journal.c.op_key)
    )
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if partition is not None and postgres:
            index, count = partition
            query = query.where(_postgres_partition(count) == index)
        keys = list(connection.execute(query).scalars())
    if partition is not None and not postgres:
        index, count = partition
        keys = [key for key in keys if zlib.crc32(key.encode()) % count == index]
    return keys


_POSITIVE_BIGINT = 2**63 - 1


def _postgres_partition(count: int) -> ColumnElement[int]:
    # hashtextextended is what PostgreSQL's hash partitioning uses: stable across versions
    digest = func.hashtextextended(operation_journal.c.op_key, 0).op("&")(literal(_POSITIVE_BIGINT))
    return digest.op("%")(literal(count))


def _unclaimed(inherit_from: str | None) -> ColumnElement[bool]:
    """No live claim: never claimed, expired, or held by an earlier (dead) try of the same task
    (``inherit_from`` is that task's claimant prefix), so a task retry need not wait for expiry."""
    journal = operation_journal
    free = [journal.c.claimed_until.is_(None), journal.c.claimed_until < utcnow()]
    if inherit_from:
        free.append(journal.c.claimed_by.startswith(inherit_from, autoescape=True))
    return or_(*free)


def _entry(row: Any, *, attempts_made: int = 0) -> JournalEntry:
    return JournalEntry(
        row.op_key,
        row.kind,
        row.target,
        row.payload,
        row.status,
        row.attempts - attempts_made,
        row.last_error,
    )


def claim_operations(
    engine: Engine,
    op_keys: Sequence[str],
    claimant: str,
    *,
    ttl: timedelta,
    inherit_from: str | None = None,
) -> list[JournalEntry]:
    """Claim the open, unclaimed operations among ``op_keys`` for ``claimant`` until now + ``ttl``
    and count their attempt, in one UPDATE ... RETURNING; return the rows won (oldest first).

    The UPDATE re-checks the claim on each row: on PostgreSQL a concurrent claimer waits for the
    row lock and then sees the claim, on SQLite writers are serialised; either way a row goes to
    one claimant only. ``claimant`` must be unique per task attempt.
    """
    journal = operation_journal
    won: list[Any] = []
    for chunk in _chunks(op_keys):
        with engine.begin() as connection:
            claimed = connection.execute(
                journal.update()
                .where(
                    journal.c.op_key.in_(chunk),
                    journal.c.status == OPEN_STATUS,
                    _unclaimed(inherit_from),
                )
                .values(
                    claimed_by=claimant,
                    claimed_until=utcnow() + ttl,
                    attempts=journal.c.attempts + 1,
                    updated_at=utcnow(),
                )
                .returning(*journal.c)  # the rows this statement won, in one round trip
            )
            won.extend(claimed)
    won.sort(key=lambda row: (row.created_at, row.op_key))
    return [_entry(row, attempts_made=1) for row in won]


def renew_claims(engine: Engine, op_keys: Sequence[str], claimant: str, *, ttl: timedelta) -> None:
    """Extend ``claimant``'s claims on ``op_keys`` (rows still in flight) to now + ``ttl``."""
    journal = operation_journal
    for chunk in _chunks(op_keys):
        with engine.begin() as connection:
            connection.execute(
                journal.update()
                .where(journal.c.op_key.in_(chunk), journal.c.claimed_by == claimant)
                .values(claimed_until=utcnow() + ttl)
            )


def release_claims(engine: Engine, op_keys: Sequence[str], claimant: str) -> None:
    """Give back claimed rows that were never sent: the claim and its counted attempt are undone."""
    journal = operation_journal
    for chunk in _chunks(op_keys):
        with engine.begin() as connection:
            connection.execute(
                journal.update()
                .where(
                    journal.c.op_key.in_(chunk),
                    journal.c.claimed_by == claimant,
                    journal.c.status == OPEN_STATUS,
                )
                .values(claimed_by=None, claimed_until=None, attempts=journal.c.attempts - 1)
            )


def start_attempt(engine: Engine, op_key: str) -> None:
    """Count an attempt on one operation without claiming it: the state a killed apply step
    leaves behind once its claim has expired (test set-ups simulate crashes with it)."""
    journal = operation_journal
    with engine.begin() as connection:
        connection.execute(
            journal.update()
            .where(journal.c.op_key == op_key)
            .values(attempts=journal.c.attempts + 1, updated_at=utcnow())
        )


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended: ``applied`` (with its result), ``skipped``, ``rejected`` or
    ``failed`` (with why), or ``pending`` (transient: sent again later). ``counted=False``
    undoes the attempt the claim counted (the call was refused before it could act, e.g. 401)."""

    op_key: str
    status: str
    result: dict[str, Any] | None = None
    last_error: str | None = None
    counted: bool = True


def record_outcomes(
    connection: Connection, outcomes: Sequence[Outcome], *, claimant: str | None = None
) -> None:
    """Record many outcomes with one statement (executemany) and release their claims.

    With ``claimant``, only rows that claimant still holds are written: a row whose claim
    expired and was taken over belongs to the new claimant's outcome.
    """
    if not outcomes:
        return
    journal = operation_journal
    condition = journal.c.op_key == bindparam("outcome_key")
    if claimant is not None:
        condition = and_(condition, journal.c.claimed_by == claimant)
    statement = (
        journal.update()
        .where(condition)
        .values(
            status=bindparam("outcome_status"),
            result=bindparam("outcome_result", type_=journal.c.result.type),
            last_error=bindparam("outcome_error"),
            attempts=journal.c.attempts - bindparam("outcome_uncounted"),
            claimed_by=None,
            claimed_until=None,
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
                "outcome_uncounted": 0 if o.counted else 1,
                "outcome_at": now,
            }
            for o in outcomes
        ],
    )


def supersede_unplanned(
    connection: Connection,
    kinds: Sequence[str],
    planned_keys: Iterable[str],
    *,
    targets: Iterable[str] | None = None,
    reason: str,
) -> list[str]:
    """Close as ``superseded`` the open operations of ``kinds`` whose key the new plan lacks,
    limited to ``targets`` (None = every target); return their keys.

    Rows claimed by a running apply task are left to it: its call may be under way, and the
    outcome it records is the truth (the next plan corrects what should not have happened).
    """
    journal = operation_journal
    planned = set(planned_keys)
    query = select(journal.c.op_key).where(
        journal.c.kind.in_(kinds), journal.c.status == OPEN_STATUS, _unclaimed(None)
    )
    if targets is None:
        candidates = list(connection.execute(query).scalars())
    else:
        candidates = []
        for chunk in _chunks(sorted({str(t) for t in targets})):
            candidates.extend(connection.execute(query.where(journal.c.target.in_(chunk))).scalars())
    stale = [key for key in candidates if key not in planned]
    now = utcnow()
    for chunk in _chunks(stale):
        connection.execute(
            journal.update()
            .where(journal.c.op_key.in_(chunk), journal.c.status == OPEN_STATUS, _unclaimed(None))
            .values(status="superseded", last_error=reason, updated_at=now)
        )
    return stale


def supersede_open(connection: Connection, kinds: Sequence[str], reason: str) -> None:
    """Supersede every unclaimed open operation of ``kinds``: a fresh plan replaces them all."""
    supersede_unplanned(connection, kinds, (), reason=reason)


def claim_unreported(
    engine: Engine, kinds: Sequence[str] | None, claimant: str, *, ttl: timedelta
) -> list[JournalEntry]:
    """Claim the failed and rejected operations (of ``kinds``; None = all) not yet mailed in a
    digest, so that two digests running at once never mail the same problem twice."""
    journal = operation_journal
    unreported = and_(journal.c.status.in_(PROBLEM_STATUSES), journal.c.reported_at.is_(None))
    if kinds is not None:
        unreported = and_(unreported, journal.c.kind.in_(kinds))
    with engine.begin() as connection:
        connection.execute(
            journal.update()
            .where(unreported, _unclaimed(None))
            .values(claimed_by=claimant, claimed_until=utcnow() + ttl)
        )
        query = (
            select(journal)
            .where(unreported, journal.c.claimed_by == claimant)
            .order_by(journal.c.kind, journal.c.op_key)
        )
        return [_entry(row) for row in connection.execute(query)]


def finish_report(engine: Engine, op_keys: Sequence[str], claimant: str, *, reported: bool) -> None:
    """Release the digest's claim; set ``reported_at`` only when the mail was accepted."""
    journal = operation_journal
    values: dict[str, Any] = {"claimed_by": None, "claimed_until": None}
    if reported:
        values["reported_at"] = utcnow()
    for chunk in _chunks(op_keys):
        with engine.begin() as connection:
            connection.execute(
                journal.update()
                .where(journal.c.op_key.in_(chunk), journal.c.claimed_by == claimant)
                .values(**values)
            )


def reopen(
    connection: Connection,
    *,
    op_keys: Sequence[str] = (),
    kinds: Sequence[str] = (),
    statuses: Sequence[str] = PROBLEM_STATUSES,
) -> int:
    """Put failed / rejected operations (``statuses``, a subset of those two) back to pending once
    the cause is fixed, narrowed to ``op_keys`` and/or ``kinds`` when given; returns how many.

    The attempt count restarts at 1, not 0: an earlier call may have taken effect, so the apply
    step must still look before it sends, but the operation gets a fresh run of attempts.
    """
    if not set(statuses) <= set(PROBLEM_STATUSES):
        raise ValueError(f"only {' and '.join(PROBLEM_STATUSES)} operations can be re-opened")
    journal = operation_journal
    condition = journal.c.status.in_(statuses)
    if kinds:
        condition = and_(condition, journal.c.kind.in_(kinds))
    values = {
        "status": OPEN_STATUS,
        "attempts": case((journal.c.attempts > 0, 1), else_=0),
        "claimed_by": None,
        "claimed_until": None,
        "reported_at": None,
        "updated_at": utcnow(),
    }
    if not op_keys:
        return connection.execute(journal.update().where(condition).values(**values)).rowcount
    return sum(
        connection.execute(
            journal.update().where(condition, journal.c.op_key.in_(chunk)).values(**values)
        ).rowcount
        for chunk in _chunks(op_keys)
    )


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
