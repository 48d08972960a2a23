"""Planning Credly -> LMS: external training and certification awards from Credly badges."""

from __future__ import annotations

import random
from typing import Any

from credly_sync.planning.credly_to_lms import (
    AWARD_COLUMNS,
    BADGE_COLUMNS,
    CERTIFICATION_AWARD,
    CERTIFICATION_REVOKE,
    CERTIFICATION_UPDATE,
    EXTERNAL_TRAINING_COLUMNS,
    EXTERNAL_TRAINING_CREATE,
    EXTERNAL_TRAINING_DELETE,
    EXTERNAL_TRAINING_UPDATE,
    LMS_USER_COLUMNS,
    MAPPING_COLUMNS,
    CredlyToLmsPlan,
    ImportPolicy,
    plan_credly_to_lms,
)
from credly_sync.planning.frames import frame
from credly_sync.planning.lms_to_credly import LEDGER_COLUMNS

POLICY = ImportPolicy(institute_name="Credly")
USERS = [
    {"lms_user_id": 10001, "email": "Learner1@Example.com"},
    {"lms_user_id": 10002, "email": "learner2@example.com"},
]


def mapping(**overrides: Any) -> dict[str, Any]:
    row = {
        "badge_template_id": "t1",
        "badge_template_name": "Cloud Basics",
        "import_as_external_training": True,
        "certification_code": None,
        "is_active": True,
    }
    return {**row, **overrides}


ET_MAPPING = mapping()
CERT_MAPPING = mapping(import_as_external_training=False, certification_code="CERT-1")


def badge(**overrides: Any) -> dict[str, Any]:
    row = {
        "badge_id": "b1",
        "badge_template_id": "t1",
        "badge_template_name": "Cloud Basics",
        "recipient_email": "learner1@example.com",
        "issuer_earner_id": None,
        "state": "accepted",
        "issued_at": "2026-05-01T09:30:00.000Z",
        "expires_at": "2027-05-01T09:30:00.000Z",
        "replaces_badge_id": None,
        "replacement_badge_id": None,
        "badge_url": "https://www.credly.com/badges/b1",
    }
    return {**row, **overrides}


def renewal(**overrides: Any) -> dict[str, Any]:
    """b2: the same template, a year later, replacing b1."""
    row = {
        "badge_id": "b2",
        "issued_at": "2027-04-20T08:00:00Z",
        "expires_at": "2028-04-20T08:00:00Z",
        "replaces_badge_id": "b1",
        "badge_url": "https://www.credly.com/badges/b2",
    }
    return badge(**{**row, **overrides})


def training(**overrides: Any) -> dict[str, Any]:
    row = {
        "external_training_id": 501,
        "lms_user_id": "10001",
        "credly_badge_id": "b1",
        "title": "Cloud Basics",
        "institute": "Credly",
        "date": "2026-05-01",
        "expires_at": "2027-05-01",
        "link": "https://www.credly.com/badges/b1",
    }
    return {**row, **overrides}


def award(**overrides: Any) -> dict[str, Any]:
    row = {
        "award_id": 701,
        "lms_user_id": "10001",
        "certification_code": "CERT-1",
        "issued_at": "2026-05-01",
        "expires_at": "2027-05-01",
        "state": "active",
    }
    return {**row, **overrides}


def plan(
    badges: list[dict] = (),
    mappings: list[dict] = (ET_MAPPING,),
    users: list[dict] = tuple(USERS),
    trainings: list[dict] = (),
    awards: list[dict] = (),
    ledger: list[dict] = (),
    policy: ImportPolicy = POLICY,
) -> CredlyToLmsPlan:
    return plan_credly_to_lms(
        frame(badges, BADGE_COLUMNS),
        frame(mappings, MAPPING_COLUMNS),
        frame(users, LMS_USER_COLUMNS),
        frame(trainings, EXTERNAL_TRAINING_COLUMNS),
        frame(awards, AWARD_COLUMNS),
        frame(ledger, LEDGER_COLUMNS),
        policy,
    )


