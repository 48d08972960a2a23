"""CredlyHook against the live Credly simulator over loopback, with and without faults."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from airflow.sdk.exceptions import AirflowException

from credly_sync.hooks.base import (
    AuthenticationError,
    MalformedResponseError,
    PermissionDeniedError,
    RetriesExhaustedError,
    RetryPolicy,
    ValidationError,
)
from credly_sync.hooks.credly import CredlyHook
from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from include.simulators.credly.generator import generate_templates
from tests.fixtures.credly import CREDLY_CONN_ID, CredlySim, SleepRecorder

POST_BADGES = {"method": "POST", "path": r"/badges$"}
GET_TEMPLATES = {"method": "GET", "path": r"/badge_templates$"}


def issue_body(template_id: str, index: int = 0, **overrides: Any) -> dict[str, Any]:
    person = learner(index)
    body = {
        "recipient_email": person.email,
        "issued_to_first_name": person.first_name,
        "issued_to_last_name": person.last_name,
        "badge_template_id": template_id,
        "issued_at": "2026-03-01T09:41:00Z",
        "issuer_earner_id": str(person.user_id),
    }
    return {**body, **overrides}


def point_connection(monkeypatch: pytest.MonkeyPatch, sim: CredlySim, **fields: Any) -> None:
    connection = {"conn_type": "http", "host": sim.url, "login": sim.organization_id, "password": sim.token}
    monkeypatch.setenv("AIRFLOW_CONN_CREDLY_DEFAULT", json.dumps({**connection, **fields}))


def quick_hook(**kwargs: Any) -> CredlyHook:
    hook = CredlyHook(retry=RetryPolicy(max_attempts=4, backoff_base=0, timeout=2.0), **kwargs)
    hook.sleep = SleepRecorder()
    return hook


# --- connection and auth --------------------------------------------------------------------


def test_sends_token_colon_basic_auth(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    credly_sim.create_template()
    assert [template["name"] for template in credly_hook.iter_badge_templates()] == ["Archery Basics"]
    expected = "Basic " + base64.b64encode(f"{credly_sim.token}:".encode()).decode()
    prepared = credly_hook.session.auth(requests.Request("GET", credly_sim.url).prepare())
    assert prepared.headers["Authorization"] == expected


@pytest.mark.parametrize("suffix", ["/v1", "/v1/", "/"])
def test_host_may_end_in_v1(credly_sim: CredlySim, monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    point_connection(monkeypatch, credly_sim, host=credly_sim.url + suffix)
    credly_sim.create_template()
    assert len(list(quick_hook().iter_badge_templates())) == 1


@pytest.mark.parametrize(
    "host",
    ["sandbox-api.credly.com", "https://sandbox-api.credly.com/v1", "https://sandbox-api.credly.com/v1/"],
)
def test_base_url_forms(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    connection = {"conn_type": "http", "host": host, "login": "org-1", "password": "secret"}
    monkeypatch.setenv("AIRFLOW_CONN_CREDLY_DEFAULT", json.dumps(connection))
    hook = CredlyHook()
    assert (
        hook.url_from_endpoint(hook._path("badges"))
        == "https://sandbox-api.credly.com/v1/organizations/org-1/badges"
    )


def test_missing_token_is_a_clear_error(credly_sim: CredlySim, monkeypatch: pytest.MonkeyPatch) -> None:
    point_connection(monkeypatch, credly_sim, password="")
    with pytest.raises(AirflowException, match="no password: put the Credly authorization token there"):
        list(quick_hook().iter_badges())
    assert credly_sim.calls() == {}


def test_bad_token_error_names_the_connection_and_hides_the_token(
    credly_sim: CredlySim, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_token = "wrong-token-9d8c7b6a"
    point_connection(monkeypatch, credly_sim, password=wrong_token)
    with pytest.raises(AuthenticationError) as raised:
        list(quick_hook().iter_badge_templates())
    message = str(raised.value)
    assert CREDLY_CONN_ID in message and "password" in message
    assert wrong_token not in message and credly_sim.token not in message


def test_rotated_token_gives_a_clear_401(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    credly_sim.admin("POST", "token/rotate")
    with pytest.raises(AuthenticationError, match="expire") as raised:
        credly_hook.get_badge_template("any")
    assert credly_sim.token not in str(raised.value)


def test_wrong_organization_gives_a_clear_403(credly_sim: CredlySim, monkeypatch: pytest.MonkeyPatch) -> None:
    point_connection(monkeypatch, credly_sim, login=credly_sim.foreign_organization_id)
    template = credly_sim.create_template()
    with pytest.raises(PermissionDeniedError) as raised:
        quick_hook().issue_badge(issue_body(template.id))
    message = str(raised.value)
    assert CREDLY_CONN_ID in message and "login" in message
    assert credly_sim.token not in message
    assert credly_sim.state.badges == {}


# --- paging and filters ----------------------------------------------------------------------


@pytest.mark.parametrize(("count", "per_page"), [(120, None), (7, 3), (0, None), (100, 50)])
def test_one_call_per_page(
    credly_sim: CredlySim, monkeypatch: pytest.MonkeyPatch, count: int, per_page: Any
) -> None:
    point_connection(monkeypatch, credly_sim)
    credly_sim.state.load(generate_templates(1, count), [])
    templates = list(quick_hook(per_page=per_page).iter_badge_templates())
    assert len(templates) == count
    assert len({template["id"] for template in templates}) == count
    assert credly_sim.call_count("GET", "badge_templates") == max(1, math.ceil(count / (per_page or 50)))


def test_iter_badge_templates_by_state(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    credly_sim.create_template("A")
    credly_sim.create_template("B", state="archived")
    credly_sim.create_template("C", state="draft")
    assert [t["name"] for t in credly_hook.iter_badge_templates("active")] == ["A"]
    assert [t["name"] for t in credly_hook.iter_badge_templates(["archived", "draft"], sort="-name")] == [
        "C",
        "B",
    ]


def test_iter_badges_with_filters(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    credly_sim.seed(templates=3, learners=40, badges=80)
    badges = list(credly_sim.state.badges.values())
    template_id = badges[0].badge_template_id
    found = list(credly_hook.iter_badges(badge_template_id=template_id, state=["accepted", "pending"]))
    assert {b["id"] for b in found} == {
        b.id for b in badges if b.badge_template_id == template_id and b.state in ("accepted", "pending")
    }
    since = datetime(2025, 1, 1, tzinfo=UTC)
    recent = {b["id"] for b in credly_hook.iter_badges(updated_at_min=since, sort="updated_at")}
    assert recent == {b.id for b in badges if b.updated_at >= "2025-01-01T00:00:00.000Z"}


def test_high_volume_iteration(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    credly_sim.seed(templates=3, learners=60, badges=150)
    assert len(list(credly_hook.iter_high_volume_badges())) == 150
    assert credly_sim.call_count("GET", "high_volume_issued_badge_search") == 3  # 50 a page
    since = datetime(2025, 1, 1)
    assert {b["id"] for b in credly_hook.iter_high_volume_badges(start_date=since)} == {
        b.id for b in credly_sim.state.badges.values() if b.updated_at >= "2025-01-01"
    }


def test_get_event_and_iter_events(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    template = credly_sim.create_template()
    result = credly_hook.issue_badge(issue_body(template.id))
    events = sorted(credly_hook.iter_events(), key=lambda event: event["occurred_at"])
    assert [event["event_type"] for event in events] == ["badge_template.created", "badge.created"]
    event = credly_hook.get_event(events[1]["id"])
    assert event["badge"]["id"] == result.badge_id
    assert event["organization_id"] == credly_sim.organization_id


# --- retries on reads -------------------------------------------------------------------------


def test_429_waits_for_retry_after(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    credly_sim.create_template()
    credly_sim.set_faults(FaultRule("status", status=429, retry_after=7, times=2, **GET_TEMPLATES))
    assert len(list(credly_hook.iter_badge_templates())) == 1
    assert credly_hook.sleep.waits == [7.0, 7.0]
    assert credly_sim.call_count("GET", "badge_templates") == 3


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule("status", status=503, times=2, **GET_TEMPLATES),
        FaultRule("status", status=500, times=1, **GET_TEMPLATES),
        FaultRule("malformed", times=2, **GET_TEMPLATES),
        FaultRule("reset", times=2, **GET_TEMPLATES),
        FaultRule("slow", delay=1.2, times=1, **GET_TEMPLATES),
    ],
    ids=["503", "500", "malformed", "reset", "timeout"],
)
def test_reads_survive_transient_faults(
    credly_sim: CredlySim, monkeypatch: pytest.MonkeyPatch, fault: FaultRule
) -> None:
    point_connection(monkeypatch, credly_sim)
    for index in range(3):
        credly_sim.create_template(f"T{index}")
    credly_sim.set_faults(fault)
    hook = CredlyHook(retry=RetryPolicy(max_attempts=4, backoff_base=0, timeout=0.5), per_page=2)
    hook.sleep = SleepRecorder()
    assert [t["name"] for t in hook.iter_badge_templates(sort="name")] == ["T0", "T1", "T2"]
    assert len(hook.sleep.waits) == fault.times


def test_reads_give_up_after_max_attempts(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    credly_sim.set_faults(FaultRule("status", status=503, **GET_TEMPLATES))
    with pytest.raises(RetriesExhaustedError, match="4 attempts"):
        list(credly_hook.iter_badge_templates())
    assert credly_sim.call_count("GET", "badge_templates") == 4


def test_page_without_data_array_is_malformed(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    template = credly_sim.create_template()
    with pytest.raises(MalformedResponseError):
        list(credly_hook._walk(f"badge_templates/{template.id}", {}, None))


# --- issuing safely ---------------------------------------------------------------------------


def test_issue_returns_the_new_badge(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    template = credly_sim.create_template()
    result = credly_hook.issue_badge(issue_body(template.id))
    assert result.outcome == "issued" and result.badge["state"] == "pending"
    assert [badge.id for badge in credly_sim.badges_held(template.id, learner(0).email)] == [result.badge_id]


@pytest.mark.parametrize(
    "faults",
    [
        [FaultRule("status", status=503, times=3, **POST_BADGES)],
        [FaultRule("status", status=502, times=1, **POST_BADGES), FaultRule("reset", times=2, **POST_BADGES)],
        [FaultRule("malformed", times=2, **POST_BADGES)],
        [FaultRule("slow", delay=1.0, times=3, **POST_BADGES)],
        [FaultRule("status", status=429, retry_after=1, times=2, **POST_BADGES)],
    ],
    ids=["503x3", "502-reset", "malformed", "slow-timeout", "429"],
)
def test_no_duplicate_issue_under_faults(
    credly_sim: CredlySim, monkeypatch: pytest.MonkeyPatch, faults: list[FaultRule]
) -> None:
    point_connection(monkeypatch, credly_sim)
    template = credly_sim.create_template()
    credly_sim.set_faults(*faults)
    hook = CredlyHook(retry=RetryPolicy(max_attempts=6, backoff_base=0, timeout=0.5))
    hook.sleep = SleepRecorder()

    result = hook.issue_badge(issue_body(template.id))
    credly_sim.settle()

    held = credly_sim.badges_held(template.id, learner(0).email)
    assert len(held) == 1
    assert result.outcome == "issued" and result.badge_id == held[0].id
    assert credly_sim.call_count("POST", "badges") >= 2  # the faults were met, and overcome


def test_uncertain_issue_looks_up_before_posting_again(
    credly_hook: CredlyHook, credly_sim: CredlySim
) -> None:
    template = credly_sim.create_template(allow_duplicate_badges=True)  # no server-side guard
    credly_sim.set_faults(FaultRule("status", status=503, times=1, **POST_BADGES))
    credly_hook.issue_badge(issue_body(template.id))
    assert len(credly_sim.badges_held(template.id, learner(0).email)) == 1
    assert credly_sim.call_count("POST", "badges") == 2
    assert credly_sim.call_count("GET", "badges") == 1  # by e-mail: the POST sent it


def test_uncertain_until_the_end_raises(credly_sim: CredlySim, credly_hook: CredlyHook) -> None:
    template = credly_sim.create_template()
    credly_sim.set_faults(FaultRule("status", status=503, **POST_BADGES))
    with pytest.raises(Exception, match="no badge found after 4 attempts"):
        credly_hook.issue_badge(issue_body(template.id))
    assert credly_sim.call_count("POST", "badges") == 4


def test_duplicate_422_is_already_issued(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    template = credly_sim.create_template()
    first = credly_hook.issue_badge(issue_body(template.id))
    again = credly_hook.issue_badge(issue_body(template.id, recipient_email="new-address@example.com"))
    assert (again.outcome, again.badge_id) == ("already_issued", first.badge_id)


def test_other_422_is_a_validation_error_with_the_reason(
    credly_hook: CredlyHook, credly_sim: CredlySim
) -> None:
    template = credly_sim.create_template(state="archived")
    with pytest.raises(ValidationError, match="archived"):
        credly_hook.issue_badge(issue_body(template.id))
    with pytest.raises(ValidationError, match="issued_at is required"):
        credly_hook.issue_badge({k: v for k, v in issue_body(template.id).items() if k != "issued_at"})


# --- revoke, replace, delete -----------------------------------------------------------------


def test_revoke_replace_delete(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    template = credly_sim.create_template()
    advanced = credly_sim.create_template("Archery Advanced")
    first = credly_hook.issue_badge(issue_body(template.id, 1)).badge_id
    second = credly_hook.issue_badge(issue_body(template.id, 2)).badge_id

    revoked = credly_hook.revoke_badge(first, "Issued in error", template_id=template.id)
    assert revoked["state"] == "revoked"
    assert credly_hook.revoke_badge(first, "again", template_id=template.id)["state"] == "revoked"

    body = {"badge_template_id": advanced.id, "issued_at": "2026-04-01"}
    replaced = credly_hook.replace_badge(second, body, template_id=template.id)
    assert replaced.outcome == "replaced"
    assert credly_sim.state.badges[second].replacement_badge_id == replaced.badge_id
    again = credly_hook.replace_badge(second, body, template_id=template.id, recipient_email=learner(2).email)
    assert (again.outcome, again.badge_id) == ("already_replaced", replaced.badge_id)

    assert credly_hook.delete_badge(replaced.badge_id) is True
    assert credly_hook.delete_badge(replaced.badge_id) is False


def test_replace_under_uncertainty_is_not_repeated(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    template = credly_sim.create_template()
    badge_id = credly_hook.issue_badge(issue_body(template.id)).badge_id
    credly_sim.set_faults(FaultRule("slow", delay=0.5, times=1, method="POST", path="/replace$"))
    hook = CredlyHook(retry=RetryPolicy(max_attempts=4, backoff_base=0, timeout=0.2))
    hook.sleep = SleepRecorder()
    body = {"badge_template_id": template.id, "issued_at": "2026-04-01"}
    result = hook.replace_badge(badge_id, body, template_id=template.id, recipient_email=learner(0).email)
    credly_sim.settle()
    replacements = [b for b in credly_sim.state.badges.values() if b.replaces_badge_id == badge_id]
    assert [b.id for b in replacements] == [result.badge_id]


def test_find_badge_ignores_revoked(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    template = credly_sim.create_template()
    badge_id = credly_hook.issue_badge(issue_body(template.id)).badge_id
    person = learner(0)
    assert credly_hook.find_badge(template.id, person.email.upper())["id"] == badge_id
    assert credly_hook.find_badge_by_earner(template.id, str(person.user_id))["id"] == badge_id
    credly_hook.revoke_badge(badge_id, "wrong", template_id=template.id)
    assert credly_hook.find_badge(template.id, person.email) is None


# --- bulk --------------------------------------------------------------------------------


def test_bulk_issue_reports_each_item(credly_sim: CredlySim, monkeypatch: pytest.MonkeyPatch) -> None:
    point_connection(monkeypatch, credly_sim)
    template = credly_sim.create_template()
    archived = credly_sim.create_template("Old", state="archived")
    hook = CredlyHook(retry=RetryPolicy(max_attempts=8, backoff_base=0, timeout=2.0))
    hook.sleep = SleepRecorder()
    earlier = hook.issue_badge(issue_body(template.id, 0))
    bodies = [issue_body(template.id, index) for index in range(12)]  # learner 0 holds the badge already
    bodies[5] = issue_body(archived.id, 5)
    # six failures spread over whichever items come first; no item can meet more than six
    credly_sim.set_faults(FaultRule("status", status=503, times=6, **POST_BADGES))

    outcomes = hook.issue_badges(bodies, keys=[f"row-{i}" for i in range(12)], max_workers=4)
    credly_sim.settle()

    assert [outcome.key for outcome in outcomes] == [f"row-{i}" for i in range(12)]
    assert outcomes[5].outcome == "failed" and "archived" in outcomes[5].error
    # a 422 gives already_issued; a 503 then a lookup finds it: issued (it exists either way)
    assert outcomes[0].outcome in ("already_issued", "issued") and outcomes[0].record_id == earlier.badge_id
    assert all(outcome.outcome == "issued" for index, outcome in enumerate(outcomes) if index not in (0, 5))
    for index in range(12):
        held = credly_sim.badges_held(template.id, learner(index).email)
        assert len(held) == (0 if index == 5 else 1)


def test_bulk_revoke_and_delete(credly_sim: CredlySim, credly_hook: CredlyHook) -> None:
    template = credly_sim.create_template()
    ids = [credly_hook.issue_badge(issue_body(template.id, index)).badge_id for index in range(3)]
    revocations = [(badge_id, "expired", template.id) for badge_id in ids] + [("missing", "x", template.id)]
    revoked = credly_hook.revoke_badges(revocations)
    assert [outcome.outcome for outcome in revoked] == ["revoked"] * 3 + ["failed"]
    deleted = credly_hook.delete_badges([*ids, ids[0]], max_workers=1)
    assert [outcome.outcome for outcome in deleted] == ["deleted"] * 3 + ["already_deleted"]


def test_connection_test_button(credly_hook: CredlyHook, credly_sim: CredlySim) -> None:
    assert credly_hook.test_connection() == (
        True,
        f"Connected to Credly organization {credly_sim.organization_id}",
    )
    credly_sim.admin("POST", "token/expire")
    ok, message = credly_hook.test_connection()
    assert not ok and credly_sim.token not in message


# --- look-ups are verified on the client (sync-core item 1, 2, 15) -------------------------


def test_an_unapplied_issue_never_takes_another_learners_badge(
    credly_hook: CredlyHook, credly_sim: CredlySim
) -> None:
    """A 503 that was not applied: the look-up must not count learner 1's badge (same template,
    another e-mail and earner id) as learner 0's, whatever filters the server honours."""
    template = credly_sim.create_template()
    other = credly_hook.issue_badge(issue_body(template.id, 1))
    credly_sim.set_faults(FaultRule("status", status=503, times=1, **POST_BADGES))
    mine = credly_hook.issue_badge(issue_body(template.id, 0))
    assert mine.outcome == "issued" and mine.badge_id != other.badge_id
    assert [b.id for b in credly_sim.badges_held(template.id, learner(0).email)] == [mine.badge_id]
    assert credly_sim.badges_held(template.id, learner(1).email)[0].id == other.badge_id


