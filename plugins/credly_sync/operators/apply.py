"""The apply step shared by every write operator: claim journal operations, send them, record
each outcome. How a failure is classified (rejected, retried, failed) is decided here only."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator, Context, TriggerRule
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from sqlalchemy import Connection, Engine

from credly_sync.hooks.base import (
    ApiError,
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RetriesExhaustedError,
    RetryPolicy,
    UncertainOutcomeError,
    ValidationError,
)
from credly_sync.runs import is_dry_run
from credly_sync.settings import load_settings
from credly_sync.warehouse.budget import BudgetExhaustedError
from credly_sync.warehouse.engine import WAREHOUSE_CONN_ID, warehouse_engine
from credly_sync.warehouse.journal import (
    DEFAULT_MAX_ATTEMPTS,
    JournalEntry,
    Outcome,
    claim_operations,
    claimable_keys,
    record_outcomes,
    release_claims,
    renew_claims,
)
from credly_sync.webui.links import CredlySyncPageLink

# Airflow pools the setup creates (README, "Pools"): a slot is one call in flight to that API, and
# an apply task takes as many slots as it has workers, so all apply tasks of all runs together
# (mapped issue tasks, a backfill) never have more calls in flight than the pool has slots.
CREDLY_API_POOL = "credly_api"
LMS_API_POOL = "lms_api"
POOLS = {
    CREDLY_API_POOL: (16, "calls in flight to the Credly API from credly-sync apply tasks"),
    LMS_API_POOL: (8, "calls in flight to the LMS API from credly-sync apply tasks"),
}

PROGRESS_EVERY = 200
RECORD_BATCH = 500  # outcomes written per transaction at most (only those already finished)
RECORD_EVERY = 0.5  # seconds between two writes of finished outcomes (while calls are running)
TOP_UP_EVERY = 0.1  # seconds between two looks at the queue of claimed calls
QUEUED_CHUNKS = 2  # claimed chunks kept queued behind the running calls
REPORTED = 20  # problems named in the log and the task's error

REJECTED, TRANSIENT, CONNECTION, THROTTLED = "rejected", "transient", "connection", "throttled"
# Errors that say the call may work later: the hooks' retries ran out or the outcome is unknown.
TRANSIENT_API_ERRORS = (RetriesExhaustedError, UncertainOutcomeError, MalformedResponseError)


Applied = tuple[JournalEntry, dict[str, Any] | None]


class _Stopped(Exception):
    """A queued call not sent because an earlier one found the credentials refused."""


class OperationSkipped(Exception):
    """Raised by :meth:`ApplyJournalOperator.apply_one` when an operation needs no call."""


def classify(error: BaseException) -> str:
    """``rejected`` (the API refused this operation for good: sending it again cannot help),
    ``connection`` (401: the connection's credentials are wrong, not the operation) or
    ``throttled`` (the API budget is spent or a 429 asks for a long wait: not the operation's
    fault) or ``transient`` (anything else, unknown errors included: worth another attempt)."""
    if isinstance(error, AuthenticationError):
        return CONNECTION
    if isinstance(error, (BudgetExhaustedError, RateLimitedError)):
        return THROTTLED
    if isinstance(error, (ValidationError, NotFoundError, PermissionDeniedError)):
        return REJECTED
    if isinstance(error, TRANSIENT_API_ERRORS):
        return TRANSIENT
    if isinstance(error, ApiError) and 400 <= error.status < 500 and error.status != 429:
        return REJECTED  # e.g. 410 Gone
    return TRANSIENT


class ApplyJournalOperator(BaseOperator):
    """Apply the open journal operations of ``kinds`` and record each outcome.

    Operations are claimed a chunk at a time (one UPDATE that also counts the attempt), so two
    tasks draining one journal (overlapping runs, a backfill) never send the same operation; the
    claims of rows in flight are renewed while they run, and a killed task's claims expire after
    ``claim_ttl`` (a retry of the same task instance takes them over at once). Calls run on
    ``max_workers`` threads; outcomes are written from this thread in short transactions (the
    calls finished meanwhile, at most ``RECORD_BATCH`` each).

    Outcomes: success -> ``applied``; a permanent refusal (400/422 other than a duplicate, 403,
    404, other 4xx) -> ``rejected`` at once, never sent again; a transient failure stays
    ``pending`` with its reason for the next run or task retry, and becomes ``failed`` at
    ``max_attempts``; a 401 leaves the operation pending without counting the attempt and stops
    the task with the hook's message naming the connection to fix. The task fails when any
    operation it sent was not applied or skipped.

    :param warehouse_conn_id: the warehouse SQL connection.
    :param max_workers: calls in flight at once (keep it at or below the hook's pool size).
    :param http_retry: the hooks' retry policy, as a :class:`RetryPolicy` or its fields in a dict
        (``{"max_attempts": 8}``; a dict survives DAG serialization, e.g. in ``.partial()``).
    :param partition: ``(index, count)``: apply only this share of the operations, so a large
        journal can be drained by mapped task instances (``.partial().expand(partition=...)``).
    :param max_attempts: attempts (task runs) an operation gets before it is closed as ``failed``.
    :param claim_chunk: operations claimed per statement (up to two chunks wait queued behind
        the running calls: a killed task leaves at most that many to be looked up first).
    :param claim_ttl: seconds a claim lasts unless renewed (renewed every third of it).
    """

    kinds: tuple[str, ...] = ()
    template_fields: tuple[str, ...] = ("warehouse_conn_id",)
    operator_extra_links = (CredlySyncPageLink(),)

    def __init__(
        self,
        *,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        max_workers: int = 4,
        http_retry: RetryPolicy | Mapping[str, float] | None = None,
        partition: Sequence[int] | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        claim_chunk: int = 250,
        claim_ttl: float = 600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.warehouse_conn_id = warehouse_conn_id
        self.max_workers = max_workers
        self.http_retry = RetryPolicy(**http_retry) if isinstance(http_retry, Mapping) else http_retry
        self.partition = tuple(partition) if partition else None
        self.max_attempts = max_attempts
        self.claim_chunk = claim_chunk
        self.claim_ttl = claim_ttl

    def get_hook(self) -> Any:
        raise NotImplementedError

    def apply_one(self, hook: Any, entry: JournalEntry) -> dict[str, Any] | None:
        """Send one operation; return what to keep as its result. ``entry.attempts > 0``: an
        earlier attempt may have taken effect, so look before sending again."""
        raise NotImplementedError

    def record_effects(self, connection: Connection, applied: list[Applied]) -> None:
        """Warehouse changes that follow a batch of successful operations (same transaction as
        their outcomes); ``applied`` pairs each entry with its result."""

    def execute(self, context: Context) -> dict[str, Any]:
        if is_dry_run(context):
            raise AirflowSkipException("dry run: nothing is written")
        engine = warehouse_engine(self.warehouse_conn_id)
        load_settings(engine)  # invalid settings stop every write, also of a task run on its own
        inherit_from, claimant = self._claimant(context)
        keys = claimable_keys(engine, self.kinds, inherit_from=inherit_from, partition=self.partition)
        self.log.info("%d open operation(s) of kind %s", len(keys), ", ".join(self.kinds))
        run = _Run(keys)
        self._throttled: BaseException | None = None
        if keys:
            hook = self.get_hook()
            hook.prepare()  # connection look-ups work on the task's main thread only
            self._drain(engine, hook, run, claimant, inherit_from)
        summary = {
            "operations": run.sent,
            "claimed_elsewhere": run.claimed_elsewhere,
            "outcomes": dict(sorted(run.outcomes.items())),
        }
        self.log.info("apply summary: %s", summary)
        if self._throttled is not None:
            raise self._throttled
        if run.connection_error:
            raise AirflowException(run.connection_error)
        if run.problems:
            for problem in run.problems[:REPORTED]:
                self.log.error("%s", problem)
            counts = ", ".join(f"{n} {status}" for status, n in sorted(run.problem_counts.items()))
            raise AirflowException(
                f"{len(run.problems)} of {run.sent} operation(s) not applied ({counts}; pending "
                "ones are sent again by the next run, failed and rejected ones are listed by "
                f"`python -m credly_sync status`); first: {run.problems[0]}"
            )
        return summary

    def _drain(self, engine: Engine, hook: Any, run: _Run, claimant: str, inherit_from: str | None) -> None:
        """Claim chunk after chunk so that claimed calls always wait queued behind the running
        ones (the workers never idle while this thread writes); record the finished calls
        together, every ``RECORD_EVERY`` seconds, or at once when a call failed (a 401 stops
        the rest)."""
        ttl = timedelta(seconds=self.claim_ttl)
        renew_every = self.claim_ttl / 3
        scrub: Callable[[str], str] = getattr(hook, "scrub", str)
        chunks = deque(
            run.keys[start : start + self.claim_chunk] for start in range(0, len(run.keys), self.claim_chunk)
        )
        in_flight: dict[Future[Any], JournalEntry] = {}  # submitted, not finished when last looked
        finished: list[tuple[JournalEntry, Future[Any]]] = []  # finished, outcome not yet written
        stop = threading.Event()  # set: the calls still queued are not sent (a 401, or this thread died)
        renewed = recorded = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            try:
                while True:
                    while (
                        chunks
                        and not run.connection_error
                        and len(in_flight) < self.max_workers + QUEUED_CHUNKS * self.claim_chunk
                    ):
                        chunk = chunks.popleft()
                        won = claim_operations(engine, chunk, claimant, ttl=ttl, inherit_from=inherit_from)
                        run.claimed_elsewhere += len(chunk) - len(won)
                        run.sent += len(won)
                        in_flight.update({pool.submit(self._send, hook, entry, stop): entry for entry in won})
                    if not in_flight and not finished:
                        break
                    if in_flight:
                        wait(in_flight, timeout=TOP_UP_EVERY, return_when=FIRST_EXCEPTION)
                        finished += [(in_flight.pop(f), f) for f in list(in_flight) if f.done()]
                    due = (
                        not in_flight
                        or len(finished) >= RECORD_BATCH
                        or time.monotonic() - recorded >= RECORD_EVERY
                        or any(future.exception() is not None for _, future in finished)
                    )
                    if finished and due:
                        self._record_finished(engine, run, claimant, finished, scrub)
                        finished, recorded = [], time.monotonic()
                        if run.connection_error:
                            # every other call would be refused the same way: give back what was not sent
                            unsent = [in_flight.pop(f).op_key for f in list(in_flight) if f.cancel()]
                            release_claims(engine, unsent, claimant)
                            run.sent -= len(unsent)
                    if in_flight and time.monotonic() - renewed >= renew_every:
                        renew_claims(engine, [e.op_key for e in in_flight.values()], claimant, ttl=ttl)
                        renewed = time.monotonic()
            except BaseException:
                # killed or failed here: the queued calls must not be sent, since no outcome of
                # theirs would be written (their claims expire; the next run looks them up first)
                stop.set()
                raise

    def _record_finished(
        self,
        engine: Engine,
        run: _Run,
        claimant: str,
        finished: list[tuple[JournalEntry, Future[Any]]],
        scrub: Callable[[str], str],
    ) -> None:
        """Write the outcomes of finished calls; give back the claims of those never sent."""
        unsent = [entry.op_key for entry, future in finished if isinstance(future.exception(), _Stopped)]
        sent = [(entry, future) for entry, future in finished if not isinstance(future.exception(), _Stopped)]
        for start in range(0, len(sent), RECORD_BATCH):
            batch = sent[start : start + RECORD_BATCH]
            self._record(engine, run, claimant, [(e, self._outcome(e, f, scrub)) for e, f in batch])
        if unsent:
            release_claims(engine, unsent, claimant)
            run.sent -= len(unsent)

    def _send(self, hook: Any, entry: JournalEntry, stop: threading.Event) -> dict[str, Any] | None:
        if stop.is_set():
            raise _Stopped
        try:
            return self.apply_one(hook, entry)
        except AuthenticationError:
            stop.set()
            raise

    def _record(
        self, engine: Engine, run: _Run, claimant: str, results: list[tuple[JournalEntry, Outcome]]
    ) -> None:
        with engine.begin() as connection:
            record_outcomes(connection, [outcome for _, outcome in results], claimant=claimant)
            self.record_effects(
                connection,
                [(entry, outcome.result) for entry, outcome in results if outcome.status == "applied"],
            )
        before = run.recorded
        for entry, outcome in results:
            run.outcomes[f"{entry.kind}.{outcome.status}"] += 1
            if not outcome.counted:
                run.connection_error = run.connection_error or outcome.last_error
            elif outcome.status not in ("applied", "skipped"):
                run.problems.append(f"{outcome.status}: {entry.op_key}: {outcome.last_error}")
                run.problem_counts[outcome.status] += 1
        run.recorded += len(results)
        if run.recorded // PROGRESS_EVERY > before // PROGRESS_EVERY:
            self.log.info("%d/%d done so far: %s", run.recorded, len(run.keys), dict(run.outcomes))

    def _outcome(self, entry: JournalEntry, future: Future[Any], scrub: Callable[[str], str]) -> Outcome:
        """The journal outcome of one finished call."""
        error = future.exception()
        if error is None:
            return Outcome(entry.op_key, "applied", result=future.result())
        if isinstance(error, OperationSkipped):
            return Outcome(entry.op_key, "skipped", last_error=str(error))
        reason = scrub(str(error) if isinstance(error, ApiError) else f"{type(error).__name__}: {error}")
        verdict = classify(error)
        if verdict == THROTTLED:
            self._throttled = error  # the task stops and is rescheduled (operators/pacing.py)
        if verdict in (CONNECTION, THROTTLED):
            return Outcome(entry.op_key, "pending", last_error=reason, counted=False)
        if verdict == REJECTED:
            return Outcome(entry.op_key, "rejected", last_error=reason)
        attempts = entry.attempts + 1
        if attempts >= self.max_attempts:
            return Outcome(entry.op_key, "failed", last_error=f"{reason} (gave up after {attempts} attempts)")
        return Outcome(entry.op_key, "pending", last_error=reason)

    def _claimant(self, context: Context) -> tuple[str | None, str]:
        """Who claims: this task instance's id plus try number and a random tag (unique per
        attempt), and the prefix of its earlier tries, whose claims it may take over."""
        ti = context.get("ti")
        tag = uuid.uuid4().hex[:12]
        ids = [getattr(ti, name, None) for name in ("dag_id", "run_id", "task_id", "map_index", "try_number")]
        if None in ids:  # executed outside a task instance (tests, scripts): no earlier tries
            return None, f"{self.task_id}/{context.get('run_id')}#{tag}"
        *instance_ids, try_number = ids
        instance = "/".join(str(part) for part in instance_ids)
        if len(instance) > 200:  # claimed_by holds 255 characters; ids may be longer
            instance = hashlib.sha256(instance.encode()).hexdigest()
        prefix = f"{instance}#"
        return prefix, f"{prefix}{try_number}:{tag}"


class FailRunOperator(BaseOperator):
    """Fails when an upstream apply task failed (trigger rule ``one_failed``, else skipped).

    A run's state follows its leaf tasks, and the failure digest runs last with ``all_done``, so
    without this leaf a run whose apply tasks failed would show green.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", TriggerRule.ONE_FAILED)
        super().__init__(**kwargs)

    def execute(self, context: Context) -> None:
        raise AirflowFailException(
            "an apply task of this run failed: see its log and the failure digest mail"
        )


class _Run:
    """What one execute has done so far."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.sent = 0
        self.claimed_elsewhere = 0
        self.recorded = 0
        self.outcomes: Counter[str] = Counter()
        self.problems: list[str] = []
        self.problem_counts: Counter[str] = Counter()
        self.connection_error: str | None = None
