"""``/_admin`` routes (no auth, no faults, no rate limit): how tests and the demo change the
ALM world and steer the server.

The world-changing routes stand for what learners and admins do in ALM's UI; completions and
enrollments fire webhooks (learner actions the plain events, ``"by": "admin"`` the ``_BATCH``
forms). ``POST /_admin/migration/badges`` stands for a badge.csv migration (§2.8).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Body, Request, Response

from include.simulators.alm.generator import generate_world
from include.simulators.alm.ratelimit import RateLimiter
from include.simulators.alm.records import iso, parse_time
from include.simulators.alm.state import AlmState
from include.simulators.alm.webhooks import WebhookSender
from include.simulators.common.refusal import ApiRefusal
from include.simulators.common.strictness import mode_admin_router
from include.simulators.common.webhooks import webhook_admin_router
from include.simulators.common.world import snapshot_admin_router

SEED_SIZES = (
    "learners",
    "courses",
    "learning_programs",
    "certifications",
    "badges",
    "retired_badges",
    "completions",
    "days",
)


def admin_router(state: AlmState, webhooks: WebhookSender, limiter: RateLimiter) -> APIRouter:
    router = APIRouter(prefix="/_admin", tags=["admin"])

    @router.post("/reset")
    def reset() -> dict[str, int]:
        """Empty world, no tokens, links on the request's base, rate limits off; queued webhook
        deliveries and their log dropped (the mode and ignored-filter counts stay)."""
        state.reset()
        state.tokens.reset()
        state.public_url = None
        limiter.reset()
        webhooks.clear()
        return state.world.counts()

    @router.post("/seed")
    def seed(body: dict[str, Any] = Body(default_factory=dict)) -> dict[str, int]:
        """A generated world: ``{seed, learners, courses, learning_programs, certifications,
        badges, retired_badges, completions, template_ids, start, days}`` (no webhooks fire)."""
        sizes = {name: int(body[name]) for name in SEED_SIZES if body.get(name) is not None}
        extra = {"template_ids": list(body.get("template_ids") or [])}
        if body.get("start"):
            extra["start"] = str(body["start"])
        state.load(generate_world(int(body.get("seed", 0)), **sizes, **extra))
        return state.world.counts()

    def not_a_snapshot(reason: str) -> ApiRefusal:
        return ApiRefusal(400, f"snapshot: not an ALM simulator snapshot ({reason})")

    router.include_router(snapshot_admin_router(state, not_a_snapshot))
    router.include_router(webhook_admin_router(webhooks, lambda message: ApiRefusal(400, message)))
    router.include_router(mode_admin_router(state.mode))

    # --- OAuth ----------------------------------------------------------------------------------

    @router.post("/oauth/codes")
    def new_code() -> dict[str, str]:
        """An authorization code for ``POST /oauth/token`` (as if approved in the browser)."""
        return {"code": state.tokens.new_code()}

    @router.post("/oauth/refresh_tokens")
    def new_refresh_token(body: dict[str, Any] = Body(default_factory=dict)) -> dict[str, str]:
        """``{"refresh_token"?}``: make it (or a new one) valid, as after the code flow."""
        return {"refresh_token": state.tokens.add_refresh_token(body.get("refresh_token"))}

    @router.put("/tokens")
    def set_token_lifetime(body: dict[str, Any] = Body(...)) -> dict[str, float]:
        """``{"lifetime": seconds}`` for access tokens issued from now on (ALM: 7 days)."""
        lifetime = body.get("lifetime")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            raise ApiRefusal(400, "lifetime: must be a positive number")
        state.tokens.lifetime = float(lifetime)
        return {"lifetime": state.tokens.lifetime}

    @router.post("/tokens/expire", status_code=204)
    def expire_tokens() -> Response:
        """Every access token expires now; refresh tokens stay valid."""
        state.tokens.expire_all()
        return Response(status_code=204)

    @router.post("/tokens/revoke", status_code=204)
    def revoke_tokens() -> Response:
        """No refresh or access token works any more."""
        state.tokens.revoke_all()
        return Response(status_code=204)

    # --- server behaviour -----------------------------------------------------------------------

    @router.get("/rate_limits")
    def get_rate_limits() -> dict[str, Any]:
        return limiter.settings()

    @router.put("/rate_limits")
    def set_rate_limits(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """``{"enabled": true, "limits": {"GET": [per_minute, burst], ...}}`` (documented defaults)."""
        try:
            return limiter.configure(body.get("enabled"), body.get("limits"))
        except (TypeError, ValueError) as exc:
            raise ApiRefusal(400, f"rate_limits: {exc}") from None

    @router.put("/links")
    def set_links(body: dict[str, Any] = Body(...)) -> dict[str, str | None]:
        """``{"public_url": "https://…"}``: the base written into ``links`` (null: the request's)."""
        state.public_url = body.get("public_url") or None
        return {"public_url": state.public_url}

    # --- the world ------------------------------------------------------------------------------

    @router.post("/users")
    def add_user(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """``{"email", "name", "id"?}``."""
        return state.user_json(state.add_user(body))

    @router.post("/badges")
    def add_badge(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """``{"name", "state"?, "imageUrl"?, "externalBadgeId"?, "externalBadgeProvider"?}``."""
        badge = state.add_badge(body)
        return {**state.badge_json(badge), "stored": _stored_badge(badge)}

    @router.put("/badges/{badge_id}")
    def set_badge_state(badge_id: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """``{"state": "Active" | "Retired"}``."""
        return state.badge_json(state.set_badge_state(badge_id, str(body.get("state"))))

    @router.post("/migration/badges")
    async def migrate_badges(request: Request) -> dict[str, Any]:
        """A badge.csv (text body) migrated: one badge per row, with ALM's own new ids; answers
        ``{"badges": {csv id: ALM badge id}}``. Only ``badgeName`` is required here."""
        text = (await request.body()).decode("utf-8-sig")
        created: dict[str, str] = {}
        for row in csv.DictReader(io.StringIO(text)):
            badge = state.add_badge(
                {
                    "name": row.get("badgeName"),
                    "state": row.get("state") or "Active",
                    "imageUrl": row.get("imageUrl"),
                    "externalBadgeId": row.get("externalBadgeId"),
                    "externalBadgeProvider": row.get("externalBadgeProvider"),
                    "badgeCreationDate": row.get("badgeCreationDate"),
                }
            )
            created[row.get("id") or badge.id] = badge.id
        return {"badges": created}

    @router.post("/learning_objects")
    def add_learning_object(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """``{"loType", "name", "badgeId"?, "subLOs"?}``."""
        return state.lo_json(state.add_learning_object(body))

    @router.put("/learning_objects/{lo_id}/badge")
    def attach_badge(lo_id: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """``{"badgeId": "501"}`` attaches a badge (null detaches it)."""
        badge_id = body.get("badgeId")
        return state.lo_json(state.attach_badge(lo_id, None if badge_id is None else str(badge_id)))

    @router.post("/enrollments")
    def enroll(body: dict[str, Any] = Body(...)) -> dict[str, int]:
        """One ``{user_id, lo_id}`` or ``{"enrollments": [...]}``; ``"by": "admin"`` fires _BATCH."""
        rows = body.get("enrollments", [body])
        pairs = [(_required(row, "user_id"), _required(row, "lo_id")) for row in rows]
        return {"enrolled": len(state.enroll(pairs, _by_admin(body)))}

    @router.post("/enrollments/complete")
    def complete(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """One ``{user_id, lo_id, date_completed?}`` or ``{"completions": [...]}`` (one change, one
        webhook request with every event); ``"by": "admin"`` fires the _BATCH events."""
        rows = body.get("completions", [body])
        parsed = [
            (_required(r, "user_id"), _required(r, "lo_id"), _time(r.get("date_completed"))) for r in rows
        ]
        done = state.complete(parsed, _by_admin(body))
        return {
            "completed": len(done),
            "user_badges": [row.user_badge_id for row in done if row.user_badge_id],
        }

    @router.post("/enrollments/reset")
    def reset_completions(body: dict[str, Any] = Body(...)) -> dict[str, int]:
        """One ``{user_id, lo_id}`` or ``{"enrollments": [...]}``: completions reset by an admin."""
        rows = body.get("enrollments", [body])
        pairs = [(_required(row, "user_id"), _required(row, "lo_id")) for row in rows]
        return {"reset": len(state.reset_completions(pairs))}

    return router


def _stored_badge(badge: Any) -> dict[str, Any]:
    return {
        "externalBadgeId": badge.external_badge_id,
        "externalBadgeProvider": badge.external_badge_provider,
    }


def _required(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value in (None, ""):
        raise ApiRefusal(400, f"{name}: is required")
    return str(value)


def _time(value: Any) -> str | None:
    if value is None:
        return None
    try:
        moment = parse_time(str(value))
    except ValueError:
        raise ApiRefusal(400, "date_completed: not an ISO 8601 time") from None
    return iso(moment)


def _by_admin(body: dict[str, Any]) -> bool:
    by = body.get("by", "learner")
    if by not in ("learner", "admin"):
        raise ApiRefusal(400, "by: must be learner or admin")
    return by == "admin"
