"""ALM OAuth (lms-apis.md §2.1): authorization-code grant, refresh, check.

Access tokens live ``lifetime`` seconds (ALM: 7 days). ``/oauth/token/refresh`` while the
access token of that refresh token is still valid returns the same token (documented); after it
expired, a new one. Refresh tokens do not expire (undocumented: they stay until revoked here).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from include.simulators.alm.unconfirmed import ACCOUNT_ID, AUTH_SCHEME, HELPFUL_AUTH_SCHEMES, SCOPE
from include.simulators.common.oauth import OAuthClient, OAuthRefusal
from include.simulators.common.refusal import ApiRefusal

SEVEN_DAYS = 7 * 24 * 3600.0


@dataclass
class TokenIssuer(OAuthClient):
    """The account's one OAuth client, its refresh tokens and the access tokens handed out;
    OAuth errors in the RFC 6749 form (an invented shape for ALM, see :mod:`.unconfirmed`)."""

    lifetime: float = SEVEN_DAYS
    _codes: set[str] = field(default_factory=set)
    _refresh: dict[str, str | None] = field(default_factory=dict)  # refresh -> current access

    # --- the endpoints ------------------------------------------------------------------------

    def exchange_code(self, form: dict[str, Any]) -> dict[str, Any]:
        """``POST /oauth/token``: ``grant_type=authorization_code``, ``code``, client, ``redirect_uri``."""
        self._check_client(form)
        if form.get("grant_type") != "authorization_code":
            raise OAuthRefusal(400, "unsupported_grant_type", "grant_type must be authorization_code")
        if not form.get("redirect_uri"):
            raise OAuthRefusal(400, "invalid_request", "redirect_uri is required")
        with self._lock:
            if form.get("code") not in self._codes:
                raise OAuthRefusal(400, "invalid_grant", "Invalid authorization code")
            self._codes.discard(form["code"])
            refresh = secrets.token_hex(20)
            self._refresh[refresh] = None
            return self._answer(refresh, self._mint(refresh))

    def refresh(self, form: dict[str, Any]) -> dict[str, Any]:
        """``POST /oauth/token/refresh``: the same access token while it is valid, else a new one."""
        self._check_client(form)
        refresh = str(form.get("refresh_token") or "")
        with self._lock:
            if refresh not in self._refresh:
                raise OAuthRefusal(400, "invalid_grant", "Invalid refresh token")
            access = self._refresh[refresh]
            if access is None or self._access.get(access, 0.0) <= time.time():
                access = self._mint(refresh)
            return self._answer(refresh, access)

    def check(self, access_token: str | None) -> dict[str, Any]:
        """``GET /oauth/token/check?access_token=…`` (answer shape invented; no token echoed)."""
        with self._lock:
            expiry = self._access.get(access_token or "")
        if expiry is None or expiry <= time.time():
            raise OAuthRefusal(401, "invalid_token", "The access token is invalid or expired")
        return {
            "client_id": self.client_id,
            "scope": SCOPE,
            "expires_in": int(expiry - time.time()),
            "account_id": ACCOUNT_ID,
        }

    def authorize(self, header: str | None, strict: bool) -> None:
        """Refuse (401) an API request without a current token in an accepted scheme."""
        expiry = self._expiry_in(header, (AUTH_SCHEME,) if strict else HELPFUL_AUTH_SCHEMES)
        if expiry is None:
            raise ApiRefusal(401, "Invalid or missing access token")
        if expiry <= time.time():
            raise ApiRefusal(401, "The access token has expired")

    # --- what tests and the demo steer ----------------------------------------------------------

    def new_code(self) -> str:
        """An authorization code, as if an admin had approved the app in the browser."""
        with self._lock:
            code = secrets.token_hex(12)
            self._codes.add(code)
            return code

    def add_refresh_token(self, refresh: str | None = None) -> str:
        """A valid refresh token (given or new), as after a completed authorization-code flow."""
        with self._lock:
            refresh = refresh or secrets.token_hex(20)
            self._refresh.setdefault(refresh, None)
            return refresh

    def revoke_all(self) -> None:
        """No refresh or access token works any more (codes too)."""
        with self._lock:
            self._codes.clear()
            self._refresh.clear()
            self._access.clear()

    def reset(self, refresh_tokens: tuple[str, ...] = ()) -> None:
        self.revoke_all()
        for refresh in refresh_tokens:
            self.add_refresh_token(refresh)

    # --- internals ----------------------------------------------------------------------------

    def _mint(self, refresh: str) -> str:
        """A new access token, from now on the one of ``refresh``."""
        self._refresh[refresh] = access = self._issue_access()
        return access

    def _answer(self, refresh: str, access: str) -> dict[str, Any]:
        left = max(0.0, self._access[access] - time.time())
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": round(left) if left >= 1 else round(left, 3),
            "token_type": "Bearer",
        }
