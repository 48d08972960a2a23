"""Apply journaled Credly badge operations: issue, revoke, replace; keep the ledger in step."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from credly_sync.hooks.credly import CredlyHook
from credly_sync.operators.apply import Applied, ApplyJournalOperator
from credly_sync.planning.lms_to_credly import ISSUE, REPLACE, REVOKE
from credly_sync.warehouse.journal import JournalEntry, Outcome, record_outcomes
from credly_sync.warehouse.ledger import ledger_row, record_issued, record_replaced, record_revoked


class CredlyBadgeOperator(ApplyJournalOperator):
    """Shared by the Credly write operators.

    :param credly_conn_id: the Credly connection.
    :param max_workers: calls in flight at once (also the HTTP pool size).
    """

    template_fields = ("credly_conn_id", "warehouse_conn_id")

    def __init__(self, *, credly_conn_id: str = CredlyHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.credly_conn_id = credly_conn_id

    def get_hook(self) -> CredlyHook:
        return CredlyHook(self.credly_conn_id, retry=self.http_retry, pool_size=self.max_workers)


class IssueBadgesOperator(CredlyBadgeOperator):
    """Issue the journaled badges. An operation tried before (a killed run) is looked up first,
    so even a template that allows duplicates never gets a second badge from a retry. A badge
    found already held enters the ledger only if it carries our earner id: one issued by
    someone else must never be revoked or replaced by this package."""

    kinds = (ISSUE,)

    def apply_one(self, hook: CredlyHook, entry: JournalEntry) -> dict[str, Any] | None:
        body = entry.payload["badge"]
        if entry.attempts > 0:
            found = hook.find_badge(
                body["badge_template_id"], body["recipient_email"], body["issuer_earner_id"]
            )
            if found is not None:
                return {"outcome": "already_issued", "badge_id": found["id"], "ours": _ours(found, body)}
        result = hook.issue_badge(body)
        ours = result.outcome == "issued" or _ours(result.badge or {}, body)
        return {"outcome": result.outcome, "badge_id": result.badge_id, "ours": ours}

    def record_effects(self, connection: Connection, applied: list[Applied]) -> None:
        rows = {
            result["badge_id"]: entry
            for entry, result in applied
            if result and result["badge_id"] and result["ours"]
        }
        conflicts = record_issued(
            connection,
            [
                ledger_row(badge_id, entry.payload["badge"], entry.payload["learning_object"])
                for badge_id, entry in rows.items()
            ],
        )
        record_outcomes(
            connection,
            [Outcome(rows[c.credly_badge_id].op_key, "failed", last_error=str(c)) for c in conflicts],
        )


class RevokeBadgesOperator(CredlyBadgeOperator):
    """Revoke the journaled badges (an already revoked badge counts as done)."""

    kinds = (REVOKE,)

    def apply_one(self, hook: CredlyHook, entry: JournalEntry) -> dict[str, Any] | None:
        payload = entry.payload
        badge = hook.revoke_badge(
            payload["badge_id"],
            payload["reason"],
            template_id=payload["badge_template_id"],
            recipient_email=payload.get("recipient_email"),
        )
        return {"outcome": "revoked", "badge_id": badge["id"]}

    def record_effects(self, connection: Connection, applied: list[Applied]) -> None:
        for entry, _ in applied:
            record_revoked(connection, entry.payload["badge_id"])


class ReplaceBadgesOperator(CredlyBadgeOperator):
    """Replace the journaled badges, keeping Credly's history; the ledger follows the new badge."""

    kinds = (REPLACE,)

    def apply_one(self, hook: CredlyHook, entry: JournalEntry) -> dict[str, Any] | None:
        payload = entry.payload
        result = hook.replace_badge(
            payload["badge_id"],
            payload["badge"],
            template_id=payload["badge"]["badge_template_id"],
            recipient_email=payload.get("recipient_email"),
        )
        return {
            "outcome": result.outcome,
            "badge_id": result.badge_id,
            "recipient_email": (result.badge or {}).get("recipient_email"),
        }

    def record_effects(self, connection: Connection, applied: list[Applied]) -> None:
        for entry, result in applied:
            if not result or not result["badge_id"]:
                continue
            badge = {**entry.payload["badge"], "recipient_email": result.get("recipient_email")}
            record_replaced(connection, entry.payload["badge_id"], result["badge_id"])
            record_issued(
                connection, [ledger_row(result["badge_id"], badge, entry.payload["learning_object"])]
            )


def _ours(badge: dict[str, Any], body: dict[str, Any]) -> bool:
    return str(badge.get("issuer_earner_id") or "") == str(body["issuer_earner_id"])
