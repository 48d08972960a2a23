"""Assembly of the Docebo simulator: OAuth endpoint, API routes, errors, faults, admin, webhooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from include.simulators.common.inflight import InflightCounter, count_inflight
from include.simulators.common.oauth import answer_oauth_refusals
from include.simulators.common.server import SimulatorControl, install_control, simulator_app
from include.simulators.docebo.admin import admin_router
from include.simulators.docebo.records import ApiRefusal
from include.simulators.docebo.routes import api_router
from include.simulators.docebo.state import DoceboState
from include.simulators.docebo.tokens import TokenIssuer
from include.simulators.docebo.unconfirmed import error_body
from include.simulators.docebo.webhooks import WebhookConfig, WebhookSender


@dataclass
class DoceboSimulator:
    """Everything a test or the CLI steers: the tenant and its mode, faults and calls, webhooks,
    the app."""

    state: DoceboState
    control: SimulatorControl
    webhooks: WebhookSender
    inflight: InflightCounter
    app: FastAPI


def build_simulator(
    client_id: str,
    client_secret: str,
    *,
    token_lifetime: float = 3600.0,
    admin_username: str = "superadmin",
    admin_password: str = "superadmin-password",
    domain: str = "acme.docebosaas.com",
    webhook: WebhookConfig | None = None,
    strict: bool = True,
) -> DoceboSimulator:
    """A fresh, empty tenant with one OAuth2 app and one Superadmin; ``strict=False`` serves the
    helpful forms of unconfirmed behaviour (see :mod:`.unconfirmed`)."""
    tokens = TokenIssuer(
        client_id,
        client_secret,
        lifetime=token_lifetime,
        admin_username=admin_username,
        admin_password=admin_password,
    )
    state = DoceboState(tokens, domain, strict=strict)
    webhooks = WebhookSender(domain, webhook)
    state.listeners.append(webhooks.notify)
    control = SimulatorControl()
    app = simulator_app("Docebo Learn API simulator", on_shutdown=webhooks.close)
    _install_error_handlers(app)

    @app.post("/oauth2/token")
    async def token(request: Request) -> dict[str, Any]:
        form = await request.form()
        return tokens.grant({key: str(value) for key, value in form.items()})

    app.include_router(api_router(state))
    app.include_router(admin_router(state, webhooks))
    install_control(app, control, error_body)
    app.add_middleware(ApiVersionHeader)
    inflight = count_inflight(app)  # outermost: sees requests held by slow faults
    return DoceboSimulator(state, control, webhooks, inflight, app)


class ApiVersionHeader:
    """Adds ``X-Docebo-Api-Version: 1.0.0`` to every answer (lms-apis.md §1.1)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-docebo-api-version", b"1.0.0")]
            await send(message)

        await self.app(scope, receive, send_with_version if scope["type"] == "http" else send)


def _install_error_handlers(app: FastAPI) -> None:
    """OAuth errors in RFC 6749 form; every other error in the (unconfirmed) error body."""
    answer_oauth_refusals(app)

    @app.exception_handler(ApiRefusal)
    async def refusal(_: Request, exc: ApiRefusal) -> JSONResponse:
        return JSONResponse(error_body(exc.status, exc.message, exc.field), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        field = str(errors[0]["loc"][-1]) if errors else None
        message = "; ".join(f"{error['loc'][-1]}: {error['msg']}" for error in errors) or "Invalid request"
        return JSONResponse(error_body(400, message, field), status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code)
