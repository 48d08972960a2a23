"""The ALM simulator over loopback HTTP: OAuth, Accept, JSON:API paging, filters, badges and
user badges, rate limits, errors, webhooks, snapshots, the command line."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from include.simulators.alm.__main__ import add_arguments, build_app
from include.simulators.alm.generator import generate_world
from include.simulators.alm.webhooks import WebhookConfig
from include.simulators.common.faults import FaultRule
from include.simulators.common.server import ThreadedServer
from tests.fixtures.alm import ALM_REFRESH_TOKEN, API, AlmSim
from tests.fixtures.simulator import WebhookReceiver

JSON_API = "application/vnd.api+json"


def oauth(sim: AlmSim, path: str, **form: str) -> requests.Response:
    body = {"client_id": sim.client_id, "client_secret": sim.client_secret, **form}
    return sim.session.post(f"{sim.url}/oauth/{path}", data=body, timeout=10)


def data(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def walk(sim: AlmSim, path: str, token: str, **params: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Every item of a list by links.next, and each next link seen."""
    items, links = [], []
    response = sim.api("GET", path, token=token, params=params)
    while True:
        body = response.json()
        assert response.status_code == 200, body
        items.extend(body["data"])
        next_url = body["links"].get("next")
        if not next_url:
            return items, links
        links.append(next_url)
        response = sim.api("GET", next_url, token=token)


# --- OAuth ----------------------------------------------------------------------------------------


def test_code_exchange_gives_seven_day_tokens_that_read(alm_sim: AlmSim) -> None:
    code = alm_sim.admin("POST", "oauth/codes").json()["code"]
    granted = oauth(alm_sim, "token", grant_type="authorization_code", code=code, redirect_uri="https://x/cb")
    body = granted.json()
    assert granted.status_code == 200
    assert body["expires_in"] == 604800 and body["token_type"] == "Bearer" and body["refresh_token"]
    assert alm_sim.api("GET", "/badges", token=body["access_token"]).status_code == 200
    again = oauth(alm_sim, "token", grant_type="authorization_code", code=code, redirect_uri="https://x/cb")
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # a code is single-use


def test_refresh_while_valid_returns_the_same_token_and_a_new_one_after_expiry(alm_sim: AlmSim) -> None:
    first = oauth(alm_sim, "token/refresh", refresh_token=ALM_REFRESH_TOKEN).json()
    second = oauth(alm_sim, "token/refresh", refresh_token=ALM_REFRESH_TOKEN).json()
    assert first["access_token"] == second["access_token"]
    assert first["refresh_token"] == ALM_REFRESH_TOKEN and 604790 <= second["expires_in"] <= 604800
    alm_sim.admin("POST", "tokens/expire")
    expired = alm_sim.api("GET", "/badges", token=first["access_token"])
    assert expired.status_code == 401 and expired.json()["source"]["info"] == "The access token has expired"
    third = oauth(alm_sim, "token/refresh", refresh_token=ALM_REFRESH_TOKEN).json()
    assert third["access_token"] != first["access_token"]
    assert alm_sim.api("GET", "/badges", token=third["access_token"]).status_code == 200


def test_oauth_refusals(alm_sim: AlmSim) -> None:
    wrong_client = oauth(alm_sim, "token/refresh", refresh_token=ALM_REFRESH_TOKEN, client_secret="nope")
    wrong_refresh = oauth(alm_sim, "token/refresh", refresh_token="not-a-refresh-token")
    wrong_grant = oauth(alm_sim, "token", grant_type="client_credentials", redirect_uri="https://x")
    assert wrong_client.status_code == 401 and wrong_client.json()["error"] == "invalid_client"
    assert wrong_refresh.status_code == 400 and wrong_refresh.json()["error"] == "invalid_grant"
    assert wrong_grant.status_code == 400 and wrong_grant.json()["error"] == "unsupported_grant_type"
    alm_sim.admin("POST", "tokens/revoke")
    assert oauth(alm_sim, "token/refresh", refresh_token=ALM_REFRESH_TOKEN).status_code == 400