def test_a_badge_of_the_same_email_with_another_earner_id_is_not_the_learners(
    credly_hook: CredlyHook, credly_sim: CredlySim
) -> None:
    template = credly_sim.create_template(allow_duplicate_badges=True)
    credly_hook.issue_badge(issue_body(template.id, 0, issuer_earner_id="other-system-7"))
    assert credly_hook.find_badge(template.id, learner(0).email, str(learner(0).user_id)) is None
    assert credly_hook.find_badge(template.id, learner(0).email) is not None  # no earner id to compare


def test_a_retried_revoke_is_checked_through_the_list_not_get_by_id(
    credly_hook: CredlyHook, credly_sim: CredlySim
) -> None:
    template = credly_sim.create_template()
    badge_id = credly_hook.issue_badge(issue_body(template.id)).badge_id
    credly_sim.set_faults(FaultRule("late", delay=0.5, times=1, method="PUT", path="/revoke$"))
    hook = CredlyHook(retry=RetryPolicy(max_attempts=4, backoff_base=0, timeout=0.2))
    hook.sleep = SleepRecorder()
    revoked = hook.revoke_badge(badge_id, "wrong", template_id=template.id, recipient_email=learner(0).email)
    credly_sim.settle()
    assert revoked["state"] == "revoked" and credly_sim.state.badges[badge_id].state == "revoked"
    assert credly_sim.call_count("GET", "badges/{badge_id}") == 0


@pytest.mark.parametrize("email", ["a@x.com|state::revoked", "a@x.com,b@x.com", "a::b@x.com"])
def test_filter_values_with_separators_are_refused(credly_hook: CredlyHook, email: str) -> None:
    with pytest.raises(ValueError, match="recipient_email"):
        credly_hook.find_badge("t1", email)
