"""The webhook intake: a FastAPI app the Airflow API server mounts (plugin ``fastapi_apps``).

``POST <prefix>/webhooks/<source>/<secret>`` or ``POST <prefix>/webhooks/<source>`` with the
secret in the ``X-Credly-Sync-Secret`` header. Airflow adds no authentication to a plugin app
(airflow-3.md §14), so each request is checked here, in this order, and refused with nothing
stored: unknown source 404, no secret configured 503, missing or wrong secret 401 (constant-time
comparison), body over the source's limit 413, malformed JSON 400, a shape or event type the
source does not send 422, warehouse unreachable 503 (the sender retries). Otherwise every
event of the body is stored in ``event_inbox`` in one transaction, each once by its id (a
duplicate delivery stores nothing and is still answered 200: Credly, Docebo and ALM want one),
and the answer is sent without any API call. Processing (the ``credly_sync_events`` DAG)
re-reads each event from its source before acting.

The secrets live in the Airflow connection ``credly_sync_webhooks``, extra
``{"credly": "<secret>", "docebo": "<secret>", "alm": "<secret>"}`` (read at most every
``secret_ttl`` seconds; a source without a secret is refused).
A secret in the path is replaced by ``***`` in the request's path before the response is
sent, so the server's access log never shows it.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import BackgroundTasks, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from credly_sync.warehouse.inbox import InboxEvent, store_events
from credly_sync.webhooks.sources import SOURCES, BadPayload, WebhookSource

log = logging.getLogger(__name__)
SECRETS_CONN_ID = "credly_sync_webhooks"
SECRET_HEADER = "X-Credly-Sync-Secret"
REDACTED = "***"

Notify = Callable[[str, int], None]


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Secrets:
    """The per-source secrets from the connection's extra, re-read every ``ttl`` seconds."""

    def __init__(self, conn_id: str, ttl: float) -> None:
        self.conn_id = conn_id
        self.ttl = ttl
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}
        self._read_at = float("-inf")

    def get(self, source: str) -> str | None:
        with self._lock:
            if time.monotonic() - self._read_at >= self.ttl:
                self._values = self._read()
                self._read_at = time.monotonic()
            return self._values.get(source)

    def _read(self) -> dict[str, str]:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            extra = BaseHook.get_connection(self.conn_id).extra_dejson
        except AirflowNotFoundException:
            log.warning("connection %r does not exist: every webhook is refused", self.conn_id)
            return {}
        return {str(k): v for k, v in extra.items() if isinstance(v, str) and v}


def create_app(
    *,
    engine: Callable[[], Engine] | None = None,
    notify: Notify | None = None,
    secrets_conn_id: str = SECRETS_CONN_ID,
    secret_ttl: float = 30.0,
) -> FastAPI:
    """The intake app. ``engine`` gives the warehouse engine (default: the warehouse
    connection, created on first use); ``notify(source, new_events)`` runs after the answer
    when events were stored (default: an Airflow Asset event for the event DAG)."""
    secrets = _Secrets(secrets_conn_id, secret_ttl)
    get_engine = engine or _cached_warehouse_engine()
    notify = notify if notify is not None else _asset_notifier()
    app = FastAPI(
        title="credly-sync webhooks",
        description=__doc__,
        docs_url=None,  # no interactive docs on an unauthenticated public endpoint
        redoc_url=None,
        openapi_url=None,
    )

    async def receive(request: Request, source: str, secret: str | None, tasks: BackgroundTasks) -> Any:
        try:
            webhook = _source(source)
            _check_secret(secrets, webhook, secret)
            body = await _read_body(request, webhook.max_body_bytes)
            events = _parse(webhook, _json(body))
            new = await run_in_threadpool(_store, get_engine, events)
        except _Refusal as refusal:
            log.info("webhook %s refused: %s %s", source, refusal.status, refusal.message)
            return JSONResponse({"detail": refusal.message}, status_code=refusal.status)
        if new:
            tasks.add_task(_notify_quietly, notify, webhook.name, new)
        return {"stored": new, "duplicates": len(events) - new}

    @app.post("/webhooks/{source}")
    async def with_header(
        source: str,
        request: Request,
        tasks: BackgroundTasks,
        x_credly_sync_secret: str | None = Header(default=None),
    ) -> Any:
        """The secret in the ``X-Credly-Sync-Secret`` header."""
        return await receive(request, source, x_credly_sync_secret, tasks)

    @app.post("/webhooks/{source}/{secret}")
    async def with_path_secret(source: str, secret: str, request: Request, tasks: BackgroundTasks) -> Any:
        """The secret as the last path segment (for senders that cannot set headers)."""
        _redact_path(request, secret)
        return await receive(request, source, secret, tasks)

    return app