def test_token_check_never_echoes_the_token(alm_sim: AlmSim) -> None:
    token = alm_sim.token()
    check = alm_sim.session.get(
        f"{alm_sim.url}/oauth/token/check", params={"access_token": token}, timeout=10
    )
    assert check.status_code == 200 and token not in check.text
    assert check.json()["client_id"] == alm_sim.client_id and check.json()["expires_in"] > 604000
    alm_sim.admin("POST", "tokens/expire")
    again = alm_sim.session.get(
        f"{alm_sim.url}/oauth/token/check", params={"access_token": token}, timeout=10
    )
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"


def test_authorization_scheme_is_oauth_when_strict(alm_sim: AlmSim) -> None:
    token = alm_sim.token()
    assert alm_sim.api("GET", "/badges", token=token, scheme="Bearer").status_code == 401
    missing = alm_sim.session.get(f"{alm_sim.url}{API}/badges", headers={"Accept": JSON_API}, timeout=10)
    assert missing.status_code == 401
    assert missing.json() == {
        "source": {"info": "Invalid or missing access token"},
        "status": "UNAUTHORIZED",
        "title": "UNAUTHORIZED",
    }
    alm_sim.set_strict(False)
    assert alm_sim.api("GET", "/badges", token=token, scheme="Bearer").status_code == 200


# --- Accept, errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["application/json", "*/*", None])
def test_wrong_accept_is_406_when_strict(alm_sim: AlmSim, accept: str | None) -> None:
    token = alm_sim.token()
    refused = alm_sim.api("GET", "/badges", token=token, accept=accept)
    assert refused.status_code == 406 and refused.json()["status"] == "NOT_ACCEPTABLE"
    assert alm_sim.api("GET", "/badges", token=token).headers["content-type"].startswith(JSON_API)
    alm_sim.set_strict(False)
    assert alm_sim.api("GET", "/badges", token=token, accept=accept).status_code == 200
    assert alm_sim.api("GET", "/badges", token=token, accept="text/html").status_code == 406


def test_documented_error_codes(alm_sim: AlmSim) -> None:
    alm_sim.seed(learners=2, courses=1, completions=0)
    token = alm_sim.token()
    missing = alm_sim.api("GET", "/users/999", token=token)
    bad_type = alm_sim.api("GET", "/learningObjects", token=token, params={"filter.loTypes": "webinar"})
    bad_cursor = alm_sim.api("GET", "/users", token=token, params={"page[cursor]": "abc"})
    assert missing.status_code == 404 and missing.json()["source"]["info"] == "User 999 not found"
    assert bad_type.status_code == 400 and "webinar" in bad_type.json()["source"]["info"]
    assert bad_cursor.status_code == 400
    alm_sim.set_faults(FaultRule("status", status=500, method="GET", path="/badges$", times=1))
    failed = alm_sim.api("GET", "/badges", token=token)
    assert failed.status_code == 500 and failed.json()["status"] == "INTERNAL_SERVER_ERROR"


# --- paging ---------------------------------------------------------------------------------------


def test_cursor_paging_strict_default_size_and_links(alm_sim: AlmSim) -> None:
    world = alm_sim.seed(learners=25, courses=1, completions=0)
    token = alm_sim.token()
    items, links = walk(alm_sim, "/users", token)
    assert len(links) == 2, "10 a page when page[limit] is absent (strict)"
    assert [u["id"] for u in items] == sorted(world.users, key=int, reverse=True)  # newest first
    first = urlsplit(links[0])
    assert f"{first.scheme}://{first.netloc}" == alm_sim.url and first.path == f"{API}/users"
    assert dict(parse_qsl(first.query)) == {"page[limit]": "10", "page[cursor]": "10"}
    user = items[0]
    assert user["type"] == "user" and set(user["attributes"]) >= {"email", "name", "state"}


