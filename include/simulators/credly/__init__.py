"""A faithful local Credly Web Service API (reference/credly-api.md) for tests, demo and benchmarks.

``build_simulator(org, token)`` gives the FastAPI app with its state; run it in a thread with
``include.simulators.common.server.ThreadedServer`` or as ``python -m include.simulators.credly``.
Choices where Credly's behaviour is unconfirmed live in :mod:`.unconfirmed`.
"""

from include.simulators.credly.app import CredlySimulator, build_simulator
from include.simulators.credly.state import CredlyState
from include.simulators.credly.webhooks import WebhookConfig

__all__ = ["CredlySimulator", "CredlyState", "WebhookConfig", "build_simulator"]
