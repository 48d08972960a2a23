"""DoceboHook against the live Docebo simulator (loopback HTTP, no mocks), faults off and on."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import requests

from credly_sync.hooks.base import (
    ApiError,
    NotFoundError,
    RetriesExhaustedError,
    RetryPolicy,
    ValidationError,
)
from credly_sync.hooks.docebo import DoceboHook, TokenRequestError
from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from tests.fixtures.docebo import DOCEBO_CLIENT_SECRET, DoceboSim, SleepRecorder

TOKEN_CALLS = ("POST", "/oauth2/token")
AWARDS = "/learn/v1/certification/awards"
EXTERNAL = "/learn/v1/external_training"


def issued_tokens(sim: DoceboSim) -> int:
    return sim.call_count(*TOKEN_CALLS)


# --- auth ----------------------------------------------------------------------------------------


def test_token_fetched_once_and_no_basic_auth(docebo_sim: DoceboSim, docebo_hook: DoceboHook) -> None:
    docebo_sim.seed(learners=3, courses=4, completions=0)
    assert len(list(docebo_hook.iter_courses())) == 4
    assert len(list(docebo_hook.iter_users())) == 3
    assert issued_tokens(docebo_sim) == 1
    assert docebo_hook.session.auth is None
    prepared = docebo_hook.session.prepare_request(requests.Request("GET", docebo_sim.url))
    assert "Authorization" not in prepared.headers


def test_token_renewed_before_expiry(docebo_sim: DoceboSim, docebo_hook: DoceboHook) -> None:
    docebo_sim.state.tokens.lifetime = 1.0  # renewed 0.1 s before it expires
    list(docebo_hook.iter_courses())
    time.sleep(1.0)
    list(docebo_hook.iter_courses())
    assert issued_tokens(docebo_sim) == 2
    assert docebo_sim.call_count("GET", "/learn/v1/courses") == 2  # renewed up front: no 401


def test_token_renewed_once_after_401(docebo_sim: DoceboSim, docebo_hook: DoceboHook) -> None:
    list(docebo_hook.iter_courses())
    docebo_sim.admin("POST", "tokens/expire")
    assert list(docebo_hook.iter_courses()) == []
    assert issued_tokens(docebo_sim) == 2
    assert docebo_sim.call_count("GET", "/learn/v1/courses") == 3


def test_refresh_grant_falls_back_to_client_credentials(
    docebo_sim: DoceboSim, docebo_hook: DoceboHook
) -> None:
    list(docebo_hook.iter_courses())
    docebo_sim.state.tokens.reset()  # forgets access and refresh tokens (a server-side revocation)
    list(docebo_hook.iter_courses())
    assert issued_tokens(docebo_sim) == 3  # refused refresh, then client credentials


def test_wrong_secret_is_a_clear_error_without_the_secret(
    docebo_sim: DoceboSim, docebo_connection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "wrong-secret-5f5f5f5f"
    connection = {
        "conn_type": "http",
        "host": docebo_sim.url,
        "login": docebo_sim.client_id,
        "password": wrong,
    }
    monkeypatch.setenv("AIRFLOW_CONN_DOCEBO_DEFAULT", json.dumps(connection))
    hook = DoceboHook(docebo_connection, retry=RetryPolicy(max_attempts=2, backoff_base=0))
    with pytest.raises(TokenRequestError) as caught:
        list(hook.iter_courses())
    assert caught.value.status == 401 and "client id" in str(caught.value)
    assert wrong not in str(caught.value)
    assert issued_tokens(docebo_sim) == 1  # a refused token request is not retried


# --- reads and paging -------------------------------------------------------------------------------


@pytest.mark.parametrize(("learners", "page_size"), [(450, 200), (400, 100), (1, 200)])
def test_one_call_per_page(
    docebo_sim: DoceboSim, docebo_connection: str, learners: int, page_size: int
) -> None:
    docebo_sim.seed(learners=learners, courses=1, completions=0)
    hook = DoceboHook(docebo_connection, page_size=page_size)
    users = list(hook.iter_users())
    assert [u["user_id"] for u in users] == [learner(i).user_id for i in range(learners)]
    assert docebo_sim.call_count("GET", "/manage/v1/user") == math.ceil(learners / page_size)


def test_course_completions_in_a_date_range(docebo_sim: DoceboSim, docebo_hook: DoceboHook) -> None:
    world = docebo_sim.seed(learners=60, courses=5, completions=250)
    start, end = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 6, 30, 23, 59, 59, tzinfo=UTC)
    rows = list(docebo_hook.iter_course_completions(start, end))
    expected = [
        e
        for e in world.enrollments.values()
        if e.completed_at and "2025-03-01 00:00:00" <= e.completed_at <= "2025-06-30 23:59:59"
    ]
    assert len(rows) == len(expected) > 0
    assert all(r["status"] == "completed" for r in rows)
    assert len(list(docebo_hook.iter_course_completions())) == 250
    mine = list(docebo_hook.iter_enrollments(user_ids=[expected[0].user_id]))
    assert {r["user_id"] for r in mine} == {expected[0].user_id}


def test_users_learning_plans_certifications(docebo_sim: DoceboSim, docebo_hook: DoceboHook) -> None:
    world = docebo_sim.seed(
        learners=40, courses=4, learning_plans=2, certifications=3, completions=120, awards=20
    )
    person = learner(7)
    found = docebo_hook.find_user_by_email(person.email.upper())
    assert found is not None and found["user_id"] == person.user_id
    assert docebo_hook.find_user_by_email("nobody@example.com") is None
    assert docebo_hook.get_user(person.user_id)["last_name"] == person.last_name
    plans = list(docebo_hook.iter_learning_plans())
    plan = world.learning_plans[plans[0]["learning_plan_id"]]
    assert [
        c["id_course"] for c in docebo_hook.get_learning_plan_courses(plan.learning_plan_id)
    ] == plan.course_ids
    completions = list(docebo_hook.iter_learning_plan_completions())
    expected = [r for r in world.lp_enrollments.values() if r.status == "completed"]
    assert len(completions) == len(expected)
    assert all(r["enrollment_completion_date"] for r in completions)
    assert docebo_hook.find_certification_by_code("CERT-002")["id_cert"] == 902
    assert len(list(docebo_hook.iter_certification_awards())) == 20
    award = next(iter(world.awards.values()))
    assert docebo_hook.find_certification_award(award.user_id, award.id_cert)["award_id"] == award.award_id


@pytest.mark.parametrize(
    "rule",
    [
        FaultRule("status", status=500, times=2),
        FaultRule("status", status=503, times=1),
        FaultRule("reset", times=2),
        FaultRule("malformed", times=2),
    ],
    ids=["500", "503", "reset", "malformed"],
)
def test_reads_are_retried(docebo_sim: DoceboSim, docebo_hook: DoceboHook, rule: FaultRule) -> None:
    docebo_sim.seed(learners=5, courses=3, completions=0)
    docebo_hook.find_user_by_email("x@example.com")  # token first, so faults hit the read
    docebo_sim.set_faults(replace(rule, method="GET", path=r"/learn/v1/courses$"))
    assert len(list(docebo_hook.iter_courses())) == 3
    assert docebo_sim.call_count("GET", "/learn/v1/courses") == 1 + (rule.times or 0)


def test_slow_read_times_out_and_is_retried(docebo_sim: DoceboSim, docebo_connection: str) -> None:
    docebo_sim.seed(learners=2, courses=2, completions=0)
    hook = DoceboHook(docebo_connection, retry=RetryPolicy(max_attempts=3, backoff_base=0, timeout=0.3))
    hook.sleep = SleepRecorder()
    docebo_sim.set_faults(FaultRule("slow", delay=0.6, method="GET", path=r"/learn/v1/courses$", times=1))
    assert len(list(hook.iter_courses())) == 2
    docebo_sim.settle()
    assert docebo_sim.call_count("GET", "/learn/v1/courses") == 2


def test_429_waits_for_retry_after(docebo_sim: DoceboSim, docebo_hook: DoceboHook) -> None:
    docebo_sim.set_faults(
        FaultRule("status", status=429, retry_after=7, method="GET", path="/learn/v1/courses$", times=2)
    )
    assert list(docebo_hook.iter_courses()) == []
    assert docebo_hook.sleep.waits == [7.0, 7.0]  # type: ignore[attr-defined]


def test_persistent_5xx_gives_up_without_secrets(
    docebo_sim: DoceboSim,
    docebo_hook: DoceboHook,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    list(docebo_hook.iter_courses())
    token = docebo_hook._token.access  # type: ignore[union-attr]
    docebo_sim.set_faults(FaultRule("status", status=502, method="GET", path="/learn/v1/courses$"))
    with pytest.raises(RetriesExhaustedError) as exhausted:
        list(docebo_hook.iter_courses())
    docebo_sim.clear_faults()
    with pytest.raises(NotFoundError) as missing:
        docebo_hook.get_course(999)
    with pytest.raises(ValidationError) as invalid:
        docebo_hook.award_certification(10001, 901, "not-a-date")
    logs = caplog.text + "".join(capsys.readouterr())  # the hook logs through Airflow to stdout
    assert "502" in logs and "retry 1/" in logs, "the retries were logged (and read here)"
    texts = [str(exhausted.value), str(missing.value), str(invalid.value), logs]
    for text in texts:
        assert DOCEBO_CLIENT_SECRET not in text and token not in text
    assert "issued_on" in str(invalid.value) and "Course 999 not found" in str(missing.value)


# --- writes ------------------------------------------------------------------------------------------


@pytest.fixture
def world(docebo_sim: DoceboSim) -> DoceboSim:
    docebo_sim.seed(learners=10, courses=3, certifications=2, completions=5, awards=0)
    return docebo_sim


def test_award_update_revoke(world: DoceboSim, docebo_hook: DoceboHook) -> None:
    result = docebo_hook.award_certification(
        10001,
        901,
        datetime(2026, 3, 1, tzinfo=UTC),
        "2027-03-01",
        source="Credly",
        external_link="https://credly.example/b/1",
    )
    assert result.outcome == "awarded" and result.record["expires_on"] == "2027-03-01"  # type: ignore[index]
    again = docebo_hook.award_certification(10001, 901, "2026-03-01")
    assert (again.outcome, again.record_id) == ("already_awarded", result.record_id)
    updated = docebo_hook.update_certification_award(result.record_id, expires_on="2028-03-01")  # type: ignore[arg-type]
    assert updated["expires_on"] == "2028-03-01" and updated["issued_on"] == "2026-03-01"
    assert docebo_hook.revoke_certification_award(result.record_id) is True  # type: ignore[arg-type]
    assert world.world.awards[result.record_id].status == "revoked"  # type: ignore[index]
    assert docebo_hook.revoke_certification_award(424242) is False


def test_external_training_create_update_delete(world: DoceboSim, docebo_hook: DoceboHook) -> None:
    url = "https://www.credly.com/badges/0001"
    created = docebo_hook.create_external_training(
        10003, "Cloud Basics", "Credly", "2026-02-01", "2027-02-01", badge_url=url
    )
    assert created.outcome == "created"
    found = docebo_hook.find_external_training(10003, url)
    assert (
        found is not None
        and found["provider"] == "Credly"
        and found["external_training_id"] == created.record_id
    )
    docebo_hook.update_external_training(created.record_id, {"expiration_date": datetime(2028, 2, 1).date()})  # type: ignore[arg-type]
    assert world.world.external_training[created.record_id].expiration_date == "2028-02-01"  # type: ignore[index]
    assert docebo_hook.delete_external_training(created.record_id) is True  # type: ignore[arg-type]
    assert docebo_hook.delete_external_training(created.record_id) is False  # type: ignore[arg-type]


UNCERTAIN_POST_FAULTS = [
    FaultRule("status", status=502, times=2),
    FaultRule("status", status=500, times=1),
    FaultRule("reset", times=1),
    FaultRule("malformed", times=1),
]


@pytest.mark.parametrize("rule", UNCERTAIN_POST_FAULTS, ids=["502x2", "500", "reset", "malformed"])
def test_no_duplicate_award_or_training_under_post_failures(
    world: DoceboSim, docebo_hook: DoceboHook, rule: FaultRule
) -> None:
    world.set_faults(
        replace(rule, method="POST", path=AWARDS + "$"), replace(rule, method="POST", path=EXTERNAL + "$")
    )
    award = docebo_hook.award_certification(10002, 902, "2026-01-10")
    training = docebo_hook.create_external_training(
        10002, "Data", "Credly", "2026-01-10", badge_url="https://b/2"
    )
    assert (award.outcome, training.outcome) == ("awarded", "created")
    assert len(world.world.awards) == 1 and len(world.world.external_training) == 1
    assert world.call_count("POST", AWARDS) == 1 + (rule.times or 0)


def test_uncertain_post_that_took_effect_is_not_repeated(world: DoceboSim, docebo_connection: str) -> None:
    """The answer is lost (client timeout) but the server still creates the object."""
    hook = DoceboHook(docebo_connection, retry=RetryPolicy(max_attempts=3, backoff_base=0, timeout=0.3))
    waits: list[float] = []
    hook.sleep = lambda seconds: (waits.append(seconds), world.settle())  # type: ignore[assignment,func-returns-value]
    hook.find_user_by_email("x@example.com")
    world.set_faults(
        FaultRule("late", delay=0.6, method="POST", path=AWARDS + "$", times=1),
        FaultRule("late", delay=0.6, method="POST", path=EXTERNAL + "$", times=1),
    )
    award = hook.award_certification(10004, 901, "2026-01-10")
    training = hook.create_external_training(10004, "Data", "Credly", "2026-01-10", badge_url="https://b/4")
    assert (award.outcome, training.outcome) == ("awarded", "created")
    assert award.record_id in world.world.awards and training.record_id in world.world.external_training
    assert len(world.world.awards) == 1 and len(world.world.external_training) == 1
    assert world.call_count("POST", AWARDS) == world.call_count("POST", EXTERNAL) == 1
    assert len(waits) == 2


def test_dropdown_field_lifecycle(world: DoceboSim, docebo_hook: DoceboHook) -> None:
    field = docebo_hook.ensure_dropdown_field("Credly Badge Template")
    assert field.name == "Credly Badge Template" and field.options == ()
    assert docebo_hook.ensure_dropdown_field("Credly Badge Template").field_id == field.field_id
    assert world.call_count("POST", "/learn/v1/courses/field") == 1
    archery = docebo_hook.add_dropdown_option(field.field_id, "Archery")
    fencing = docebo_hook.add_dropdown_option(str(field.field_id), "Fencing")
    docebo_hook.rename_dropdown_option(field.field_id, fencing, "Épée")
    labels = {
        o.element_id: o.label for o in docebo_hook.ensure_dropdown_field("Credly Badge Template").options
    }
    assert labels == {archery: "Archery", fencing: "Épée"}
    docebo_hook.set_course_field_value(101, field.field_id, archery)
    docebo_hook.set_course_field_value(102, field.field_id, fencing)
    assert docebo_hook.course_field_values(field.field_id) == {101: archery, 102: fencing, 103: None}
    assert docebo_hook.remove_dropdown_option(field.field_id, archery) is True
    assert docebo_hook.remove_dropdown_option(field.field_id, archery) is False
    docebo_hook.reset_course_field_value(102, field.field_id)
    assert docebo_hook.course_field_values(field.field_id) == {101: None, 102: None, 103: None}
    with pytest.raises(ValidationError):
        docebo_hook.set_course_field_value(101, field.field_id, archery)


def test_new_field_and_option_are_not_duplicated_under_post_failures(
    world: DoceboSim, docebo_hook: DoceboHook
) -> None:
    world.set_faults(
        FaultRule("status", status=502, method="POST", path=r"/courses/field(/\d+/options)?$", times=2)
    )
    field = docebo_hook.ensure_dropdown_field("Badge")
    element = docebo_hook.add_dropdown_option(field.field_id, "Archery")
    assert list(world.world.course_fields) == [field.field_id]
    assert world.world.course_fields[field.field_id].options == {element: "Archery"}


def test_bulk_writes_report_each_item(world: DoceboSim, docebo_hook: DoceboHook) -> None:
    world.set_faults(FaultRule("status", status=503, method="POST", path=EXTERNAL + "$", times=3))
    trainings = [
        {
            "user_id": 10001 + i,
            "title": f"Badge {i}",
            "institute": "Credly",
            "date_completed": "2026-01-01",
            "badge_url": f"https://b/{i}",
        }
        for i in range(8)
    ]
    trainings.append({**trainings[0], "user_id": 1, "badge_url": "https://b/unknown-user"})
    outcomes = docebo_hook.create_external_trainings(trainings, keys=[t["badge_url"] for t in trainings])
    assert [o.outcome for o in outcomes] == ["created"] * 8 + ["failed"]
    assert outcomes[-1].key == "https://b/unknown-user" and "user_id" in (outcomes[-1].error or "")
    assert DOCEBO_CLIENT_SECRET not in (outcomes[-1].error or "")
    assert len(world.world.external_training) == 8
    assert world.call_count("POST", EXTERNAL) == len(trainings) + 3
    world.clear_faults()
    awards = [{"user_id": 10001 + i, "certification_id": 901, "issued_on": "2026-01-01"} for i in range(4)]
    first = docebo_hook.award_certifications(awards)
    second = docebo_hook.award_certifications(awards)
    assert {o.outcome for o in first} == {"awarded"} and {o.outcome for o in second} == {"already_awarded"}
    assert [o.record_id for o in first] == [o.record_id for o in second]
    revoked = docebo_hook.revoke_certification_awards([o.record_id for o in first] + [424242])  # type: ignore[list-item]
    assert [o.outcome for o in revoked] == ["revoked"] * 4 + ["not_found"]
    deleted = docebo_hook.delete_external_trainings([o.record_id for o in outcomes[:3]])  # type: ignore[misc]
    assert [o.outcome for o in deleted] == ["deleted"] * 3


def test_api_errors_are_typed(world: DoceboSim, docebo_hook: DoceboHook) -> None:
    with pytest.raises(ApiError) as unknown_user:
        docebo_hook.award_certification(1, 901, "2026-01-01")
    assert unknown_user.value.status == 400 and "user_id" in unknown_user.value.reason
