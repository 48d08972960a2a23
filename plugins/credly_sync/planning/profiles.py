"""Credly badges -> Microsoft 365 profile items (people-data connector, lms-apis.md §3.2). Pure.

The rules copy Microsoft's own Credly connector (§3.4): only badges the earner **accepted** and
made **public**, of **active** templates, not expired; earners matched by e-mail to the
user's UPN or ``mail`` (case-insensitive) among **enabled, licensed** users; everyone else is
reported, never sent. One item per person carries all their certifications and awards.

Graph has no "list items" call, so what was pushed is remembered in the warehouse (``pushed``)
and compared by content hash: an unchanged person is never written again, and a person with
nothing left to show (last badge revoked, expired or made private; user disabled, unlicensed or
gone) has their item deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from credly_sync.planning.frames import frame

BADGE_COLUMNS = (
    "badge_id",
    "badge_template_id",
    "badge_template_name",
    "recipient_email",
    "issued_to",
    "state",
    "public",
    "issued_at",
    "expires_at",
    "updated_at",
    "state_updated_at",
    "badge_url",
    "image_url",
    "issuer_name",
)
TEMPLATE_COLUMNS = ("badge_template_id", "badge_template_name", "template_state", "description")
USER_COLUMNS = ("user_id", "user_principal_name", "mail", "account_enabled", "licensed")
PUSHED_COLUMNS = ("item_id", "user_id", "content_hash")
ITEM_COLUMNS = (
    "item_id",
    "user_id",
    "user_principal_name",
    "certifications",
    "awards",
    "content_hash",
    "item",
)
UNMATCHED_COLUMNS = ("email", "reason", "badges")

CERTIFICATION, AWARD = "certification", "award"
NO_USER = "no Microsoft 365 user with this e-mail (UPN or mail)"
INACTIVE_USER = "the user is disabled or has no licence"
DEFAULT_ISSUER = "Credly"

#: The people schema the export registers (§3.2): exactly one personAccount property.
PROFILE_SCHEMA = (
    {"name": "account", "type": "string", "labels": ["personAccount"]},
    {"name": "certifications", "type": "stringCollection", "labels": ["personCertifications"]},
    {"name": "awards", "type": "stringCollection", "labels": ["personAwards"]},
)


@dataclass(frozen=True)
class BadgeClassification:
    """Which badges become a personAward; every other badge is a personCertification.

    Default: every badge is a certification (a Credly badge is a verified credential with an
    issuer, a date, often an expiry: the personCertification fields, §3.1). Awards are the
    templates listed by id, or whose name matches ``award_name_pattern`` (a regular expression,
    case-insensitive).

    unconfirmed: how Microsoft's own Credly connector splits badges between personCertification
    and personAward is not documented (reference/lms-apis.md §3.4: "unconfirmed"); its overview
    only says it fills "Awards and Certifications". Change this setting, not the code, when
    that becomes known.
    """

    award_template_ids: frozenset[str] = field(default_factory=frozenset)
    award_name_pattern: str | None = None

    def kind(self, template_id: Any, template_name: Any) -> str:
        if str(template_id) in self.award_template_ids:
            return AWARD
        if self.award_name_pattern and re.search(self.award_name_pattern, str(template_name or ""), re.I):
            return AWARD
        return CERTIFICATION


@dataclass(frozen=True)
class Earners:
    """Eligible badges of matched people (with ``user_id``, ``user_principal_name``) and the
    earners reported instead (UNMATCHED_COLUMNS, one row per e-mail)."""

    matched: pd.DataFrame
    unmatched: pd.DataFrame


@dataclass(frozen=True)
class ProfilePlan:
    """Items to PUT (ITEM_COLUMNS) and to DELETE (PUSHED_COLUMNS)."""

    puts: pd.DataFrame
    deletes: pd.DataFrame

    def summary(self) -> dict[str, int]:
        return {"items_to_write": len(self.puts), "items_to_delete": len(self.deletes)}


def email_key(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.lower()


def eligible_badges(badges: pd.DataFrame, templates: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """The badges a profile may show: accepted, public, of an active template, not expired."""
    active = set(templates.loc[templates["template_state"] == "active", "badge_template_id"].astype(str))
    expires = _moments(badges["expires_at"])
    keep = (
        (badges["state"] == "accepted")
        & (badges["public"].fillna(False).astype(bool))
        & badges["badge_template_id"].astype(str).isin(active)
        & (expires.isna() | (expires > pd.Timestamp(as_of)))
    )
    by_id = templates.drop_duplicates("badge_template_id").set_index("badge_template_id")
    eligible = badges.loc[keep].copy()
    eligible["description"] = eligible["badge_template_id"].map(by_id["description"])
    # the template list's name is the current one; a badge's nested copy may be older
    names = eligible["badge_template_id"].map(by_id["badge_template_name"])
    eligible["badge_template_name"] = names.fillna(eligible["badge_template_name"])
    eligible["email_key"] = email_key(eligible["recipient_email"])
    return eligible.reset_index(drop=True)


def user_keys(users: pd.DataFrame) -> pd.DataFrame:
    """One row per (e-mail key, user): the UPN and ``mail`` of each user, UPN first, so an
    address that is one user's UPN and another's mail goes to the UPN's owner."""
    upn = users.assign(email_key=email_key(users["user_principal_name"]), rank=0)
    mail = users.assign(email_key=email_key(users["mail"]), rank=1)
    keys = pd.concat([upn, mail], ignore_index=True).dropna(subset=["email_key"])
    keys = keys[keys["email_key"] != ""].sort_values(["rank", "user_id"], kind="stable")
    return keys.drop_duplicates("email_key").drop(columns="rank").reset_index(drop=True)


