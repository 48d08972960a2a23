"""The one retry policy and error vocabulary shared by every API hook of this package.

* 429: wait ``Retry-After`` (capped) and try again, for any method: the server did nothing.
  The wait closes the hook's :class:`RetryAfterGate`, so every thread sharing the hook (the
  workers of an apply task) holds its next request back too, not only the one refused.
* 5xx, timeouts, dropped connections, malformed JSON: retried with exponential backoff for
  idempotent calls; for a non-idempotent call (an issue POST) the outcome is uncertain, so
  :class:`UncertainOutcomeError` is raised and the caller must look before it leaps.
* Other 4xx: a typed :class:`ApiError`, never retried. Messages never carry credentials.

The attempts, the waits between them and giving up are tenacity's (:meth:`ApiHttpHook._retrying`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol, cast

import requests
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk.exceptions import AirflowException
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

TRANSPORT_ERRORS = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


class ApiError(AirflowException):
    """A remote API refused or failed a call; ``status`` is the HTTP status (0 = no answer)."""

    def __init__(self, message: str, *, status: int = 0, method: str = "", endpoint: str = "") -> None:
        super().__init__(f"{method} {endpoint} -> {status or 'no answer'}: {message}".strip())
        self.status = status
        self.reason = message


class AuthenticationError(ApiError):
    """401: the credentials in the connection are missing, wrong or expired."""


class PermissionDeniedError(ApiError):
    """403: the credentials are valid but not for this resource (e.g. another organisation)."""


class NotFoundError(ApiError):
    """404: no such object."""


class ValidationError(ApiError):
    """400/422: the request was understood and refused."""


class RetriesExhaustedError(ApiError):
    """429/5xx/transport failures outlasted the retry policy."""


class RateLimitedError(ApiError):
    """A 429 whose Retry-After is longer than the policy waits in place: ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, status=429, **kwargs)
        self.retry_after = retry_after


class UncertainOutcomeError(ApiError):
    """A non-idempotent call got no clear answer: it may or may not have taken effect."""


class MalformedResponseError(ApiError):
    """A 2xx answer whose body is not the JSON the API promises."""


ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: ValidationError,
}


@dataclass(frozen=True)
class BulkOutcome:
    """One item of a bulk call: its key (the index unless keys were given), the single call's
    outcome and the record it concerns (badge id, award id, ...), or ``failed`` with ``error``."""

    key: Hashable
    outcome: str
    record_id: str | int | None = None
    error: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per call, backoff bounds (seconds) and the request timeout."""

    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0
    timeout: float = 30.0

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))


class RetryAfterGate:
    """Shared by the threads of one hook: a 429's ``Retry-After`` holds back every request
    until it has passed, since the server asked the client, not one connection, to slow down."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._until = 0.0
        self._lock = threading.Lock()

    def close(self, seconds: float) -> float:
        """Hold requests back for ``seconds`` from now (a later deadline wins); the deadline."""
        with self._lock:
            self._until = max(self._until, self.clock() + seconds)
            return self._until

    def remaining(self, waited_until: float = 0.0) -> float:
        """Seconds to wait before the next request; 0 for a thread that already waited until
        the current deadline (``waited_until``, returned by :meth:`close`)."""
        until = self._until
        if until <= waited_until:
            return 0.0
        return max(0.0, until - self.clock())