def test_strict_next_link_drops_the_query_helpful_keeps_it(alm_sim: AlmSim) -> None:
    alm_sim.seed(learners=3, courses=6, learning_programs=0, certifications=0, completions=0)
    token = alm_sim.token()
    params = {"filter.loTypes": "course", "page[limit]": 2}
    strict_next = alm_sim.api("GET", "/learningObjects", token=token, params=params).json()["links"]["next"]
    assert dict(parse_qsl(urlsplit(strict_next).query)) == {"page[limit]": "2", "page[cursor]": "2"}
    alm_sim.set_strict(False)
    helpful = alm_sim.api("GET", "/learningObjects", token=token, params=params).json()
    assert dict(parse_qsl(urlsplit(helpful["links"]["next"]).query)) == {
        "filter.loTypes": "course",
        "page[limit]": "2",
        "page[cursor]": "2",
    }
    items, _ = walk(alm_sim, "/learningObjects", token, **{"filter.loTypes": "course"})
    assert len(items) == 6, "helpful default: up to 100 a page"


def test_page_limits_and_the_public_url_in_links(alm_sim: AlmSim) -> None:
    alm_sim.seed(learners=12, courses=2, completions=5)
    token = alm_sim.token()
    assert alm_sim.api("GET", "/users", token=token, params={"page[limit]": 100}).status_code == 200
    assert alm_sim.api("GET", "/users", token=token, params={"page[limit]": 101}).status_code == 400
    user_id = next(iter(alm_sim.world.users))
    path = f"/users/{user_id}/userBadges"
    assert (
        alm_sim.api("GET", path, token=token, params={"include": "badge", "page[limit]": 11}).status_code
        == 400
    )
    assert (
        alm_sim.api("GET", path, token=token, params={"include": "badge", "page[limit]": 10}).status_code
        == 200
    )
    offset = data(alm_sim.api("GET", "/users", token=token, params={"page[offset]": 10}))
    assert len(offset) == 2
    alm_sim.admin("PUT", "links", json={"public_url": "https://learningmanager.adobe.com"})
    body = alm_sim.api("GET", "/users", token=token).json()
    assert body["links"]["next"].startswith("https://learningmanager.adobe.com/primeapi/v2/users?")


# --- learning objects, enrollments, badges ----------------------------------------------------------


def test_learning_objects_types_names_and_badges(alm_sim: AlmSim) -> None:
    world = alm_sim.seed(
        learners=2, courses=2, learning_programs=1, certifications=1, badges=3, completions=0
    )
    token = alm_sim.token()
    items, _ = walk(alm_sim, "/learningObjects", token)
    assert {lo["attributes"]["loType"] for lo in items} == {"course", "learningProgram", "certification"}
    courses, _ = walk(alm_sim, "/learningObjects", token, **{"filter.loTypes": "course,certification"})
    assert sorted(lo["id"] for lo in courses) == ["certification:104", "course:101", "course:102"]
    program = data(alm_sim.api("GET", "/learningObjects/learningProgram:103", token=token))
    assert program["attributes"]["localizedMetadata"][0]["name"] == "Path: Cloud 1"
    assert program["relationships"]["badge"]["data"] == {"id": "503", "type": "badge"}
    assert [s["id"] for s in program["relationships"]["subLOs"]["data"]] == ["course:101", "course:102"]
    assert (
        "badge"
        not in data(alm_sim.api("GET", "/learningObjects/certification:104", token=token))["relationships"]
    )
    assert world.learning_objects["course:101"].badge_id == "501"


