"""OAuth pieces the simulators share: the error answer and the store of issued access tokens.

What each simulator's token endpoints accept and answer (its grants, its token answer, its
refusal of an API call without a current token) stays in its own ``tokens.py``.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class OAuthRefusal(Exception):
    """An OAuth error answer in the RFC 6749 form: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def answer_oauth_refusals(app: FastAPI) -> None:
    """Answer an :class:`OAuthRefusal` raised in ``app`` with its status and RFC 6749 body."""

    @app.exception_handler(OAuthRefusal)
    async def oauth_refusal(_: Request, exc: OAuthRefusal) -> JSONResponse:
        body = {"error": exc.error, "error_description": exc.description}
        return JSONResponse(body, status_code=exc.status)


@dataclass
class OAuthClient:
    """A simulator's one OAuth client and the access tokens handed out to it, each with its
    expiry (epoch seconds); subclasses add their grants. Change tokens under ``_lock``."""

    client_id: str
    client_secret: str
    lifetime: float  # seconds an access token issued from now on lives
    _access: dict[str, float] = field(default_factory=dict)  # token -> expiry
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_all(self) -> None:
        """Make every issued access token expired (refresh tokens stay usable)."""
        with self._lock:
            self._access = dict.fromkeys(self._access, 0.0)

    def _check_client(self, form: dict[str, Any]) -> None:
        """Refuse (401 ``invalid_client``) a token request with other client credentials."""
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            raise OAuthRefusal(401, "invalid_client", "The client credentials are invalid")

    def _issue_access(self) -> str:
        """A new access token that lives ``lifetime`` seconds (call it holding ``_lock``)."""
        access = secrets.token_hex(20)
        self._access[access] = time.time() + self.lifetime
        return access

    def _expiry_in(self, authorization: str | None, schemes: tuple[str, ...]) -> float | None:
        """The expiry of the token in an ``Authorization: <scheme> <token>`` header; None unless
        the scheme is one of ``schemes`` (lower case) and the token was issued here."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            return self._access.get(token.strip()) if scheme.lower() in schemes else None