class ApiHttpHook(HttpHook):
    """An HttpHook that sends every request through :meth:`call` with the shared retry policy.

    :param conn_id: the Airflow connection holding the base URL and credentials.
    :param retry: the retry policy; tests pass one with zero backoff.
    :param pool_size: connections kept open to the host (bounds bulk concurrency).
    """

    def __init__(self, conn_id: str, *, retry: RetryPolicy | None = None, pool_size: int = 8) -> None:
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        super().__init__(method="GET", http_conn_id=conn_id, adapter=adapter)
        self.retry = retry or RetryPolicy()
        self.pool_size = pool_size
        self.sleep: Callable[[float], None] = time.sleep
        self.budget: CallBudget | None = None  # e.g. warehouse.budget.ApiBudget, set by operators
        self.gate = RetryAfterGate()
        self._session: requests.Session | None = None

    def prepare(self) -> None:
        """Read the connection and open the session now, on the calling thread.

        Inside a task the Task SDK answers connection look-ups on the task's main thread only
        (a worker thread gets "conn_id isn't defined"), so call this before sharing the hook
        with a thread pool.
        """
        _ = self.session

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = self.get_conn()
        return self._session

    def secrets(self) -> Iterable[str]:
        """Values that must never appear in a log line or an error (tokens, client secrets)."""
        return ()

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            if secret:
                text = text.replace(secret, "***")
        return text

    def run_bulk(
        self,
        items: Sequence[Any],
        work: Callable[[Any], tuple[str, str | int | None]],
        *,
        keys: Sequence[Hashable] | None = None,
        max_workers: int | None = None,
    ) -> list[BulkOutcome]:
        """Run ``work`` (returning outcome and record id) per item on at most ``max_workers``
        threads (default: the pool size); a failure is an outcome, not an abort."""
        item_keys = list(range(len(items))) if keys is None else list(keys)
        if len(item_keys) != len(items):
            raise ValueError(f"{len(item_keys)} keys for {len(items)} items")
        if not items:
            return []
        self.prepare()
        workers = max(1, min(max_workers or self.pool_size, len(items)))

        def one(key: Hashable, item: Any) -> BulkOutcome:
            try:
                outcome, record_id = work(item)
            except Exception as exc:
                text = self.scrub(f"{type(exc).__name__}: {exc}")
                self.log.warning("%s bulk item %r failed: %s", self.hook_name, key, text)
                return BulkOutcome(key, "failed", None, text)
            return BulkOutcome(key, outcome, record_id)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.hook_name.lower()) as pool:
            return list(pool.map(one, item_keys, items))

    def authorize(self, request_headers: dict[str, str]) -> None:
        """Add per-request credentials (e.g. a bearer token); the default does nothing."""

    def error_message(self, response: requests.Response) -> str:
        """The API's own error text, falling back to the start of the raw body."""
        try:
            body = response.json()
        except ValueError:
            return response.text[:200] or response.reason
        if isinstance(body, dict):
            data = body.get("data")
            if isinstance(data, dict) and data.get("message"):
                return str(data["message"])
            for key in ("message", "error_description", "error"):
                if body.get(key):
                    return str(body[key])
        return response.text[:200]

    def call(
        self,
        method: str,
        endpoint: str,
        *,
        params: dict[str, Any] | Iterable[tuple[str, Any]] | None = None,
        json_body: Any = None,
        form: dict[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one request with retries; return the decoded JSON body (``None`` for 204)."""
        method = method.upper()
        if idempotent is None:
            idempotent = method in ("GET", "PUT", "DELETE", "HEAD")
        url = self.url_from_endpoint(endpoint)
        waited_until = 0.0  # the gate deadline this thread has already slept to

        def retry_unless_uncertain(failure: str, wait: float, status: int = 0) -> _Retry:
            """The retry of a failure the server may have acted on: UncertainOutcomeError instead
            for a non-idempotent call."""
            if not idempotent:
                raise UncertainOutcomeError(
                    failure, status=status, method=method, endpoint=endpoint
                ) from None
            return _Retry(failure, wait)

        for attempt in self._retrying(method, endpoint):
            with attempt:
                number = attempt.retry_state.attempt_number
                self._hold_back(method, endpoint, waited_until)
                headers: dict[str, str] = {}
                self.authorize(headers)
                try:
                    response = self.session.request(
                        method,
                        url,
                        params=params,
                        json=json_body,
                        data=form,
                        headers=headers,
                        timeout=self.retry.timeout,
                    )
                except TRANSPORT_ERRORS as exc:
                    raise retry_unless_uncertain(type(exc).__name__, self.retry.backoff(number)) from None
                status = response.status_code
                if status == 429:
                    wait = self._rate_limit_wait(response, number, method, endpoint)
                    waited_until = self.gate.close(wait)
                    raise _Retry("429 Too Many Requests", wait)
                if status >= 500:
                    failure = f"{status} {self.error_message(response)}"
                    raise retry_unless_uncertain(failure, self._server_error_wait(response, number), status)
                if status >= 400:
                    error_class = ERRORS_BY_STATUS.get(status, ApiError)
                    raise error_class(
                        self.error_message(response), status=status, method=method, endpoint=endpoint
                    )
                if status == 204 or not response.content:
                    return None
                try:
                    return response.json()
                except ValueError:
                    raise retry_unless_uncertain(
                        "malformed JSON", self.retry.backoff(number), status
                    ) from None

    def _retrying(self, method: str, endpoint: str) -> Retrying:
        """The policy for one call: an attempt that raised :class:`_Retry` is repeated after its
        wait, ``max_attempts`` in all (no wait after the last), then :class:`RetriesExhaustedError`."""

        def log(state: RetryCallState) -> None:
            self.log.warning(
                "%s %s: %s; retry %d/%d in %.1fs",
                method,
                self.scrub(endpoint),
                _failed(state).failure,
                state.attempt_number,
                self.retry.max_attempts - 1,
                state.upcoming_sleep,
            )

        def give_up(state: RetryCallState) -> NoReturn:
            raise RetriesExhaustedError(
                f"gave up after {state.attempt_number} attempts; last: {_failed(state).failure}",
                method=method,
                endpoint=endpoint,
            )

        return Retrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=lambda state: _failed(state).wait,
            retry=retry_if_exception_type(_Retry),
            sleep=self.sleep,
            before_sleep=log,
            retry_error_callback=give_up,
        )

    def _hold_back(self, method: str, endpoint: str, waited_until: float) -> None:
        """Before each attempt: take a call from the budget, then wait out another call's 429."""
        if self.budget is not None:
            self.budget.acquire()
        pause = self.gate.remaining(waited_until)
        if pause:
            self.log.info("%s %s: held back %.1fs by another call's 429", method, endpoint, pause)
            self.sleep(pause)

    def _rate_limit_wait(
        self, response: requests.Response, attempt: int, method: str, endpoint: str
    ) -> float:
        """Seconds to wait after a 429, or :class:`RateLimitedError` when the server asks for
        longer than the policy waits in place."""
        asked = _seconds(response.headers.get("Retry-After"))
        if asked is not None and asked > self.retry.max_retry_after:
            raise RateLimitedError(
                f"the server asks to wait {asked:.0f} s", retry_after=asked, method=method, endpoint=endpoint
            )
        return self._retry_after(response, attempt)

    def _server_error_wait(self, response: requests.Response, attempt: int) -> float:
        """Seconds to wait before repeating a call that got a 5xx: the backoff."""
        return self.retry.backoff(attempt)

    def _retry_after(self, response: requests.Response, attempt: int) -> float:
        try:
            wait = float(response.headers.get("Retry-After", ""))
        except ValueError:
            wait = self.retry.backoff(attempt)
        return max(0.0, min(wait, self.retry.max_retry_after))


class _Retry(Exception):
    """An attempt that failed in a way worth repeating: what went wrong and how long to wait."""

    def __init__(self, failure: str, wait: float) -> None:
        super().__init__(failure)
        self.failure = failure
        self.wait = wait


def _failed(state: RetryCallState) -> _Retry:
    """The :class:`_Retry` the attempt of ``state`` raised (only those are retried)."""
    return cast(_Retry, state.outcome.exception())  # type: ignore[union-attr]


class CallBudget(Protocol):
    """Something that paces calls: ``acquire`` returns when one may be sent."""

    def acquire(self) -> None: ...


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def data_object(body: Any) -> dict[str, Any]:
    """The ``data`` object of a Credly or Docebo answer, or :class:`MalformedResponseError`."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise MalformedResponseError("answer without a data object")
    return data
