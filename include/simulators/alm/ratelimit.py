"""ALM's documented rate limits (lms-apis.md §2.3): per method, requests per minute and a burst.

Every API answer carries ``x-rate-limit`` (``100r/m``) and ``x-burst``. Enforcement is off until
a test or the demo turns it on (``PUT /_admin/rate_limits``): the page leaves its start date as
"DD/MM/YYYY". Over the limit: 429, ``{"message":"429 Too many requests"}`` and ``retry-after``
in fractional seconds, the time until the bucket holds one request again.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from include.simulators.alm.unconfirmed import error_body

# Admin-role limits (requests per minute, burst); the simulator serves admin tokens only.
DOCUMENTED_LIMITS: dict[str, tuple[float, float]] = {
    "GET": (100, 100),
    "POST": (30, 10),
    "PUT": (20, 10),
    "PATCH": (60, 20),
    "DELETE": (25, 10),
}


class RateLimiter:
    """A token bucket per method."""

    def __init__(self) -> None:
        self.enabled = False
        self.limits = dict(DOCUMENTED_LIMITS)
        self._buckets: dict[str, tuple[float, float]] = {}  # method -> (tokens, at)
        self._lock = threading.Lock()

    def configure(self, enabled: bool | None = None, limits: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            if enabled is not None:
                self.enabled = bool(enabled)
            for method, (per_minute, burst) in (limits or {}).items():
                if float(per_minute) <= 0 or float(burst) < 1:
                    raise ValueError(f"{method}: per minute must be above 0 and burst at least 1")
                self.limits[method.upper()] = (float(per_minute), float(burst))
            self._buckets.clear()
            return self.settings()

    def settings(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "limits": {m: list(v) for m, v in self.limits.items()}}

    def reset(self) -> None:
        with self._lock:
            self.enabled = False
            self.limits = dict(DOCUMENTED_LIMITS)
            self._buckets.clear()

    def take(self, method: str) -> float | None:
        """None when the request may go; else the seconds to wait."""
        per_minute, burst = self.limits.get(method, DOCUMENTED_LIMITS["GET"])
        rate = per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(method, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens >= 1:
                self._buckets[method] = (tokens - 1, now)
                return None
            self._buckets[method] = (tokens, now)
            return (1 - tokens) / rate

    def headers(self, method: str) -> list[tuple[bytes, bytes]]:
        per_minute, burst = self.limits.get(method, DOCUMENTED_LIMITS["GET"])
        return [(b"x-rate-limit", f"{per_minute:g}r/m".encode()), (b"x-burst", f"{burst:g}".encode())]


class RateLimitMiddleware:
    """Rate-limit headers on every API answer and, when enforced, 429 over the limit."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, prefix: str) -> None:
        self.app = app
        self.limiter = limiter
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        extra = self.limiter.headers(method)
        wait = self.limiter.take(method) if self.limiter.enabled else None
        if wait is not None:
            payload = json.dumps(error_body(429)).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"retry-after", f"{wait:.3f}".encode()),
                (b"content-length", str(len(payload)).encode()),
                *extra,
            ]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
