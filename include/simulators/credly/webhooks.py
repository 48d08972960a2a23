"""Outgoing webhooks (§5.10, §9): the slim event body POSTed to the configured URL.

Delivery runs in one background thread, so API calls never wait for it. Only HTTP 200 is
success; anything else (another status, an error, a timeout) is retried after growing
intervals up to ``max_attempts``. Every attempt is recorded for tests.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import requests

from include.simulators.credly.records import Event
from include.simulators.credly.unconfirmed import (
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_RETRY_BASE,
    WEBHOOK_RETRY_FACTOR,
    WEBHOOK_TIMEOUT,
)


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of one event: the answer's status (None when there was none) or the error."""

    event_id: str
    attempt: int
    url: str
    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status == 200


@dataclass
class WebhookConfig:
    """Where to deliver and how hard to retry (seconds)."""

    url: str | None = None
    retry_base: float = WEBHOOK_RETRY_BASE
    retry_factor: float = WEBHOOK_RETRY_FACTOR
    max_attempts: int = WEBHOOK_MAX_ATTEMPTS
    timeout: float = WEBHOOK_TIMEOUT

    def delay_after(self, attempt: int) -> float:
        return self.retry_base * self.retry_factor ** (attempt - 1)


class WebhookSender:
    """Queues events while a URL is configured and delivers them in a daemon thread."""

    def __init__(self, organization_id: str, config: WebhookConfig | None = None) -> None:
        self.organization_id = organization_id
        self.config = config or WebhookConfig()
        self.attempts: list[DeliveryAttempt] = []
        self._queue: list[tuple[float, int, int, str, dict[str, Any]]] = []
        self._order = itertools.count()
        self._busy = False
        self._closed = False
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    def configure(self, **changes: Any) -> WebhookConfig:
        """Change the URL and/or retry settings for events from now on."""
        with self._condition:
            for name, value in changes.items():
                if not hasattr(self.config, name):
                    raise ValueError(f"unknown webhook setting {name!r}")
                setattr(self.config, name, value)
            return self.config

    def notify(self, event: Event) -> None:
        """Listener for :class:`CredlyState`: queue the event if a URL is configured."""
        body = {
            "id": event.id,
            "organization_id": self.organization_id,
            "event_type": event.event_type,
            "occurred_at": event.occurred_at,
        }
        with self._condition:
            if not self.config.url or self._closed:
                return
            self._push(time.monotonic(), 1, self.config.url, body)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="credly-webhooks", daemon=True)
                self._thread.start()

    def attempts_as_dicts(self) -> list[dict[str, Any]]:
        with self._condition:
            return [{**asdict(attempt), "delivered": attempt.delivered} for attempt in self.attempts]

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

    def _push(self, due: float, attempt: int, url: str, body: dict[str, Any]) -> None:
        heapq.heappush(self._queue, (due, next(self._order), attempt, url, body))
        self._condition.notify_all()

    def _run(self) -> None:
        while True:
            with self._condition:
                item = self._next_due()
                if item is None:
                    return
                self._busy = True
            _, _, attempt, url, body = item
            status, error = self._post(url, body)
            with self._condition:
                self._busy = False
                self.attempts.append(DeliveryAttempt(body["id"], attempt, url, status, error))
                if status != 200 and attempt < self.config.max_attempts and not self._closed:
                    self._push(time.monotonic() + self.config.delay_after(attempt), attempt + 1, url, body)
                self._condition.notify_all()

    def _next_due(self) -> tuple[float, int, int, str, dict[str, Any]] | None:
        """Wait (holding the condition) for the earliest queued delivery to fall due."""
        while not self._closed:
            if not self._queue:
                self._condition.wait()
                continue
            wait = self._queue[0][0] - time.monotonic()
            if wait <= 0:
                return heapq.heappop(self._queue)
            self._condition.wait(wait)
        return None

    def _post(self, url: str, body: dict[str, Any]) -> tuple[int | None, str | None]:
        try:
            response = self._session.post(url, json=body, timeout=self.config.timeout)
        except requests.RequestException as exc:
            return None, type(exc).__name__
        return response.status_code, None
