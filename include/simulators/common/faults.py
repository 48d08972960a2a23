"""Fault injection and call counting for the API simulators.

A simulator wraps its FastAPI app in :class:`SimulatorMiddleware`. The middleware counts
every request by route template (``GET /v1/organizations/{org}/badges``) and, before the
route runs, asks the :class:`FaultPlan` whether to misbehave instead.

A plan holds rules. A rule matches requests by method (one, or several joined by ``|``:
``"POST|PUT|DELETE"``) and a regular expression on the path. A rule with ``times`` is
scripted: it fires on the next ``times`` matching requests (in rule order) and is then used
up. A rule without ``times`` is probabilistic: each request draws one number from the plan's
random generator (seeded, so a run with the same requests in the same order is reproduced)
and the matching probabilistic rules share it, so their probabilities add up instead of
shadowing each other. ``[503 p=0.04 everywhere, 429 p=0.03 everywhere, slow p=0.03
everywhere, applied_then_status 504 p=0.01 on POST|PUT|DELETE]`` gives a write 11 % faults
(1 % applied-then-504) and a read 10 %. Scripted rules are tried before probabilistic ones.

Fault kinds (``kind``):

* ``status``: answer ``status`` (429, 500, 502, 503, ...) with the simulator's error body,
  without handling the request; ``retry_after`` adds a ``Retry-After`` header (seconds, or
  text such as an HTTP date).
* ``slow``: sleep ``delay`` seconds, then handle and answer normally (client timeouts).
* ``late``: handle the request at once, then hold the answer ``delay`` seconds: the change is
  made although the client times out (the uncertain outcome a non-idempotent POST must survive).
* ``applied_then_status``: handle the request (the change is made), wait ``delay`` seconds,
  then throw the real answer away and answer ``status`` (e.g. 504) with the error body: a
  gateway that timed out while the server finished the write. ``retry_after`` as for ``status``.
* ``reset``: send headers promising a body, then drop the connection half way.
* ``malformed``: answer 200 with a truncated JSON body.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FaultKind = Literal["status", "slow", "late", "applied_then_status", "reset", "malformed"]
ErrorBody = Callable[[int], dict[str, Any]]


@dataclass
class FaultRule:
    """One way to misbehave, for requests whose method and path match."""

    kind: FaultKind
    status: int = 500
    retry_after: float | str | None = None
    delay: float = 0.0
    method: str | None = None
    path: str | None = None
    probability: float = 1.0
    times: int | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and method not in self.method.upper().split("|"):
            return False
        return not self.path or re.search(self.path, path) is not None


@dataclass
class FaultPlan:
    """The rules in force, a seeded generator for probabilistic ones, and a base latency."""

    rules: list[FaultRule] = field(default_factory=list)
    latency: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        rules = [FaultRule(**rule) for rule in data.get("rules", [])]
        return cls(rules=rules, latency=float(data.get("latency", 0.0)), seed=int(data.get("seed", 0)))

    def to_dict(self) -> dict[str, Any]:
        return {"rules": [asdict(rule) for rule in self.rules], "latency": self.latency, "seed": self.seed}

    def draw(self, method: str, path: str) -> FaultRule | None:
        """The rule that fires for this request, if any: a scripted rule with ``times`` left
        (used up by one), else the probabilistic rule the request's one draw falls into."""
        with self._lock:
            matching = [rule for rule in self.rules if rule.matches(method, path)]
            for rule in matching:
                if rule.times is not None and rule.times > 0:
                    rule.times -= 1
                    return rule
            # One draw per request, whichever rules match, so the sequence of verdicts depends
            # only on the seed and the order of requests.
            draw = self._random.random()
            threshold = 0.0
            for rule in matching:
                if rule.times is None:
                    threshold += rule.probability
                    if draw < threshold:
                        return rule
        return None


class KeyCounter:
    """Thread-safe counts per key: requests per ``METHOD /route/template``, ignored filters."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class SimulatorMiddleware:
    """ASGI middleware: count the call, then apply the fault plan's verdict."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        plan_holder: Any,
        counter: KeyCounter,
        error_body: ErrorBody,
        exempt_prefix: str = "/_admin",
    ) -> None:
        self.app = app
        self.plan_holder = plan_holder
        self.counter = counter
        self.error_body = error_body
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        self.counter.add(f"{method} {route_template(self.app, scope)}")
        plan: FaultPlan = self.plan_holder.faults
        if plan.latency:
            await asyncio.sleep(plan.latency)
        rule = plan.draw(method, path)
        if rule is None:
            await self.app(scope, receive, send)
        elif rule.kind == "slow":
            await asyncio.sleep(rule.delay)
            await self.app(scope, receive, send)
        elif rule.kind == "late":
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, receive, hold)
            await asyncio.sleep(rule.delay)
            for message in held:
                await send(message)
        elif rule.kind == "applied_then_status":
            await self.app(scope, receive, _discard)
            await asyncio.sleep(rule.delay)
            await _send_json(send, rule.status, self.error_body(rule.status), rule.retry_after)
        elif rule.kind == "status":
            await _send_json(send, rule.status, self.error_body(rule.status), rule.retry_after)
        elif rule.kind == "malformed":
            await _send_raw(send, 200, b'{"data": [{"id": "trunc', "application/json")
        else:  # reset
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"data": ', "more_body": True})
            raise ConnectionResetError("simulated connection reset")


def route_template(app: Any, scope: Scope) -> str:
    """The path template of the route that serves this request (the raw path if none)."""
    router = app
    while not hasattr(router, "routes") and hasattr(router, "app"):
        router = router.app
    for route in getattr(router, "routes", []):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "path", scope["path"])
    return scope["path"]


async def _discard(_: Message) -> None:
    """The ``send`` of a request whose real answer is never delivered."""


async def _send_json(send: Send, status: int, body: dict[str, Any], retry_after: float | str | None) -> None:
    headers = [(b"content-type", b"application/json")]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    payload = json.dumps(body).encode()
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _send_raw(send: Send, status: int, payload: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
