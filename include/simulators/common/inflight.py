"""Counting the API requests a simulator is still handling, so tests can wait for zero before
looking or resetting (``settle()`` in the fixtures)."""

from __future__ import annotations

import threading
import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send


class InflightCounter:
    """How many API requests are being handled."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self, delta: int) -> None:
        with self._lock:
            self.count += delta

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no API request is in progress; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while self.count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.count == 0


class InflightMiddleware:
    """Counts API requests (not ``/_admin``) from arrival until their handling ends."""

    def __init__(self, app: ASGIApp, counter: InflightCounter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_admin"):
            await self.app(scope, receive, send)
            return
        self.counter.add(1)
        try:
            await self.app(scope, receive, send)
        finally:
            self.counter.add(-1)


def count_inflight(app: FastAPI) -> InflightCounter:
    """Add the counting middleware to ``app`` (outermost so far: add it last to also count
    requests held by slow faults) and return its counter."""
    counter = InflightCounter()
    app.add_middleware(InflightMiddleware, counter=counter)
    return counter
