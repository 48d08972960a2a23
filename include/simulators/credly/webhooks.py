"""Outgoing webhooks (§5.10, §9): the slim event body POSTed to the configured URL.

Delivery (queue, background thread, retries until HTTP 200, attempt log) is the shared
:mod:`include.simulators.common.webhooks`; this module says what Credly sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from include.simulators.common import webhooks as common
from include.simulators.credly.records import Event
from include.simulators.credly.unconfirmed import (
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_RETRY_BASE,
    WEBHOOK_RETRY_FACTOR,
    WEBHOOK_TIMEOUT,
)


@dataclass
class WebhookConfig(common.WebhookConfig):
    """Where to deliver and how hard to retry (seconds)."""

    retry_base: float = WEBHOOK_RETRY_BASE
    retry_factor: float = WEBHOOK_RETRY_FACTOR
    max_attempts: int = WEBHOOK_MAX_ATTEMPTS
    timeout: float = WEBHOOK_TIMEOUT


class WebhookSender(common.WebhookSender[WebhookConfig]):
    """Queues one slim body per event while a URL is configured."""

    def __init__(self, organization_id: str, config: WebhookConfig | None = None) -> None:
        super().__init__(config or WebhookConfig(), thread_name="credly-webhooks")
        self.organization_id = organization_id

    def notify(self, event: Event) -> None:
        """Listener for :class:`CredlyState`: queue the event if a URL is configured."""
        body = {
            "id": event.id,
            "organization_id": self.organization_id,
            "event_type": event.event_type,
            "occurred_at": event.occurred_at,
        }
        self.send(lambda _config: [body])

    def describe(self, body: dict[str, Any]) -> tuple[str, str]:
        return body["id"], body["event_type"]