def match_earners(eligible: pd.DataFrame, users: pd.DataFrame) -> Earners:
    """Join eligible badges to enabled, licensed users by e-mail; report the rest per e-mail."""
    keys = user_keys(users)
    active = keys["account_enabled"].fillna(False).astype(bool) & keys["licensed"].fillna(False).astype(bool)
    joined = eligible.merge(
        keys[["email_key", "user_id", "user_principal_name"]].assign(active=active),
        on="email_key",
        how="left",
    )
    matched = joined[joined["active"].fillna(False).astype(bool)].drop(columns="active")
    missing = joined[~joined["active"].fillna(False).astype(bool)]
    reasons = missing["user_id"].isna().map({True: NO_USER, False: INACTIVE_USER})
    unmatched = (
        missing.assign(reason=reasons)
        .groupby(["email_key", "reason"], as_index=False)
        .agg(badges=("badge_id", "count"))
        .rename(columns={"email_key": "email"})
        .sort_values("email", kind="stable")
    )
    return Earners(matched.reset_index(drop=True), frame(unmatched.to_dict("records"), UNMATCHED_COLUMNS))


def profile_items(matched: pd.DataFrame, classification: BadgeClassification, tenant_id: str) -> pd.DataFrame:
    """One item per matched person (ITEM_COLUMNS); ``item`` is the Graph body, ``content_hash``
    its digest (stable: entries are ordered and serialised with sorted keys)."""
    rows = []
    ordered = matched.sort_values(["user_id", "issued_at", "badge_id"], kind="stable")
    for user_id, badges in ordered.groupby("user_id", sort=True):
        upn = str(badges["user_principal_name"].iloc[0])
        certifications, awards = [], []
        for badge in badges.to_dict("records"):
            if classification.kind(badge["badge_template_id"], badge["badge_template_name"]) == AWARD:
                awards.append(_entity_text(_award(badge)))
            else:
                certifications.append(_entity_text(_certification(badge)))
        item = {
            "acl": [{"type": "everyone", "value": tenant_id, "accessType": "grant"}],
            "properties": {
                "account": _entity_text({"userPrincipalName": upn}),
                "certifications@odata.type": "Collection(String)",
                "certifications": certifications,
                "awards@odata.type": "Collection(String)",
                "awards": awards,
            },
        }
        digest = hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()
        rows.append(
            {
                "item_id": item_id_for(user_id),
                "user_id": user_id,
                "user_principal_name": upn,
                "certifications": len(certifications),
                "awards": len(awards),
                "content_hash": digest,
                "item": item,
            }
        )
    return frame(rows, ITEM_COLUMNS)


