"""Token authentication shared by the OAuth hooks (Docebo, Adobe Learning Manager, Graph).

An access token is fetched on first use, renewed when due (each hook says how: a refresh grant,
client credentials...), sent in the ``Authorization`` header, and renewed once more after a 401:
the server did nothing with the refused request, so even a POST is safe to repeat. Tokens and
secrets join :meth:`secrets`, so they never reach a log line or an error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from credly_sync.hooks.base import ApiHttpHook, AuthenticationError, RetryPolicy


class TokenRequestError(AuthenticationError):
    """The token endpoint refused the connection's credentials (client id, secret, refresh token)."""


@dataclass
class AccessToken:
    access: str
    renew_at: float  # time.monotonic() after which the token is renewed
    refresh: str | None = None


class TokenAuthHook(ApiHttpHook):
    """An :class:`ApiHttpHook` that authenticates with an access token from :meth:`new_token`.

    :param token_service: the name in log lines and errors (``Docebo``, ``ALM``, ``Graph``).
    :param fresh_token_refused: what to check when a fresh token is refused too (None: the
        401 is raised as it came).
    """

    auth_scheme = "Bearer"
    token_service = "the API"
    fresh_token_refused: str | None = None

    def __init__(self, conn_id: str, *, retry: RetryPolicy | None = None, pool_size: int = 8) -> None:
        super().__init__(conn_id, retry=retry, pool_size=pool_size)
        self._token: AccessToken | None = None
        self._secrets: set[str] = set()
        self._token_lock = threading.RLock()
        self._local = threading.local()

    def new_token(self) -> AccessToken:
        """A fresh access token (``self._token`` is the current one, e.g. for its refresh token)."""
        raise NotImplementedError

    @contextmanager
    def token_request(self) -> Iterator[None]:
        """Calls made inside go out without the ``Authorization`` header (the token endpoint)."""
        self._local.fetching_token = True
        try:
            yield
        finally:
            self._local.fetching_token = False

    @property
    def fetching_token(self) -> bool:
        return bool(getattr(self._local, "fetching_token", False))

    def authorize(self, request_headers: dict[str, str]) -> None:
        """Add ``Authorization: <scheme> <token>``, fetching or renewing the token when due."""
        if self.fetching_token:
            return
        with self._token_lock:
            if self._token is None or time.monotonic() >= self._token.renew_at:
                self._token = self.new_token()
            request_headers["Authorization"] = f"{self.auth_scheme} {self._token.access}"

    def call(self, method: str, endpoint: str, **kwargs: Any) -> Any:
        """:meth:`ApiHttpHook.call`; a 401 (token expired or revoked early) renews the token and
        tries once more."""
        try:
            return super().call(method, endpoint, **kwargs)
        except TokenRequestError:
            raise
        except AuthenticationError:
            self.log.info(
                "%s answered 401 to %s %s; renewing the token", self.token_service, method, endpoint
            )
            with self._token_lock:
                if self._token is not None:
                    self._token.renew_at = 0.0
        try:
            return super().call(method, endpoint, **kwargs)
        except TokenRequestError:
            raise
        except AuthenticationError as exc:
            if self.fresh_token_refused is None:
                raise
            conn_id = getattr(self, self.conn_name_attr)
            raise AuthenticationError(
                f"{self.token_service} refused a fresh token of connection '{conn_id}' ({exc.reason}); "
                f"{self.fresh_token_refused}",
                status=exc.status,
                method=method,
                endpoint=endpoint,
            ) from None

    def remember_secrets(self, *values: str | None) -> None:
        self._secrets.update(value for value in values if value)

    def secrets(self) -> set[str]:
        return self._secrets
