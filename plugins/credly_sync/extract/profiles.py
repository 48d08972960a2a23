"""Extract for the Microsoft 365 export: the organisation's templates and badges from Credly and
the tenant's users from Graph, each paged through once.

Every badge of the organisation is read on every run, incremental or full: no date filter on
``/badges`` is documented (findings-2026-12.md) and the server may ignore one, so "changed since
the watermark" is decided on the client (planning.profiles.changed_emails).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from credly_sync.extract.progress import logged
from credly_sync.hooks.credly import CredlyHook
from credly_sync.hooks.graph import GraphHook
from credly_sync.planning.frames import frame
from credly_sync.planning.profiles import BADGE_COLUMNS, TEMPLATE_COLUMNS, USER_COLUMNS


def credly_templates(hook: CredlyHook) -> pd.DataFrame:
    """Every template (TEMPLATE_COLUMNS) with its state: only active ones reach profiles."""
    rows = (
        {
            "badge_template_id": template["id"],
            "badge_template_name": template.get("name"),
            "template_state": template.get("state"),
            "description": template.get("description"),
        }
        for template in logged(hook.iter_badge_templates(), "Credly badge templates")
    )
    return frame(rows, TEMPLATE_COLUMNS)


def credly_badges(hook: CredlyHook) -> pd.DataFrame:
    """Every issued badge of the organisation (BADGE_COLUMNS), in any state."""
    return frame(_badge_rows(logged(hook.iter_badges(), "Credly badges")), BADGE_COLUMNS)


def graph_users(hook: GraphHook) -> pd.DataFrame:
    """Every user of the tenant (USER_COLUMNS); ``licensed`` = at least one assigned licence."""
    rows = (
        {
            "user_id": user["id"],
            "user_principal_name": user.get("userPrincipalName"),
            "mail": user.get("mail"),
            "account_enabled": bool(user.get("accountEnabled")),
            "licensed": bool(user.get("assignedLicenses")),
        }
        for user in logged(hook.iter_users(), "Microsoft 365 users")
    )
    return frame(rows, USER_COLUMNS)


def _badge_rows(badges: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for badge in badges:
        template = badge.get("badge_template") or {}
        yield {
            "badge_id": badge["id"],
            "badge_template_id": template.get("id"),
            "badge_template_name": template.get("name"),
            "recipient_email": badge.get("recipient_email"),
            "issued_to": badge.get("issued_to"),
            "state": badge.get("state"),
            "public": badge.get("public"),
            "issued_at": badge.get("issued_at"),
            "expires_at": badge.get("expires_at"),
            "updated_at": badge.get("updated_at"),
            "state_updated_at": badge.get("state_updated_at"),
            "badge_url": badge.get("badge_url"),
            "image_url": badge.get("image_url"),
            "issuer_name": _issuer_name(badge.get("issuer")),
        }


def _issuer_name(issuer: Any) -> str | None:
    """The primary issuing entity's name (§5.2 ``issuer.entities``), if the badge has one."""
    entities = issuer.get("entities") if isinstance(issuer, dict) else None
    for entry in entities or []:
        if isinstance(entry, dict) and entry.get("primary"):
            return (entry.get("entity") or {}).get("name")
    return None
