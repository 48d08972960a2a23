"""CredlyHook: the Credly Web Service API (reference/credly-api.md) through the shared retry policy.

Connection ``credly_default`` (type http): host = API base URL, with or without ``/v1``
(``https://sandbox-api.credly.com``); login = organisation id; password = authorization token.
The hook sends ``Authorization: Basic base64("<token>:")`` (§2.1), never HttpHook's default
``login:password``, and keeps the token out of every log line, error and return value.

Issuing is never blindly repeated: Credly has no idempotency key (§8), so after an uncertain
outcome the hook looks the badge up before posting again, and a duplicate 422 is "already issued".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from airflow.sdk.exceptions import AirflowException
from requests.auth import HTTPBasicAuth

from credly_sync.health import OK, TOKEN_CREATED_EXTRA, credly_token_age
from credly_sync.hooks.base import (
    ApiError,
    ApiHttpHook,
    AuthenticationError,
    BulkOutcome,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
    UncertainOutcomeError,
    ValidationError,
    data_object,
)

DUPLICATE_MARKER = "already has this badge"  # §7: the confirmed part of Credly's duplicate message
HOLDING_STATES = ("pending", "accepted", "rejected")  # a learner holds the badge (not revoked/replaced)
FILTER_SEPARATORS = ("|", ",", "::")  # §4: conditions, list values, key from value
_TRAILING_VERSION = re.compile(r"/v1/?$")
_DATE_BOUND = re.compile(r"^(?P<field>\w+)_at_(?P<side>min|max)$")


@dataclass(frozen=True)
class IssueResult:
    """What an issue or replace did.

    ``outcome`` is ``issued`` / ``already_issued`` for an issue, ``replaced`` / ``already_replaced``
    for a replace; ``badge_id`` is the badge now held (None when Credly reported a duplicate
    that a lookup could not find); ``badge`` is its record when known.
    """

    outcome: str
    badge_id: str | None
    badge: dict[str, Any] | None = None


class CredlyHook(ApiHttpHook):
    """Credly API calls for one organisation.

    :param credly_conn_id: the Airflow connection (host, login = organisation id, password = token).
    :param retry: the retry policy (tests pass ``RetryPolicy(backoff_base=0)``).
    :param pool_size: HTTP connections kept open; also the default bulk concurrency.
    :param per_page: page size sent as ``per`` (unconfirmed parameter); None = Credly's 50.
    """

    conn_name_attr = "credly_conn_id"
    default_conn_name = "credly_default"
    conn_type = "http"
    hook_name = "Credly"

    def __init__(
        self,
        credly_conn_id: str = default_conn_name,
        *,
        retry: RetryPolicy | None = None,
        pool_size: int = 8,
        per_page: int | None = None,
    ) -> None:
        super().__init__(credly_conn_id, retry=retry, pool_size=pool_size)
        self.credly_conn_id = credly_conn_id
        self.per_page = per_page
        self._organization_id: str | None = None
        self._token: str | None = None

    # --- connection and auth ----------------------------------------------------------------

    @property
    def organization_id(self) -> str:
        if self._organization_id is None:
            self._load_credentials()
        return self._organization_id  # type: ignore[return-value]

    def _load_credentials(self) -> None:
        connection = self.get_connection(self.credly_conn_id)
        if not connection.login:
            raise AirflowException(
                f"Connection '{self.credly_conn_id}' has no login: put the Credly organization id there"
            )
        if not connection.password:
            raise AirflowException(
                f"Connection '{self.credly_conn_id}' has no password: "
                "put the Credly authorization token there"
            )
        self._organization_id = connection.login
        self._token = connection.password

    def _set_base_url(self, connection: Any) -> None:
        """HttpHook's base URL without a trailing ``/v1`` (paths here start with ``v1/``);
        a bare host name means HTTPS, not HttpHook's default HTTP."""
        super()._set_base_url(connection)
        if "://" not in (connection.host or "") and not connection.schema:
            self.base_url = "https" + self.base_url.removeprefix("http")
        self.base_url = _TRAILING_VERSION.sub("", self.base_url.rstrip("/"))

    def _extract_auth(self, connection: Any) -> HTTPBasicAuth:
        """Basic ``<token>:`` from the password field (§2.1; airflow-3.md §10.1); warns in the log
        when the token nears its 180-day end (extra ``token_created``, see health.py)."""
        self._load_credentials()
        age = credly_token_age(self.credly_conn_id, connection.extra_dejson)
        if age.created is not None and age.level != OK:
            self.log.warning("%s", age.message)
        return HTTPBasicAuth(self._token or "", "")

    def get_conn(self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None):
        """HttpHook's session; ``token_created`` is a record, not a header (airflow-3.md §10.1)."""
        session = super().get_conn(headers, extra_options)
        session.headers.pop(TOKEN_CREATED_EXTRA, None)
        return session

    def error_message(self, response: Any) -> str:
        return self.scrub(super().error_message(response))

    def call(self, method: str, endpoint: str, **kwargs: Any) -> Any:
        """:meth:`ApiHttpHook.call`, with 401/403 turned into errors that say what to fix."""
        try:
            return super().call(method, endpoint, **kwargs)
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"Credly refused the authorization token of connection '{self.credly_conn_id}' "
                f"({exc.reason}). Put a current token in the connection's password field: tokens "
                "expire after 180 days and stop working when rotated.",
                status=exc.status,
                method=method,
                endpoint=endpoint,
            ) from None
        except PermissionDeniedError as exc:
            raise PermissionDeniedError(
                f"The token of connection '{self.credly_conn_id}' may not act on organization "
                f"'{self.organization_id}' ({exc.reason}). Check that the connection's login is the "
                "id of the organization the token belongs to, and that the token has the permission needed.",
                status=exc.status,
                method=method,
                endpoint=endpoint,
            ) from None

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's "Test" button: read one page of badge templates."""
        try:
            self.call("GET", self._path("badge_templates"), params={"page": 1})
        except (ApiError, AirflowException) as exc:
            return False, self.scrub(str(exc))
        return True, f"Connected to Credly organization {self.organization_id}"

    # --- reads ----------------------------------------------------------------------------

    def iter_badge_templates(
        self, state: str | Sequence[str] | None = None, *, sort: str | None = None, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Every template matching ``state`` (active, archived, draft) and §4 filters, page by page."""
        return self._walk("badge_templates", {"state": state, **filters}, sort)

    def iter_badges(self, *, sort: str | None = None, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every issued badge matching the filters (state, badge_template_id, recipient_email,
        issuer_earner_id, updated_at_min, ...; datetimes allowed), page by page.

        The filters are sent, and checked again on each badge: only some are confirmed (§4), and
        no date filter on ``/badges`` is documented, so a server may ignore them."""
        return (badge for badge in self._walk("badges", filters, sort) if badge_matches(badge, filters))

    def iter_high_volume_badges(
        self,
        *,
        start_date: datetime | str | None = None,
        end_date: datetime | str | None = None,
        sort: str | None = None,
        **filters: Any,
    ) -> Iterator[dict[str, Any]]:
        """Slim badge records from the high-volume search (§5.3); dates bound ``updated_at``
        (unconfirmed parameters: checked again here, with the filters)."""
        extra = {"start_date": _search_date(start_date), "end_date": _search_date(end_date)}
        window = {"updated_at_min": start_date, "updated_at_max": end_date}
        return (
            badge
            for badge in self._walk("high_volume_issued_badge_search", filters, sort, extra)
            if badge_matches(badge, {**filters, **window})
        )

    def iter_events(self) -> Iterator[dict[str, Any]]:
        """The organisation's event feed (§5.9), in the server's order (unconfirmed)."""
        return self._walk("events", {}, None)

    def get_badge_template(self, template_id: str) -> dict[str, Any]:
        return data_object(self.call("GET", self._path("badge_templates", template_id)))

    def get_event(self, event_id: str) -> dict[str, Any]:
        """One event, re-fetched with our own token: how a webhook hint is verified (§9)."""
        return data_object(self.call("GET", self._path("events", event_id)))

    def find_badge(
        self,
        template_id: str,
        recipient_email: str,
        issuer_earner_id: str | None = None,
        *,
        states: Sequence[str] = HOLDING_STATES,
    ) -> dict[str, Any] | None:
        """The newest badge of ``template_id`` in ``states`` held by this e-mail (and earner id,
        when both sides carry one), or None.

        Only the confirmed filters are sent (§4) and every result is checked here as well: a
        server that ignores a filter must never make another learner's badge count as found.
        """
        badges = self.iter_badges(
            sort="-issued_at",
            badge_template_id=template_id,
            recipient_email=recipient_email,
            state=list(states),
        )
        return _newest(
            b for b in badges if is_learners_badge(b, template_id, recipient_email, issuer_earner_id)
        )

    def find_badge_by_earner(
        self, template_id: str, issuer_earner_id: str, *, states: Sequence[str] = HOLDING_STATES
    ) -> dict[str, Any] | None:
        """The newest badge of ``template_id`` carrying this ``issuer_earner_id``: for a duplicate
        refusal whose e-mail look-up found nothing (the learner's e-mail changed). The earner-id
        filter is unconfirmed, so on a server that ignores it this walks the template's badges."""
        return _newest(
            self.iter_badges(
                sort="-issued_at",
                badge_template_id=template_id,
                issuer_earner_id=issuer_earner_id,
                state=list(states),
            )
        )

    def find_badge_by_id(
        self, badge_id: str, template_id: str, recipient_email: str | None = None
    ) -> dict[str, Any] | None:
        """Badge ``badge_id``, read through the list endpoint (``GET /badges/{id}`` is not in
        Credly's documentation): the template's badges, narrowed by e-mail when known."""
        filters = {"badge_template_id": template_id, "recipient_email": recipient_email}
        badges = self._walk("badges", filters, None)
        return next((badge for badge in badges if badge.get("id") == badge_id), None)

    # --- writes ---------------------------------------------------------------------------

    def issue_badge(self, body: Mapping[str, Any]) -> IssueResult:
        """Issue one badge (§5.4) without ever creating a duplicate through retries.

        An uncertain outcome (timeout, 5xx, dropped connection, garbled answer) is followed by
        a lookup; only when the badge is not there is the POST sent again, at most
        ``retry.max_attempts`` times. A duplicate 422 gives ``already_issued``.
        """
        template_id = str(body["badge_template_id"])
        email, earner = body.get("recipient_email"), body.get("issuer_earner_id")
        endpoint = self._path("badges")
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                badge = data_object(self.call("POST", endpoint, json_body=dict(body), idempotent=False))
                return IssueResult("issued", badge["id"], badge)
            except UncertainOutcomeError as exc:
                existing = self.find_badge(template_id, email, earner)
                if existing is not None:
                    self.log.info(
                        "Issue outcome was uncertain (%s); badge %s exists", exc.reason, existing["id"]
                    )
                    ours = earner is not None and str(existing.get("issuer_earner_id") or "") == str(earner)
                    return IssueResult("issued" if ours else "already_issued", existing["id"], existing)
                self.log.warning(
                    "Issue outcome was uncertain (%s) and no badge exists; posting again", exc.reason
                )
                if attempt == self.retry.max_attempts:
                    raise UncertainOutcomeError(
                        f"{exc.reason}; no badge found after {attempt} attempts (it may still appear)",
                        status=exc.status,
                        method="POST",
                        endpoint=endpoint,
                    ) from None
                self.sleep(self.retry.backoff(attempt))
            except ValidationError as exc:
                if DUPLICATE_MARKER not in exc.reason.lower():
                    raise ValidationError(
                        f"Credly refused to issue template {template_id}: {exc.reason}",
                        status=exc.status,
                        method="POST",
                        endpoint=endpoint,
                    ) from None
                existing = self.find_badge(template_id, email, earner)
                if existing is None and earner:
                    existing = self.find_badge_by_earner(template_id, str(earner))  # e-mail changed
                return IssueResult("already_issued", existing["id"] if existing else None, existing)
        raise AssertionError("unreachable: the loop returns or raises")

    def revoke_badge(
        self,
        badge_id: str,
        reason: str,
        *,
        template_id: str,
        recipient_email: str | None = None,
        suppress_notification: bool = False,
    ) -> dict[str, Any]:
        """Revoke (§5.5); PUT is retried, and a badge already revoked (a 200 or a 422 for a
        retried call) counts as done, checked through the list endpoint."""
        body = {"reason": reason, "suppress_revoke_notification_email": suppress_notification}
        try:
            return data_object(self.call("PUT", self._path("badges", badge_id, "revoke"), json_body=body))
        except ValidationError:
            badge = self.find_badge_by_id(badge_id, template_id, recipient_email)
            if badge is not None and badge.get("state") == "revoked":
                return badge
            raise

    def replace_badge(
        self, badge_id: str, body: Mapping[str, Any], *, template_id: str, recipient_email: str | None = None
    ) -> IssueResult:
        """Replace (§5.6) badge ``badge_id`` of ``template_id``: ``replaced`` with the new badge.
        After an uncertain outcome or a refusal, a replacement already linked to the old badge
        (on either side, §5.6) means ``replaced`` / ``already_replaced``."""
        endpoint = self._path("badges", badge_id, "replace")
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                badge = data_object(self.call("POST", endpoint, json_body=dict(body), idempotent=False))
                return IssueResult("replaced", badge["id"], badge)
            except (UncertainOutcomeError, ValidationError) as exc:
                replacement = self._replacement_of(badge_id, template_id, body, recipient_email)
                if replacement is not None:
                    outcome = "replaced" if isinstance(exc, UncertainOutcomeError) else "already_replaced"
                    return IssueResult(outcome, replacement["id"], replacement)
                if isinstance(exc, ValidationError) or attempt == self.retry.max_attempts:
                    raise
                self.sleep(self.retry.backoff(attempt))
        raise AssertionError("unreachable: the loop returns or raises")

    def _replacement_of(
        self, badge_id: str, template_id: str, body: Mapping[str, Any], recipient_email: str | None
    ) -> dict[str, Any] | None:
        """The badge that replaced ``badge_id``, from the old badge's ``replacement_badge_id`` or
        a badge of the new template naming it in ``replaces_badge_id``."""
        new_template = str(body.get("badge_template_id") or template_id)
        candidates = {template_id, new_template}
        badges = [
            badge
            for template in sorted(candidates)
            for badge in self._walk(
                "badges", {"badge_template_id": template, "recipient_email": recipient_email}, None
            )
        ]
        by_id = {badge.get("id"): badge for badge in badges}
        linked = (by_id.get(badge_id) or {}).get("replacement_badge_id")
        if linked:
            return by_id.get(linked) or {"id": linked}
        return next((badge for badge in badges if badge.get("replaces_badge_id") == badge_id), None)

    def delete_badge(self, badge_id: str) -> bool:
        """Delete (§5.7); False when the badge was already gone (e.g. a retried DELETE)."""
        try:
            self.call("DELETE", self._path("badges", badge_id))
        except NotFoundError:
            return False
        return True

    # --- bulk -----------------------------------------------------------------------------

    def issue_badges(
        self,
        bodies: Sequence[Mapping[str, Any]],
        *,
        keys: Sequence[Hashable] | None = None,
        max_workers: int | None = None,
    ) -> list[BulkOutcome]:
        """Issue many badges with at most ``max_workers`` (default ``pool_size``) in flight."""

        def issue(body: Mapping[str, Any]) -> tuple[str, str | None]:
            result = self.issue_badge(body)
            return result.outcome, result.badge_id

        return self.run_bulk(bodies, issue, keys=keys, max_workers=max_workers)

    def revoke_badges(
        self,
        revocations: Sequence[tuple[str, str, str]],
        *,
        keys: Sequence[Hashable] | None = None,
        max_workers: int | None = None,
    ) -> list[BulkOutcome]:
        """Revoke many ``(badge_id, reason, template_id)`` triples."""

        def revoke(item: tuple[str, str, str]) -> tuple[str, str | None]:
            badge_id, reason, template_id = item
            return "revoked", self.revoke_badge(badge_id, reason, template_id=template_id)["id"]

        return self.run_bulk(revocations, revoke, keys=keys, max_workers=max_workers)

    def delete_badges(
        self,
        badge_ids: Sequence[str],
        *,
        keys: Sequence[Hashable] | None = None,
        max_workers: int | None = None,
    ) -> list[BulkOutcome]:
        def delete(badge_id: str) -> tuple[str, str | None]:
            return ("deleted" if self.delete_badge(badge_id) else "already_deleted"), badge_id

        return self.run_bulk(badge_ids, delete, keys=keys, max_workers=max_workers)

    # --- internals ------------------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return "/".join(("v1/organizations", self.organization_id, *parts))

    def _walk(
        self,
        resource: str,
        filters: Mapping[str, Any],
        sort: str | None,
        extra: Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every item of a list, one call per page, following ``metadata.next_page_url``.

        The next request keeps our own filter/sort/per and takes the page (or any cursor) from
        ``next_page_url`` (whether Credly keeps the query there is unconfirmed); it always goes
        to the connection's host, so the token never leaves it.
        """
        params = {key: value for key, value in (extra or {}).items() if value is not None}
        filter_text = _filter_param(filters)
        if filter_text:
            params["filter"] = filter_text
        if sort:
            params["sort"] = sort
        if self.per_page:
            params["per"] = self.per_page
        endpoint = self._path(resource)
        while True:
            body = self.call("GET", endpoint, params=params)
            items = body.get("data") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise MalformedResponseError(
                    "list answer without a data array", method="GET", endpoint=endpoint
                )
            yield from items
            next_url = (body.get("metadata") or {}).get("next_page_url")
            if not next_url or not items:
                return
            endpoint, params = self._follow(next_url, params)

    def _follow(self, next_url: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Endpoint (relative to our base URL) and parameters for a ``next_page_url``."""
        parts = urlsplit(next_url)
        base_path = urlsplit(self.base_url).path.rstrip("/")
        path = parts.path[len(base_path) :] if base_path and parts.path.startswith(base_path) else parts.path
        return path.lstrip("/"), {**params, **dict(parse_qsl(parts.query))}

    def secrets(self) -> tuple[str, ...]:
        return (self._token,) if self._token else ()


def is_learners_badge(
    badge: Mapping[str, Any], template_id: str, recipient_email: str | None, issuer_earner_id: str | None
) -> bool:
    """Whether a listed badge is this learner's badge of this template: same template, same
    recipient e-mail (case-insensitive, when given) and, when both sides carry one, the same
    ``issuer_earner_id``. Every look-up result goes through this, whatever filters were sent."""
    if str((badge.get("badge_template") or {}).get("id") or badge.get("badge_template_id")) != template_id:
        return False
    if recipient_email and str(badge.get("recipient_email") or "").strip().lower() != _email_key(
        recipient_email
    ):
        return False
    earner = badge.get("issuer_earner_id")
    return not (earner and issuer_earner_id) or str(earner) == str(issuer_earner_id)


def _newest(badges: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    return max(badges, key=lambda badge: str(badge.get("issued_at") or ""), default=None)


def badge_matches(badge: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """Whether a listed badge satisfies the filters this client can check itself: ``state``,
    ``badge_template_id``, ``recipient_email`` (any case), ``issuer_earner_id`` and the
    ``<field>_at_min`` / ``<field>_at_max`` bounds. Other keys (``query``...) are the server's."""
    for key, value in filters.items():
        if value is None:
            continue
        bound = _DATE_BOUND.match(key)
        if bound:
            if not _within(badge.get(f"{bound['field']}_at"), value, bound["side"]):
                return False
            continue
        read = _CHECKED_FIELDS.get(key)
        values = value if isinstance(value, (list, tuple, set)) else [value]
        if read is not None and read(badge) not in {str(item).strip().lower() for item in values}:
            return False
    return True


_CHECKED_FIELDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "state": lambda badge: str(badge.get("state") or "").lower(),
    "badge_template_id": lambda badge: str((badge.get("badge_template") or {}).get("id") or "").lower(),
    "recipient_email": lambda badge: str(badge.get("recipient_email") or "").strip().lower(),
    "issuer_earner_id": lambda badge: str(badge.get("issuer_earner_id") or "").strip().lower(),
}


def _within(moment: Any, bound: datetime | str, side: str) -> bool:
    if not isinstance(moment, str) or not moment:
        return False
    value = _aware(datetime.fromisoformat(moment.replace("Z", "+00:00")))
    limit = _aware(
        bound if isinstance(bound, datetime) else datetime.fromisoformat(bound.replace("Z", "+00:00"))
    )
    return value >= limit if side == "min" else value <= limit


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _email_key(email: str) -> str:
    return email.strip().lower()


def _filter_param(filters: Mapping[str, Any]) -> str | None:
    """§4 syntax: ``key::value`` joined by ``|``; lists comma-joined; datetimes ISO 8601 UTC.

    A value holding the syntax's own separators (``|``, ``,``, ``::``) would change the filter
    (an e-mail ``a@x.com|state::revoked``), so it is refused, naming the key."""
    conditions = []
    for key, value in filters.items():
        if value is None:
            continue
        if isinstance(value, bool):
            items = [str(value).lower()]
        elif isinstance(value, datetime):
            items = [_iso(value)]
        elif isinstance(value, str) or not isinstance(value, Sequence):
            items = [str(value)]
        else:
            items = [str(item) for item in value]
        for item in items:
            if any(separator in item for separator in FILTER_SEPARATORS):
                raise ValueError(
                    f"Credly filter {key}: value {item!r} contains one of {' '.join(FILTER_SEPARATORS)}, "
                    "which the filter syntax reserves"
                )
        conditions.append(f"{key}::{','.join(items)}")
    return "|".join(conditions) or None


def _iso(moment: datetime) -> str:
    return _aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _search_date(value: datetime | str | None) -> str | None:
    """The high-volume search's ``YYYY-MM-DD HH:MM:SS`` (UTC) date format."""
    if value is None or isinstance(value, str):
        return value
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
