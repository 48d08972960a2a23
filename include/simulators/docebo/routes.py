"""The Docebo API routes the simulator serves, behind a bearer token (lms-apis.md §1.5, §1.6).

Paths and bodies marked unconfirmed are described in :mod:`include.simulators.docebo.unconfirmed`,
with the strict and helpful forms of the filters and dates the reference does not confirm.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from include.simulators.common.strictness import unknown_parameter_counter
from include.simulators.docebo import checks
from include.simulators.docebo.paging import DEFAULT_PAGE_SIZE, one, page_of, unpaged
from include.simulators.docebo.records import ApiRefusal
from include.simulators.docebo.state import DoceboState
from include.simulators.docebo.unconfirmed import (
    AWARD_UPDATED_FROM,
    AWARDS_PATH,
    COMPLETED_FROM,
    COMPLETED_TO,
    COURSE_FIELDS_PATH,
    EXTERNAL_TRAINING_PATH,
    UNCONFIRMED_AWARD_FILTERS,
    UNCONFIRMED_ENROLLMENT_FILTERS,
    UNCONFIRMED_EXTERNAL_TRAINING_FILTERS,
    UNCONFIRMED_LP_ENROLLMENT_FILTERS,
    user_matches,
)


def api_router(state: DoceboState) -> APIRouter:
    """Every authenticated route of the simulated tenant."""

    def authorized(request: Request) -> None:
        state.tokens.check(request.headers.get("authorization"))

    router = APIRouter(dependencies=[Depends(authorized), Depends(unknown_parameter_counter(state.mode))])
    world = lambda: state.world  # noqa: E731 -- the world is replaced on reset/seed/restore

    def paged(request: Request, key: tuple[Any, ...], build: Any, render: Any, page: int, size: int) -> dict:
        return page_of(state.cached(key, build), page, size, render, str(request.url.query))

    # --- users --------------------------------------------------------------------------------

    @router.get("/manage/v1/user")
    def list_users(
        request: Request, search_text: str | None = None, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> dict[str, Any]:
        needle, strict = (search_text or "").lower(), state.mode.strict

        def build() -> Any:
            users = world().users.values()
            return (
                u
                for u in users
                if not needle or user_matches(needle, u.email, u.username, u.first_name, u.last_name, strict)
            )

        return paged(request, ("users", needle, strict), build, lambda u: u.to_json(), page, page_size)

    @router.get("/manage/v1/user/{user_id}")
    def get_user(user_id: int) -> dict[str, Any]:
        return one({"user_data": state.user(user_id).to_json()})

    # --- courses and their additional fields ----------------------------------------------------

    @router.get(COURSE_FIELDS_PATH)
    def list_course_fields(
        request: Request, no_pagination: int = 0, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> dict[str, Any]:
        build = lambda: world().course_fields.values()  # noqa: E731
        if no_pagination:
            return unpaged(state.cached(("fields",), build), lambda f: f.to_json())
        return paged(request, ("fields",), build, lambda f: f.to_json(), page, page_size)

    @router.post(COURSE_FIELDS_PATH, status_code=201)
    def create_course_field(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return one(state.create_field(body).to_json())

    @router.post(COURSE_FIELDS_PATH + "/{field_id}/options", status_code=201)
    def add_option(field_id: int, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        element_id = state.add_option(field_id, body)
        return one({"id": element_id, "label": state.course_field(field_id).options[element_id]})

    @router.put(COURSE_FIELDS_PATH + "/{field_id}/options/{element_id}")
    def rename_option(field_id: int, element_id: int, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        state.rename_option(field_id, element_id, body)
        return one({"id": element_id, "label": state.course_field(field_id).options[element_id]})

    @router.delete(COURSE_FIELDS_PATH + "/{field_id}/options/{element_id}")
    def remove_option(field_id: int, element_id: int) -> dict[str, Any]:
        return one({"id": element_id, "courses_reset": state.remove_option(field_id, element_id)})

    @router.get("/learn/v1/courses")
    def list_courses(request: Request, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE) -> dict[str, Any]:
        return paged(
            request, ("courses",), lambda: world().courses.values(), lambda c: c.to_json(), page, page_size
        )

    @router.get("/learn/v1/courses/{course_id}")
    def get_course(course_id: int) -> dict[str, Any]:
        return one(state.course(course_id).to_json())

    @router.put("/learn/v1/courses/{course_id}/field/{field_id}")
    def set_course_value(course_id: int, field_id: int, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        if "value" not in body:
            raise ApiRefusal(400, "value: is required (null resets it)", "value")
        state.set_course_value(course_id, field_id, body["value"])
        return one(state.course(course_id).to_json())

    @router.delete("/learn/v1/courses/{course_id}/field/{field_id}")
    def reset_course_value(course_id: int, field_id: int) -> dict[str, Any]:
        state.set_course_value(course_id, field_id, None)
        return one(state.course(course_id).to_json())

    # --- course enrollments ---------------------------------------------------------------------

    @router.get("/learn/v1/enrollments")
    def list_enrollments(
        request: Request,
        id_user: list[int] | None = Query(None, alias="id_user[]"),
        id_course: list[int] | None = Query(None, alias="id_course[]"),
        status: list[str] | None = Query(None, alias="status[]"),
        course_type: list[str] | None = Query(None, alias="type[]"),
        id_learning_plan: list[int] | None = Query(None, alias="id_learning_plan[]"),
        completed_from: str | None = Query(None, alias=COMPLETED_FROM),
        completed_to: str | None = Query(None, alias=COMPLETED_TO),
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> dict[str, Any]:
        users, courses, statuses, types = _set(id_user), _set(id_course), _set(status), _set(course_type)
        if id_learning_plan:
            plans = [world().learning_plans.get(plan_id) for plan_id in id_learning_plan]
            in_plans = frozenset(course for plan in plans if plan for course in plan.course_ids)
            courses = in_plans if courses is None else courses & in_plans
        if not state.mode.helpful(request, UNCONFIRMED_ENROLLMENT_FILTERS):
            completed_from = completed_to = None
        low = checks.date_bound(completed_from, COMPLETED_FROM, upper=False)
        high = checks.date_bound(completed_to, COMPLETED_TO, upper=True)

        def build() -> Any:
            return (
                e
                for e in world().enrollments.values()
                if (users is None or e.user_id in users)
                and (courses is None or e.course_id in courses)
                and (statuses is None or e.status in statuses)
                and (types is None or world().courses[e.course_id].course_type in types)
                and _within(e.completed_at, low, high)
            )

        key = ("enrollments", users, courses, statuses, types, low, high)
        return paged(request, key, build, state.enrollment_json, page, page_size)

    @router.get("/learn/v1/enrollments/{id_course}/{id_user}")
    def get_enrollment(id_course: int, id_user: int) -> dict[str, Any]:
        enrollment = world().enrollments.get((id_user, id_course))
        if enrollment is None:
            raise ApiRefusal(404, f"Enrollment {id_course}/{id_user} not found")
        return one(state.enrollment_json(enrollment))

    # --- learning plans -------------------------------------------------------------------------

    @router.get("/learningplan/v1/learningplans")
    def list_learning_plans(
        request: Request, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> dict[str, Any]:
        build = lambda: world().learning_plans.values()  # noqa: E731
        return paged(request, ("plans",), build, lambda p: p.to_json(), page, page_size)

    @router.get("/learningplan/v1/learningplans/enrollments")
    def list_lp_enrollments(
        request: Request,
        learning_plan_id: list[int] | None = Query(None, alias="learning_plan_id[]"),
        user_id: list[int] | None = Query(None, alias="user_id[]"),
        extra_fields: list[str] | None = Query(None, alias="extra_fields[]"),
        status: list[str] | None = Query(None, alias="status[]"),
        completed_from: str | None = Query(None, alias=COMPLETED_FROM),
        completed_to: str | None = Query(None, alias=COMPLETED_TO),
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> dict[str, Any]:
        if not state.mode.helpful(request, UNCONFIRMED_LP_ENROLLMENT_FILTERS):
            status = completed_from = completed_to = None
        plans, users, statuses = _set(learning_plan_id), _set(user_id), _set(status)
        low = checks.date_bound(completed_from, COMPLETED_FROM, upper=False)
        high = checks.date_bound(completed_to, COMPLETED_TO, upper=True)
        extras = set(extra_fields or ())

        def build() -> Any:
            return (
                r
                for r in world().lp_enrollments.values()
                if (plans is None or r.learning_plan_id in plans)
                and (users is None or r.user_id in users)
                and (statuses is None or r.status in statuses)
                and _within(r.completed_at, low, high)
            )

        key = ("lp_enrollments", plans, users, statuses, low, high)
        return paged(request, key, build, lambda r: state.lp_enrollment_json(r, extras), page, page_size)

    @router.get("/learn/v1/lp/{learning_plan_id}")
    def get_learning_plan(learning_plan_id: int) -> dict[str, Any]:
        plan = state.learning_plan(learning_plan_id)
        courses = [world().courses[c] for c in plan.course_ids]
        rows = [{"id_course": c.id_course, "code": c.code, "name": c.name} for c in courses]
        return one({**plan.to_json(), "courses": rows})

    # --- certifications -------------------------------------------------------------------------

    @router.get("/learn/v1/certification")
    def list_certifications(
        request: Request, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> dict[str, Any]:
        build = lambda: world().certifications.values()  # noqa: E731
        return paged(request, ("certifications",), build, lambda c: c.to_json(), page, page_size)

    @router.get(AWARDS_PATH)
    def list_awards(
        request: Request,
        user_id: list[int] | None = Query(None, alias="user_id[]"),
        id_cert: list[int] | None = Query(None, alias="id_cert[]"),
        status: list[str] | None = Query(None, alias="status[]"),
        updated_from: str | None = Query(None, alias=AWARD_UPDATED_FROM),
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> dict[str, Any]:
        users, certs, statuses = _set(user_id), _set(id_cert), _set(status)
        if not state.mode.helpful(request, UNCONFIRMED_AWARD_FILTERS):
            updated_from = None
        since = checks.date_bound(updated_from, AWARD_UPDATED_FROM, upper=False)

        def build() -> Any:
            rows = (
                a
                for a in world().awards.values()
                if (users is None or a.user_id in users)
                and (certs is None or a.id_cert in certs)
                and (since is None or (a.updated_at or a.issued_on) >= since)
            )
            return (a for a in rows if statuses is None or state.award_json(a)["status"] in statuses)

        key = ("awards", users, certs, statuses, since)
        return paged(request, key, build, state.award_json, page, page_size)

    @router.post(AWARDS_PATH, status_code=201)
    def award_certification(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return one(state.award_json(state.award_certification(body)))

    @router.put(AWARDS_PATH + "/{award_id}")
    def update_award(award_id: int, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return one(state.award_json(state.update_award(award_id, body)))

    @router.delete(AWARDS_PATH + "/{award_id}")
    def revoke_award(award_id: int) -> dict[str, Any]:
        return one(state.award_json(state.revoke_award(award_id)))

    # --- external training ----------------------------------------------------------------------

    @router.get(EXTERNAL_TRAINING_PATH)
    def list_external_training(
        request: Request,
        user_id: list[int] | None = Query(None, alias="user_id[]"),
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> dict[str, Any]:
        users = _set(user_id) if state.mode.helpful(request, UNCONFIRMED_EXTERNAL_TRAINING_FILTERS) else None

        def build() -> Any:
            rows = world().external_training.values()
            return (r for r in rows if users is None or r.user_id in users)

        return paged(request, ("external", users), build, state.external_json, page, page_size)

    @router.post(EXTERNAL_TRAINING_PATH, status_code=201)
    def create_external_training(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return one(state.external_json(state.create_external(body)))

    @router.put(EXTERNAL_TRAINING_PATH + "/{training_id}")
    def update_external_training(training_id: int, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return one(state.external_json(state.update_external(training_id, body)))

    @router.delete(EXTERNAL_TRAINING_PATH + "/{training_id}", status_code=204)
    def delete_external_training(training_id: int) -> Response:
        state.delete_external(training_id)
        return Response(status_code=204)

    return router


def _set(values: list[Any] | None) -> frozenset[Any] | None:
    return frozenset(values) if values else None


def _within(moment: str | None, low: str | None, high: str | None) -> bool:
    if low is None and high is None:
        return True
    return moment is not None and (low is None or moment >= low) and (high is None or moment <= high)