def keys(result: CredlyToLmsPlan) -> list[tuple[str, str]]:
    return [(op.kind, op.op_key) for op in result.operations]


# --- external training ------------------------------------------------------------------------


def test_a_held_badge_without_external_training_creates_one_with_the_badge_dates_and_id() -> None:
    [op] = plan([badge()]).operations
    assert (op.kind, op.op_key, op.target) == (
        EXTERNAL_TRAINING_CREATE,
        "external_training_create:10001:b1",
        "10001",
    )
    assert op.payload == {
        "lms_user_id": "10001",
        "credly_badge_id": "b1",
        "badge_template_id": "t1",
        "badge_template_name": "Cloud Basics",
        "title": "Cloud Basics",
        "institute": "Credly",
        "date": "2026-05-01",
        "expires_at": "2027-05-01",
        "link": "https://www.credly.com/badges/b1",
    }


def test_pending_badges_earn_external_training_and_a_badge_without_expiry_gives_none() -> None:
    [op] = plan([badge(state="pending", expires_at=None)]).operations
    assert op.kind == EXTERNAL_TRAINING_CREATE
    assert op.payload["expires_at"] is None


def test_the_title_falls_back_to_the_mapping_name_and_the_institute_comes_from_the_policy() -> None:
    result = plan([badge(badge_template_name=None)], [mapping(badge_template_name="Mapped Name")])
    [op] = plan([badge(badge_template_name=None)], policy=ImportPolicy("Acme Academy")).operations
    assert result.operations[0].payload["title"] == "Mapped Name"
    assert op.payload["institute"] == "Acme Academy"


def test_dates_are_utc_days_whatever_the_offset() -> None:
    [op] = plan(
        [badge(issued_at="2026-05-01T23:30:00-02:00", expires_at="2027-05-01 01:00:00+03:00")]
    ).operations
    assert (op.payload["date"], op.payload["expires_at"]) == ("2026-05-02", "2027-04-30")


def test_an_already_correct_external_training_plans_nothing_even_in_other_date_formats() -> None:
    assert plan([badge()], trainings=[training()]).operations == []
    other_formats = training(
        external_training_id="501",
        lms_user_id=10001,
        date="2026-05-01T00:00:00Z",
        expires_at="2027-05-01 00:00",
    )
    assert plan([badge()], trainings=[other_formats]).operations == []


def test_an_external_training_that_drifted_is_updated_to_the_badge() -> None:
    drifted = training(title="Old name", expires_at="2026-12-31")
    [op] = plan([badge()], trainings=[drifted]).operations
    assert (op.kind, op.target) == (EXTERNAL_TRAINING_UPDATE, "10001")
    assert op.op_key == "external_training_update:501:b1:20260501:20270501:6d2059aa"
    assert op.payload == {
        "external_training_id": "501",
        "previous_credly_badge_id": "b1",
        "lms_user_id": "10001",
        "credly_badge_id": "b1",
        "badge_template_id": "t1",
        "badge_template_name": "Cloud Basics",
        "title": "Cloud Basics",
        "institute": "Credly",
        "date": "2026-05-01",
        "expires_at": "2027-05-01",
        "link": "https://www.credly.com/badges/b1",
    }


def test_a_badge_replaced_by_one_of_the_same_template_moves_its_external_training() -> None:
    badges = [badge(state="replaced", replacement_badge_id="b2"), renewal()]
    [op] = plan(badges, trainings=[training()]).operations
    assert (op.kind, op.op_key) == (
        EXTERNAL_TRAINING_UPDATE,
        "external_training_update:501:b2:20270420:20280420:bfb4e55e",
    )
    assert op.payload["external_training_id"] == "501"
    assert op.payload["previous_credly_badge_id"] == "b1"
    assert {k: op.payload[k] for k in ("credly_badge_id", "date", "expires_at", "link")} == {
        "credly_badge_id": "b2",
        "date": "2027-04-20",
        "expires_at": "2028-04-20",
        "link": "https://www.credly.com/badges/b2",
    }
    moved = training(
        credly_badge_id="b2", date="2027-04-20", expires_at="2028-04-20", link=badges[1]["badge_url"]
    )
    assert plan(badges, trainings=[moved]).operations == []


