"""The Microsoft 365 profile planner: pure, pandas in, items and writes out."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd

from credly_sync.planning.frames import frame
from credly_sync.planning.profiles import (
    BADGE_COLUMNS,
    INACTIVE_USER,
    NO_USER,
    PUSHED_COLUMNS,
    TEMPLATE_COLUMNS,
    USER_COLUMNS,
    BadgeClassification,
    changed_emails,
    eligible_badges,
    match_earners,
    plan_profile_writes,
    profile_items,
    users_for_emails,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
TEMPLATES = frame(
    [
        {
            "badge_template_id": "t1",
            "badge_template_name": "PM Pro",
            "template_state": "active",
            "description": "d",
        },
        {
            "badge_template_id": "t2",
            "badge_template_name": "Old",
            "template_state": "archived",
            "description": None,
        },
        {
            "badge_template_id": "t3",
            "badge_template_name": "Hero Award",
            "template_state": "active",
            "description": None,
        },
    ],
    TEMPLATE_COLUMNS,
)


def badge(
    badge_id: str, email: str, *, template: str = "t1", state: str = "accepted", **fields: object
) -> dict:
    return {
        "badge_id": badge_id,
        "badge_template_id": template,
        "badge_template_name": "stale name",
        "recipient_email": email,
        "state": state,
        "public": True,
        "issued_at": "2026-02-01T09:00:00.000Z",
        "expires_at": None,
        "updated_at": "2026-02-01T09:00:00.000Z",
        "state_updated_at": "2026-02-01T09:00:00.000Z",
        **fields,
    }


def user(
    user_id: str, upn: str, mail: str | None = None, *, enabled: bool = True, licensed: bool = True
) -> dict:
    return {
        "user_id": user_id,
        "user_principal_name": upn,
        "mail": mail,
        "account_enabled": enabled,
        "licensed": licensed,
    }


def test_only_accepted_public_badges_of_active_templates_that_have_not_expired() -> None:
    badges = frame(
        [
            badge("ok", "a@x.com"),
            badge("pending", "a@x.com", state="pending"),
            badge("rejected", "a@x.com", state="rejected"),
            badge("revoked", "a@x.com", state="revoked"),
            badge("private", "a@x.com", public=False),
            badge("archived", "a@x.com", template="t2"),
            badge("expired", "a@x.com", expires_at="2026-05-31T00:00:00Z"),
            badge("later", "a@x.com", expires_at="2026-06-02T00:00:00Z"),
        ],
        BADGE_COLUMNS,
    )
    eligible = eligible_badges(badges, TEMPLATES, NOW)
    assert list(eligible["badge_id"]) == ["ok", "later"]
    assert set(eligible["badge_template_name"]) == {"PM Pro"}, "the template list's current name"


def test_earners_match_upn_or_mail_in_any_case_and_the_rest_is_reported() -> None:
    users = frame(
        [
            user("u1", "Ada@Contoso.com", "ada.lovelace@contoso.com"),
            user("u2", "grace@contoso.com", "ada@contoso.com"),  # someone's UPN as mail: the UPN wins
            user("u3", "off@contoso.com", enabled=False),
            user("u4", "nolicence@contoso.com", licensed=False),
        ],
        USER_COLUMNS,
    )
    badges = frame(
        [
            badge("b1", " ADA@contoso.com"),
            badge("b2", "Ada.Lovelace@CONTOSO.com"),
            badge("b3", "off@contoso.com"),
            badge("b4", "nolicence@contoso.com"),
            badge("b5", "nobody@example.com"),
            badge("b6", "nobody@example.com"),
        ],
        BADGE_COLUMNS,
    )
    earners = match_earners(eligible_badges(badges, TEMPLATES, NOW), users)
    assert sorted(zip(earners.matched["badge_id"], earners.matched["user_id"], strict=True)) == [
        ("b1", "u1"),
        ("b2", "u1"),
    ]
    assert earners.unmatched.to_dict("records") == [
        {"email": "nobody@example.com", "reason": NO_USER, "badges": 2},
        {"email": "nolicence@contoso.com", "reason": INACTIVE_USER, "badges": 1},
        {"email": "off@contoso.com", "reason": INACTIVE_USER, "badges": 1},
    ]


def test_one_item_per_person_with_certifications_and_awards_as_json_strings() -> None:
    users = frame([user("0a1b-2c3d", "ada@contoso.com")], USER_COLUMNS)
    badges = frame(
        [
            badge("b1", "ada@contoso.com", badge_url="https://c/b1"),
            badge("b2", "ada@contoso.com", template="t3"),
        ],
        BADGE_COLUMNS,
    )
    matched = match_earners(eligible_badges(badges, TEMPLATES, NOW), users).matched

    default = profile_items(matched, BadgeClassification(), "tenant-1").iloc[0]
    assert (default["item_id"], default["certifications"], default["awards"]) == ("0a1b2c3d", 2, 0)

    [item] = profile_items(matched, BadgeClassification(award_name_pattern="award"), "tenant-1").to_dict(
        "records"
    )
    properties = item["item"]["properties"]
    assert item["item"]["acl"] == [{"type": "everyone", "value": "tenant-1", "accessType": "grant"}]
    assert json.loads(properties["account"]) == {"userPrincipalName": "ada@contoso.com"}
    assert [json.loads(text) for text in properties["certifications"]] == [
        {
            "displayName": "PM Pro",
            "certificationId": "b1",
            "description": "d",
            "issuingAuthority": "Credly",
            "issuedDate": "2026-02-01",
            "webUrl": "https://c/b1",
        }
    ]
    assert [json.loads(text)["displayName"] for text in properties["awards"]] == ["Hero Award"]
    assert default["content_hash"] != item["content_hash"]
    assert (
        profile_items(matched, BadgeClassification(), "tenant-1").iloc[0]["content_hash"]
        == default["content_hash"]
    )


def test_writes_only_new_or_changed_items_and_deletes_what_is_no_longer_wanted() -> None:
    desired = pd.DataFrame(
        [
            {"item_id": "same", "user_id": "u1", "content_hash": "h1"},
            {"item_id": "changed", "user_id": "u2", "content_hash": "h2-new"},
            {"item_id": "new", "user_id": "u3", "content_hash": "h3"},
        ]
    )
    pushed = frame(
        [
            {"item_id": "same", "user_id": "u1", "content_hash": "h1"},
            {"item_id": "changed", "user_id": "u2", "content_hash": "h2"},
            {"item_id": "gone", "user_id": "u4", "content_hash": "h4"},
            {"item_id": "left", "user_id": "u5", "content_hash": "h5"},
        ],
        PUSHED_COLUMNS,
    )
    full = plan_profile_writes(desired, pushed)
    assert (list(full.puts["item_id"]), list(full.deletes["item_id"])) == (
        ["changed", "new"],
        ["gone", "left"],
    )

    incremental = plan_profile_writes(desired, pushed, scope_user_ids={"u2", "u4"})
    assert (list(incremental.puts["item_id"]), list(incremental.deletes["item_id"])) == (
        ["changed"],
        ["gone"],
    )

    assert plan_profile_writes(desired, desired[list(PUSHED_COLUMNS)]).summary() == {
        "items_to_write": 0,
        "items_to_delete": 0,
    }


def test_changed_people_come_from_either_change_time_filtered_on_the_client() -> None:
    badges = frame(
        [
            badge("old", "old@x.com"),
            badge("updated", "New@x.com", updated_at="2026-05-02T00:00:00Z"),
            badge("state", "state@x.com", state_updated_at="2026-05-01T00:00:00Z"),
        ],
        BADGE_COLUMNS,
    )
    emails = changed_emails(badges, datetime(2026, 5, 1, tzinfo=UTC))
    assert emails == {"new@x.com", "state@x.com"}
    users = frame(
        [user("u1", "new@x.com"), user("u2", "s@x.com", "STATE@x.com", enabled=False)], USER_COLUMNS
    )
    assert users_for_emails(users, emails) == {"u1", "u2"}, "inactive people too: their item may have to go"
