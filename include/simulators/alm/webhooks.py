"""Outgoing webhooks (lms-apis.md §2.7): each change POSTed as one envelope
``{"accountId", "events": [...]}`` carrying all its events (several events per request).

Learner actions fire ``COURSE_COMPLETED`` and the like, admin actions the ``_BATCH`` forms;
only the webhook's trigger events (``events``; None: every event) are sent. Delivery is the
shared :mod:`include.simulators.common.webhooks` with ALM's documented rules
(``webhooks-usage-guide.md``, "Fault tolerance"): connect timeout 10 s, socket timeout 5 s;
200 or 202 acknowledges; one envelope at a time, in order ("subsequent events will only be
emitted once the previous acknowledgement is received"); retries 5 s doubling to a 5-minute
cap, then every 5 minutes for the 7-day retention, after which the webhook is disabled
(``active`` false). Duplicates (``duplicate_rate``) resend the whole envelope. No signature
(unconfirmed).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from include.simulators.alm.records import now_text, parse_time
from include.simulators.alm.unconfirmed import (
    ACCOUNT_ID,
    WEBHOOK_ACCEPTED,
    WEBHOOK_CONNECT_TIMEOUT,
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_RETRY_BASE,
    WEBHOOK_RETRY_CAP,
    WEBHOOK_RETRY_FACTOR,
    WEBHOOK_TIMEOUT,
)
from include.simulators.common import webhooks as common
from include.simulators.common.strictness import ServerMode


@dataclass
class WebhookConfig(common.WebhookConfig):
    """Where to deliver, which events ("Trigger events"), how hard to retry (seconds);
    ``retry_cap`` bounds one wait."""

    account_id: int = ACCOUNT_ID
    events: list[str] | None = None  # the trigger events chosen in ALM; None: all
    retry_base: float = WEBHOOK_RETRY_BASE
    retry_factor: float = WEBHOOK_RETRY_FACTOR
    retry_cap: float = WEBHOOK_RETRY_CAP
    max_attempts: int = WEBHOOK_MAX_ATTEMPTS
    timeout: float = WEBHOOK_TIMEOUT
    connect_timeout: float | None = WEBHOOK_CONNECT_TIMEOUT
    accepted: tuple[int, ...] = WEBHOOK_ACCEPTED
    ordered: bool = True
    disable_on_give_up: bool = True

    def delay_after(self, attempt: int) -> float:
        try:
            return min(self.retry_cap, super().delay_after(attempt))
        except OverflowError:  # a week of retries: the doubling outgrows a float long before
            return self.retry_cap


class WebhookSender(common.WebhookSender[WebhookConfig]):
    """Queues one envelope per change while a URL is configured."""

    def __init__(self, mode: ServerMode, config: WebhookConfig | None = None) -> None:
        super().__init__(config or WebhookConfig(), thread_name="alm-webhooks")
        self.mode = mode

    def notify(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Listener for :class:`AlmState`: queue the envelope of one change."""
        strict = self.mode.strict
        fired = now_text()

        def envelopes(config: WebhookConfig) -> list[dict[str, Any]]:
            chosen = [(n, d) for n, d in events if config.events is None or n in config.events]
            if not chosen:
                return []
            return [
                {"accountId": config.account_id, "events": [_event(n, d, fired, strict) for n, d in chosen]}
            ]

        self.send(envelopes)

    def describe(self, body: dict[str, Any]) -> tuple[str, str]:
        events = body["events"]
        return events[0]["eventId"], ",".join(dict.fromkeys(event["eventName"] for event in events))


def _event(name: str, data: dict[str, Any], fired: str, strict: bool) -> dict[str, Any]:
    data = dict(data)
    if data.get("dateCompleted"):
        data["dateCompleted"] = _time(data["dateCompleted"], strict)
    event_id = uuid.uuid4()
    number = event_id.int
    return {
        "eventId": str(event_id),
        "eventName": name,
        "timestamp": _time(fired, strict),
        # the samples' form: "<epoch ms>-<6 digits>-<digits>-0"
        "eventInfo": f"{_epoch_ms(fired)}-{number % 10**6:06d}-{number // 10**6 % 10**6}-0",
        "data": data,
    }


def _time(text: str, strict: bool) -> str | int:
    """Strict: epoch milliseconds (``webhooks.md``'s first sample); helpful: ISO text."""
    return _epoch_ms(text) if strict else text


def _epoch_ms(text: str) -> int:
    return int(parse_time(text).timestamp() * 1000)