def test_a_replacement_is_recognised_from_either_side_of_the_link_and_wins_over_revoked() -> None:
    only_new_side = [badge(state="replaced"), renewal()]
    only_old_side = [badge(state="revoked", replacement_badge_id="b2"), renewal(replaces_badge_id=None)]
    for badges in (only_new_side, only_old_side):
        [op] = plan(badges, trainings=[training()]).operations
        assert (op.kind, op.payload["credly_badge_id"]) == (EXTERNAL_TRAINING_UPDATE, "b2")


def test_a_badge_with_a_replacement_is_replaced_whatever_its_state_says() -> None:
    still_accepted = badge(replacement_badge_id="b2")
    result = plan([still_accepted, renewal()], [mapping(certification_code="CERT-1")], trainings=[training()])
    assert [(op.kind, op.payload["credly_badge_id"]) for op in result.operations] == [
        (EXTERNAL_TRAINING_UPDATE, "b2"),
        (CERTIFICATION_AWARD, "b2"),
    ]


def test_a_chain_of_replacements_moves_the_external_training_to_the_last_badge() -> None:
    badges = [
        badge(state="replaced", replacement_badge_id="b2"),
        renewal(state="replaced", replacement_badge_id="b3"),
        badge(badge_id="b3", replaces_badge_id="b2", issued_at="2028-04-01T00:00:00Z", expires_at=None),
    ]
    [op] = plan(badges, trainings=[training()]).operations
    assert (op.kind, op.payload["credly_badge_id"], op.payload["expires_at"]) == (
        EXTERNAL_TRAINING_UPDATE,
        "b3",
        None,
    )


def test_a_badge_replaced_by_another_template_loses_its_external_training() -> None:
    other = renewal(badge_template_id="t2", badge_template_name="Cloud Pro")
    result = plan(
        [badge(state="replaced", replacement_badge_id="b2"), other],
        [mapping(), mapping(badge_template_id="t2", badge_template_name="Cloud Pro")],
        trainings=[training()],
    )
    assert keys(result) == [
        (EXTERNAL_TRAINING_DELETE, "external_training_delete:501"),
        (EXTERNAL_TRAINING_CREATE, "external_training_create:10001:b2"),
    ]
    assert result.operations[0].payload == {
        "lms_user_id": "10001",
        "external_training_id": "501",
        "credly_badge_id": "b1",
        "badge_template_id": "t1",
        "reason": "the badge was replaced by a badge of another template",
    }
    assert result.operations[1].payload["title"] == "Cloud Pro"


def test_a_replacement_outside_the_mapped_templates_counts_as_another_template() -> None:
    replaced = badge(state="replaced", replacement_badge_id="b-unmapped")
    assert keys(plan([replaced], trainings=[training()])) == [
        (EXTERNAL_TRAINING_DELETE, "external_training_delete:501")
    ]
    assert keys(plan([badge(state="replaced")], trainings=[training()])) == [
        (EXTERNAL_TRAINING_DELETE, "external_training_delete:501")
    ]


def test_a_revoked_badge_loses_its_external_training_and_a_rerun_plans_nothing() -> None:
    [op] = plan([badge(state="revoked")], trainings=[training()]).operations
    assert (op.kind, op.op_key, op.target) == (
        EXTERNAL_TRAINING_DELETE,
        "external_training_delete:501",
        "10001",
    )
    assert op.payload["reason"] == "the badge was revoked"
    assert plan([badge(state="revoked")]).operations == []


