"""OAuth 2 for the simulator (lms-apis.md §1.2): client credentials, password and refresh grants.

Tokens expire after ``lifetime`` seconds (Docebo: 3600; tests use a few seconds or expire them
on demand). An unknown or expired bearer token is refused with 401.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from include.simulators.common.oauth import OAuthClient, OAuthRefusal
from include.simulators.docebo.records import ApiRefusal

GRANTS = ("client_credentials", "password", "refresh_token")


@dataclass
class TokenIssuer(OAuthClient):
    """The one OAuth2 app of the tenant, its Superadmin, and the tokens handed out."""

    lifetime: float = 3600.0
    admin_username: str = "superadmin"
    admin_password: str = "superadmin-password"
    _refresh: set[str] = field(default_factory=set)

    def grant(self, form: dict[str, Any]) -> dict[str, Any]:
        """Answer a token request (the form fields of ``POST /oauth2/token``)."""
        self._check_client(form)
        grant_type = form.get("grant_type")
        if grant_type not in GRANTS:
            raise OAuthRefusal(
                400, "unsupported_grant_type", f"grant_type must be one of {', '.join(GRANTS)}"
            )
        if grant_type == "password" and (
            form.get("username") != self.admin_username or form.get("password") != self.admin_password
        ):
            raise OAuthRefusal(400, "invalid_grant", "Invalid username and password combination")
        with self._lock:
            if grant_type == "refresh_token":
                if form.get("refresh_token") not in self._refresh:
                    raise OAuthRefusal(400, "invalid_grant", "Invalid refresh token")
                self._refresh.discard(form["refresh_token"])
            access, refresh = self._issue_access(), secrets.token_hex(20)
            self._refresh.add(refresh)
        return {
            "access_token": access,
            "expires_in": int(self.lifetime) if self.lifetime >= 1 else self.lifetime,
            "token_type": "Bearer",
            "scope": "api",
            "refresh_token": refresh,
        }

    def check(self, authorization: str | None) -> None:
        """Refuse (401) a request without a current ``Bearer`` token."""
        expiry = self._expiry_in(authorization, ("bearer",))
        if expiry is None:
            raise ApiRefusal(401, "Invalid access token")
        if expiry <= time.time():
            raise ApiRefusal(401, "The access token provided has expired")

    def reset(self) -> None:
        with self._lock:
            self._access.clear()
            self._refresh.clear()
