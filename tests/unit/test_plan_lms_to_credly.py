"""Planning LMS -> Credly: issue, revoke and replace from completions and certification awards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from credly_sync.planning.frames import frame
from credly_sync.planning.lms_to_credly import (
    DESIRED_COLUMNS,
    ISSUE,
    ISSUED_COLUMNS,
    LEDGER_COLUMNS,
    REPLACE,
    REVOKE,
    IssuePolicy,
    MassRevocationError,
    check_revocation_share,
    plan_lms_to_credly,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POLICY = IssuePolicy(sync_revocation=True, default_expiration_days=30, evidence_title="Issued by credly-sync")


def achievement(**overrides: Any) -> dict[str, Any]:
    row = {
        "lms_user_id": "10001",
        "email": "learner000001@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "object_type": "course",
        "object_id": "42",
        "object_name": "Cloud Basics",
        "badge_template_id": "t1",
        "completed_at": "2026-05-01T09:30:00Z",
        "lms_expires_at": None,
        "revoked": False,
    }
    return {**row, **overrides}


def badge(**overrides: Any) -> dict[str, Any]:
    row = {
        "badge_id": "b1",
        "badge_template_id": "t1",
        "recipient_email": "learner000001@example.com",
        "issuer_earner_id": "10001",
        "state": "accepted",
        "issued_at": "2026-05-01T09:30:00Z",
        "expires_at": None,
    }
    return {**row, **overrides}


def plan(desired: list[dict], issued: list[dict] = (), ledger: list[dict] = (), policy: IssuePolicy = POLICY):
    return plan_lms_to_credly(
        frame(desired, DESIRED_COLUMNS),
        frame(issued, ISSUED_COLUMNS),
        frame(ledger, LEDGER_COLUMNS),
        policy,
        NOW,
    )


def kinds(result) -> list[tuple[str, str]]:
    return [(op.kind, op.op_key) for op in result.operations]


def test_a_new_completion_is_issued_with_completion_time_earner_id_expiry_and_evidence() -> None:
    [op] = plan([achievement()]).operations
    assert (op.kind, op.op_key, op.target) == (ISSUE, "issue:t1:10001:20260501T093000", "10001")
    assert op.payload["badge"] == {
        "recipient_email": "learner000001@example.com",
        "issued_to_first_name": "Ada",
        "issued_to_last_name": "Lovelace",
        "badge_template_id": "t1",
        "issued_at": "2026-05-01 09:30:00 +0000",
        "issuer_earner_id": "10001",
        "expires_at": "2026-07-01 12:00:00 +0000",
        "evidence": [
            {
                "type": "IdEvidence",
                "title": "Issued by credly-sync",
                "description": "Docebo course completion: Cloud Basics (course 42)",
            }
        ],
    }
    assert op.payload["learning_object"] == {"type": "course", "id": "42"}


def test_expiry_comes_from_the_lms_object_else_the_default_days_else_none() -> None:
    [with_lms] = plan([achievement(lms_expires_at="2027-01-31T00:00:00Z")]).operations
    assert with_lms.payload["badge"]["expires_at"] == "2027-01-31 00:00:00 +0000"
    no_default = IssuePolicy(sync_revocation=False, default_expiration_days=None, evidence_title="x")
    [without] = plan([achievement()], policy=no_default).operations
    assert without.payload["badge"]["expires_at"] is None


def test_a_held_badge_is_not_issued_again_whoever_issued_it() -> None:
    assert plan([achievement()], [badge()]).operations == []
    issued_elsewhere = badge(issuer_earner_id=None, state="pending")
    assert plan([achievement()], [issued_elsewhere]).operations == []
    rejected_by_earner = badge(state="rejected")
    assert plan([achievement()], [rejected_by_earner]).operations == []


def test_a_revoked_or_replaced_badge_does_not_count_as_held() -> None:
    result = plan([achievement()], [badge(state="revoked"), badge(badge_id="b0", state="replaced")])
    assert kinds(result) == [(ISSUE, "issue:t1:10001:20260501T093000")]


def test_one_badge_per_template_from_the_earliest_completion() -> None:
    result = plan(
        [
            achievement(object_type="learning_plan", object_id="LP-7", completed_at="2026-05-03T00:00:00Z"),
            achievement(completed_at="2026-05-02T00:00:00Z"),
        ]
    )
    [op] = result.operations
    assert op.payload["learning_object"] == {"type": "course", "id": "42"}


def test_learners_without_names_or_with_bad_email_are_reported_not_sent() -> None:
    result = plan(
        [
            achievement(lms_user_id="1", first_name=" "),
            achievement(lms_user_id="2", email="not-an-email"),
            achievement(lms_user_id="3", last_name=None, email=None),
            achievement(lms_user_id="4"),
        ]
    )
    assert [op.target for op in result.operations] == ["4"]
    assert [(r["lms_user_id"], r["reason"]) for r in result.rejected_learners] == [
        ("1", "missing first name"),
        ("2", "invalid e-mail"),
        ("3", "missing last name; invalid e-mail"),
    ]


def test_revocation_only_with_sync_revocation_and_only_of_badges_issued_here() -> None:
    revoked = achievement(object_type="certification", object_id="CERT-1", revoked=True)
    result = plan([revoked], [badge()])
    assert kinds(result) == [(REVOKE, "revoke:b1")]
    assert "certification award CERT-1 was revoked or reset" in result.operations[0].payload["reason"]
    assert plan([revoked], [badge()], policy=IssuePolicy(False, 30, "x")).operations == []
    not_ours = badge(issuer_earner_id=None)
    assert plan([revoked], [not_ours]).operations == []
    assert kinds(
        plan(
            [revoked],
            [not_ours],
            [{"credly_badge_id": "b1", "lms_user_id": "10001", "badge_template_id": "t1"}],
        )
    ) == [(REVOKE, "revoke:b1")]


def test_no_revocation_while_another_object_still_earns_the_template() -> None:
    result = plan(
        [achievement(revoked=True), achievement(object_type="learning_plan", object_id="LP-1")], [badge()]
    )
    assert result.operations == []


def test_a_renewed_certification_replaces_the_badge_with_the_new_expiry() -> None:
    renewed = achievement(
        object_type="certification",
        object_id="CERT-1",
        completed_at="2026-05-20T00:00:00Z",
        lms_expires_at="2028-05-20T00:00:00Z",
    )
    result = plan([renewed], [badge(expires_at="2027-05-01T00:00:00Z")])
    [op] = result.operations
    assert (op.kind, op.op_key) == (REPLACE, "replace:b1:20280520")
    assert op.payload["badge"]["expires_at"] == "2028-05-20 00:00:00 +0000"
    assert op.payload["badge"]["issued_at"] == "2026-05-20 00:00:00 +0000"
    same_expiry = badge(expires_at="2028-05-20T00:00:00.000Z")
    assert plan([renewed], [same_expiry]).operations == []


def test_summary_counts_each_kind() -> None:
    result = plan([achievement(), achievement(lms_user_id="9", first_name="")])
    assert result.summary() == {ISSUE: 1, REVOKE: 0, REPLACE: 0, "rejected_learners": 1}


def test_a_revoked_award_keeps_a_badge_the_ledger_says_another_object_earned() -> None:
    revoked = achievement(object_type="certification", object_id="CERT-1", revoked=True)
    earned_by_course = {
        "credly_badge_id": "b1",
        "lms_user_id": "10001",
        "badge_template_id": "t1",
        "learning_object_type": "course",
        "learning_object_id": "42",
    }
    assert plan([revoked], [badge()], [earned_by_course]).operations == []
    earned_by_cert = {
        **earned_by_course,
        "learning_object_type": "certification",
        "learning_object_id": "CERT-1",
    }
    assert kinds(plan([revoked], [badge()], [earned_by_cert])) == [(REVOKE, "revoke:b1")]


# --- sync-core rules: ownership, expiry, revocation ------------------------------------------


def test_an_earner_id_alone_does_not_make_a_badge_ours() -> None:
    """Another system in the organisation set its own earner id 10001 for someone else."""
    revoked = achievement(object_type="certification", object_id="CERT-1", revoked=True)
    foreign = badge(recipient_email="someone.else@example.com")
    assert plan([revoked], [foreign]).operations == []
    assert kinds(plan([achievement()], [foreign])) == [(ISSUE, "issue:t1:10001:20260501T093000")]


def test_ours_by_earner_id_and_email_in_any_case() -> None:
    revoked = achievement(object_type="certification", object_id="CERT-1", revoked=True)
    assert kinds(plan([revoked], [badge(recipient_email="Learner000001@Example.com")])) == [
        (REVOKE, "revoke:b1")
    ]


def test_a_revocation_carries_what_a_list_look_up_needs() -> None:
    revoked = achievement(object_type="certification", object_id="CERT-1", revoked=True)
    [op] = plan([revoked], [badge()]).operations
    assert op.payload["badge_template_id"] == "t1"
    assert op.payload["recipient_email"] == "learner000001@example.com"


def test_revoking_needs_no_names_or_valid_email() -> None:
    revoked = achievement(
        object_type="certification", object_id="CERT-1", revoked=True, first_name=None, email="bad"
    )
    ledger = [{"credly_badge_id": "b1", "lms_user_id": "10001", "badge_template_id": "t1"}]
    result = plan([revoked], [badge()], ledger)
    assert kinds(result) == [(REVOKE, "revoke:b1")]
    assert result.rejected_learners == []


def test_an_always_valid_certification_gives_no_expiry_and_ignores_the_default_days() -> None:
    always_valid = achievement(object_type="certification", object_id="CERT-1", lms_expires_at="0000-00-00")
    [op] = plan([always_valid]).operations
    assert op.payload["badge"]["expires_at"] is None
    [course] = plan([achievement()]).operations
    assert course.payload["badge"]["expires_at"] == "2026-07-01 12:00:00 +0000", "today + 30 days"


def test_a_date_only_expiry_keeps_its_calendar_date() -> None:
    award = achievement(object_type="certification", object_id="CERT-1", lms_expires_at="2027-03-01")
    [op] = plan([award]).operations
    assert op.payload["badge"]["expires_at"] == "2027-03-01 12:00:00 +0000"
    assert plan([award], [badge(expires_at="2027-03-01T12:00:00Z")]).operations == []


def test_of_an_expired_and_a_renewed_award_the_latest_wins() -> None:
    expired = achievement(
        object_type="certification",
        object_id="CERT-1",
        completed_at="2025-01-10T00:00:00Z",
        lms_expires_at="2026-01-10",
    )
    renewed = {**expired, "completed_at": "2026-01-05T00:00:00Z", "lms_expires_at": "2027-01-05"}
    [op] = plan([renewed, expired]).operations
    assert op.kind == ISSUE and op.payload["badge"]["expires_at"] == "2027-01-05 12:00:00 +0000"
    [replace] = plan([expired, renewed], [badge(expires_at="2026-01-10T12:00:00Z")]).operations
    assert (replace.kind, replace.payload["badge"]["expires_at"]) == (REPLACE, "2027-01-05 12:00:00 +0000")


def test_zero_dates_are_null_not_a_crash() -> None:
    never = achievement(completed_at="2026-05-01 09:30:00", lms_expires_at="0000-00-00 00:00:00")
    [op] = plan([never]).operations
    assert op.payload["badge"]["issued_at"] == "2026-05-01 09:30:00 +0000"


def test_a_plan_revoking_too_many_badges_stops_unless_allowed() -> None:
    revoked = [
        achievement(
            lms_user_id=str(i),
            email=f"l{i}@example.com",
            object_type="certification",
            object_id="CERT-1",
            revoked=True,
        )
        for i in range(11)
    ]
    held = [
        badge(badge_id=f"b{i}", issuer_earner_id=str(i), recipient_email=f"l{i}@example.com")
        for i in range(11)
    ]
    result = plan(revoked, held)
    assert len(result.operations) == 11
    with pytest.raises(MassRevocationError, match=r"revoke 11 of 500 badges held.*allow_mass_revocation"):
        check_revocation_share(result, 500, allowed=False)
    check_revocation_share(result, 500, allowed=True)
    check_revocation_share(result, 550, allowed=False)  # 2 % of 550 is 11


def test_a_reset_revokes_only_a_badge_the_ledger_ties_to_that_object() -> None:
    reset = achievement(revoked=True, completed_at=None)  # enrollment read in progress, no date
    assert plan([reset], [badge()]).operations == [], "never completed, as far as anyone knows"
    tied = {
        "credly_badge_id": "b1",
        "lms_user_id": "10001",
        "badge_template_id": "t1",
        "learning_object_type": "course",
        "learning_object_id": "42",
    }
    assert kinds(plan([reset], [badge()], [tied])) == [(REVOKE, "revoke:b1")]
