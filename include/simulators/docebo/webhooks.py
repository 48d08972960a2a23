"""Outgoing webhooks (lms-apis.md §1.7): each change POSTed as JSON to the configured URL.

One message per payload (``payload``), or, with ``grouped`` on ("Allow the platform to group
payloads"), one message per change carrying all its payloads (``payloads``). Delivery runs in
a daemon thread; only HTTP 200 is success, anything else is retried after growing intervals up
to ``max_attempts``. Every attempt is recorded for tests.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import requests

from include.simulators.docebo.unconfirmed import (
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_RETRY_BASE,
    WEBHOOK_RETRY_FACTOR,
    WEBHOOK_TIMEOUT,
)


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of one message: the answer's status (None when there was none) or the error."""

    message_id: str
    event: str
    attempt: int
    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status == 200


@dataclass
class WebhookConfig:
    """Where to deliver, whether to group payloads, and how hard to retry (seconds)."""

    url: str | None = None
    grouped: bool = False
    webhook_id: int = 1
    retry_base: float = WEBHOOK_RETRY_BASE
    retry_factor: float = WEBHOOK_RETRY_FACTOR
    max_attempts: int = WEBHOOK_MAX_ATTEMPTS
    timeout: float = WEBHOOK_TIMEOUT

    def delay_after(self, attempt: int) -> float:
        return self.retry_base * self.retry_factor ** (attempt - 1)


class WebhookSender:
    """Queues messages while a URL is configured and delivers them in a daemon thread."""

    def __init__(self, domain: str, config: WebhookConfig | None = None) -> None:
        self.domain = domain
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
        """Change the URL, grouping and/or retry settings for messages from now on."""
        with self._condition:
            for name in changes:
                if name not in WebhookConfig.__dataclass_fields__:
                    raise ValueError(f"unknown webhook setting {name!r}")
            for name, value in changes.items():
                setattr(self.config, name, value)
            return self.config

    def notify(self, event: str, payloads: list[dict[str, Any]]) -> None:
        """Listener for :class:`DoceboState`: queue the messages for one change."""
        with self._condition:
            url = self.config.url
            if not url or self._closed:
                return
            batch = len(payloads) > 1
            if self.config.grouped:
                bodies = [self._message(event, batch, {"payloads": payloads})]
            else:
                bodies = [self._message(event, batch, {"payload": payload}) for payload in payloads]
            for body in bodies:
                self._push(time.monotonic(), 1, url, body)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="docebo-webhooks", daemon=True)
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

    def _message(self, event: str, batch: bool, content: dict[str, Any]) -> dict[str, Any]:
        return {
            "webhook_id": self.config.webhook_id,
            "original_domain": self.domain,
            "event": event,
            "fired_by_batch_action": batch,
            "message_id": f"wh-{uuid.uuid4().hex}",
            **content,
        }

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
                self.attempts.append(
                    DeliveryAttempt(body["message_id"], body["event"], attempt, status, error)
                )
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