def test_duplicate_external_trainings_of_one_badge_are_reduced_to_one() -> None:
    result = plan([badge()], trainings=[training(external_training_id=10), training(external_training_id=9)])
    [op] = result.operations
    assert (op.kind, op.op_key) == (EXTERNAL_TRAINING_DELETE, "external_training_delete:10")
    assert op.payload["reason"] == "another external training holds the badge"


def test_external_training_of_another_user_is_deleted_and_the_right_user_gets_one() -> None:
    result = plan([badge()], trainings=[training(lms_user_id="10002")])
    assert keys(result) == [
        (EXTERNAL_TRAINING_DELETE, "external_training_delete:501"),
        (EXTERNAL_TRAINING_CREATE, "external_training_create:10001:b1"),
    ]
    assert result.operations[0].payload["lms_user_id"] == "10002"


def test_external_training_not_made_from_a_synced_badge_is_left_alone() -> None:
    manual = training(external_training_id=502, credly_badge_id=None, title="Forklift licence")
    unknown_badge = training(external_training_id=503, credly_badge_id="b-gone")
    assert plan([], trainings=[manual, unknown_badge]).operations == []


def test_templates_without_import_as_external_training_get_no_external_training() -> None:
    assert plan([badge()], [mapping(import_as_external_training=False)]).operations == []
    assert plan([badge(state="revoked")], [CERT_MAPPING], trainings=[training()]).operations == []


# --- certifications ---------------------------------------------------------------------------


def test_a_held_badge_awards_the_certification_with_the_badge_dates() -> None:
    [op] = plan([badge()], [CERT_MAPPING]).operations
    assert (op.kind, op.op_key, op.target) == (
        CERTIFICATION_AWARD,
        "certification_award:10001:CERT-1:b1:20260501:20270501",
        "10001",
    )
    assert op.payload == {
        "lms_user_id": "10001",
        "certification_code": "CERT-1",
        "issued_at": "2026-05-01",
        "expires_at": "2027-05-01",
        "credly_badge_id": "b1",
        "badge_template_id": "t1",
        "badge_template_name": "Cloud Basics",
        "link": "https://www.credly.com/badges/b1",
    }


def test_an_award_with_the_same_dates_plans_nothing() -> None:
    assert plan([badge()], [CERT_MAPPING], awards=[award()]).operations == []
    timestamps = award(award_id=701.0, issued_at="2026-05-01T00:00:00Z", expires_at="2027-05-01T23:59:59Z")
    assert plan([badge()], [CERT_MAPPING], awards=[timestamps]).operations == []
    expired = award(state="expired")
    assert plan([badge()], [CERT_MAPPING], awards=[expired]).operations == []


def test_an_award_with_other_dates_is_updated() -> None:
    [op] = plan([badge()], [CERT_MAPPING], awards=[award(expires_at=None)]).operations
    assert (op.kind, op.op_key) == (CERTIFICATION_UPDATE, "certification_update:701:b1:20260501:20270501")
    assert op.payload == {
        "award_id": "701",
        "lms_user_id": "10001",
        "certification_code": "CERT-1",
        "issued_at": "2026-05-01",
        "expires_at": "2027-05-01",
        "credly_badge_id": "b1",
        "badge_template_id": "t1",
        "badge_template_name": "Cloud Basics",
        "link": "https://www.credly.com/badges/b1",
        "previous_issued_at": "2026-05-01",
        "previous_expires_at": None,
    }


def test_a_replaced_badge_updates_the_award_to_the_new_badge_dates() -> None:
    badges = [badge(state="replaced", replacement_badge_id="b2"), renewal()]
    [op] = plan(badges, [CERT_MAPPING], awards=[award()]).operations
    assert (op.kind, op.op_key) == (CERTIFICATION_UPDATE, "certification_update:701:b2:20270420:20280420")
    assert (op.payload["issued_at"], op.payload["expires_at"], op.payload["credly_badge_id"]) == (
        "2027-04-20",
        "2028-04-20",
        "b2",
    )
    renewed = award(issued_at="2027-04-20", expires_at="2028-04-20")
    assert plan(badges, [CERT_MAPPING], awards=[renewed]).operations == []