def item_id_for(user_id: Any) -> str:
    """The Entra object id without hyphens: alphanumeric and 32 characters (§3.2 allows 128)."""
    return re.sub(r"[^0-9A-Za-z]", "", str(user_id))


def changed_emails(badges: pd.DataFrame, since: datetime) -> set[str]:
    """E-mail keys of the badges changed (``updated_at`` or ``state_updated_at``) at or after
    ``since``: filtered here because the server may ignore date filters."""
    return set(
        email_key(badges.loc[badge_changed_at(badges) >= pd.Timestamp(since), "recipient_email"]).dropna()
    )


def badge_changed_at(badges: pd.DataFrame) -> pd.Series:
    updated, state = _moments(badges["updated_at"]), _moments(badges["state_updated_at"])
    return pd.concat([updated, state], axis=1).max(axis=1)


def users_for_emails(users: pd.DataFrame, emails: Iterable[str]) -> set[str]:
    """Ids of the users (active or not) owning these e-mail keys."""
    keys = user_keys(users)
    return set(keys.loc[keys["email_key"].isin(set(emails)), "user_id"].astype(str))


def plan_profile_writes(
    desired: pd.DataFrame, pushed: pd.DataFrame, *, scope_user_ids: set[str] | None = None
) -> ProfilePlan:
    """PUT the desired items that are new or changed, DELETE the pushed ones no longer desired.

    ``scope_user_ids`` limits an incremental run to those people (their badges changed); None
    is a full run over everyone, which is also what deletes items of people who left.
    """
    if scope_user_ids is not None:
        desired = desired[desired["user_id"].astype(str).isin(scope_user_ids)]
        pushed = pushed[pushed["user_id"].astype(str).isin(scope_user_ids)]
    known = pushed.set_index("item_id")["content_hash"]
    puts = desired[desired["item_id"].map(known).ne(desired["content_hash"])]
    deletes = pushed[~pushed["item_id"].isin(set(desired["item_id"]))]
    return ProfilePlan(puts.reset_index(drop=True), frame(deletes.to_dict("records"), PUSHED_COLUMNS))


# --- internals ------------------------------------------------------------------------------


def _moments(values: pd.Series) -> pd.Series:
    """ISO 8601 times in any of its forms (with or without milliseconds) as UTC; else NaT."""
    return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")


def _certification(badge: dict[str, Any]) -> dict[str, Any]:
    """personCertification (§3.1) with the findings' mapping: id, URL, dates, image."""
    return _without_empty(
        {
            "displayName": badge["badge_template_name"],
            "certificationId": badge["badge_id"],
            "description": badge.get("description"),
            "issuingAuthority": _text(badge.get("issuer_name")) or DEFAULT_ISSUER,
            "issuedDate": _day(badge.get("issued_at")),
            "endDate": _day(badge.get("expires_at")),
            "webUrl": badge.get("badge_url"),
            "thumbnailUrl": badge.get("image_url"),
        }
    )


def _award(badge: dict[str, Any]) -> dict[str, Any]:
    """personAward (§3.1): no id or end date in that entity."""
    return _without_empty(
        {
            "displayName": badge["badge_template_name"],
            "description": badge.get("description"),
            "issuingAuthority": _text(badge.get("issuer_name")) or DEFAULT_ISSUER,
            "issuedDate": _day(badge.get("issued_at")),
            "webUrl": badge.get("badge_url"),
            "thumbnailUrl": badge.get("image_url"),
        }
    )


def _entity_text(entity: dict[str, Any]) -> str:
    """§3.2: every labelled value is a JSON-serialised string of the entity."""
    return json.dumps(entity, sort_keys=True, separators=(",", ":"))


def _text(value: Any) -> str | None:
    """A string field of a frame row (missing values arrive as NaN, which is truthy)."""
    return value if isinstance(value, str) and value else None


def _day(value: Any) -> str | None:
    return value[:10] if isinstance(value, str) and value else None


def _without_empty(entity: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entity.items() if isinstance(value, str) and value}
