"""The Credly API routes (§5) under ``/v1/organizations/{organization_id}``, and the assembly of
state, fault control, webhooks and admin routes into one :class:`CredlySimulator`."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Body, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from include.simulators.common.inflight import InflightCounter, count_inflight
from include.simulators.common.refusal import ApiRefusal
from include.simulators.common.server import SimulatorControl, install_control, simulator_app
from include.simulators.credly.admin import admin_router
from include.simulators.credly.query import parse_filter
from include.simulators.credly.records import event_json, slim_badge_json
from include.simulators.credly.state import CredlyState
from include.simulators.credly.unconfirmed import (
    BATCH_MAX,
    HIGH_VOLUME_DATE_FIELD,
    HIGH_VOLUME_DATE_PARAMETERS,
    REVOKE_STATUS,
    STATUS_MESSAGES,
    page_sizes,
)
from include.simulators.credly.webhooks import WebhookConfig, WebhookSender

API_PREFIX = "/v1/organizations/{organization_id}"


def error_body(status: int) -> dict[str, Any]:
    """Credly's error envelope (§7), also used by fault injection."""
    return {"data": {"message": STATUS_MESSAGES.get(status, "Internal server error")}}


@dataclass
class CredlySimulator:
    """Everything a test or the CLI steers: the world and its mode, faults and calls, webhooks,
    the app."""

    state: CredlyState
    control: SimulatorControl
    webhooks: WebhookSender
    inflight: InflightCounter
    app: FastAPI


def build_simulator(
    organization_id: str,
    token: str,
    *,
    seed: int = 0,
    webhook: WebhookConfig | None = None,
    strict: bool = True,
) -> CredlySimulator:
    """A fresh, empty simulator for one organisation and token; ``strict=False`` serves the
    helpful forms of unconfirmed behaviour (see :mod:`.unconfirmed`)."""
    state = CredlyState(organization_id, token, seed=seed, strict=strict)
    webhooks = WebhookSender(organization_id, webhook)
    state.listeners.append(webhooks.notify)
    control = SimulatorControl()
    app = simulator_app("Credly API simulator", on_shutdown=webhooks.close)
    _install_error_handlers(app)
    app.include_router(api_router(state))
    app.include_router(admin_router(state, webhooks))
    install_control(app, control, error_body)
    inflight = count_inflight(app)  # outermost: counts requests held by slow faults too
    return CredlySimulator(state, control, webhooks, inflight, app)