def test_a_revoked_badge_revokes_the_held_award_only() -> None:
    [op] = plan([badge(state="revoked")], [CERT_MAPPING], awards=[award()]).operations
    assert (op.kind, op.op_key, op.target) == (CERTIFICATION_REVOKE, "certification_revoke:701", "10001")
    assert op.payload == {
        "award_id": "701",
        "lms_user_id": "10001",
        "certification_code": "CERT-1",
        "credly_badge_id": "b1",
        "badge_template_id": "t1",
        "reason": "Credly badge b1: revoked",
    }
    assert plan([badge(state="revoked")], [CERT_MAPPING]).operations == []
    already = award(state="revoked")
    assert plan([badge(state="revoked")], [CERT_MAPPING], awards=[already]).operations == []
    someone_else = award(lms_user_id="10002")
    assert plan([badge(state="revoked")], [CERT_MAPPING], awards=[someone_else]).operations == []


def test_a_held_badge_awards_again_when_the_only_award_was_revoked() -> None:
    [op] = plan([badge()], [CERT_MAPPING], awards=[award(state="revoked")]).operations
    assert op.kind == CERTIFICATION_AWARD


def test_a_badge_replaced_by_another_template_revokes_the_award() -> None:
    badges = [badge(state="replaced", replacement_badge_id="b2"), renewal(badge_template_id="t9")]
    result = plan(badges, [CERT_MAPPING], awards=[award()])
    assert keys(result) == [(CERTIFICATION_REVOKE, "certification_revoke:701")]
    assert result.operations[0].payload["reason"] == "Credly badge b1: replaced"


def test_the_latest_live_badge_of_any_mapped_template_stands_for_the_certification() -> None:
    badges = [
        badge(state="revoked", issued_at="2025-01-01T00:00:00Z"),
        renewal(badge_template_id="t2", replaces_badge_id=None),
    ]
    mappings = [CERT_MAPPING, {**CERT_MAPPING, "badge_template_id": "t2"}]
    [op] = plan(badges, mappings, awards=[award()]).operations
    assert (op.kind, op.payload["credly_badge_id"]) == (CERTIFICATION_UPDATE, "b2")


def test_a_template_imported_both_ways_gets_external_training_and_certification() -> None:
    result = plan([badge()], [mapping(certification_code="CERT-1")])
    assert keys(result) == [
        (EXTERNAL_TRAINING_CREATE, "external_training_create:10001:b1"),
        (CERTIFICATION_AWARD, "certification_award:10001:CERT-1:b1:20260501:20270501"),
    ]


def test_a_certification_a_badge_issued_here_stands_for_is_left_to_the_lms() -> None:
    own = badge(badge_id="b-own", issuer_earner_id="10001", issued_at="2026-06-01T00:00:00Z")
    old_revoked = badge(state="revoked", issued_at="2024-01-01T00:00:00Z")
    assert plan([old_revoked, own], [CERT_MAPPING], awards=[award()]).operations == []
    own_revoked = {**own, "state": "revoked"}
    assert keys(plan([old_revoked, own_revoked], [CERT_MAPPING], awards=[award()])) == [
        (CERTIFICATION_REVOKE, "certification_revoke:701")
    ]


# --- who and what is synced -------------------------------------------------------------------


def test_badges_issued_here_are_skipped_by_earner_id() -> None:
    own = badge(issuer_earner_id="10001")
    result = plan([own], [mapping(certification_code="CERT-1")], trainings=[training()])
    assert result.operations == []
    assert result.own_badges == ["b1"]
    other_issuer = badge(issuer_earner_id="crm-7")
    assert keys(plan([other_issuer])) == [(EXTERNAL_TRAINING_CREATE, "external_training_create:10001:b1")]


