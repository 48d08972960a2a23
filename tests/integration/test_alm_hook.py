"""AlmHook against the live ALM simulator (loopback HTTP, no mocks), strict forms, faults on."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import requests
from airflow.sdk.exceptions import AirflowException

from credly_sync.hooks.alm import AlmHook, TokenRequestError, attribute, moment, related_id
from credly_sync.hooks.base import (
    ApiError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
    RetryPolicy,
)
from include.simulators.alm.records import parse_time
from include.simulators.common.faults import FaultRule
from tests.fixtures.alm import ALM_CLIENT_SECRET, ALM_CONN_ID, ALM_REFRESH_TOKEN, API, AlmSim
from tests.fixtures.simulator import SleepRecorder

REFRESH = ("POST", "/oauth/token/refresh")
USERS = ("GET", f"{API}/users")


def hook_on(monkeypatch: pytest.MonkeyPatch, sim: AlmSim, **fields: object) -> AlmHook:
    connection = {
        "conn_type": "http",
        "host": sim.url,
        "login": sim.client_id,
        "password": sim.client_secret,
        "extra": {"refresh_token": sim.refresh_token},
        **fields,
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{ALM_CONN_ID.upper()}", json.dumps(connection))
    hook = AlmHook(ALM_CONN_ID, retry=RetryPolicy(max_attempts=3, backoff_base=0, timeout=2.0))
    hook.sleep = SleepRecorder()
    return hook


# --- auth ----------------------------------------------------------------------------------------


def test_one_refresh_then_oauth_header_and_json_api_accept(alm_sim: AlmSim, alm_hook: AlmHook) -> None:
    alm_sim.seed(learners=3, courses=2, completions=0)
    assert len(list(alm_hook.iter_users())) == 3
    assert len(list(alm_hook.iter_learning_objects())) == 4
    assert alm_sim.call_count(*REFRESH) == 1
    assert alm_hook.session.auth is None
    prepared = alm_hook.session.prepare_request(requests.Request("GET", alm_sim.url))
    assert "Authorization" not in prepared.headers
    assert all(ALM_REFRESH_TOKEN not in str(v) for v in alm_hook.session.headers.values())
    assert "refresh_token" not in {name.lower() for name in alm_hook.session.headers}
    assert alm_hook.test_connection() == (True, "Connected to Adobe Learning Manager")
    check = alm_hook.check_token()
    assert check["client_id"] == alm_sim.client_id and check["expires_in"] > 600000


def test_expired_token_gets_401_then_one_refresh_and_the_same_result(
    alm_sim: AlmSim, alm_hook: AlmHook
) -> None:
    alm_sim.seed(learners=15, courses=1, completions=0)
    alm_hook.page_size = 10
    before = [u["id"] for u in alm_hook.iter_users()]
    pages = alm_hook.iter_users()
    first = next(pages)
    alm_sim.admin("POST", "tokens/expire")  # in the middle of a walk
    after = [first["id"], *(u["id"] for u in pages)]
    assert after == before and len(after) == 15
    assert alm_sim.call_count(*REFRESH) == 2
    assert alm_sim.call_count(*USERS) == 2 + 2 + 1  # two pages each, plus the refused one


def test_token_renewed_when_its_lifetime_ran_out(alm_sim: AlmSim, alm_hook: AlmHook) -> None:
    alm_sim.admin("PUT", "tokens", json={"lifetime": 0.5})
    list(alm_hook.iter_badges())
    time.sleep(0.6)
    list(alm_hook.iter_badges())
    assert alm_sim.call_count(*REFRESH) == 2
    assert alm_sim.call_count("GET", f"{API}/badges") == 2  # renewed up front: no 401


@pytest.mark.parametrize(
    "fields",
    [{"password": "wrong-secret"}, {"extra": {"refresh_token": "revoked-refresh-token"}}],
    ids=["secret", "refresh"],
)
def test_refused_credentials_are_a_clear_error_without_secrets(
    alm_sim: AlmSim,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    fields: dict,
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = hook_on(monkeypatch, alm_sim, **fields)
    with pytest.raises(TokenRequestError) as refused:
        list(hook.iter_badges())
    text = str(refused.value)
    assert "refresh token (extra)" in text and refused.value.status in (400, 401)
    logs = caplog.text + "".join(capsys.readouterr())  # the hook logs through Airflow to stdout
    for secret in ("wrong-secret", "revoked-refresh-token", ALM_CLIENT_SECRET, ALM_REFRESH_TOKEN):
        assert secret not in text and secret not in logs


def test_connection_without_refresh_token_says_what_to_fill(
    alm_sim: AlmSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = hook_on(monkeypatch, alm_sim, extra={})
    with pytest.raises(AirflowException, match="refresh token in the extra"):
        list(hook.iter_badges())
    ok, message = hook.test_connection()
    assert not ok and "refresh_token" in message and ALM_CLIENT_SECRET not in message


# --- paging --------------------------------------------------------------------------------------


def test_one_call_per_page_by_links_next(alm_sim: AlmSim, alm_connection: str) -> None:
    world = alm_sim.seed(learners=25, courses=1, completions=0)
    hook = AlmHook(alm_connection, page_size=10)
    assert sorted(u["id"] for u in hook.iter_users()) == sorted(world.users)
    assert alm_sim.call_count(*USERS) == 3


def test_filters_survive_next_links_that_drop_them(alm_sim: AlmSim, alm_connection: str) -> None:
    alm_sim.seed(learners=1, courses=5, learning_programs=3, certifications=2, completions=0)
    hook = AlmHook(alm_connection, page_size=2)
    courses = list(hook.iter_learning_objects(["course"]))
    assert len(courses) == 5 and {attribute(c, "loType") for c in courses} == {"course"}
    assert alm_sim.call_count("GET", f"{API}/learningObjects") == 3
    assert alm_sim.ignored_filters() == {}


def test_next_links_never_leave_the_connections_host(alm_sim: AlmSim, alm_hook: AlmHook) -> None:
    world = alm_sim.seed(learners=12, courses=1, completions=0)
    alm_hook.page_size = 5
    alm_sim.admin("PUT", "links", json={"public_url": "http://attacker.invalid"})
    assert sorted(u["id"] for u in alm_hook.iter_users()) == sorted(world.users)
    assert alm_sim.call_count(*USERS) == 3
    alm_sim.admin("PUT", "links", json={"public_url": f"{alm_sim.url}/elsewhere"})
    with pytest.raises(MalformedResponseError, match="outside the API"):
        list(alm_hook.iter_users())


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
def test_reads_are_retried(alm_sim: AlmSim, alm_hook: AlmHook, rule: FaultRule) -> None:
    alm_sim.seed(learners=8, courses=1, completions=0)
    alm_hook.page_size = 5
    alm_hook.check_token()  # the token first, so the faults hit the pages
    alm_sim.set_faults(replace(rule, method="GET", path=r"/users$"))
    assert len(list(alm_hook.iter_users())) == 8
    assert alm_sim.call_count(*USERS) == 2 + (rule.times or 0)


def test_slow_page_times_out_and_is_retried(alm_sim: AlmSim, monkeypatch: pytest.MonkeyPatch) -> None:
    alm_sim.seed(learners=3, courses=1, completions=0)
    hook = hook_on(monkeypatch, alm_sim)
    hook.retry = RetryPolicy(max_attempts=3, backoff_base=0, timeout=0.3)
    hook.check_token()
    alm_sim.set_faults(FaultRule("slow", delay=0.6, method="GET", path=r"/users$", times=1))
    assert len(list(hook.iter_users())) == 3
    alm_sim.settle()
    assert alm_sim.call_count(*USERS) == 2


def test_persistently_malformed_pages_give_up(alm_sim: AlmSim, alm_hook: AlmHook) -> None:
    alm_hook.check_token()
    alm_sim.set_faults(FaultRule("malformed", method="GET", path=r"/badges$"))
    with pytest.raises(RetriesExhaustedError, match="malformed JSON"):
        list(alm_hook.iter_badges())


def test_406_is_reported_not_retried(alm_sim: AlmSim, alm_hook: AlmHook) -> None:
    list(alm_hook.iter_badges())  # strict Accept check passes with the hook's header
    alm_sim.set_faults(FaultRule("status", status=406, method="GET", path=r"/badges$", times=1))
    with pytest.raises(ApiError) as refused:
        list(alm_hook.iter_badges())
    assert refused.value.status == 406 and alm_sim.call_count("GET", f"{API}/badges") == 2


# --- rate limits ------------------------------------------------------------------------------------


def test_429_waits_the_fractional_retry_after(alm_sim: AlmSim, alm_hook: AlmHook) -> None:
    alm_sim.set_faults(
        FaultRule("status", status=429, retry_after=10.752, method="GET", path=r"/badges$", times=2)
    )
    assert list(alm_hook.iter_badges()) == []
    assert alm_hook.sleep.waits == [10.752, 10.752]  # type: ignore[attr-defined]


def test_documented_rate_limit_is_honoured_end_to_end(alm_sim: AlmSim, alm_connection: str) -> None:
    world = alm_sim.seed(learners=20, courses=1, completions=0)
    alm_sim.admin("PUT", "rate_limits", json={"enabled": True, "limits": {"GET": [600, 1]}})
    hook = AlmHook(alm_connection, retry=RetryPolicy(max_attempts=10, backoff_base=0), page_size=5)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    hook.sleep = sleep
    assert sorted(u["id"] for u in hook.iter_users()) == sorted(world.users)
    assert waits and all(0 < wait <= 0.1 for wait in waits) and any(wait != round(wait) for wait in waits)


# --- errors and secrets ---------------------------------------------------------------------------


def test_no_secret_in_any_error_or_log(
    alm_sim: AlmSim, alm_hook: AlmHook, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    alm_sim.seed(learners=2, courses=1, completions=0)
    list(alm_hook.iter_users())
    token = alm_hook._token.access  # type: ignore[union-attr]
    alm_sim.set_faults(FaultRule("status", status=502, method="GET", path=r"/users$"))
    with pytest.raises(RetriesExhaustedError) as exhausted:
        list(alm_hook.iter_users())
    alm_sim.clear_faults()
    with pytest.raises(NotFoundError) as missing:
        alm_hook.get_badge(999)
    alm_sim.admin("POST", "tokens/revoke")
    with pytest.raises(TokenRequestError) as revoked:
        alm_hook.get_user(10001)
    logs = caplog.text + "".join(capsys.readouterr())  # the hook logs through Airflow to stdout
    assert "502" in logs and "retry 1/" in logs, "the retries were logged (and read here)"
    texts = [str(exhausted.value), str(missing.value), str(revoked.value), logs]
    for text in texts:
        for secret in (ALM_CLIENT_SECRET, ALM_REFRESH_TOKEN, token):
            assert secret not in text
    assert "Badge 999 not found" in str(missing.value)


# --- reads ---------------------------------------------------------------------------------------


def test_users_by_ids_one_by_one_or_through_the_list(alm_sim: AlmSim, alm_hook: AlmHook) -> None:
    world = alm_sim.seed(learners=150, courses=1, completions=0)
    few = alm_hook.users_by_ids([10001, "10002", 99999])
    assert set(few) == {"10001", "10002"} and attribute(few["10001"], "email") == "learner000001@example.com"
    assert alm_sim.call_count("GET", f"{API}/users/{{user_id}}") == 3
    wanted = [str(10001 + i) for i in range(0, 150, 3)] + ["99999"]
    many = alm_hook.users_by_ids(wanted)
    assert set(many) == set(wanted) - {"99999"}
    assert all(user_id in world.users for user_id in many)
    # strict ignores filter.ids: the one walk of the list serves every batch
    assert alm_sim.call_count(*USERS) == 2 and alm_sim.ignored_filters() == {"filter.ids": 2}


def test_find_user_by_email_matches_exactly(alm_sim: AlmSim, alm_hook: AlmHook) -> None:
    alm_sim.seed(learners=12, courses=1, completions=0)
    assert alm_hook.find_user_by_email(" Learner000007@Example.com ")["id"] == "10007"  # type: ignore[index]
    assert alm_hook.find_user_by_email("learner00000@example.com") is None


def test_completed_enrollments_since_are_checked_on_the_client(alm_sim: AlmSim, alm_hook: AlmHook) -> None:
    world = alm_sim.seed(learners=10, courses=3, learning_programs=1, certifications=1, completions=30)
    done = sorted(e.date_completed for e in world.enrollments.values() if e.date_completed)
    since = done[10]
    rows = list(alm_hook.iter_completed_enrollments(since))
    expected = {e.id for e in world.enrollments.values() if e.date_completed and e.date_completed >= since}
    assert {r["id"] for r in rows} == expected and len(expected) == 20
    assert alm_sim.ignored_filters() == {"filter.states": 1, "filter.dateCompletedFrom": 1}
    programs = list(alm_hook.iter_completed_enrollments(parse_time(since), ["learningProgram"]))
    assert {r["id"] for r in programs} == {i for i in expected if i.startswith("learningProgram:")}
    everything = list(alm_hook.iter_completed_enrollments())
    assert len(everything) == 30
    with_badge = [r for r in everything if related_id(r, "learnerBadge")]
    assert {related_id(r, "learnerBadge") for r in with_badge} == set(world.user_badges)

    alm_sim.set_strict(False)  # a server that applies the filters gives the same rows
    assert {r["id"] for r in alm_hook.iter_completed_enrollments(since)} == expected


def test_badges_user_badges_learning_objects_and_user_enrollments(alm_sim: AlmSim, alm_hook: AlmHook) -> None:
    world = alm_sim.seed(
        learners=4, courses=2, learning_programs=1, certifications=0, badges=3, retired_badges=1
    )
    badges = {b["id"]: attribute(b, "state") for b in alm_hook.iter_badges()}
    assert badges == {"501": "Active", "502": "Active", "503": "Retired"}
    assert attribute(alm_hook.get_badge(503), "name") == "Data Badge 3"
    lo = alm_hook.get_learning_object("learningProgram:103")
    assert related_id(lo, "badge") == "503"
    user_id, held = next((b.user_id, b) for b in world.user_badges.values())
    mine = list(alm_hook.iter_user_badges(user_id))
    assert held.id in {b["id"] for b in mine}
    assert [attribute(b, "dateAchieved") for b in mine] == sorted(attribute(b, "dateAchieved") for b in mine)
    assert related_id(alm_hook.get_user_badge(user_id, held.id), "model") == held.model_id
    enrollments = list(alm_hook.iter_user_enrollments(user_id, ["course"]))
    assert {related_id(e, "learningObject") for e in enrollments} == {
        lo_id for (u, lo_id) in world.enrollments if u == user_id and lo_id.startswith("course:")
    }


def test_moment_reads_iso_text_and_epoch_milliseconds() -> None:
    expected = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    assert moment("2026-05-01T09:00:00.000Z") == expected
    assert moment("2026-05-01T11:00:00+02:00") == expected
    assert moment(1777626000000) == expected and moment("1777626000000") == expected
    assert moment(None) is None and moment("") is None
