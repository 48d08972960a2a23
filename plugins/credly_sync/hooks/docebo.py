"""DoceboHook: the Docebo Learn API (reference/lms-apis.md §1) through the shared retry policy.

Connection ``docebo_default`` (type http): host = tenant URL (``https://acme.docebosaas.com``),
login = OAuth2 client id, password = client secret. The hook obtains a token with the
client-credentials grant on first use, sends it as ``Authorization: Bearer``, renews it shortly
before it expires (refresh grant, else a new client-credentials token) and once more after a
401. It never sends HttpHook's Basic auth, and the secret and tokens never reach a log line,
an error or a return value.

Lists are walked page by page (``page``/``page_size``, ``has_more_data``): one call per page,
one page in memory. Paths and bodies without a public source live in
:mod:`credly_sync.hooks.docebo_unconfirmed`. Non-idempotent writes (award, external training,
new field or option) are never blindly repeated: after an uncertain outcome the hook looks
for the object before posting again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from airflow.sdk.exceptions import AirflowException

from credly_sync.hooks import docebo_unconfirmed as shapes
from credly_sync.hooks.base import (
    ApiError,
    ApiHttpHook,
    BulkOutcome,
    MalformedResponseError,
    NotFoundError,
    RetryPolicy,
    UncertainOutcomeError,
    data_object,
)
from credly_sync.hooks.oauth import AccessToken, TokenAuthHook, TokenRequestError

TOKEN_PATH = "oauth2/token"
ZERO_DATE = "0000-00-00"  # Docebo's empty date
DEFAULT_PAGE_SIZE = 200
REFRESH_MARGIN = 60.0  # seconds before expiry a token is renewed (at most a tenth of its life)

DateLike = date | datetime | str


@dataclass(frozen=True)
class DropdownOption:
    element_id: int
    label: str


@dataclass(frozen=True)
class DropdownField:
    """A course additional field of type dropdown and its options."""

    field_id: int
    name: str
    options: tuple[DropdownOption, ...]


@dataclass(frozen=True)
class WriteResult:
    """What a create did: ``outcome`` (awarded / already_awarded, created / already_exists),
    the id of the object now there and its record."""

    outcome: str
    record_id: int | None
    record: dict[str, Any] | None = None


class DoceboHook(TokenAuthHook):
    """Docebo Learn API calls for one tenant.

    :param docebo_conn_id: the Airflow connection (host, login = client id, password = secret).
    :param retry: the retry policy (tests pass ``RetryPolicy(backoff_base=0)``).
    :param pool_size: HTTP connections kept open; also the default bulk concurrency.
    :param page_size: items per list page (Docebo's default is 200).
    """

    conn_name_attr = "docebo_conn_id"
    default_conn_name = "docebo_default"
    conn_type = "http"
    hook_name = "Docebo"
    token_service = "Docebo"
    fresh_token_refused = "the OAuth2 app's user may lack the rights for this call"

    def __init__(
        self,
        docebo_conn_id: str = default_conn_name,
        *,
        retry: RetryPolicy | None = None,
        pool_size: int = 8,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        super().__init__(docebo_conn_id, retry=retry, pool_size=pool_size)
        self.docebo_conn_id = docebo_conn_id
        self.page_size = page_size
        self._client: tuple[str, str] | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema", "port"],
            "relabeling": {"host": "Platform URL", "login": "Client ID", "password": "Client secret"},
            "placeholders": {"host": "https://acme.docebosaas.com"},
        }

    # --- connection and auth ----------------------------------------------------------------

    def _extract_auth(self, connection: Any) -> None:
        """No session-wide auth: HttpHook would send Basic ``client_id:secret`` on every call."""
        return None

    def prepare(self) -> None:
        """Also read the OAuth2 client from the connection before threads use the hook."""
        super().prepare()
        self._credentials()

    def _credentials(self) -> tuple[str, str]:
        if self._client is None:
            connection = self.get_connection(self.docebo_conn_id)
            if not connection.login or not connection.password:
                raise AirflowException(
                    f"Connection '{self.docebo_conn_id}' needs the OAuth2 client id as login and "
                    "the client secret as password"
                )
            self._client = (connection.login, connection.password)
            self.remember_secrets(connection.password)
        return self._client

    def new_token(self) -> AccessToken:
        """A refresh-token grant when we hold one (falling back), else client credentials."""
        client_id, secret = self._credentials()
        form = {"client_id": client_id, "client_secret": secret, "scope": "api"}
        if self._token is not None and self._token.refresh:
            try:
                return self._request_token(
                    {**form, "grant_type": "refresh_token", "refresh_token": self._token.refresh}
                )
            except TokenRequestError:
                self.log.info("Docebo refused the refresh token; requesting a new token")
        return self._request_token({**form, "grant_type": "client_credentials"})

    def _request_token(self, form: dict[str, str]) -> AccessToken:
        try:
            with self.token_request():
                body = ApiHttpHook.call(self, "POST", TOKEN_PATH, form=form, idempotent=True)
        except ApiError as exc:
            if exc.status in (400, 401, 403):
                raise TokenRequestError(
                    f"Docebo refused the OAuth2 credentials of connection '{self.docebo_conn_id}' "
                    f"({self.scrub(exc.reason)}). Check the client id (login) and secret (password), "
                    "and that the OAuth2 app is active and allows client credentials.",
                    status=exc.status,
                    method="POST",
                    endpoint=TOKEN_PATH,
                ) from None
            raise
        if not isinstance(body, dict) or not body.get("access_token"):
            raise MalformedResponseError(
                "token answer without access_token", method="POST", endpoint=TOKEN_PATH
            )
        lifetime = float(body.get("expires_in") or 3600)
        token = AccessToken(
            str(body["access_token"]),
            time.monotonic() + lifetime - min(REFRESH_MARGIN, lifetime / 10),
            body.get("refresh_token"),
        )
        self.remember_secrets(token.access, token.refresh)
        return token

    def error_message(self, response: Any) -> str:
        return self.scrub(super().error_message(response))

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's "Test" button: get a token and read one page of courses."""
        try:
            self.call("GET", "learn/v1/courses", params={"page": 1, "page_size": 1})
        except (ApiError, AirflowException) as exc:
            return False, self.scrub(str(exc))
        return True, "Connected to Docebo"

    # --- reads ------------------------------------------------------------------------------

    def iter_users(self, search_text: str | None = None) -> Iterator[dict[str, Any]]:
        return self._walk("manage/v1/user", {"search_text": search_text})

    def find_user_by_email(self, email: str) -> dict[str, Any] | None:
        """The user whose e-mail is exactly ``email`` (case-insensitive), or None."""
        wanted = email.strip().lower()
        return next(
            (user for user in self.iter_users(wanted) if str(user.get("email", "")).lower() == wanted), None
        )

    def get_user(self, user_id: int) -> dict[str, Any]:
        """``user_data`` of one user (email, first_name, last_name, username)."""
        return data_object(self.call("GET", f"manage/v1/user/{user_id}"))["user_data"]

    def iter_courses(self) -> Iterator[dict[str, Any]]:
        return self._walk("learn/v1/courses", {})

    def get_course(self, course_id: int) -> dict[str, Any]:
        return data_object(self.call("GET", f"learn/v1/courses/{course_id}"))

    def iter_enrollments(
        self,
        *,
        user_ids: Iterable[int] | None = None,
        course_ids: Iterable[int] | None = None,
        statuses: Iterable[str] | None = None,
        completed_from: DateLike | None = None,
        completed_to: DateLike | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Course enrollments (status, ``course_complete_date``); the date range is inclusive.

        The completion-date filters are unconfirmed, so every condition asked for is checked
        again on each row: the caller gets what it asked for whatever the server did."""
        params = {
            "id_user[]": _list(user_ids),
            "id_course[]": _list(course_ids),
            "status[]": _list(statuses),
            shapes.COMPLETED_FROM: _datetime_text(completed_from),
            shapes.COMPLETED_TO: _datetime_text(completed_to),
        }
        wanted = _RowCheck(
            {"user_id": user_ids, "id": course_ids, "status": statuses},
            "course_complete_date",
            completed_from,
            completed_to,
        )
        return filter(wanted, self._walk("learn/v1/enrollments", params))

    def iter_course_completions(
        self,
        completed_from: DateLike | None = None,
        completed_to: DateLike | None = None,
        *,
        course_ids: Iterable[int] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Completed course enrollments, optionally completed within the range."""
        return self.iter_enrollments(
            course_ids=course_ids,
            statuses=["completed"],
            completed_from=completed_from,
            completed_to=completed_to,
        )

    def iter_learning_plans(self) -> Iterator[dict[str, Any]]:
        return self._walk("learningplan/v1/learningplans", {})

    def get_learning_plan_courses(self, learning_plan_id: int) -> list[dict[str, Any]]:
        """The plan's courses (``id_course``, ``code``, ``name``) from the legacy LP read."""
        return list(data_object(self.call("GET", f"learn/v1/lp/{learning_plan_id}")).get("courses") or [])

    def iter_learning_plan_enrollments(
        self,
        *,
        learning_plan_ids: Iterable[int] | None = None,
        user_ids: Iterable[int] | None = None,
        statuses: Iterable[str] | None = None,
        completed_from: DateLike | None = None,
        completed_to: DateLike | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Learning plan enrollments with ``enrollment_status`` and ``enrollment_completion_date``
        (the status and date filters are unconfirmed: checked again on each row)."""
        params = {
            "learning_plan_id[]": _list(learning_plan_ids),
            "user_id[]": _list(user_ids),
            "extra_fields[]": ["enrollment_status", "enrollment_completion_date"],
            shapes.LP_STATUS_FILTER: _list(statuses),
            shapes.COMPLETED_FROM: _datetime_text(completed_from),
            shapes.COMPLETED_TO: _datetime_text(completed_to),
        }
        wanted = _RowCheck(
            {"learning_plan_id": learning_plan_ids, "user_id": user_ids, "enrollment_status": statuses},
            "enrollment_completion_date",
            completed_from,
            completed_to,
        )
        return filter(wanted, self._walk("learningplan/v1/learningplans/enrollments", params))

    def iter_learning_plan_completions(
        self, completed_from: DateLike | None = None, completed_to: DateLike | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.iter_learning_plan_enrollments(
            statuses=["completed"], completed_from=completed_from, completed_to=completed_to
        )

    def iter_certifications(self) -> Iterator[dict[str, Any]]:
        """The certification catalogue (``id_cert``, ``code``, ``title``)."""
        return self._walk("learn/v1/certification", {})

    def find_certification_by_code(self, code: str) -> dict[str, Any] | None:
        return next((cert for cert in self.iter_certifications() if cert.get("code") == code), None)

    def iter_certification_awards(
        self,
        *,
        user_ids: Iterable[int] | None = None,
        certification_ids: Iterable[int] | None = None,
        statuses: Iterable[str] | None = None,
        updated_from: DateLike | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Awards with ``issued_on``, ``expires_on`` and ``status`` (active, expired, revoked);
        ``updated_from`` asks for awards changed since then (unconfirmed: callers check it)."""
        params = {
            shapes.AWARD_USER_FILTER: _list(user_ids),
            shapes.AWARD_CERTIFICATION_FILTER: _list(certification_ids),
            shapes.AWARD_STATUS_FILTER: _list(statuses),
            shapes.AWARD_UPDATED_FROM: _datetime_text(updated_from),
        }
        return self._walk(shapes.AWARDS_PATH, params)

    def find_certification_award(self, user_id: int, certification_id: int) -> dict[str, Any] | None:
        """The user's award of this certification that is not revoked, if any."""
        awards = self.iter_certification_awards(user_ids=[user_id], certification_ids=[certification_id])
        return next((award for award in awards if award.get("status") != "revoked"), None)

    def iter_external_training(self, user_ids: Iterable[int] | None = None) -> Iterator[dict[str, Any]]:
        """External training, of these users only (the user filter is unconfirmed: checked here)."""
        users = _list(user_ids)
        rows = self._walk(shapes.EXTERNAL_TRAINING_PATH, {shapes.EXTERNAL_TRAINING_USER_FILTER: users})
        return filter(_RowCheck({"user_id": users}), rows)

    def find_external_training(self, user_id: int, badge_url: str) -> dict[str, Any] | None:
        """The user's external training that links to this badge, if any."""
        rows = self.iter_external_training([user_id])
        return next((row for row in rows if row.get(shapes.EXTERNAL_TRAINING_BADGE_URL) == badge_url), None)

    def iter_course_fields(self) -> Iterator[dict[str, Any]]:
        """Course additional fields (``id``, ``type``, ``name.value``, dropdown options)."""
        return self._walk(shapes.COURSE_FIELDS_PATH, {})

    def find_dropdown_field(self, name: str) -> DropdownField | None:
        """The first dropdown course field called ``name`` (lowest id), or None."""
        matches = [
            item
            for item in self.iter_course_fields()
            if item.get("type") == "dropdown" and shapes.field_name(item) == name
        ]
        return _dropdown(min(matches, key=lambda item: int(item["id"]))) if matches else None

    def course_field_values(self, field_id: int | str) -> dict[int, int | None]:
        """Every course's element id for the field (None when unset), from the course list."""
        return {
            int(course["id_course"]): shapes.course_field_value(course, field_id)
            for course in self.iter_courses()
        }

    # --- writes: certification awards ---------------------------------------------------------

    def award_certification(
        self,
        user_id: int,
        certification_id: int,
        issued_on: DateLike,
        expires_on: DateLike | None = None,
        *,
        source: str | None = None,
        external_link: str | None = None,
    ) -> WriteResult:
        """Award a certification once: ``awarded``, or ``already_awarded`` when the user holds it
        (a duplicate refusal, or an uncertain POST that did take effect)."""
        body = shapes.award_body(
            user_id, certification_id, _day_text(issued_on), _day_text(expires_on), source, external_link
        )

        def find() -> dict[str, Any] | None:
            return self.find_certification_award(user_id, certification_id)

        return self._create_once(shapes.AWARDS_PATH, body, find, "award_id", "awarded", "already_awarded")

    def update_certification_award(
        self,
        award_id: int,
        *,
        issued_on: DateLike | None = None,
        expires_on: DateLike | None = None,
        external_link: str | None = None,
        clear_expiry: bool = False,
    ) -> dict[str, Any]:
        """Change an award's dates or link (PUT, retried); only the given values are sent, and
        ``clear_expiry`` sends ``expires_on: null`` (the award no longer expires)."""
        changes = {
            "issued_on": _day_text(issued_on),
            "expires_on": _day_text(expires_on),
            "external_link": external_link,
        }
        body = {key: value for key, value in changes.items() if value is not None}
        if clear_expiry and expires_on is None:
            body["expires_on"] = None
        return data_object(self.call("PUT", shapes.award_path(award_id), json_body=body))

    def revoke_certification_award(self, award_id: int) -> bool:
        """Revoke (DELETE, retried); False when no such award exists."""
        try:
            self.call("DELETE", shapes.award_path(award_id))
        except NotFoundError:
            return False
        return True

    # --- writes: external training ------------------------------------------------------------

    def create_external_training(
        self,
        user_id: int,
        title: str,
        institute: str,
        date_completed: DateLike,
        expiration_date: DateLike | None = None,
        *,
        badge_url: str,
    ) -> WriteResult:
        """Record a badge as completed external training, once per user and badge link."""
        body = shapes.external_training_body(
            user_id,
            title,
            institute,
            _day_text(date_completed),
            _day_text(expiration_date),
            badge_url,  # type: ignore[arg-type]
        )
        return self._create_once(
            shapes.EXTERNAL_TRAINING_PATH,
            body,
            lambda: self.find_external_training(user_id, badge_url),
            shapes.EXTERNAL_TRAINING_ID,
            "created",
            "already_exists",
        )

    def update_external_training(self, training_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """PUT the given fields (names as in :func:`docebo_unconfirmed.external_training_body`)."""
        body = {key: _day_text(value) if isinstance(value, date) else value for key, value in changes.items()}
        return data_object(self.call("PUT", shapes.external_training_path(training_id), json_body=body))

    def delete_external_training(self, training_id: int) -> bool:
        """Delete; False when it was already gone (e.g. a retried DELETE)."""
        try:
            self.call("DELETE", shapes.external_training_path(training_id))
        except NotFoundError:
            return False
        return True

    # --- writes: course additional field (dropdown) -------------------------------------------

    def ensure_dropdown_field(self, name: str) -> DropdownField:
        """The dropdown course field called ``name``, created when missing."""
        existing = self.find_dropdown_field(name)
        if existing is not None:
            return existing
        result = self._create_once(
            shapes.COURSE_FIELDS_PATH,
            shapes.field_create_body(name),
            lambda: _raw(self.find_dropdown_field(name)),
            "id",
            "created",
            "already_exists",
        )
        self.log.info("Created the Docebo course field %r (id %s)", name, result.record_id)
        return (
            _dropdown(result.record) if result.record else DropdownField(int(result.record_id or 0), name, ())
        )

    def add_dropdown_option(self, field_id: int | str, label: str) -> int:
        """Add an option; returns the element id Docebo assigned. After an uncertain outcome an
        option with this label that was not there before is taken as ours."""
        before = {option.element_id for option in self._field_options(field_id)}

        def find() -> dict[str, Any] | None:
            fresh = [
                o for o in self._field_options(field_id) if o.label == label and o.element_id not in before
            ]
            return {"id": fresh[0].element_id} if fresh else None

        result = self._create_once(
            shapes.field_options_path(field_id), shapes.option_body(label), find, "id", "added", "added"
        )
        return int(result.record_id)  # type: ignore[arg-type]

    def rename_dropdown_option(self, field_id: int | str, element_id: int, label: str) -> None:
        self.call("PUT", shapes.field_option_path(field_id, element_id), json_body=shapes.option_body(label))

    def remove_dropdown_option(self, field_id: int | str, element_id: int) -> bool:
        """Remove an option (courses using it fall back to the default); False if already gone."""
        try:
            self.call("DELETE", shapes.field_option_path(field_id, element_id))
        except NotFoundError:
            return False
        return True

    def set_course_field_value(self, course_id: int, field_id: int | str, element_id: int) -> None:
        self.call(
            "PUT",
            shapes.course_value_path(course_id, field_id),
            json_body=shapes.course_value_body(element_id),
        )

    def reset_course_field_value(self, course_id: int, field_id: int | str) -> None:
        """Back to the field's default (empty) value."""
        self.call("DELETE", shapes.course_value_path(course_id, field_id))

    # --- bulk ---------------------------------------------------------------------------------

    def award_certifications(
        self,
        awards: Sequence[Mapping[str, Any]],
        *,
        keys: Sequence[Hashable] | None = None,
        max_workers: int | None = None,
    ) -> list[BulkOutcome]:
        """Many :meth:`award_certification` calls; each mapping holds its keyword arguments."""

        def award(item: Mapping[str, Any]) -> tuple[str, int | None]:
            result = self.award_certification(**item)
            return result.outcome, result.record_id

        return self.run_bulk(awards, award, keys=keys, max_workers=max_workers)

    def revoke_certification_awards(
        self,
        award_ids: Sequence[int],
        *,
        keys: Sequence[Hashable] | None = None,
        max_workers: int | None = None,
    ) -> list[BulkOutcome]:
        def revoke(award_id: int) -> tuple[str, int | None]:
            return ("revoked" if self.revoke_certification_award(award_id) else "not_found"), award_id

        return self.run_bulk(award_ids, revoke, keys=keys, max_workers=max_workers)

    def create_external_trainings(
        self,
        trainings: Sequence[Mapping[str, Any]],
        *,
        keys: Sequence[Hashable] | None = None,
        max_workers: int | None = None,
    ) -> list[BulkOutcome]:
        """Many :meth:`create_external_training` calls; each mapping holds its keyword arguments."""

        def create(item: Mapping[str, Any]) -> tuple[str, int | None]:
            result = self.create_external_training(**item)
            return result.outcome, result.record_id

        return self.run_bulk(trainings, create, keys=keys, max_workers=max_workers)

    def delete_external_trainings(
        self,
        training_ids: Sequence[int],
        *,
        keys: Sequence[Hashable] | None = None,
        max_workers: int | None = None,
    ) -> list[BulkOutcome]:
        def delete(training_id: int) -> tuple[str, int | None]:
            return (
                "deleted" if self.delete_external_training(training_id) else "already_deleted"
            ), training_id

        return self.run_bulk(training_ids, delete, keys=keys, max_workers=max_workers)

    # --- internals ----------------------------------------------------------------------------

    def _walk(self, endpoint: str, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Yield every item of a list, one call per page, while ``has_more_data``."""
        params = {key: value for key, value in filters.items() if value not in (None, [])}
        page = 1
        while True:
            body = self.call("GET", endpoint, params={**params, "page": page, "page_size": self.page_size})
            data = body.get("data") if isinstance(body, dict) else None
            items = data.get("items") if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise MalformedResponseError(
                    "list answer without data.items", method="GET", endpoint=endpoint
                )
            yield from items
            last_page = data.get("total_page_count")  # type: ignore[union-attr]
            if (
                not items
                or not data.get("has_more_data")
                or (isinstance(last_page, int) and page >= last_page)
            ):  # type: ignore[union-attr]
                return
            page += 1

    def _create_once(
        self,
        endpoint: str,
        body: dict[str, Any],
        find: Callable[[], dict[str, Any] | None],
        id_key: str,
        created: str,
        existed: str,
    ) -> WriteResult:
        """POST once; after an uncertain outcome look (``find``) before posting again, and on a
        duplicate refusal return what is there."""
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                record = data_object(self.call("POST", endpoint, json_body=body, idempotent=False))
                return WriteResult(created, _int(record.get(id_key)), record)
            except UncertainOutcomeError as exc:
                # wait first: a request the server is still working on may yet take effect
                self.sleep(self.retry.backoff(attempt))
                found = find()
                if found is not None:
                    self.log.info("POST %s was uncertain (%s) but took effect", endpoint, exc.reason)
                    return WriteResult(created, _int(found.get(id_key)), found)
                if attempt == self.retry.max_attempts:
                    raise UncertainOutcomeError(
                        f"{exc.reason}; nothing found after {attempt} attempts (it may still appear)",
                        status=exc.status,
                        method="POST",
                        endpoint=endpoint,
                    ) from None
                self.log.warning(
                    "POST %s was uncertain (%s) and nothing exists; posting again", endpoint, exc.reason
                )
            except ApiError as exc:
                if exc.status != shapes.DUPLICATE_STATUS:
                    raise
                found = find()
                return WriteResult(existed, _int(found.get(id_key)) if found else None, found)
        raise AssertionError("unreachable: the loop returns or raises")

    def _field_options(self, field_id: int | str) -> tuple[DropdownOption, ...]:
        for item in self.iter_course_fields():
            if str(item.get("id")) == str(field_id):
                return _dropdown(item).options
        raise NotFoundError(
            f"course field {field_id} not found", status=404, method="GET", endpoint=shapes.COURSE_FIELDS_PATH
        )


class _RowCheck:
    """Whether a listed row meets the conditions a read asked the server for: each field one of
    the given values (compared as text), and a date field within an inclusive range (a bare day
    as the upper bound covers that day). Docebo's empty date ``0000-00-00`` is no date, so it
    falls outside every range."""

    def __init__(
        self,
        values: Mapping[str, Iterable[Any] | None],
        date_field: str | None = None,
        date_from: DateLike | None = None,
        date_to: DateLike | None = None,
    ) -> None:
        self.values = {
            key: {str(v) for v in allowed} for key, allowed in values.items() if allowed is not None
        }
        self.date_field = date_field
        self.low = _moment(date_from)
        self.high = _moment(date_to, end_of_day=True)

    def __call__(self, row: dict[str, Any]) -> bool:
        if any(str(row.get(key)) not in allowed for key, allowed in self.values.items()):
            return False
        if self.date_field is None or (self.low is None and self.high is None):
            return True
        moment = _moment(row.get(self.date_field))
        return (
            moment is not None
            and (self.low is None or moment >= self.low)
            and (self.high is None or moment <= self.high)
        )


def _moment(value: Any, *, end_of_day: bool = False) -> datetime | None:
    """A UTC datetime from a Docebo date or time (text, date or datetime); None when empty."""
    if value is None or (isinstance(value, str) and (not value.strip() or value.startswith(ZERO_DATE))):
        return None
    if isinstance(value, str):
        text = value.strip()
        value = (
            date.fromisoformat(text)
            if len(text) == 10
            else datetime.fromisoformat(text.replace("Z", "+00:00"))
        )
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    day = datetime.combine(value, datetime.min.time(), tzinfo=UTC)
    return day.replace(hour=23, minute=59, second=59) if end_of_day else day


def _dropdown(item: dict[str, Any]) -> DropdownField:
    options = tuple(DropdownOption(eid, label) for eid, label in shapes.field_options(item))
    return DropdownField(int(item["id"]), shapes.field_name(item), options)


def _raw(field: DropdownField | None) -> dict[str, Any] | None:
    """A found field in the shape ``_create_once`` returns (id plus the API item fields)."""
    if field is None:
        return None
    options = [{"id": o.element_id, "label": o.label} for o in field.options]
    return {"id": field.field_id, "type": "dropdown", "name": {"value": field.name}, "options": options}


def _list(values: Iterable[Any] | None) -> list[Any] | None:
    return None if values is None else list(values)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _day_text(value: DateLike | None) -> str | None:
    """Docebo's ``YYYY-MM-DD``."""
    if value is None or isinstance(value, str):
        return value[:10] if isinstance(value, str) else None
    if isinstance(value, datetime) and value.tzinfo:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d")


def _datetime_text(value: DateLike | None) -> str | None:
    """Docebo's ``YYYY-MM-DD HH:MM:SS`` (a date or a string is sent as given)."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return value
