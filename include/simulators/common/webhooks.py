"""Outgoing webhook delivery shared by the simulators: a queue, one daemon thread, retries;
and the ``/_admin/webhook`` routes that steer it.

Each simulator says what it POSTs (its bodies) and how a body is named in the attempt log
(:meth:`WebhookSender.describe`); this module does the rest. Only an ``accepted`` status (HTTP
200 unless a simulator says otherwise) is success; anything else (another status, an error, a
timeout) is retried after ``base * factor ** (n - 1)`` seconds up to ``max_attempts`` attempts.
Delivery is at least once, as the real services' is: with ``duplicate_rate`` > 0 a delivered
body is sent again that share of the time (``retry_base`` seconds later: the sender missed the
answer), so a receiver must de-duplicate. ``ordered`` senders deliver one body at a time in
order (a body being retried holds back every later one); ``disable_on_give_up`` turns the
webhook off (``active``) when a body runs out of attempts. Every attempt is recorded for tests.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any, Generic, TypeVar

import requests
from fastapi import APIRouter, Body


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of one body: the answer's status (None when there was none) or the error.

    ``id`` names the body (Credly: the event id; Docebo: the message id), ``event`` its event
    type; ``delivered`` whether the status was one the sender takes as acknowledged.
    """

    id: str
    event: str
    attempt: int
    url: str
    status: int | None
    error: str | None
    delivered: bool


@dataclass
class WebhookConfig:
    """Where to deliver and how hard to retry (seconds); simulators subclass it for their
    defaults and any settings of their own."""

    url: str | None = None
    retry_base: float = 5.0
    retry_factor: float = 2.0
    max_attempts: int = 10
    timeout: float = 5.0  # to read the answer; also to connect unless connect_timeout is set
    connect_timeout: float | None = None
    accepted: tuple[int, ...] = (200,)  # the statuses that acknowledge a body
    duplicate_rate: float = 0.0  # share of delivered bodies sent once more
    duplicate_seed: int = 0
    ordered: bool = False  # one body at a time, in order: a retry holds back the later ones
    active: bool = True  # bodies are queued only while active (and a URL is set)
    disable_on_give_up: bool = False  # a body out of attempts makes the webhook inactive

    def delay_after(self, attempt: int) -> float:
        return self.retry_base * self.retry_factor ** (attempt - 1)


Config = TypeVar("Config", bound=WebhookConfig)
JsonBody = dict[str, Any]
_Queued = tuple[float, int, float, int, str, JsonBody]  # key, order, due, attempt, url, body


class WebhookSender(Generic[Config]):
    """Queues bodies while a URL is configured and delivers them in a daemon thread."""

    def __init__(self, config: Config, thread_name: str = "webhooks") -> None:
        self.config = config
        self.attempts: list[DeliveryAttempt] = []
        self._thread_name = thread_name
        self._queue: list[_Queued] = []
        self._order = itertools.count()
        self._busy = False
        self._closed = False
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self._random = random.Random(config.duplicate_seed)

    def describe(self, body: JsonBody) -> tuple[str, str]:
        """``(id, event)`` of a body, for the attempt log."""
        raise NotImplementedError

    def configure(self, **changes: Any) -> Config:
        """Change the URL and/or other settings for bodies queued from now on; ``ValueError``
        (and no change) if any name is not a setting."""
        with self._condition:
            names = {setting.name for setting in fields(self.config)}
            for name in changes:
                if name not in names:
                    raise ValueError(f"unknown webhook setting {name!r}")
            for name, value in changes.items():
                setattr(self.config, name, value)
            return self.config

    def send(self, build: Callable[[Config], Iterable[JsonBody]]) -> None:
        """Queue the bodies ``build`` makes with the settings in force, if a URL is configured."""
        with self._condition:
            url = self.config.url
            if not url or not self.config.active or self._closed:
                return
            for body in build(self.config):
                self._push(time.monotonic(), next(self._order), 1, url, body)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
                self._thread.start()

    def attempts_as_dicts(self) -> list[dict[str, Any]]:
        with self._condition:
            return [asdict(attempt) for attempt in self.attempts]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is queued or being sent; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return True

    def clear(self) -> None:
        """Drop queued deliveries and the attempt log (between tests)."""
        with self._condition:
            self._queue.clear()
            self.attempts.clear()
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._queue.clear()
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.config.timeout + 1)

    def _push(self, due: float, order: int, attempt: int, url: str, body: JsonBody) -> None:
        """Queue a body; ``order`` is its place in line, kept by its retries and duplicates."""
        key = float(order) if self.config.ordered else due
        heapq.heappush(self._queue, (key, order, due, attempt, url, body))
        self._condition.notify_all()

    def _run(self) -> None:
        while True:
            with self._condition:
                item = self._next_due()
                if item is None:
                    return
                self._busy = True
            _, order, _, attempt, url, body = item
            status, error = self._post(url, body)
            with self._condition:
                self._busy = False
                delivered = status in self.config.accepted
                self.attempts.append(
                    DeliveryAttempt(*self.describe(body), attempt, url, status, error, delivered)
                )
                again = attempt < self.config.max_attempts and not self._closed
                if not delivered and again:
                    due = time.monotonic() + self.config.delay_after(attempt)
                    self._push(due, order, attempt + 1, url, body)
                elif delivered and again and self._duplicate():
                    self._push(time.monotonic() + self.config.retry_base, order, attempt + 1, url, body)
                elif not delivered and self.config.disable_on_give_up and not self._closed:
                    self.config.active = False
                    self._queue.clear()
                self._condition.notify_all()

    def _duplicate(self) -> bool:
        return self.config.duplicate_rate > 0 and self._random.random() < self.config.duplicate_rate

    def _next_due(self) -> _Queued | None:
        """Wait (holding the condition) for the earliest queued delivery to fall due."""
        while not self._closed:
            if not self._queue:
                self._condition.wait()
                continue
            wait = self._queue[0][2] - time.monotonic()
            if wait <= 0:
                return heapq.heappop(self._queue)
            self._condition.wait(wait)
        return None

    def _post(self, url: str, body: JsonBody) -> tuple[int | None, str | None]:
        config = self.config
        connect = config.timeout if config.connect_timeout is None else config.connect_timeout
        try:
            response = self._session.post(url, json=body, timeout=(connect, config.timeout))
        except requests.RequestException as exc:
            return None, type(exc).__name__
        return response.status_code, None


def webhook_admin_router(webhooks: WebhookSender[Any], refusal: Callable[[str], Exception]) -> APIRouter:
    """``GET``/``PUT /webhook`` (the settings) and ``GET /webhook/deliveries`` (the attempt log),
    to include in a simulator's ``/_admin`` router; ``refusal(message)`` is raised for an
    unknown setting."""
    router = APIRouter()
    settings = ", ".join(f'"{setting.name}"' for setting in fields(webhooks.config))

    @router.get("/webhook")
    def get_webhook() -> dict[str, Any]:
        return vars(webhooks.config)

    @router.put("/webhook", description=f"Any of ``{{{settings}}}``.")
    def set_webhook(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        try:
            return vars(webhooks.configure(**body))
        except ValueError as exc:
            raise refusal(str(exc)) from None

    @router.get("/webhook/deliveries")
    def deliveries() -> list[dict[str, Any]]:
        return webhooks.attempts_as_dicts()

    return router