def test_badges_issued_here_are_skipped_by_ledger_even_without_a_matching_earner_id() -> None:
    ledger = [{"credly_badge_id": "b1", "lms_user_id": "10001", "badge_template_id": "t1"}]
    result = plan([badge(issuer_earner_id="old-id")], ledger=ledger)
    assert (result.operations, result.own_badges) == ([], ["b1"])
    moved_away = badge(recipient_email="former@example.com")
    result = plan([moved_away], ledger=ledger)
    assert (result.operations, result.unmatched_badges, result.own_badges) == ([], [], ["b1"])


def test_badges_without_an_lms_user_are_reported_not_sent() -> None:
    result = plan(
        [
            badge(badge_id="b1", recipient_email="stranger@example.com"),
            badge(badge_id="b2", recipient_email=None),
            badge(badge_id="b3", recipient_email="stranger@example.com", state="revoked"),
            badge(badge_id="b4", recipient_email="shared@example.com"),
        ],
        users=[
            *USERS,
            {"lms_user_id": 1, "email": "shared@example.com"},
            {"lms_user_id": 2, "email": "SHARED@x"},
            {"lms_user_id": 3, "email": " Shared@Example.com "},
        ],
    )
    assert result.operations == []
    assert result.unmatched_badges == [
        {
            "badge_id": "b1",
            "recipient_email": "stranger@example.com",
            "badge_template_id": "t1",
            "state": "accepted",
            "reason": "no LMS user with this e-mail",
        },
        {
            "badge_id": "b2",
            "recipient_email": None,
            "badge_template_id": "t1",
            "state": "accepted",
            "reason": "no recipient e-mail",
        },
        {
            "badge_id": "b4",
            "recipient_email": "shared@example.com",
            "badge_template_id": "t1",
            "state": "accepted",
            "reason": "several LMS users have this e-mail",
        },
    ]


def test_emails_match_case_insensitively_and_ignoring_blanks() -> None:
    [op] = plan([badge(recipient_email="  LEARNER2@Example.COM ")]).operations
    assert (op.op_key, op.payload["lms_user_id"]) == ("external_training_create:10002:b1", "10002")


def test_inactive_mappings_are_ignored() -> None:
    assert plan([badge()], [mapping(is_active=False)]).operations == []
    assert plan([badge()], [mapping(is_active="false")]).operations == []
    assert plan([badge(state="revoked")], [mapping(is_active=False)], trainings=[training()]).operations == []
    inactive_certification = mapping(
        import_as_external_training=False, certification_code="X", is_active=False
    )
    result = plan([badge()], [mapping(), inactive_certification])
    assert keys(result) == [(EXTERNAL_TRAINING_CREATE, "external_training_create:10001:b1")]
    stranger = badge(recipient_email="stranger@example.com")
    assert plan([stranger], [mapping(is_active=False)]).unmatched_badges == []


def test_rejected_badges_give_no_credit_and_withdraw_what_they_gave_unless_the_policy_says_so() -> None:
    rejected = badge(state="rejected")
    both = [mapping(certification_code="CERT-1")]
    assert plan([rejected], both).operations == []
    result = plan([rejected], both, trainings=[training()], awards=[award()])
    assert keys(result) == [
        (EXTERNAL_TRAINING_DELETE, "external_training_delete:501"),
        (CERTIFICATION_REVOKE, "certification_revoke:701"),
    ]
    assert result.operations[0].payload["reason"] == "the badge was rejected"
    assert result.operations[1].payload["reason"] == "Credly badge b1: rejected"
    crediting = ImportPolicy("Credly", credit_rejected_badges=True)
    assert keys(plan([rejected], both, policy=crediting)) == [
        (EXTERNAL_TRAINING_CREATE, "external_training_create:10001:b1"),
        (CERTIFICATION_AWARD, "certification_award:10001:CERT-1:b1:20260501:20270501"),
    ]
    assert plan([rejected], both, trainings=[training()], awards=[award()], policy=crediting).operations == []


