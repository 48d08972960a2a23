"""GraphHook: Microsoft Graph for a people-data connector (reference/lms-apis.md §3) through the
shared retry policy.

Connection ``msgraph_default`` (type http): host = Graph base URL (``https://graph.microsoft.com``;
empty means that), login = application (client) id, password = client secret, extra
``{"tenant_id": "<directory id>"}`` and, only for a sovereign cloud or a simulator,
``"authority_host"`` (default ``https://login.microsoftonline.com``). Those two extra keys are
settings, not headers: HttpHook would send every other extra key as a header (airflow-3.md §10.1),
so the hook removes them from the session.

The hook gets an app-only token (OAuth 2 client credentials, scope ``.default``), renews it
before it expires and once after a 401, honours ``Retry-After`` on 429 and 503, and keeps the
secret and the tokens out of every log line, error and return value. It decides nothing: what
to write is planned elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from airflow.sdk.exceptions import AirflowException

from credly_sync.hooks.base import (
    ApiError,
    ApiHttpHook,
    BulkOutcome,
    MalformedResponseError,
    NotFoundError,
    RetryPolicy,
    UncertainOutcomeError,
)
from credly_sync.hooks.oauth import AccessToken, TokenAuthHook, TokenRequestError

DEFAULT_GRAPH_HOST = "https://graph.microsoft.com"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
CONNECTIONS = "v1.0/external/connections"
SETTING_EXTRAS = ("tenant_id", "authority_host")
USER_FIELDS = ("id", "userPrincipalName", "mail", "accountEnabled", "assignedLicenses", "displayName")
USERS_PAGE = 999  # Graph's maximum $top for users: fewest calls
REFRESH_MARGIN = 300.0  # seconds before expiry a token is renewed


class GraphHook(TokenAuthHook):
    """Graph calls for one tenant's app registration.

    :param msgraph_conn_id: the Airflow connection (host, login = client id, password = secret,
        extra tenant_id).
    :param retry: the retry policy (tests pass ``RetryPolicy(backoff_base=0)``).
    :param pool_size: HTTP connections kept open; also the default bulk concurrency.
    :param poll_interval: seconds between polls of a schema operation.
    """

    conn_name_attr = "msgraph_conn_id"
    default_conn_name = "msgraph_default"
    conn_type = "http"
    hook_name = "Graph"
    token_service = "Graph"

    def __init__(
        self,
        msgraph_conn_id: str = default_conn_name,
        *,
        retry: RetryPolicy | None = None,
        pool_size: int = 8,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__(msgraph_conn_id, retry=retry, pool_size=pool_size)
        self.msgraph_conn_id = msgraph_conn_id
        self.poll_interval = poll_interval
        self._client: tuple[str, str, str] | None = None  # token URL, client id, secret

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema", "port"],
            "relabeling": {"login": "Application (client) ID", "password": "Client secret"},
            "placeholders": {"host": DEFAULT_GRAPH_HOST, "extra": '{"tenant_id": "<directory id>"}'},
        }

    # --- connection and auth ----------------------------------------------------------------

    def _set_base_url(self, connection: Any) -> None:
        if not connection.host:
            self.base_url = DEFAULT_GRAPH_HOST
            self._base_url_initialized = True
            return
        super()._set_base_url(connection)
        self.base_url = self.base_url.rstrip("/")

    def _extract_auth(self, connection: Any) -> None:
        """No session-wide auth: HttpHook would send Basic ``client_id:secret`` on every call."""
        return None

    def get_conn(self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None):
        session = super().get_conn(headers, extra_options)
        for name in SETTING_EXTRAS:
            session.headers.pop(name, None)
        session.hooks["response"].append(self._remember_response)
        return session

    def prepare(self) -> None:
        """Also read the app registration before threads use the hook (see ApiHttpHook.prepare)."""
        super().prepare()
        self._credentials()

    def _credentials(self) -> tuple[str, str, str]:
        if self._client is None:
            connection = self.get_connection(self.msgraph_conn_id)
            tenant = (connection.extra_dejson or {}).get("tenant_id")
            if not connection.login or not connection.password or not tenant:
                raise AirflowException(
                    f"Connection '{self.msgraph_conn_id}' needs the application (client) id as login, "
                    'the client secret as password and {"tenant_id": "<directory id>"} in extra'
                )
            authority = (connection.extra_dejson.get("authority_host") or DEFAULT_AUTHORITY).rstrip("/")
            self._client = (f"{authority}/{tenant}/oauth2/v2.0/token", connection.login, connection.password)
            self.remember_secrets(connection.password)
        return self._client

    @property
    def tenant_id(self) -> str:
        """The directory (tenant) id: people items grant everyone in it."""
        token_url = self._credentials()[0]
        return token_url.rsplit("/oauth2/", 1)[0].rsplit("/", 1)[-1]

    def url_from_endpoint(self, endpoint: str | None) -> str:
        """Absolute URLs (the token endpoint, ``@odata.nextLink``) pass through unchanged."""
        if endpoint and endpoint.startswith(("https://", "http://")):
            return endpoint
        return super().url_from_endpoint(endpoint)

    def new_token(self) -> AccessToken:
        token_url, client_id, secret = self._credentials()
        form = {
            "client_id": client_id,
            "client_secret": secret,
            "scope": GRAPH_SCOPE,
            "grant_type": "client_credentials",
        }
        try:
            with self.token_request():
                body = ApiHttpHook.call(self, "POST", token_url, form=form, idempotent=True)
        except ApiError as exc:
            if exc.status in (400, 401, 403):
                raise TokenRequestError(
                    f"Microsoft Entra refused the app credentials of connection '{self.msgraph_conn_id}' "
                    f"({self.scrub(exc.reason)}). Check tenant_id (extra), the client id (login) and "
                    "that the client secret (password) has not expired.",
                    status=exc.status,
                    method="POST",
                    endpoint="oauth2/v2.0/token",
                ) from None
            raise
        if not isinstance(body, dict) or not body.get("access_token"):
            raise MalformedResponseError("token answer without access_token", method="POST")
        lifetime = float(body.get("expires_in") or 3599)
        self.remember_secrets(str(body["access_token"]))
        return AccessToken(
            str(body["access_token"]), time.monotonic() + lifetime - min(REFRESH_MARGIN, lifetime / 10)
        )

    def error_message(self, response: requests.Response) -> str:
        """Graph's ``error.code: error.message``, or the identity platform's description."""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return self.scrub(f"{error.get('code')}: {error.get('message')}")
        return self.scrub(super().error_message(response))

    def _remember_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Kept per thread for the headers of the last answer (the Location of a schema operation)."""
        self._local.last_response = response

    def _server_error_wait(self, response: requests.Response, attempt: int) -> float:
        """The base backoff, but a 503's Retry-After wins (Graph asks for it, like on 429)."""
        if response.status_code == 503 and "Retry-After" in response.headers:
            return self._retry_after(response, attempt)
        return super()._server_error_wait(response, attempt)

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's "Test" button: get a token and read one user."""
        try:
            self.call("GET", "v1.0/users", params={"$select": "id", "$top": 1})
        except (ApiError, AirflowException) as exc:
            return False, self.scrub(str(exc))
        return True, "Connected to Microsoft Graph"

    # --- users --------------------------------------------------------------------------------

    def iter_users(self, fields: Sequence[str] = USER_FIELDS) -> Iterator[dict[str, Any]]:
        """Every user of the tenant with ``fields``, following ``@odata.nextLink``."""
        endpoint: str = "v1.0/users"
        params: dict[str, Any] | None = {"$select": ",".join(fields), "$top": USERS_PAGE}
        while True:
            body = self.call("GET", endpoint, params=params)
            users = body.get("value") if isinstance(body, dict) else None
            if not isinstance(users, list):
                raise MalformedResponseError("user list without value", method="GET", endpoint=endpoint)
            yield from users
            next_link = body.get("@odata.nextLink")
            if not next_link or not users:
                return
            if urlsplit(next_link).netloc != urlsplit(self.base_url).netloc:
                raise MalformedResponseError("nextLink to another host", method="GET", endpoint=endpoint)
            endpoint, params = next_link, None  # the link carries the whole query

    # --- connection and schema ----------------------------------------------------------------

    def get_external_connection(self, connection_id: str) -> dict[str, Any] | None:
        try:
            return self.call("GET", f"{CONNECTIONS}/{connection_id}")
        except NotFoundError:
            return None

    def create_external_connection(
        self, connection_id: str, name: str, description: str, content_category: str = "people"
    ) -> dict[str, Any]:
        """Create the connection; one that exists (a retried or concurrent create) is returned."""
        body = {
            "id": connection_id,
            "name": name,
            "description": description,
            "contentCategory": content_category,
        }
        try:
            return self.call("POST", CONNECTIONS, json_body=body, idempotent=False)
        except UncertainOutcomeError:
            found = self.get_external_connection(connection_id)
            if found is None:
                raise
            return found
        except ApiError as exc:
            found = self.get_external_connection(connection_id) if exc.status == 409 else None
            if found is None:
                raise
            return found

    def get_schema(self, connection_id: str) -> dict[str, Any] | None:
        try:
            return self.call("GET", f"{CONNECTIONS}/{connection_id}/schema")
        except NotFoundError:
            return None

    def register_schema(self, connection_id: str, properties: Sequence[Mapping[str, Any]]) -> str | None:
        """PATCH the schema; returns the operation URL to poll (202 ``Location``), or None when
        Graph says a schema is already registered (409)."""
        body = {"baseType": "microsoft.graph.externalItem", "properties": [dict(p) for p in properties]}
        endpoint = f"{CONNECTIONS}/{connection_id}/schema"
        try:
            self.call("PATCH", endpoint, json_body=body, idempotent=True)
        except ApiError as exc:
            if exc.status == 409:
                return None
            raise
        location = self._local.last_response.headers.get("Location")
        if not location:
            raise MalformedResponseError("202 without a Location header", method="PATCH", endpoint=endpoint)
        return location

    def wait_for_operation(self, operation_url: str, timeout: float = 600.0) -> dict[str, Any]:
        """Poll a connection operation until it completes; raise when it fails or takes too long."""
        deadline = time.monotonic() + timeout
        while True:
            operation = self.call("GET", operation_url)
            status = (operation or {}).get("status")
            if status == "completed":
                return operation
            if status == "failed":
                raise ApiError(f"schema operation failed: {operation.get('error')}", status=200, method="GET")
            if time.monotonic() >= deadline:
                raise ApiError(f"schema operation still {status} after {timeout:.0f}s", method="GET")
            self.sleep(self.poll_interval)

    # --- items --------------------------------------------------------------------------------

    def put_item(self, connection_id: str, item_id: str, item: Mapping[str, Any]) -> None:
        """Create or replace one item (PUT is idempotent, so retries are safe)."""
        self.call("PUT", f"{CONNECTIONS}/{connection_id}/items/{item_id}", json_body=dict(item))

    def delete_item(self, connection_id: str, item_id: str) -> bool:
        """Delete one item; False when it was already gone."""
        try:
            self.call("DELETE", f"{CONNECTIONS}/{connection_id}/items/{item_id}")
        except NotFoundError:
            return False
        return True

    def put_items(
        self,
        connection_id: str,
        items: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        keys: Sequence[Hashable] | None = None,
        max_workers: int | None = None,
    ) -> list[BulkOutcome]:
        """PUT many ``(item_id, item)`` pairs with bounded concurrency."""

        def put(pair: tuple[str, Mapping[str, Any]]) -> tuple[str, str]:
            self.put_item(connection_id, *pair)
            return "written", pair[0]

        return self.run_bulk(items, put, keys=keys, max_workers=max_workers)

    def delete_items(
        self,
        connection_id: str,
        item_ids: Sequence[str],
        *,
        keys: Sequence[Hashable] | None = None,
        max_workers: int | None = None,
    ) -> list[BulkOutcome]:
        def delete(item_id: str) -> tuple[str, str]:
            return ("deleted" if self.delete_item(connection_id, item_id) else "already_deleted"), item_id

        return self.run_bulk(item_ids, delete, keys=keys, max_workers=max_workers)