def test_enrollments_per_user_and_admin_wide(alm_sim: AlmSim) -> None:
    world = alm_sim.seed(learners=6, courses=3, learning_programs=0, certifications=0, completions=8)
    token = alm_sim.token()
    user_id = next(user for user, _ in world.enrollments)
    mine, _ = walk(alm_sim, f"/users/{user_id}/enrollments", token, sort="dateEnrolled")
    expected = sorted(
        (e for e in world.enrollments.values() if e.user_id == user_id), key=lambda e: e.date_enrolled
    )
    assert [e["id"] for e in mine] == [e.id for e in expected]
    every, _ = walk(alm_sim, "/enrollments", token, **{"filter.states": "COMPLETED"})
    assert len(every) == len(world.enrollments) == 10, "strict: the unconfirmed state filter is ignored"
    assert alm_sim.ignored_filters() == {"filter.states": 1}
    started = [e for e in every if e["attributes"]["state"] != "COMPLETED"]
    assert started and all("dateCompleted" not in e["attributes"] for e in started)
    done = next(e for e in every if e["attributes"]["state"] == "COMPLETED")
    assert done["attributes"]["dateCompleted"].endswith("Z") and done["attributes"]["hasPassed"] is True
    assert set(done["relationships"]) >= {"learner", "learningObject", "loInstance"}

    alm_sim.set_strict(False)
    since = sorted(e.date_completed for e in world.enrollments.values() if e.date_completed)[4]
    helpful, _ = walk(
        alm_sim, "/enrollments", token, **{"filter.states": "COMPLETED", "filter.dateCompletedFrom": since}
    )
    assert len(helpful) == 4 and all(e["attributes"]["dateCompleted"] >= since for e in helpful)
    assert all(
        e["attributes"]["dateCompleted"] is None
        for e in walk(alm_sim, "/enrollments", token, **{"filter.states": "STARTED"})[0]
    )


def test_badges_states_and_external_fields(alm_sim: AlmSim) -> None:
    template = "38348470-6f69-4e80-8bd3-d8af504959c3"
    alm_sim.seed(learners=1, courses=3, badges=3, retired_badges=1, completions=0, template_ids=[template])
    token = alm_sim.token()
    badges, _ = walk(alm_sim, "/badges", token)
    assert {b["attributes"]["state"] for b in badges} == {"Active", "Retired"}
    first = data(alm_sim.api("GET", "/badges/501", token=token))
    assert set(first["attributes"]) == {"imageUrl", "name", "state"}, "strict: no external fields"
    alm_sim.set_strict(False)
    first = data(alm_sim.api("GET", "/badges/501", token=token))
    assert first["attributes"]["externalBadgeId"] == template
    assert first["attributes"]["externalBadgeProvider"] == "Credly"


def test_completion_achieves_the_objects_badge(alm_sim: AlmSim) -> None:
    alm_sim.seed(
        learners=3,
        courses=2,
        learning_programs=0,
        certifications=0,
        badges=2,
        retired_badges=1,
        completions=0,
    )
    token = alm_sim.token()
    rows = [
        {"user_id": "10001", "lo_id": "course:101", "date_completed": "2026-05-01T09:00:00Z"},
        {"user_id": "10002", "lo_id": "course:102"},  # its badge is retired: still achieved (strict)
    ]
    done = alm_sim.admin("POST", "enrollments/complete", json={"completions": rows}).json()
    assert done == {"completed": 2, "user_badges": ["10001_501_LO_101_1", "10002_502_LO_102_1"]}
    badges = alm_sim.api(
        "GET", "/users/10001/userBadges", token=token, params={"include": "badge,model"}
    ).json()
    assert [b["id"] for b in badges["data"]] == ["10001_501_LO_101_1"]
    badge = badges["data"][0]
    assert badge["attributes"]["dateAchieved"] == "2026-05-01T09:00:00.000Z"
    assert badge["attributes"]["modelType"] == "learningObject"
    assert badge["relationships"]["model"]["data"] == {"id": "course:101", "type": "learningObject"}
    assert {(r["type"], r["id"]) for r in badges["included"]} == {
        ("badge", "501"),
        ("learningObject", "course:101"),
    }
    one = data(alm_sim.api("GET", "/users/10001/userBadges/10001_501_LO_101_1", token=token))
    assert one["attributes"]["assertionUrl"].endswith("10001_501_LO_101_1")
    enrollment = data(alm_sim.api("GET", "/users/10001/enrollments", token=token))[0]
    assert enrollment["relationships"]["learnerBadge"]["data"]["id"] == "10001_501_LO_101_1"
    assert alm_sim.api("GET", "/users/10002/userBadges/10001_501_LO_101_1", token=token).status_code == 404

    alm_sim.set_strict(False)
    again = alm_sim.admin("POST", "enrollments/complete", json={"user_id": "10003", "lo_id": "course:102"})
    assert again.json()["user_badges"] == [], "helpful: a retired badge is not achieved"