# --- keys, reruns, empty input ----------------------------------------------------------------


def scenario() -> dict[str, Any]:
    mappings = [
        mapping(certification_code="CERT-1"),
        mapping(badge_template_id="t2", badge_template_name="Pro"),
    ]
    badges = [
        badge(state="replaced", replacement_badge_id="b2"),
        renewal(),
        badge(badge_id="b5", badge_template_id="t2", recipient_email="learner2@example.com"),
        badge(badge_id="b6", badge_template_id="t2", state="revoked"),
    ]
    trainings = [training(), training(external_training_id=600, credly_badge_id="b6")]
    return {"badges": badges, "mappings": mappings, "trainings": trainings, "awards": [award()]}


def test_op_keys_and_payloads_are_stable_across_runs_and_input_order() -> None:
    first = plan(**scenario())
    again = plan(**scenario())
    shuffled = scenario()
    for rows in shuffled.values():
        random.Random(7).shuffle(rows)
    assert first.operations == again.operations
    assert sorted(keys(plan(**shuffled))) == sorted(keys(first))
    assert keys(first) == [
        (EXTERNAL_TRAINING_UPDATE, "external_training_update:501:b2:20270420:20280420:bfb4e55e"),
        (EXTERNAL_TRAINING_DELETE, "external_training_delete:600"),
        (EXTERNAL_TRAINING_CREATE, "external_training_create:10002:b5"),
        (CERTIFICATION_UPDATE, "certification_update:701:b2:20270420:20280420"),
    ]
    assert first.summary() == {
        EXTERNAL_TRAINING_CREATE: 1,
        EXTERNAL_TRAINING_UPDATE: 1,
        EXTERNAL_TRAINING_DELETE: 1,
        CERTIFICATION_AWARD: 0,
        CERTIFICATION_UPDATE: 1,
        CERTIFICATION_REVOKE: 0,
        "unmatched_badges": 0,
        "own_badges": 0,
    }


def test_update_keys_change_with_the_target_so_a_later_change_is_planned_again() -> None:
    drifted = [training(title="Old")]
    base = plan([badge()], trainings=drifted).operations[0].op_key
    later_expiry = plan([badge(expires_at="2028-01-01T00:00:00Z")], trainings=drifted).operations[0].op_key
    renamed = plan([badge(badge_template_name="Cloud Basics II")], trainings=drifted).operations[0].op_key
    assert (base, later_expiry, renamed) == (
        "external_training_update:501:b1:20260501:20270501:6d2059aa",
        "external_training_update:501:b1:20260501:20280101:6d2059aa",
        "external_training_update:501:b1:20260501:20270501:357d75ea",
    )
    first = plan([badge()], [CERT_MAPPING], awards=[award(expires_at=None)]).operations[0].op_key
    second = plan([badge(expires_at="2028-01-01T00:00:00Z")], [CERT_MAPPING], awards=[award()]).operations[0]
    assert (first, second.op_key) == (
        "certification_update:701:b1:20260501:20270501",
        "certification_update:701:b1:20260501:20280101",
    )


def test_a_badge_listed_twice_by_overlapping_pages_counts_once() -> None:
    result = plan(
        [badge(state="pending"), badge(), badge(badge_id=None)], [mapping(certification_code="CERT-1")]
    )
    assert keys(result) == [
        (EXTERNAL_TRAINING_CREATE, "external_training_create:10001:b1"),
        (CERTIFICATION_AWARD, "certification_award:10001:CERT-1:b1:20260501:20270501"),
    ]


def test_empty_inputs_plan_nothing() -> None:
    result = plan([], [])
    assert (result.operations, result.unmatched_badges, result.own_badges) == ([], [], [])
    assert set(result.summary().values()) == {0}
    assert plan([], trainings=[training()], awards=[award()]).operations == []
    assert plan([badge()], [], trainings=[training()], awards=[award()]).operations == []
