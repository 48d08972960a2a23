"""A local Adobe Learning Manager API v2 (lms-apis.md §2): OAuth with 7-day tokens, JSON:API
reads with cursor paging, the 406 / 429 rules, webhooks, fault injection and a seeded
generator (invented shapes and the strict / helpful forms in :mod:`.unconfirmed`)."""

from include.simulators.alm.app import AlmSimulator, build_simulator
from include.simulators.alm.state import AlmState
from include.simulators.alm.webhooks import WebhookConfig

__all__ = ["AlmSimulator", "AlmState", "WebhookConfig", "build_simulator"]
