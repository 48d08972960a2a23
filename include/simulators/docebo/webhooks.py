"""Outgoing webhooks (lms-apis.md §1.7): each change POSTed as JSON to the configured URL.

One message per payload (``payload``), or, with ``grouped`` on ("Allow the platform to group
payloads"), messages of up to ``max_group`` (25) payloads of the change (``payloads``). Delivery (queue,
daemon thread, retries until HTTP 200, attempt log) is the shared
:mod:`include.simulators.common.webhooks`; this module says what Docebo sends.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from include.simulators.common import webhooks as common
from include.simulators.docebo.unconfirmed import (
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_RETRY_BASE,
    WEBHOOK_RETRY_FACTOR,
    WEBHOOK_TIMEOUT,
)


@dataclass
class WebhookConfig(common.WebhookConfig):
    """Where to deliver, whether to group payloads, and how hard to retry (seconds)."""

    grouped: bool = False
    max_group: int = 25  # "events of one type are grouped, up to 25 per message"
    webhook_id: int = 1
    retry_base: float = WEBHOOK_RETRY_BASE
    retry_factor: float = WEBHOOK_RETRY_FACTOR
    max_attempts: int = WEBHOOK_MAX_ATTEMPTS
    timeout: float = WEBHOOK_TIMEOUT


class WebhookSender(common.WebhookSender[WebhookConfig]):
    """Queues the messages for each change while a URL is configured."""

    def __init__(self, domain: str, config: WebhookConfig | None = None) -> None:
        super().__init__(config or WebhookConfig(), thread_name="docebo-webhooks")
        self.domain = domain

    def notify(self, event: str, payloads: list[dict[str, Any]]) -> None:
        """Listener for :class:`DoceboState`: queue the messages for one change."""

        def messages(config: WebhookConfig) -> list[dict[str, Any]]:
            batch = len(payloads) > 1
            if config.grouped:
                size = max(1, config.max_group)
                return [
                    self._message(config, event, batch, {"payloads": payloads[start : start + size]})
                    for start in range(0, len(payloads), size)
                ]
            return [self._message(config, event, batch, {"payload": payload}) for payload in payloads]

        self.send(messages)

    def describe(self, body: dict[str, Any]) -> tuple[str, str]:
        return body["message_id"], body["event"]

    def _message(
        self, config: WebhookConfig, event: str, batch: bool, content: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "webhook_id": config.webhook_id,
            "original_domain": self.domain,
            "event": event,
            "fired_by_batch_action": batch,
            "message_id": f"wh-{uuid.uuid4().hex}",
            **content,
        }