def test_badge_csv_migration_creates_badges_with_new_ids(alm_sim: AlmSim) -> None:
    text = (
        "id,badgeName,badgeCreationDate,lastModifiedDate,state,imageUrl,externalBadgeId,externalBadgeProvider\n"
        "t-1,Cloud Basics,2026-01-01T00:00:00.000Z,,Active,https://x/a.png,38348470-6f69-4e80-8bd3-d8af504959c3,Credly\n"
    )
    answer = alm_sim.admin(
        "POST", "migration/badges", data=text.encode(), headers={"content-type": "text/csv"}
    )
    created = answer.json()["badges"]
    badge = alm_sim.world.badges[created["t-1"]]
    assert (
        created["t-1"] != "t-1" and badge.name == "Cloud Basics" and badge.external_badge_provider == "Credly"
    )


# --- rate limits ------------------------------------------------------------------------------------


def test_rate_limit_headers_and_429_with_fractional_retry_after(alm_sim: AlmSim) -> None:
    token = alm_sim.token()
    normal = alm_sim.api("GET", "/badges", token=token)
    assert normal.headers["x-rate-limit"] == "100r/m" and normal.headers["x-burst"] == "100"
    alm_sim.admin("PUT", "rate_limits", json={"enabled": True, "limits": {"GET": [6, 2]}})
    answers = [alm_sim.api("GET", "/badges", token=token) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    limited = answers[2]
    assert limited.json() == {"message": "429 Too many requests"}
    wait = float(limited.headers["retry-after"])
    assert 0 < wait <= 10 and "." in limited.headers["retry-after"]
    assert limited.headers["x-rate-limit"] == "6r/m"


def test_fault_429_uses_the_documented_body(alm_sim: AlmSim) -> None:
    token = alm_sim.token()
    alm_sim.set_faults(
        FaultRule("status", status=429, retry_after=10.752, method="GET", path="/badges$", times=1)
    )
    limited = alm_sim.api("GET", "/badges", token=token)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "10.752"
    assert limited.json() == {"message": "429 Too many requests"}


# --- webhooks ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(_receiver: WebhookReceiver, alm_sim: AlmSim) -> WebhookReceiver:
    _receiver.clear()
    alm_sim.seed(learners=3, courses=2, learning_programs=1, certifications=1, badges=4, completions=0)
    alm_sim.admin("PUT", "webhook", json={"url": _receiver.url, "retry_base": 0.01, "retry_factor": 1})
    return _receiver


def test_admin_completions_fire_batch_events_in_one_request(
    alm_sim: AlmSim, receiver: WebhookReceiver
) -> None:
    rows = [
        {"user_id": "10001", "lo_id": "course:101", "date_completed": "2026-05-01T09:00:00Z"},
        {"user_id": "10002", "lo_id": "course:102"},
        {"user_id": "10001", "lo_id": "learningProgram:103"},
        {"user_id": "10003", "lo_id": "certification:104"},
    ]
    alm_sim.admin("POST", "enrollments/complete", json={"completions": rows, "by": "admin"})
    assert alm_sim.simulator.webhooks.wait_idle(10)
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["accountId"] == 1234
    assert [e["eventName"] for e in body["events"]] == [
        "COURSE_COMPLETED_BATCH",
        "COURSE_COMPLETED_BATCH",
        "LEARNING_PATH_COMPLETED_BATCH",
        "CERTIFICATION_COMPLETED_BATCH",
    ]
    first = body["events"][0]
    assert isinstance(first["timestamp"], int), "strict: epoch milliseconds"
    assert first["data"] == {
        "userId": 10001,
        "loId": "course:101",
        "loInstanceId": "course:101_1",
        "loType": "course",
        "enrollmentSource": "ADMIN_ENROLL",
        "dateCompleted": 1777626000000,
        "hasPassed": True,
    }
    assert len({e["eventId"] for e in body["events"]}) == 4
    assert "hasPassed" not in body["events"][3]["data"], "the certification samples carry none"
    assert first["eventInfo"].startswith(f"{first['timestamp']}-")


def test_learner_actions_fire_plain_events_with_iso_times_when_helpful(
    alm_sim: AlmSim, receiver: WebhookReceiver
) -> None:
    alm_sim.set_strict(False)
    alm_sim.admin("POST", "enrollments", json={"user_id": "10002", "lo_id": "learningProgram:103"})
    alm_sim.admin("POST", "enrollments/complete", json={"user_id": "10002", "lo_id": "learningProgram:103"})
    assert alm_sim.simulator.webhooks.wait_idle(10)
    names = [[e["eventName"] for e in b["events"]] for b in receiver.bodies]
    assert names == [["LEARNING_PATH_ENROLLMENT"], ["LEARNING_PATH_COMPLETED"]]
    completed = receiver.bodies[1]["events"][0]
    assert completed["timestamp"].endswith("Z") and completed["data"]["dateCompleted"].endswith("Z")
    assert completed["data"]["enrollmentSource"] == "SELF_ENROLL"


def test_webhook_retries_until_200(alm_sim: AlmSim, receiver: WebhookReceiver) -> None:
    receiver.statuses.extend([500, 503])
    alm_sim.admin("POST", "enrollments/complete", json={"user_id": "10001", "lo_id": "course:101"})
    assert alm_sim.simulator.webhooks.wait_idle(10)
    deliveries = alm_sim.admin("GET", "webhook/deliveries").json()
    assert [(d["attempt"], d["status"], d["delivered"]) for d in deliveries] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert deliveries[0]["event"] == "COURSE_COMPLETED"
    assert len({b["events"][0]["eventId"] for b in receiver.bodies}) == 1, "a retry resends the same event"


def test_only_the_webhooks_trigger_events_are_sent(alm_sim: AlmSim, receiver: WebhookReceiver) -> None:
    alm_sim.admin("PUT", "webhook", json={"events": ["COURSE_COMPLETED", "COURSE_COMPLETED_BATCH"]})
    alm_sim.admin("POST", "enrollments", json={"user_id": "10001", "lo_id": "course:101"})
    rows = [{"user_id": "10001", "lo_id": "course:101"}, {"user_id": "10001", "lo_id": "certification:104"}]
    alm_sim.admin("POST", "enrollments/complete", json={"completions": rows})
    assert alm_sim.simulator.webhooks.wait_idle(10)
    assert [[e["eventName"] for e in b["events"]] for b in receiver.bodies] == [["COURSE_COMPLETED"]]


def test_one_envelope_at_a_time_a_retried_one_holds_back_the_next(
    alm_sim: AlmSim, receiver: WebhookReceiver
) -> None:
    receiver.statuses.extend([500, 500])
    alm_sim.admin("PUT", "webhook", json={"retry_base": 0.2})  # the second is queued before a retry
    for user in ("10001", "10002"):
        alm_sim.admin("POST", "enrollments/complete", json={"user_id": user, "lo_id": "course:101"})
    assert alm_sim.simulator.webhooks.wait_idle(10)
    users = [b["events"][0]["data"]["userId"] for b in receiver.bodies]
    assert users == [10001, 10001, 10001, 10002]


def test_202_acknowledges_and_duplicates_resend_the_whole_envelope(
    alm_sim: AlmSim, receiver: WebhookReceiver
) -> None:
    receiver.statuses.append(202)
    alm_sim.admin("PUT", "webhook", json={"duplicate_rate": 1.0, "max_attempts": 2})
    rows = [{"user_id": "10001", "lo_id": "course:101"}, {"user_id": "10002", "lo_id": "course:102"}]
    alm_sim.admin("POST", "enrollments/complete", json={"completions": rows, "by": "admin"})
    assert alm_sim.simulator.webhooks.wait_idle(10)
    deliveries = alm_sim.admin("GET", "webhook/deliveries").json()
    attempts = [(d["attempt"], d["status"], d["delivered"]) for d in deliveries]
    assert attempts == [(1, 202, True), (2, 200, True)]
    assert receiver.bodies[0] == receiver.bodies[1] and len(receiver.bodies[0]["events"]) == 2


def test_a_webhook_never_acknowledged_is_disabled_after_its_last_retry(
    alm_sim: AlmSim, receiver: WebhookReceiver
) -> None:
    receiver.statuses.extend([503] * 3)
    alm_sim.admin("PUT", "webhook", json={"max_attempts": 3})
    for user in ("10001", "10002"):
        alm_sim.admin("POST", "enrollments/complete", json={"user_id": user, "lo_id": "course:101"})
    assert alm_sim.simulator.webhooks.wait_idle(10)
    assert alm_sim.admin("GET", "webhook").json()["active"] is False
    alm_sim.admin("POST", "enrollments/complete", json={"user_id": "10003", "lo_id": "course:101"})
    assert alm_sim.simulator.webhooks.wait_idle(10)
    assert [b["events"][0]["data"]["userId"] for b in receiver.bodies] == [10001] * 3, "the rest is lost"


def test_documented_webhook_delivery_rules() -> None:
    config = WebhookConfig()
    assert [config.delay_after(n) for n in range(1, 8)] == [5, 10, 20, 40, 80, 160, 300]
    assert config.delay_after(100) == 300
    assert (config.connect_timeout, config.timeout, config.accepted) == (10, 5, (200, 202))
    assert sum(config.delay_after(n) for n in range(1, config.max_attempts)) >= 7 * 24 * 3600 - 300
    assert config.ordered and config.disable_on_give_up


# --- world, admin, command line -------------------------------------------------------------------


def test_seeded_worlds_repeat_and_snapshots_round_trip(alm_sim: AlmSim) -> None:
    first = generate_world(3, learners=30, courses=4, completions=40)
    assert first.to_json() == generate_world(3, learners=30, courses=4, completions=40).to_json()
    assert first.to_json() != generate_world(4, learners=30, courses=4, completions=40).to_json()
    counts = alm_sim.admin(
        "POST", "seed", json={"seed": 3, "learners": 30, "courses": 4, "completions": 40}
    ).json()
    assert counts["enrollments"] == 50 and counts["users"] == 30
    snapshot = alm_sim.admin("GET", "snapshot").json()
    alm_sim.admin("POST", "reset")
    assert alm_sim.world.counts()["users"] == 0
    assert alm_sim.admin("PUT", "snapshot", json=snapshot).json() == counts
    assert alm_sim.state.snapshot() == first.to_json()
    assert alm_sim.admin("PUT", "snapshot", json={"users": 1}).status_code == 400


def test_command_line_builds_a_seeded_strict_or_helpful_server() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    base = ["--client-id", "c", "--client-secret", "s", "--refresh-token", "r", "--learners", "4"]
    for flags, strict in (([], True), (["--helpful"], False)):
        app = build_app(parser.parse_args([*base, *flags]))
        with ThreadedServer(app) as server:
            assert requests.get(f"{server.url}/_admin/strict", timeout=5).json() == {"strict": strict}
            form = {"client_id": "c", "client_secret": "s", "refresh_token": "r"}
            token = requests.post(f"{server.url}/oauth/token/refresh", data=form, timeout=5).json()[
                "access_token"
            ]
            headers = {"Authorization": f"oauth {token}", "Accept": JSON_API}
            users = requests.get(f"{server.url}{API}/users", headers=headers, timeout=5).json()["data"]
            assert len(users) == 4
