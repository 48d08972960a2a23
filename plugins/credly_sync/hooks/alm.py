"""AlmHook: the Adobe Learning Manager API v2 (reference/lms-apis.md §2) through the shared
retry policy.

Connection ``alm_default`` (type http): host = the ALM base URL
(``https://learningmanager.adobe.com``; a trailing ``/primeapi/v2`` is accepted), login = the
OAuth client id, password = the client secret, extra ``{"refresh_token": "…"}`` (from the
authorization-code flow an admin completes once). The hook renews its 7-day access token with
``/oauth/token/refresh`` when it is due and once more after a 401, sends it as
``Authorization: oauth <token>`` with ``Accept: application/vnd.api+json``, and never sends
HttpHook's Basic auth nor the extra as a header. The secret and the tokens never reach a log
line, an error or a return value.

Lists are walked page by page by ``links.next`` (cursor paging): one call per page, one page in
memory, always on the connection's host. 429 waits the fractional ``retry-after``; 5xx,
timeouts and malformed pages are retried (all reads are idempotent). Shapes without a public
source live in :mod:`credly_sync.hooks.alm_unconfirmed`; every filter sent that the API may
ignore is checked again on the rows returned.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from airflow.sdk.exceptions import AirflowException

from credly_sync.hooks import alm_unconfirmed as shapes
from credly_sync.hooks.base import (
    ApiError,
    ApiHttpHook,
    MalformedResponseError,
    NotFoundError,
    RetryPolicy,
    data_object,
)
from credly_sync.hooks.oauth import AccessToken, TokenAuthHook, TokenRequestError

DIRECT_LOOKUP_LIMIT = 10  # up to this many users are read one by one, more through the list
USER_ID_BATCH = 100  # ids per filter.ids value, keeping URLs short
DEFAULT_TOKEN_LIFETIME = 7 * 24 * 3600.0

Moment = date | datetime | str | int | float


class AlmHook(TokenAuthHook):
    """Adobe Learning Manager API calls for one account.

    :param alm_conn_id: the Airflow connection (host, login = client id, password = client
        secret, extra ``refresh_token``).
    :param retry: the retry policy (tests pass ``RetryPolicy(backoff_base=0)``).
    :param pool_size: HTTP connections kept open; also the default bulk concurrency.
    :param page_size: items per list page (at most 100; lists with ``include`` use 10).
    """

    conn_name_attr = "alm_conn_id"
    default_conn_name = "alm_default"
    conn_type = "http"
    hook_name = "ALM"
    auth_scheme = shapes.AUTH_SCHEME
    token_service = "ALM"
    fresh_token_refused = "the OAuth client may lack the admin:read scope"

    def __init__(
        self,
        alm_conn_id: str = default_conn_name,
        *,
        retry: RetryPolicy | None = None,
        pool_size: int = 8,
        page_size: int = shapes.MAX_PAGE_SIZE,
    ) -> None:
        if not 1 <= page_size <= shapes.MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {shapes.MAX_PAGE_SIZE}")
        super().__init__(alm_conn_id, retry=retry, pool_size=pool_size)
        self.alm_conn_id = alm_conn_id
        self.page_size = page_size
        self._client: tuple[str, str, str] | None = None  # client id, secret, refresh token

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema", "port"],
            "relabeling": {"host": "ALM base URL", "login": "Client ID", "password": "Client secret"},
            "placeholders": {
                "host": "https://learningmanager.adobe.com",
                "extra": '{"refresh_token": "<from the authorization-code flow>"}',
            },
        }

    # --- connection and auth ----------------------------------------------------------------

    def _set_base_url(self, connection: Any) -> None:
        """The account's base URL without ``/primeapi/v2`` (paths here start with it); a bare
        host name means HTTPS."""
        super()._set_base_url(connection)
        if "://" not in (connection.host or "") and not connection.schema:
            self.base_url = "https" + self.base_url.removeprefix("http")
        self.base_url = self.base_url.rstrip("/").removesuffix("/" + shapes.API_PREFIX)

    def _extract_auth(self, connection: Any) -> None:
        """No session-wide auth: HttpHook would send Basic ``client_id:secret`` on every call."""
        return None

    def _configure_session_from_extra(
        self, session: Any, connection: Any, extra_options: dict[str, Any]
    ) -> Any:
        """HttpHook sends every unknown extra key as a header: never the refresh token."""
        session = super()._configure_session_from_extra(session, connection, extra_options)
        for name in list(session.headers):
            if name.lower() == shapes.REFRESH_TOKEN_EXTRA:
                del session.headers[name]
        return session

    def prepare(self) -> None:
        """Also read the OAuth client from the connection before threads use the hook."""
        super().prepare()
        self._credentials()

    def _credentials(self) -> tuple[str, str, str]:
        if self._client is None:
            connection = self.get_connection(self.alm_conn_id)
            refresh = (connection.extra_dejson or {}).get(shapes.REFRESH_TOKEN_EXTRA)
            if connection.password:
                self.remember_secrets(connection.password)
            if isinstance(refresh, str) and refresh:
                self.remember_secrets(refresh)
            if not connection.login or not connection.password or not isinstance(refresh, str) or not refresh:
                raise AirflowException(
                    f"Connection '{self.alm_conn_id}' needs the OAuth client id as login, the client "
                    f'secret as password and the refresh token in the extra ({{"refresh_token": "…"}})'
                )
            self._client = (connection.login, connection.password, refresh)
        return self._client

    def authorize(self, request_headers: dict[str, str]) -> None:
        """JSON:API ``Accept`` and ``Authorization: oauth <token>``, renewing the token when due."""
        if not self.fetching_token:
            request_headers["Accept"] = shapes.JSON_API
        super().authorize(request_headers)

    def new_token(self) -> AccessToken:
        """``POST /oauth/token/refresh``: while the access token is valid ALM returns it again,
        so the hook renews only once its lifetime has run out (or after a 401)."""
        client_id, secret, refresh = self._credentials()
        form = {"client_id": client_id, "client_secret": secret, "refresh_token": refresh}
        try:
            with self.token_request():
                body = ApiHttpHook.call(self, "POST", shapes.REFRESH_PATH, form=form, idempotent=True)
        except ApiError as exc:
            if exc.status in (400, 401, 403):
                raise TokenRequestError(
                    f"ALM refused the OAuth credentials of connection '{self.alm_conn_id}' "
                    f"({self.scrub(exc.reason)}). Check the client id (login), the client secret "
                    "(password) and the refresh token (extra); a revoked refresh token needs a new "
                    "authorization-code flow.",
                    status=exc.status,
                    method="POST",
                    endpoint=shapes.REFRESH_PATH,
                ) from None
            raise
        if not isinstance(body, dict) or not body.get("access_token"):
            raise MalformedResponseError(
                "token answer without access_token", method="POST", endpoint=shapes.REFRESH_PATH
            )
        access = str(body["access_token"])
        self.remember_secrets(access)
        if body.get("refresh_token"):
            self.remember_secrets(str(body["refresh_token"]))
        try:
            lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        return AccessToken(access, time.monotonic() + lifetime)

    def error_message(self, response: Any) -> str:
        try:
            text = shapes.error_text(response.json())
        except ValueError:
            text = None
        return self.scrub(text or super().error_message(response))

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's "Test" button: renew the token and read one page of badges."""
        try:
            self.call("GET", _api("badges"), params={shapes.LIMIT: 1})
        except (ApiError, AirflowException) as exc:
            return False, self.scrub(str(exc))
        return True, "Connected to Adobe Learning Manager"

    def check_token(self) -> dict[str, Any]:
        """``GET /oauth/token/check`` for the current token (its scope, seconds left)."""
        self.authorize({})
        token = self._token.access  # type: ignore[union-attr]
        with self.token_request():  # the token goes in the query, not the header
            body = ApiHttpHook.call(self, "GET", shapes.CHECK_PATH, params={"access_token": token})
        return body if isinstance(body, dict) else {}

    # --- reads: users ---------------------------------------------------------------------------

    def get_user(self, user_id: str | int) -> dict[str, Any]:
        """One user resource (``attributes.email``, ``name``, ``state``)."""
        return data_object(self.call("GET", _api(f"users/{user_id}")))

    def iter_users(self) -> Iterator[dict[str, Any]]:
        return self._walk(_api("users"), {})

    def users_by_ids(self, user_ids: Iterable[str | int]) -> dict[str, dict[str, Any]]:
        """The users with these ids (missing ones left out), by id. A few are read one by one;
        more go through the user list in batches of ``filter.ids`` (unconfirmed: every row is
        checked, and a list that ignores the filter is read once for all batches)."""
        wanted = list(dict.fromkeys(str(user_id) for user_id in user_ids))
        found: dict[str, dict[str, Any]] = {}
        if len(wanted) <= DIRECT_LOOKUP_LIMIT:
            for user_id in wanted:
                try:
                    found[user_id] = self.get_user(user_id)
                except NotFoundError:
                    continue
            return found
        missing = set(wanted)
        for start in range(0, len(wanted), USER_ID_BATCH):
            batch = [user_id for user_id in wanted[start : start + USER_ID_BATCH] if user_id in missing]
            if not batch:
                continue
            for user in self._walk(_api("users"), {shapes.USER_IDS_FILTER: ",".join(batch)}):
                user_id = str(user.get("id"))
                if user_id in missing:
                    found[user_id] = user
                    missing.discard(user_id)
                    if not missing:
                        return found
        return found

    def find_user_by_email(self, email: str) -> dict[str, Any] | None:
        """The user whose e-mail is exactly ``email`` (case-insensitive), or None."""
        wanted = email.strip().lower()
        users = self._walk(_api("users"), {shapes.USER_EMAIL_FILTER: wanted})
        return next((u for u in users if str(attribute(u, "email") or "").strip().lower() == wanted), None)

    # --- reads: learning objects, badges ----------------------------------------------------------

    def iter_learning_objects(self, lo_types: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        """Learning objects (``attributes.loType``: course, learningProgram, certification, jobAid)."""
        types = _set(lo_types)
        params = {shapes.LO_TYPES_FILTER: ",".join(sorted(types)) if types else None}
        rows = self._walk(_api("learningObjects"), params)
        return (row for row in rows if types is None or attribute(row, "loType") in types)

    def get_learning_object(self, lo_id: str) -> dict[str, Any]:
        return data_object(self.call("GET", _api(f"learningObjects/{lo_id}")))

    def iter_badges(self) -> Iterator[dict[str, Any]]:
        """Badges (``attributes.name``, ``state`` Active / Retired, ``imageUrl``; the external
        badge fields only where the server shows them)."""
        return self._walk(_api("badges"), {})

    def get_badge(self, badge_id: str | int) -> dict[str, Any]:
        return data_object(self.call("GET", _api(f"badges/{badge_id}")))

    # --- reads: enrollments and user badges -------------------------------------------------------

    def iter_user_enrollments(
        self, user_id: str | int, lo_types: Iterable[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """One learner's enrollments (``dateCompleted``, ``state``, ``learnerBadge``)."""
        types = _set(lo_types)
        params = {shapes.LO_TYPES_FILTER: ",".join(sorted(types)) if types else None, "sort": "dateEnrolled"}
        rows = self._walk(_api(f"users/{user_id}/enrollments"), params)
        return (row for row in rows if types is None or enrollment_lo_type(row) in types)

    def iter_completed_enrollments(
        self, completed_since: Moment | None = None, lo_types: Iterable[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Enrollments of every learner completed at or after ``completed_since`` (all when None)."""
        return self.iter_enrollments(completed=True, completed_since=completed_since, lo_types=lo_types)

    def iter_enrollments(
        self,
        *,
        completed: bool = False,
        completed_since: Moment | None = None,
        lo_types: Iterable[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Enrollments of every learner, in any state (only the completed ones, at or after
        ``completed_since``, with ``completed``).

        The list and its state / date filters are unconfirmed: every row is checked here (the
        state and completion date asked for; the learning object's type)."""
        types, low = _set(lo_types), moment(completed_since)
        params = {
            shapes.LO_TYPES_FILTER: ",".join(sorted(types)) if types else None,
            shapes.STATES_FILTER: shapes.COMPLETED_STATE if completed else None,
            shapes.COMPLETED_FROM_FILTER: _iso(low) if completed and low else None,
        }

        def wanted(row: dict[str, Any]) -> bool:
            if types is not None and enrollment_lo_type(row) not in types:
                return False
            if not completed:
                return True
            done = moment(attribute(row, "dateCompleted"))
            return (
                attribute(row, "state") == shapes.COMPLETED_STATE
                and done is not None
                and (low is None or done >= low)
            )

        return filter(wanted, self._walk(_api(shapes.ENROLLMENTS_PATH), params))

    def iter_user_badges(self, user_id: str | int) -> Iterator[dict[str, Any]]:
        """One learner's user badges, oldest first (``dateAchieved``; ``badge`` and ``model``)."""
        return self._walk(_api(f"users/{user_id}/userBadges"), {"sort": shapes.USER_BADGES_SORT})

    def get_user_badge(self, user_id: str | int, user_badge_id: str) -> dict[str, Any]:
        return data_object(self.call("GET", _api(f"users/{user_id}/userBadges/{user_badge_id}")))

    # --- internals ----------------------------------------------------------------------------

    def _walk(self, endpoint: str, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Yield every item of a list, one call per page, while ``links.next`` leads on.

        Each next request keeps our own query (a server may drop it from the link) and takes
        the cursor from the link; it always goes to the connection's host and API. (No read
        here uses ``include``, so pages hold up to 100 items, not 10.)"""
        params = {key: value for key, value in filters.items() if value not in (None, "")}
        params[shapes.LIMIT] = self.page_size
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        while True:
            body = self.call("GET", endpoint, params=params)
            items = body.get("data") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise MalformedResponseError(
                    "list answer without a data array", method="GET", endpoint=endpoint
                )
            yield from items
            links = body.get("links") if isinstance(body.get("links"), dict) else {}
            next_url = links.get("next")
            if not next_url or not items:
                return
            endpoint, params = self._follow(str(next_url), params, endpoint)
            key = (endpoint, tuple(sorted((k, str(v)) for k, v in params.items())))
            if key in seen:
                raise MalformedResponseError(
                    "links.next repeats a page already read", method="GET", endpoint=endpoint
                )
            seen.add(key)

    def _follow(self, next_url: str, params: dict[str, Any], endpoint: str) -> tuple[str, dict[str, Any]]:
        """Endpoint (relative to our base URL) and parameters for a ``links.next``."""
        parts, base = urlsplit(next_url), urlsplit(self.base_url)
        if parts.netloc and parts.netloc != base.netloc:
            self.log.warning("links.next names another host; following its path on the connection's host")
        base_path = base.path.rstrip("/")
        path = parts.path[len(base_path) :] if base_path and parts.path.startswith(base_path) else parts.path
        path = path.lstrip("/")
        if not path.startswith(shapes.API_PREFIX + "/"):
            raise MalformedResponseError(
                f"links.next leads outside the API ({path!r})", method="GET", endpoint=endpoint
            )
        return path, {**params, **dict(parse_qsl(parts.query))}


# --- reading resources (JSON:API) ---------------------------------------------------------------


def attribute(resource: Mapping[str, Any], name: str) -> Any:
    """``resource.attributes[name]`` (None when absent)."""
    attributes = resource.get("attributes")
    return attributes.get(name) if isinstance(attributes, Mapping) else None


def related_id(resource: Mapping[str, Any], name: str) -> str | None:
    """The id a to-one relationship points to (None when absent or empty)."""
    relationships = resource.get("relationships")
    relation = relationships.get(name) if isinstance(relationships, Mapping) else None
    data = relation.get("data") if isinstance(relation, Mapping) else None
    return str(data["id"]) if isinstance(data, Mapping) and data.get("id") is not None else None


def enrollment_lo_type(enrollment: Mapping[str, Any]) -> str | None:
    """The type of an enrollment's learning object, from its id (``course:123`` -> course)."""
    lo_id = related_id(enrollment, shapes.ENROLLMENT_OBJECT)
    return lo_id.partition(":")[0] if lo_id and ":" in lo_id else None


def moment(value: Moment | None) -> datetime | None:
    """A UTC datetime from an ALM time: ISO text (``Z`` or offset; a bare date is midnight),
    epoch milliseconds (webhooks), a date or a datetime; None when empty."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, datetime.min.time(), tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _api(path: str) -> str:
    return f"{shapes.API_PREFIX}/{path}"


def _set(values: Iterable[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)
