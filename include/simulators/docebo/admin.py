"""``/_admin`` routes (no auth, no faults): how tests and the demo change the Docebo world.

The world-changing routes stand for what learners and admins do in the platform's UI; they
fire webhooks like any other change.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response

from include.simulators.common.strictness import mode_admin_router
from include.simulators.common.webhooks import webhook_admin_router
from include.simulators.common.world import snapshot_admin_router
from include.simulators.docebo import checks
from include.simulators.docebo.generator import generate_world
from include.simulators.docebo.records import ApiRefusal
from include.simulators.docebo.state import DoceboState, now_text
from include.simulators.docebo.webhooks import WebhookSender

SEED_SIZES = ("learners", "courses", "learning_plans", "certifications", "completions", "awards")


def admin_router(state: DoceboState, webhooks: WebhookSender) -> APIRouter:
    router = APIRouter(prefix="/_admin", tags=["admin"])

    @router.post("/reset")
    def reset() -> dict[str, int]:
        """Empty world, no tokens; queued webhook deliveries and the delivery log are dropped (the
        mode and the ignored-filter counts stay, like the call counts)."""
        state.reset()
        webhooks.clear()
        return state.world.counts()

    @router.post("/seed")
    def seed(body: dict[str, Any] = Body(default_factory=dict)) -> dict[str, int]:
        """A generated world: ``{seed, learners, courses, learning_plans, certifications,
        completions, awards, start, days}`` (no webhooks fire)."""
        sizes = {name: int(body[name]) for name in SEED_SIZES if body.get(name) is not None}
        dates = {name: body[name] for name in ("start", "days") if name in body}
        state.load(generate_world(int(body.get("seed", 0)), **sizes, **dates))
        return state.world.counts()

    def not_a_snapshot(reason: str) -> ApiRefusal:
        return ApiRefusal(400, f"snapshot: not a Docebo simulator snapshot ({reason})", "snapshot")

    router.include_router(snapshot_admin_router(state, not_a_snapshot))
    router.include_router(webhook_admin_router(webhooks, lambda message: ApiRefusal(400, message)))
    router.include_router(mode_admin_router(state.mode))

    @router.put("/tokens")
    def set_token_lifetime(body: dict[str, Any] = Body(...)) -> dict[str, float]:
        """``{"lifetime": seconds}`` for tokens issued from now on."""
        state.tokens.lifetime = checks.number(body, "lifetime", state.tokens.lifetime)
        return {"lifetime": state.tokens.lifetime}

    @router.post("/tokens/expire", status_code=204)
    def expire_tokens() -> Response:
        state.tokens.expire_all()
        return Response(status_code=204)

    @router.post("/enrollments/complete")
    def complete_courses(body: dict[str, Any] = Body(...)) -> dict[str, int]:
        """One ``{user_id, course_id, completed_at?}`` or ``{"completions": [...]}`` (one batch)."""
        rows = body.get("completions", [body])
        done = state.complete_courses([_completion(row, "course_id") for row in rows])
        return {"completed": len(done)}

    @router.post("/enrollments/reset")
    def reset_completion(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        user_id, course_id = checks.required_int(body, "user_id"), checks.required_int(body, "course_id")
        return state.enrollment_json(state.reset_completion(user_id, course_id))

    @router.post("/learning_plans/complete")
    def complete_learning_plan(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        user_id, plan_id, completed_at = _completion(body, "learning_plan_id")
        row = state.complete_learning_plan(user_id, plan_id, completed_at)
        return state.lp_enrollment_json(row, {"enrollment_status", "enrollment_completion_date"})

    @router.post("/certifications/award")
    def award(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return state.award_json(state.award_certification(body))

    @router.put("/certifications/awards/{award_id}")
    def update_award(award_id: int, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return state.award_json(state.update_award(award_id, body))

    @router.post("/certifications/awards/{award_id}/revoke")
    def revoke(award_id: int) -> dict[str, Any]:
        return state.award_json(state.revoke_award(award_id))

    return router


def _completion(body: dict[str, Any], object_key: str) -> tuple[int, int, str]:
    completed_at = body.get("completed_at") or now_text()
    checks.date_bound(completed_at, "completed_at", upper=False)
    if len(completed_at) == 10:
        completed_at += " 00:00:00"
    return checks.required_int(body, "user_id"), checks.required_int(body, object_key), completed_at
