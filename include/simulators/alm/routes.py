"""The ALM API v2 routes the simulator serves under ``/primeapi/v2`` (lms-apis.md §2.2-§2.5),
behind ``Accept: application/vnd.api+json`` (else 406) and an OAuth access token (else 401).

Invented paths and filters, and the strict / helpful forms, are in :mod:`.unconfirmed`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from include.simulators.alm.jsonapi import CURSOR, LIMIT, OFFSET, includes, one, page_of
from include.simulators.alm.records import Enrollment, parse_time
from include.simulators.alm.state import LO_TYPES, AlmState
from include.simulators.alm.unconfirmed import (
    COMPLETED_FROM_FILTER,
    ENROLLMENTS_PATH,
    HELPFUL_ACCEPTS,
    JSON_API,
    STATES_FILTER,
    UNCONFIRMED_ENROLLMENT_FILTERS,
    UNCONFIRMED_USER_FILTERS,
    USER_EMAIL_FILTER,
    USER_IDS_FILTER,
)
from include.simulators.common.refusal import ApiRefusal
from include.simulators.common.strictness import unknown_parameter_counter

PREFIX = "/primeapi/v2"


class JsonApiResponse(JSONResponse):
    media_type = JSON_API


def api_router(state: AlmState) -> APIRouter:
    """Every authenticated route of the simulated account."""

    def acceptable(request: Request) -> None:
        accept = request.headers.get("accept", "").split(";")[0].strip().lower()
        if accept != JSON_API and (state.mode.strict or accept not in HELPFUL_ACCEPTS):
            raise ApiRefusal(406, f"Accept must be {JSON_API}")

    def authorized(request: Request) -> None:
        state.tokens.authorize(request.headers.get("authorization"), state.mode.strict)

    router = APIRouter(
        prefix=PREFIX,
        default_response_class=JsonApiResponse,
        dependencies=[
            Depends(acceptable),
            Depends(authorized),
            Depends(unknown_parameter_counter(state.mode)),
        ],
    )
    world = lambda: state.world  # noqa: E731 -- the world is replaced on reset/seed/restore

    def paged(
        request: Request,
        key: tuple[Any, ...],
        build: Callable[[], Any],
        render: Callable[[Any], dict[str, Any]],
        limit: int | None,
        cursor: str | None,
        offset: int | None,
        include: str | None,
    ) -> dict[str, Any]:
        records = state.cached((*key, state.mode.strict), build)
        names = includes(include)
        return page_of(
            request, state, records, render, limit=limit, cursor=cursor, offset=offset, include=names
        )

    limit_q = Query(None, alias=LIMIT)
    cursor_q = Query(None, alias=CURSOR)
    offset_q = Query(None, alias=OFFSET)

    # --- users --------------------------------------------------------------------------------

    @router.get("/users")
    def list_users(
        request: Request,
        ids: str | None = Query(None, alias=USER_IDS_FILTER),
        email: str | None = Query(None, alias=USER_EMAIL_FILTER),
        limit: int | None = limit_q,
        cursor: str | None = cursor_q,
        offset: int | None = offset_q,
    ) -> dict[str, Any]:
        if not state.mode.helpful(request, UNCONFIRMED_USER_FILTERS):
            ids = email = None
        wanted = frozenset(_csv(ids)) if ids else None
        needle = email.strip().lower() if email else None

        def build() -> Any:
            users = (
                u
                for u in world().users.values()
                if (wanted is None or u.id in wanted) and (needle is None or u.email.lower() == needle)
            )
            return sorted(users, key=lambda u: (u.date_created, _number(u.id)), reverse=True)

        return paged(request, ("users", wanted, needle), build, state.user_json, limit, cursor, offset, None)

    @router.get("/users/{user_id}")
    def get_user(user_id: str) -> dict[str, Any]:
        return one(state, state.user_json(state.user(user_id)), [])

    # --- learning objects -----------------------------------------------------------------------

    @router.get("/learningObjects")
    def list_learning_objects(
        request: Request,
        lo_types: str | None = Query(None, alias="filter.loTypes"),
        include: str | None = None,
        limit: int | None = limit_q,
        cursor: str | None = cursor_q,
        offset: int | None = offset_q,
    ) -> dict[str, Any]:
        types = _lo_types(lo_types)

        def build() -> Any:
            rows = (lo for lo in world().learning_objects.values() if types is None or lo.lo_type in types)
            return sorted(rows, key=lambda lo: (lo.date_created, _number(lo.id)), reverse=True)

        return paged(request, ("los", types), build, state.lo_json, limit, cursor, offset, include)

    @router.get("/learningObjects/{lo_id}")
    def get_learning_object(lo_id: str, include: str | None = None) -> dict[str, Any]:
        return one(state, state.lo_json(state.learning_object(lo_id)), includes(include))

    # --- enrollments ----------------------------------------------------------------------------

    def enrollments(
        request: Request,
        key: tuple[Any, ...],
        rows: Callable[[], Any],
        sort: str | None,
        page: tuple[int | None, str | None, int | None, str | None],
    ) -> dict[str, Any]:
        order = _enrollment_order(sort, state)

        def build() -> Any:
            return sorted(rows(), key=order[0], reverse=order[1])

        return paged(request, (*key, sort), build, state.enrollment_json, *page)

    @router.get("/users/{user_id}/enrollments")
    def list_user_enrollments(
        request: Request,
        user_id: str,
        lo_types: str | None = Query(None, alias="filter.loTypes"),
        sort: str | None = None,
        include: str | None = None,
        limit: int | None = limit_q,
        cursor: str | None = cursor_q,
        offset: int | None = offset_q,
    ) -> dict[str, Any]:
        state.user(user_id)
        types = _lo_types(lo_types)

        def rows() -> Any:
            return (e for e in world().enrollments.values() if e.user_id == user_id and _of_type(e, types))

        return enrollments(
            request, ("user_enrollments", user_id, types), rows, sort, (limit, cursor, offset, include)
        )

    @router.get(ENROLLMENTS_PATH)
    def list_enrollments(
        request: Request,
        lo_types: str | None = Query(None, alias="filter.loTypes"),
        states: str | None = Query(None, alias=STATES_FILTER),
        completed_from: str | None = Query(None, alias=COMPLETED_FROM_FILTER),
        sort: str | None = None,
        include: str | None = None,
        limit: int | None = limit_q,
        cursor: str | None = cursor_q,
        offset: int | None = offset_q,
    ) -> dict[str, Any]:
        if not state.mode.helpful(request, UNCONFIRMED_ENROLLMENT_FILTERS):
            states = completed_from = None
        types, wanted = _lo_types(lo_types), frozenset(_csv(states)) if states else None
        low = _moment(completed_from, COMPLETED_FROM_FILTER)

        def rows() -> Any:
            return (
                e
                for e in world().enrollments.values()
                if _of_type(e, types)
                and (wanted is None or e.state in wanted)
                and (low is None or (e.date_completed is not None and parse_time(e.date_completed) >= low))
            )

        return enrollments(
            request, ("enrollments", types, wanted, low), rows, sort, (limit, cursor, offset, include)
        )

    # --- badges ---------------------------------------------------------------------------------

    @router.get("/badges")
    def list_badges(
        request: Request,
        limit: int | None = limit_q,
        cursor: str | None = cursor_q,
        offset: int | None = offset_q,
    ) -> dict[str, Any]:
        def build() -> Any:
            return sorted(
                world().badges.values(), key=lambda b: (b.date_created, _number(b.id)), reverse=True
            )

        return paged(request, ("badges",), build, state.badge_json, limit, cursor, offset, None)

    @router.get("/badges/{badge_id}")
    def get_badge(badge_id: str) -> dict[str, Any]:
        return one(state, state.badge_json(state.badge(badge_id)), [])

    @router.get("/users/{user_id}/userBadges")
    def list_user_badges(
        request: Request,
        user_id: str,
        sort: str | None = None,
        include: str | None = None,
        limit: int | None = limit_q,
        cursor: str | None = cursor_q,
        offset: int | None = offset_q,
    ) -> dict[str, Any]:
        state.user(user_id)
        ascending = _documented_sort(sort, "dateAchieved", state)

        def build() -> Any:
            rows = (b for b in world().user_badges.values() if b.user_id == user_id)
            return sorted(rows, key=lambda b: (b.date_achieved, b.id), reverse=not ascending)

        key = ("user_badges", user_id, ascending)
        return paged(request, key, build, state.user_badge_json, limit, cursor, offset, include)

    @router.get("/users/{user_id}/userBadges/{user_badge_id}")
    def get_user_badge(user_id: str, user_badge_id: str, include: str | None = None) -> dict[str, Any]:
        return one(state, state.user_badge_json(state.user_badge(user_id, user_badge_id)), includes(include))

    return router


def _enrollment_order(sort: str | None, state: AlmState) -> tuple[Callable[[Enrollment], Any], bool]:
    """``sort=dateEnrolled`` / ``-dateEnrolled`` (documented); otherwise newest activity first."""
    ascending = _documented_sort(sort, "dateEnrolled", state)
    if ascending is None:
        return (lambda e: (e.date_completed or e.date_enrolled, e.id)), True
    return (lambda e: (e.date_enrolled, e.id)), not ascending


def _documented_sort(sort: str | None, field: str, state: AlmState) -> bool | None:
    """True / False for ``field`` / ``-field``; None (newest first) for none or another (counted)."""
    if sort in (field, f"-{field}"):
        return sort == field
    if sort is not None:
        state.mode.ignore(["sort"])
    return None


def _lo_types(text: str | None) -> frozenset[str] | None:
    if not text:
        return None
    types = frozenset(_csv(text))
    unknown = sorted(types - set(LO_TYPES))
    if unknown:
        raise ApiRefusal(400, f"filter.loTypes: unknown type {', '.join(unknown)}")
    return types


def _of_type(row: Enrollment, types: frozenset[str] | None) -> bool:
    return types is None or row.lo_id.partition(":")[0] in types


def _moment(text: str | None, name: str) -> Any:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise ApiRefusal(400, f"{name}: not an ISO 8601 time") from None


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _number(record_id: str) -> int:
    digits = "".join(ch for ch in record_id.rpartition(":")[2] if ch.isdigit())
    return int(digits or 0)
