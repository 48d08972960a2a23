"""Assembly of the ALM simulator: OAuth endpoints, API routes, errors, rate limits, faults,
admin, webhooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from include.simulators.alm.admin import admin_router
from include.simulators.alm.ratelimit import RateLimiter, RateLimitMiddleware
from include.simulators.alm.routes import PREFIX, api_router
from include.simulators.alm.state import AlmState
from include.simulators.alm.tokens import SEVEN_DAYS, TokenIssuer
from include.simulators.alm.unconfirmed import JSON_API, error_body
from include.simulators.alm.webhooks import WebhookConfig, WebhookSender
from include.simulators.common.inflight import InflightCounter, count_inflight
from include.simulators.common.oauth import answer_oauth_refusals
from include.simulators.common.refusal import ApiRefusal
from include.simulators.common.server import SimulatorControl, install_control, simulator_app


@dataclass
class AlmSimulator:
    """Everything a test or the CLI steers: the account and its mode, rate limits, faults and
    calls, webhooks, the app."""

    state: AlmState
    control: SimulatorControl
    limiter: RateLimiter
    webhooks: WebhookSender
    inflight: InflightCounter
    app: FastAPI


def build_simulator(
    client_id: str,
    client_secret: str,
    *,
    refresh_tokens: tuple[str, ...] = (),
    token_lifetime: float = SEVEN_DAYS,
    webhook: WebhookConfig | None = None,
    strict: bool = True,
) -> AlmSimulator:
    """A fresh, empty account with one OAuth client; ``refresh_tokens`` are valid from the start
    (what an admin got from the authorization-code flow); ``strict=False`` serves the helpful
    forms of unconfirmed behaviour (see :mod:`.unconfirmed`)."""
    tokens = TokenIssuer(client_id, client_secret, token_lifetime)
    for refresh in refresh_tokens:
        tokens.add_refresh_token(refresh)
    state = AlmState(tokens, strict=strict)
    webhooks = WebhookSender(state.mode, webhook)
    state.listeners.append(webhooks.notify)
    limiter = RateLimiter()
    control = SimulatorControl()
    app = simulator_app("Adobe Learning Manager API simulator", on_shutdown=webhooks.close)
    _install_error_handlers(app)

    @app.post("/oauth/token")
    async def token(request: Request) -> dict[str, Any]:
        return tokens.exchange_code(await _form(request))

    @app.post("/oauth/token/refresh")
    async def refresh(request: Request) -> dict[str, Any]:
        return tokens.refresh(await _form(request))

    @app.get("/oauth/token/check")
    def check(access_token: str | None = None) -> dict[str, Any]:
        return tokens.check(access_token)

    app.include_router(api_router(state))
    app.include_router(admin_router(state, webhooks, limiter))
    install_control(app, control, error_body)
    app.add_middleware(RateLimitMiddleware, limiter=limiter, prefix=PREFIX)
    inflight = count_inflight(app)  # outermost: sees requests held by slow faults
    return AlmSimulator(state, control, limiter, webhooks, inflight, app)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: str(value) for key, value in form.items()}


def _install_error_handlers(app: FastAPI) -> None:
    """OAuth errors in their (invented) RFC 6749 form; every other error in the error body."""
    answer_oauth_refusals(app)

    @app.exception_handler(ApiRefusal)
    async def refusal(_: Request, exc: ApiRefusal) -> JSONResponse:
        return JSONResponse(error_body(exc.status, exc.message), status_code=exc.status, media_type=JSON_API)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message = (
            "; ".join(f"{error['loc'][-1]}: {error['msg']}" for error in exc.errors()) or "Invalid request"
        )
        return JSONResponse(error_body(400, message), status_code=400, media_type=JSON_API)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code)