def api_router(state: CredlyState) -> APIRouter:
    """The authenticated Credly routes."""

    def authorized(request: Request, organization_id: str) -> None:
        state.check_access(organization_id, _basic_token(request.headers.get("authorization")))

    router = APIRouter(prefix=API_PREFIX, dependencies=[Depends(authorized)])

    @router.get("/badge_templates")
    def list_templates(
        request: Request,
        filter: str | None = None,
        sort: str | None = None,
        page: int = 1,
        per: int | None = None,
    ) -> dict[str, Any]:
        records = state.list_templates(parse_filter(filter), sort)
        return _page(request, state.mode.strict, records, page, per, state.template_json)

    @router.get("/badge_templates/{template_id}")
    def get_template(template_id: str) -> dict[str, Any]:
        with state.lock:
            return _one(state.template_json(state.template(template_id)))

    @router.get("/badges")
    def list_badges(
        request: Request,
        filter: str | None = None,
        sort: str | None = None,
        page: int = 1,
        per: int | None = None,
    ) -> dict[str, Any]:
        records = state.list_badges(parse_filter(filter), sort)
        return _page(request, state.mode.strict, records, page, per, state.badge_json)

    @router.get("/high_volume_issued_badge_search")
    def high_volume_search(
        request: Request,
        filter: str | None = None,
        sort: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        badge_format: str | None = None,
        page: int = 1,
        per: int | None = None,
    ) -> dict[str, Any]:
        strict = state.mode.strict
        conditions = parse_filter(filter)
        if strict:
            state.mode.ignore(name for name in HIGH_VOLUME_DATE_PARAMETERS if name in request.query_params)
        else:
            if start_date:
                conditions[f"{HIGH_VOLUME_DATE_FIELD}_min"] = start_date
            if end_date:
                conditions[f"{HIGH_VOLUME_DATE_FIELD}_max"] = end_date
        records = state.list_badges(conditions, sort)

        def slim(badge: Any) -> dict[str, Any]:
            return slim_badge_json(badge, state.templates.get(badge.badge_template_id))

        paged = _page(request, strict, records, page, per, slim, high_volume=True)
        return {"data": paged["data"], "metadata": {"next_page_url": paged["metadata"]["next_page_url"]}}

    @router.get("/badges/{badge_id}")
    def get_badge(badge_id: str) -> dict[str, Any]:
        if state.mode.strict:  # the path is in no Credly text (unconfirmed.py)
            raise ApiRefusal(404, STATUS_MESSAGES[404])
        with state.lock:
            return _one(state.badge_json(state.badge(badge_id)))

    @router.post("/badges", status_code=201)
    def issue_badge(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        with state.lock:
            return _one(state.badge_json(state.issue(body)))

    @router.post("/badges/batch", status_code=201)
    def issue_batch(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        items = body.get("badges")
        if not isinstance(items, list) or not items:
            raise ApiRefusal(422, "badges is required")
        if len(items) > BATCH_MAX:
            raise ApiRefusal(422, f"A batch holds at most {BATCH_MAX} badges")
        issued = []
        with state.lock:
            for index, item in enumerate(items):
                try:
                    issued.append(state.badge_json(state.issue(item)))
                except ApiRefusal as refusal:
                    raise ApiRefusal(refusal.status, f"badges[{index}]: {refusal.message}") from None
        return {"data": issued, "metadata": {}}

    @router.put("/badges/{badge_id}/revoke", status_code=REVOKE_STATUS)
    def revoke_badge(badge_id: str, body: dict[str, Any] = Body(default_factory=dict)) -> dict[str, Any]:
        with state.lock:
            badge = state.revoke(
                badge_id, body.get("reason"), bool(body.get("suppress_revoke_notification_email"))
            )
            return _one(state.badge_json(badge))

    @router.post("/badges/{badge_id}/replace", status_code=201)
    def replace_badge(badge_id: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        with state.lock:
            return _one(state.badge_json(state.replace(badge_id, body)))

    @router.delete("/badges/{badge_id}", status_code=204)
    def delete_badge(badge_id: str) -> Response:
        state.delete_badge(badge_id)
        return Response(status_code=204)

    @router.get("/events")
    def list_events(request: Request, page: int = 1, per: int | None = None) -> dict[str, Any]:
        strict = state.mode.strict
        with state.lock:
            records = state.events[::-1] if strict else list(state.events)  # strict: newest first
        return _page(request, strict, records, page, per, lambda e: event_json(e, state.organization_id))

    @router.get("/events/{event_id}")
    def get_event(event_id: str) -> dict[str, Any]:
        return _one(event_json(state.event(event_id), state.organization_id))

    @router.post("/authorization_tokens/rotate")
    def rotate_token() -> dict[str, Any]:
        return _one({"token": state.rotate_token()})

    return router


def _page(
    request: Request,
    strict: bool,
    records: Sequence[Any],
    page: int,
    per: int | None,
    render: Callable[[Any], dict[str, Any]],
    *,
    high_volume: bool = False,
) -> dict[str, Any]:
    """One page in the §3 envelope; page sizes and links as the mode says (unconfirmed.py)."""
    default_per, max_per = page_sizes(strict, high_volume=high_volume)
    per = default_per if per is None else per
    if page < 1 or per < 1:
        raise ApiRefusal(422, "page and per must be positive integers")
    per = min(per, max_per)
    total = len(records)
    total_pages = math.ceil(total / per)
    items = [render(record) for record in records[(page - 1) * per : page * per]]

    def link(number: int) -> str:
        if strict:  # the client must re-send its own filter, sort and per
            return str(request.url.replace(query=f"page={number}"))
        return str(request.url.include_query_params(page=number))

    return {
        "data": items,
        "metadata": {
            "count": len(items),
            "current_page": page,
            "total_count": total,
            "total_pages": total_pages,
            "per": per,
            "previous_page_url": link(page - 1) if 1 < page <= total_pages + 1 else None,
            "next_page_url": link(page + 1) if page < total_pages else None,
        },
    }


def _one(data: dict[str, Any]) -> dict[str, Any]:
    return {"data": data, "metadata": {}}


def _basic_token(header: str | None) -> str | None:
    """The token of ``Authorization: Basic base64("<token>:")``; None for anything else."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    token, separator, password = decoded.partition(":")
    return token if separator and token and password == "" else None


def _install_error_handlers(app: FastAPI) -> None:
    """Every error answers ``{"data": {"message": ...}}``."""

    def respond(status: int, message: str) -> JSONResponse:
        return JSONResponse({"data": {"message": message}}, status_code=status)

    @app.exception_handler(ApiRefusal)
    async def refusal(_: Request, exc: ApiRefusal) -> JSONResponse:
        return respond(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        return respond(422, problems or "Invalid request")

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return respond(exc.status_code, str(exc.detail))
