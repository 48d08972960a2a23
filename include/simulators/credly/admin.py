"""``/_admin`` routes (no auth, no faults): how tests and the demo change the Credly world.

Template and earner changes here are what admins and earners do in Credly's UI; they append
events and fire webhooks like any other change.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response

from include.simulators.common.refusal import ApiRefusal
from include.simulators.common.strictness import mode_admin_router
from include.simulators.common.webhooks import webhook_admin_router
from include.simulators.credly.generator import generate_world
from include.simulators.credly.state import CredlyState
from include.simulators.credly.webhooks import WebhookSender


def admin_router(state: CredlyState, webhooks: WebhookSender) -> APIRouter:
    router = APIRouter(prefix="/_admin", tags=["admin"])

    @router.post("/reset")
    def reset() -> dict[str, Any]:
        """Empty world; queued webhook deliveries and the delivery log are dropped (the mode
        and the ignored-filter counts stay, like the call counts)."""
        state.reset()
        webhooks.clear()
        return {"templates": 0, "badges": 0}

    @router.post("/seed")
    def seed(body: dict[str, Any] = Body(default_factory=dict)) -> dict[str, Any]:
        """A generated world: ``{seed, templates, learners, badges, earner_id_share}``."""
        templates, badges = generate_world(
            int(body.get("seed", state.seed)),
            templates=int(body.get("templates", 10)),
            learners=int(body.get("learners", 100)),
            badges=int(body.get("badges", 200)),
            earner_id_share=float(body.get("earner_id_share", 1.0)),
        )
        state.load(templates, badges)
        return {"templates": len(templates), "badges": len(badges)}

    @router.post("/templates", status_code=201)
    def create_template(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return state.template_json(state.create_template(body))

    @router.patch("/templates/{template_id}")
    def update_template(template_id: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return state.template_json(state.update_template(template_id, body))

    @router.post("/templates/{template_id}/archive")
    def archive_template(template_id: str) -> dict[str, Any]:
        return state.template_json(state.update_template(template_id, {"state": "archived"}))

    @router.post("/templates/{template_id}/unarchive")
    def unarchive_template(template_id: str) -> dict[str, Any]:
        return state.template_json(state.update_template(template_id, {"state": "active"}))

    @router.delete("/templates/{template_id}", status_code=204)
    def delete_template(template_id: str) -> Response:
        state.delete_template(template_id)
        return Response(status_code=204)

    @router.put("/badges/{badge_id}/state")
    def set_earner_state(badge_id: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """The earner accepts or rejects: ``{"state": "accepted"}``."""
        with state.lock:
            return state.badge_json(state.set_earner_state(badge_id, str(body.get("state"))))

    @router.get("/snapshot")
    def save_snapshot() -> dict[str, Any]:
        return state.snapshot()

    @router.put("/snapshot")
    def load_snapshot(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        state.restore(body)
        return {"templates": len(state.templates), "badges": len(state.badges), "events": len(state.events)}

    router.include_router(webhook_admin_router(webhooks, lambda message: ApiRefusal(422, message)))
    router.include_router(mode_admin_router(state.mode))

    @router.get("/organization")
    def organization() -> dict[str, Any]:
        return {**state.organization, "foreign_organizations": sorted(state.foreign_organizations)}

    @router.post("/token/rotate")
    def rotate_token() -> dict[str, str]:
        return {"token": state.rotate_token()}

    @router.post("/token/expire", status_code=204)
    def expire_token() -> Response:
        state.expire_token()
        return Response(status_code=204)

    @router.put("/token")
    def set_token(body: dict[str, Any] = Body(...)) -> dict[str, str]:
        state.set_token(str(body["token"]))
        return {"token": state.token or ""}

    return router