def _source(name: str) -> WebhookSource:
    webhook = SOURCES.get(name)
    if webhook is None:
        raise _Refusal(404, f"unknown webhook source {name!r}; known: {', '.join(SOURCES)}")
    return webhook


def _check_secret(secrets: _Secrets, webhook: WebhookSource, given: str | None) -> None:
    try:
        expected = secrets.get(webhook.name)
    except Exception as exc:  # the metadata database or a secrets backend is down
        log.warning("webhook secrets unreadable: %s", type(exc).__name__)
        raise _Refusal(503, "webhook intake unavailable, retry later") from None
    if not expected:
        raise _Refusal(
            503,
            f"webhook intake for {webhook.name} is not configured "
            f"(no {webhook.name!r} secret in connection {SECRETS_CONN_ID!r})",
        )
    if not given:
        raise _Refusal(401, f"missing secret: put it in the URL path or the {SECRET_HEADER} header")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise _Refusal(401, "wrong secret")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Refusal(413, f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _Refusal(413, f"body larger than {limit} bytes")
    return bytes(body)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Refusal(400, f"malformed JSON: {exc}") from None


def _store(get_engine: Callable[[], Engine], events: list[InboxEvent]) -> int:
    try:
        with get_engine().begin() as connection:
            return store_events(connection, events)
    except SQLAlchemyError as exc:
        log.error("webhook events not stored: %s", type(exc).__name__)
        raise _Refusal(503, "warehouse unavailable, retry later") from None


def _parse(webhook: WebhookSource, body: Any) -> list[InboxEvent]:
    try:
        return webhook.parse(body)
    except BadPayload as exc:
        raise _Refusal(422, str(exc)) from None


def _redact_path(request: Request, secret: str) -> None:
    """Replace the secret in the ASGI scope the server logs the request from."""
    scope = request.scope
    scope["path"] = scope["path"].replace(secret, REDACTED)
    if isinstance(scope.get("raw_path"), bytes):
        scope["raw_path"] = scope["raw_path"].replace(secret.encode(), REDACTED.encode())


def _notify_quietly(notify: Notify, source: str, new: int) -> None:
    try:
        notify(source, new)
    except Exception:  # the one-minute schedule picks the events up anyway
        log.warning("inbox notification failed; the event DAG's schedule picks the events up", exc_info=True)


def _cached_warehouse_engine() -> Callable[[], Engine]:
    lock = threading.Lock()
    engines: list[Engine] = []

    def get() -> Engine:
        with lock:
            if not engines:
                from credly_sync.warehouse.engine import warehouse_engine

                engines.append(warehouse_engine())
            return engines[0]

    return get


def _asset_notifier(min_interval: float = 2.0) -> Notify:
    """An Asset event on :data:`credly_sync.assets.WEBHOOK_INBOX`, at most every
    ``min_interval`` seconds: events stored meanwhile are read by the run it starts."""
    lock = threading.Lock()
    last = [float("-inf")]

    def notify(source: str, new: int) -> None:
        with lock:
            if time.monotonic() - last[0] < min_interval:
                return
            last[0] = time.monotonic()
        from credly_sync.webhooks.assets import emit_inbox_event

        emit_inbox_event({"source": source, "events": new})

    return notify
