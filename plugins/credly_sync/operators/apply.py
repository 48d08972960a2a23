"""The apply step shared by every write operator: drain the journal, record each outcome."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowException, AirflowSkipException
from sqlalchemy import Connection

from credly_sync.hooks.base import ApiError, RetryPolicy
from credly_sync.runs import is_dry_run
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, warehouse_engine
from credly_sync.warehouse.journal import (
    OPEN_STATUSES,
    JournalEntry,
    Outcome,
    open_operation_keys,
    open_operations,
    operations_by_key,
    record_outcomes,
    start_attempt,
)

PROGRESS_EVERY = 200
RECORD_BATCH = 100  # outcomes written per transaction at most (only those already finished)


Applied = tuple[JournalEntry, dict[str, Any] | None]


class OperationSkipped(Exception):
    """Raised by :meth:`ApplyJournalOperator.apply_one` when an operation needs no call."""


class ApplyJournalOperator(BaseOperator):
    """Apply every open (pending or failed) journal operation of ``kinds`` and record the outcome.

    Subclasses give the hook and what one operation does. Calls run on ``max_workers`` threads;
    outcomes are written from this thread in short transactions (the calls that have finished
    meanwhile, at most ``RECORD_BATCH`` each: one commit per call would make this thread the
    bottleneck), so a killed task loses at most the calls in flight or just finished, and those
    are found again by the next run (``attempts > 0``).
    Failures keep their reason in the journal and fail the task once all others are done.

    :param warehouse_conn_id: the warehouse SQL connection.
    :param max_workers: calls in flight at once (keep it at or below the hook's pool size).
    :param http_retry: the hooks' retry policy, as a :class:`RetryPolicy` or its fields in a dict
        (``{"max_attempts": 8}``; a dict survives DAG serialization, e.g. in ``.partial()``).
    :param partition: ``(index, count)``: apply only this share of the operations, so a large
        journal can be drained by mapped task instances (``.partial().expand(partition=...)``).
    """

    kinds: tuple[str, ...] = ()
    template_fields: tuple[str, ...] = ("warehouse_conn_id",)

    def __init__(
        self,
        *,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        max_workers: int = 4,
        http_retry: RetryPolicy | Mapping[str, float] | None = None,
        partition: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.warehouse_conn_id = warehouse_conn_id
        self.max_workers = max_workers
        self.http_retry = RetryPolicy(**http_retry) if isinstance(http_retry, Mapping) else http_retry
        self.partition = tuple(partition) if partition else None

    def get_hook(self) -> Any:
        raise NotImplementedError

    def apply_one(self, hook: Any, entry: JournalEntry) -> dict[str, Any] | None:
        """Send one operation; return what to keep as its result."""
        raise NotImplementedError

    def record_effects(self, connection: Connection, applied: list[Applied]) -> None:
        """Warehouse changes that follow a batch of successful operations (same transaction as
        their outcomes); ``applied`` pairs each entry with its result."""

    def execute(self, context: Context) -> dict[str, Any]:
        if is_dry_run(context):
            raise AirflowSkipException("dry run: nothing is written")
        engine = warehouse_engine(self.warehouse_conn_id)
        entries = self._open_entries(engine)
        self.log.info("%d open operation(s) of kind %s", len(entries), ", ".join(self.kinds))
        outcomes: Counter[str] = Counter()
        failures: list[str] = []
        if entries:
            hook = self.get_hook()
            hook.prepare()  # connection look-ups work on the task's main thread only

            def attempt(entry: JournalEntry) -> dict[str, Any] | None:
                start_attempt(engine, entry.op_key)
                return self.apply_one(hook, entry)

            with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
                futures = {pool.submit(attempt, entry): entry for entry in entries}
                pending: set[Future[Any]] = set(futures)
                done = 0
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    batch = list(finished)
                    for start in range(0, len(batch), RECORD_BATCH):
                        results = [
                            (futures[future], _outcome(futures[future], future))
                            for future in batch[start : start + RECORD_BATCH]
                        ]
                        with engine.begin() as connection:
                            record_outcomes(connection, [outcome for _, outcome in results])
                            self.record_effects(
                                connection,
                                [
                                    (entry, outcome.result)
                                    for entry, outcome in results
                                    if outcome.status == "applied"
                                ],
                            )
                        for entry, outcome in results:
                            outcomes[f"{entry.kind}.{outcome.status}"] += 1
                            if outcome.status == "failed":
                                failures.append(f"{entry.op_key}: {outcome.last_error}")
                    if (done + len(batch)) // PROGRESS_EVERY > done // PROGRESS_EVERY:
                        self.log.info(
                            "%d/%d applied so far: %s", done + len(batch), len(entries), dict(outcomes)
                        )
                    done += len(batch)
        summary = {"operations": len(entries), "outcomes": dict(sorted(outcomes.items()))}
        self.log.info("apply summary: %s", summary)
        if failures:
            for failure in failures[:20]:
                self.log.error("failed: %s", failure)
            raise AirflowException(
                f"{len(failures)} of {len(entries)} operation(s) failed and stay in the journal "
                f"for the next run; first: {failures[0]}"
            )
        return summary

    def _open_entries(self, engine: Any) -> list[JournalEntry]:
        """The open operations of this partition, oldest first. A partition picks its keys first
        and loads only its own payloads: every mapped task reading the whole journal costs
        seconds each at a batch sync's size."""
        if self.partition is None:
            return open_operations(engine, self.kinds)
        keys = [key for key in open_operation_keys(engine, self.kinds) if self._in_partition(key)]
        return [entry for entry in operations_by_key(engine, keys) if entry.status in OPEN_STATUSES]

    def _in_partition(self, op_key: str) -> bool:
        if self.partition is None:
            return True
        index, count = self.partition
        return zlib.crc32(op_key.encode()) % count == index


def _outcome(entry: JournalEntry, future: Future[Any]) -> Outcome:
    """The journal outcome of one finished call."""
    error = future.exception()
    if error is None:
        return Outcome(entry.op_key, "applied", result=future.result())
    if isinstance(error, OperationSkipped):
        return Outcome(entry.op_key, "skipped", last_error=str(error))
    reason = str(error) if isinstance(error, ApiError) else f"{type(error).__name__}: {error}"
    return Outcome(entry.op_key, "failed", last_error=reason)
