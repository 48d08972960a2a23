"""A local Docebo Learn API (lms-apis.md §1): OAuth2, paged reads, the writes the sync needs
(invented shapes in :mod:`.unconfirmed`), webhooks, fault injection and a seeded generator."""

from include.simulators.docebo.app import DoceboSimulator, build_simulator
from include.simulators.docebo.state import DoceboState
from include.simulators.docebo.webhooks import WebhookConfig

__all__ = ["DoceboSimulator", "DoceboState", "WebhookConfig", "build_simulator"]
