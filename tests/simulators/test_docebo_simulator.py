"""The Docebo simulator over loopback HTTP: OAuth, paging, filters, writes, webhooks, snapshots."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from include.simulators.common.server import ThreadedServer
from include.simulators.docebo.__main__ import add_arguments, build_app
from include.simulators.docebo.generator import generate_world
from include.simulators.docebo.records import User
from tests.fixtures.docebo import DoceboSim
from tests.fixtures.simulator import WebhookReceiver

AWARDS = "/learn/v1/certification/awards"
EXTERNAL = "/learn/v1/external_training"
FIELDS = "/learn/v1/courses/field"


def oauth(sim: DoceboSim, **form: str) -> Any:
    body = {"client_id": sim.client_id, "client_secret": sim.client_secret, "scope": "api", **form}
    return sim.session.post(f"{sim.url}/oauth2/token", data=body, timeout=10)


def items(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return response.json()["data"]["items"]


# --- OAuth ----------------------------------------------------------------------------------------


def test_client_credentials_grant_gives_a_bearer_token_that_reads(docebo_sim: DoceboSim) -> None:
    response = oauth(docebo_sim, grant_type="client_credentials")
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer" and body["scope"] == "api" and body["expires_in"] == 3600
    assert body["access_token"] and body["refresh_token"]
    reply = docebo_sim.api("GET", "/learn/v1/courses", token=body["access_token"])
    assert reply.status_code == 200
    assert reply.headers["x-docebo-api-version"] == "1.0.0"


def test_password_grant_checks_the_superadmin(docebo_sim: DoceboSim) -> None:
    good = oauth(docebo_sim, grant_type="password", username="superadmin", password="superadmin-password")
    bad = oauth(docebo_sim, grant_type="password", username="superadmin", password="nope")
    assert good.status_code == 200
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_bad_client_and_grant_use_the_oauth_error_shape(docebo_sim: DoceboSim) -> None:
    wrong = oauth(docebo_sim, grant_type="client_credentials", client_secret="wrong")
    unsupported = oauth(docebo_sim, grant_type="implicit")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"


def test_refresh_token_is_single_use(docebo_sim: DoceboSim) -> None:
    refresh = oauth(docebo_sim, grant_type="client_credentials").json()["refresh_token"]
    first = oauth(docebo_sim, grant_type="refresh_token", refresh_token=refresh)
    again = oauth(docebo_sim, grant_type="refresh_token", refresh_token=refresh)
    assert first.status_code == 200 and first.json()["access_token"]
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_expired_unknown_and_missing_tokens_get_401(docebo_sim: DoceboSim) -> None:
    token = docebo_sim.token()
    assert docebo_sim.admin("POST", "tokens/expire").status_code == 204
    expired = docebo_sim.api("GET", "/learn/v1/courses", token=token)
    unknown = docebo_sim.api("GET", "/learn/v1/courses", token="not-a-token")
    missing = docebo_sim.session.get(f"{docebo_sim.url}/learn/v1/courses", timeout=10)
    assert [r.status_code for r in (expired, unknown, missing)] == [401, 401, 401]
    assert expired.json() == {
        "name": "Unauthorized",
        "message": "The access token provided has expired",
        "code": 0,
        "status": 401,
    }


def test_short_token_lifetime_is_reported_in_expires_in(docebo_sim: DoceboSim) -> None:
    assert docebo_sim.admin("PUT", "tokens", json={"lifetime": 5}).json() == {"lifetime": 5}
    assert oauth(docebo_sim, grant_type="client_credentials").json()["expires_in"] == 5


# --- paging and filters ------------------------------------------------------------------------------


def test_paging_envelope_and_has_more_data(docebo_sim: DoceboSim) -> None:
    docebo_sim.seed(learners=7, courses=1, completions=0)
    token = docebo_sim.token()
    pages = [
        docebo_sim.api("GET", "/manage/v1/user", token=token, params={"page": n, "page_size": 3}).json()[
            "data"
        ]
        for n in (1, 2, 3, 4)
    ]
    assert [p["has_more_data"] for p in pages] == [True, True, False, False]
    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert {p["count"] for p in pages} == {7} and {p["total_page_count"] for p in pages} == {3}
    assert pages[1]["current_page"] == 2 and pages[1]["current_page_size"] == 3 and pages[1]["cursor"]
    assert pages[0]["items"][0]["email"] == learner(0).email


def test_default_page_size_is_200(docebo_sim: DoceboSim) -> None:
    docebo_sim.seed(learners=201, courses=1, completions=0)
    data = docebo_sim.api("GET", "/manage/v1/user").json()["data"]
    assert len(data["items"]) == 200 and data["has_more_data"] and data["total_page_count"] == 2


def test_bad_paging_names_the_parameter(docebo_sim: DoceboSim) -> None:
    response = docebo_sim.api("GET", "/learn/v1/courses", params={"page_size": 0})
    assert response.status_code == 400 and response.json()["field"] == "page_size"


def test_user_by_email_and_by_id(docebo_sim: DoceboSim) -> None:
    docebo_sim.seed(learners=30, courses=1, completions=0)
    person = learner(12)
    found = items(docebo_sim.api("GET", "/manage/v1/user", params={"search_text": person.email}))
    assert [u["user_id"] for u in found] == [person.user_id]
    one = docebo_sim.api("GET", f"/manage/v1/user/{person.user_id}").json()["data"]["user_data"]
    assert (one["email"], one["first_name"], one["last_name"]) == (
        person.email,
        person.first_name,
        person.last_name,
    )
    assert docebo_sim.api("GET", "/manage/v1/user/1").status_code == 404


def test_confirmed_enrollment_filters(docebo_sim: DoceboSim) -> None:
    world = docebo_sim.seed(learners=20, courses=4, learning_plans=1, completions=40)
    token = docebo_sim.token()

    def listed(**params: Any) -> list[dict[str, Any]]:
        return items(
            docebo_sim.api("GET", "/learn/v1/enrollments", token=token, params={"page_size": 1000, **params})
        )

    completed = [e for e in world.enrollments.values() if e.status == "completed"]
    assert len(listed(**{"status[]": "completed"})) == len(completed) == 40
    user = completed[0].user_id
    mine = listed(**{"id_user[]": user})
    assert mine and all(e["user_id"] == user for e in mine)
    two_courses = listed(**{"id_course[]": [101, 102]})
    assert {e["id"] for e in two_courses} <= {101, 102}
    plan = next(iter(world.learning_plans.values()))
    in_plan = listed(**{"id_learning_plan[]": plan.learning_plan_id})
    assert {e["id"] for e in in_plan} == {e.course_id for e in world.enrollments.values()} & set(
        plan.course_ids
    )
    assert len(listed(**{"type[]": "elearning"})) == len(world.enrollments)
    assert listed(**{"type[]": "classroom"}) == []
    assert docebo_sim.ignored_filters() == {}


def test_strict_ignores_and_counts_completion_date_filters(docebo_sim: DoceboSim) -> None:
    docebo_sim.seed(learners=20, courses=4, learning_plans=2, completions=40)
    token = docebo_sim.token()
    for path in ("/learn/v1/enrollments", "/learningplan/v1/learningplans/enrollments"):
        everything = docebo_sim.api("GET", path, token=token).json()
        window = {"completed_from": "2999-01-01", "completed_to": "yesterday"}  # not even validated
        ignored = docebo_sim.api("GET", path, token=token, params=window)
        assert ignored.status_code == 200
        assert ignored.json()["data"]["items"] == everything["data"]["items"] != []
    assert docebo_sim.ignored_filters() == {"completed_from": 2, "completed_to": 2}
    assert docebo_sim.admin("GET", "ignored_filters").json() == {"completed_from": 2, "completed_to": 2}


def test_helpful_applies_completion_date_filters(docebo_sim: DoceboSim) -> None:
    docebo_sim.set_strict(False)
    world = docebo_sim.seed(learners=20, courses=4, completions=40)
    token = docebo_sim.token()

    def listed(**params: Any) -> list[dict[str, Any]]:
        return items(
            docebo_sim.api("GET", "/learn/v1/enrollments", token=token, params={"page_size": 1000, **params})
        )

    dates = sorted(e.completed_at for e in world.enrollments.values() if e.completed_at)
    low, high = dates[5], dates[20]
    ranged = listed(completed_from=low, completed_to=high)
    assert len(ranged) == 16 and all(low <= e["course_complete_date"] <= high for e in ranged)
    by_day = listed(completed_from=dates[0][:10], completed_to=dates[-1][:10])
    assert len(by_day) == 40
    bad = docebo_sim.api("GET", "/learn/v1/enrollments", token=token, params={"completed_from": "yesterday"})
    assert bad.status_code == 400 and bad.json()["field"] == "completed_from"
    assert docebo_sim.ignored_filters() == {}


def test_learning_plans_their_courses_and_enrollments(docebo_sim: DoceboSim) -> None:
    world = docebo_sim.seed(learners=30, courses=4, learning_plans=2, completions=100)
    token = docebo_sim.token()
    plans = items(docebo_sim.api("GET", "/learningplan/v1/learningplans", token=token))
    assert [p["learning_plan_id"] for p in plans] == list(world.learning_plans)
    plan = world.learning_plans[plans[0]["learning_plan_id"]]
    detail = docebo_sim.api("GET", f"/learn/v1/lp/{plan.learning_plan_id}", token=token).json()["data"]
    assert [c["id_course"] for c in detail["courses"]] == plan.course_ids
    params = {
        "learning_plan_id[]": plan.learning_plan_id,
        "extra_fields[]": ["enrollment_status", "enrollment_completion_date"],
        "page_size": 1000,
    }
    path = "/learningplan/v1/learningplans/enrollments"
    rows = items(docebo_sim.api("GET", path, token=token, params=params))
    expected = [r for r in world.lp_enrollments.values() if r.learning_plan_id == plan.learning_plan_id]
    assert len(rows) == len(expected) > 0
    statuses = {r["enrollment_status"] for r in rows}
    assert "completed" in statuses and len(statuses) > 1
    mine = items(docebo_sim.api("GET", path, token=token, params={"user_id[]": expected[0].user_id}))
    assert {r["user_id"] for r in mine} == {expected[0].user_id}
    plain = items(docebo_sim.api("GET", path, token=token))
    assert "enrollment_status" not in plain[0]

    # status[] is unconfirmed here: strict ignores it, helpful applies it.
    completed = {**params, "status[]": "completed"}
    assert items(docebo_sim.api("GET", path, token=token, params=completed)) == rows
    assert docebo_sim.ignored_filters() == {"status[]": 1}
    docebo_sim.set_strict(False)
    only = items(docebo_sim.api("GET", path, token=token, params=completed))
    assert len(only) == sum(r.status == "completed" for r in expected) > 0
    assert {r["enrollment_status"] for r in only} == {"completed"}


def test_empty_dates_are_zero_dates_when_strict(docebo_sim: DoceboSim) -> None:
    world = docebo_sim.seed(learners=10, courses=2, learning_plans=1, certifications=1, completions=5)
    token = docebo_sim.token()
    unfinished = next(e for e in world.enrollments.values() if e.completed_at is None)
    plan_row = next(r for r in world.lp_enrollments.values() if r.completed_at is None)
    cert = next(iter(world.certifications))
    award = {"id_cert": cert, "user_id": 10001, "issued_on": "2026-03-01"}  # always valid
    training = {"user_id": 10002, "title": "Cloud", "provider": "Credly", "date_from": "2026-02-01"}

    def answers() -> tuple[Any, ...]:
        enrollment = docebo_sim.api(
            "GET", f"/learn/v1/enrollments/{unfinished.course_id}/{unfinished.user_id}", token=token
        ).json()["data"]
        lp = items(
            docebo_sim.api(
                "GET",
                "/learningplan/v1/learningplans/enrollments",
                token=token,
                params={"user_id[]": plan_row.user_id, "extra_fields[]": "enrollment_completion_date"},
            )
        )
        awarded = items(docebo_sim.api("GET", AWARDS, token=token, params={"user_id[]": 10001}))
        external = items(docebo_sim.api("GET", EXTERNAL, token=token))
        return (
            enrollment["course_complete_date"],
            enrollment["enroll_begin_date"],
            enrollment["enroll_end_date"],
            lp[0]["enrollment_completion_date"],
            awarded[0]["expires_on"],
            external[0]["expiration_date"],
        )

    created = docebo_sim.api("POST", AWARDS, token=token, json=award).json()["data"]
    assert created["expires_on"] == "0000-00-00"
    docebo_sim.api("POST", EXTERNAL, token=token, json=training)
    assert answers() == ("0000-00-00 00:00:00",) * 4 + ("0000-00-00",) * 2
    assert world.awards[created["award_id"]].expires_on is None  # stored as empty, not as a date

    docebo_sim.set_strict(False)
    assert answers() == (None,) * 6


def test_external_training_user_filter_is_ignored_when_strict(small_world: DoceboSim) -> None:
    sim, token = small_world, small_world.token()
    for user_id in (10001, 10002):
        body = {"user_id": user_id, "title": "Cloud", "provider": "Credly", "date_from": "2026-02-01"}
        sim.api("POST", EXTERNAL, token=token, json=body)
    strict = items(sim.api("GET", EXTERNAL, token=token, params={"user_id[]": 10002}))
    assert {t["user_id"] for t in strict} == {10001, 10002}
    assert sim.ignored_filters() == {"user_id[]": 1}
    sim.set_strict(False)
    helpful = items(sim.api("GET", EXTERNAL, token=token, params={"user_id[]": 10002}))
    assert {t["user_id"] for t in helpful} == {10002}


def test_search_text_is_fuzzy_when_strict(docebo_sim: DoceboSim) -> None:
    world = docebo_sim.seed(learners=0, courses=1, completions=0)
    for user_id, email, username, first, last in (
        (1, "ann@x.com", "ann", "Ann", "Lee"),
        (2, "joann@x.com", "joann", "Jo", "Ann"),
        (3, "bob@y.com", "bob.annals", "Bob", "Smith"),
        (4, "eve@z.com", "eve", "Eve", "Jones"),
    ):
        world.users[user_id] = User(user_id, username, email, first, last)

    def found(text: str) -> list[int]:
        return [
            u["user_id"]
            for u in items(docebo_sim.api("GET", "/manage/v1/user", params={"search_text": text}))
        ]

    assert found("ANN@x.com") == [1, 2]
    assert found("ann") == [1, 2, 3]  # e-mail, last name, username
    assert found("jo ann") == [2]  # the full name
    docebo_sim.set_strict(False)
    assert found("ANN@x.com") == [1]
    assert found("ann") == [1]  # username


def test_unknown_query_parameters_are_ignored_and_counted(docebo_sim: DoceboSim) -> None:
    docebo_sim.seed(learners=3, courses=1, completions=0)
    docebo_sim.set_strict(False)  # counted in both modes
    token = docebo_sim.token()
    plain = docebo_sim.api("GET", "/manage/v1/user", token=token).json()
    odd = docebo_sim.api(
        "GET", "/manage/v1/user", token=token, params={"updated_from": "2026-01-01", "page": 1}
    )
    assert odd.json()["data"]["items"] == plain["data"]["items"]
    assert docebo_sim.ignored_filters() == {"updated_from": 1}


def test_strict_switch_over_admin_and_command_line(docebo_sim: DoceboSim) -> None:
    assert docebo_sim.admin("GET", "strict").json() == {"strict": True}
    assert docebo_sim.admin("PUT", "strict", json={"strict": False}).json() == {"strict": False}
    assert docebo_sim.state.mode.strict is False

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for flags, strict in (([], True), (["--helpful"], False)):
        app = build_app(parser.parse_args(["--client-id", "c", "--client-secret", "s", *flags]))
        with ThreadedServer(app) as server:
            assert requests.get(f"{server.url}/_admin/strict", timeout=5).json() == {"strict": strict}


def test_certification_catalogue_and_award_filters(docebo_sim: DoceboSim) -> None:
    world = docebo_sim.seed(learners=20, courses=2, certifications=3, completions=10, awards=15)
    token = docebo_sim.token()
    catalogue = items(docebo_sim.api("GET", "/learn/v1/certification", token=token))
    assert [c["id_cert"] for c in catalogue] == list(world.certifications)
    award = next(iter(world.awards.values()))
    mine = items(
        docebo_sim.api(
            "GET", AWARDS, token=token, params={"user_id[]": award.user_id, "id_cert[]": award.id_cert}
        )
    )
    assert [a["award_id"] for a in mine] == [award.award_id]
    assert {"issued_on", "expires_on", "status"} <= set(mine[0])


# --- writes ---------------------------------------------------------------------------------------


@pytest.fixture
def small_world(docebo_sim: DoceboSim) -> DoceboSim:
    docebo_sim.seed(learners=5, courses=3, certifications=2, completions=5, awards=0)
    return docebo_sim


def test_award_update_and_revoke_a_certification(small_world: DoceboSim) -> None:
    sim, token = small_world, small_world.token()
    body = {
        "id_cert": 901,
        "user_id": 10001,
        "issued_on": "2026-03-01",
        "expires_on": "2027-03-01",
        "external_link": "https://example.com/b/1",
    }
    created = sim.api("POST", AWARDS, token=token, json=body)
    assert created.status_code == 201
    award = created.json()["data"]
    assert (award["status"], award["issued_on"], award["expires_on"]) == (
        "active",
        "2026-03-01",
        "2027-03-01",
    )
    duplicate = sim.api("POST", AWARDS, token=token, json=body)
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "id_cert"
    updated = sim.api("PUT", f"{AWARDS}/{award['award_id']}", token=token, json={"expires_on": "2028-03-01"})
    assert updated.json()["data"]["expires_on"] == "2028-03-01"
    revoked = sim.api("DELETE", f"{AWARDS}/{award['award_id']}", token=token)
    again = sim.api("DELETE", f"{AWARDS}/{award['award_id']}", token=token)
    assert revoked.json()["data"]["status"] == again.json()["data"]["status"] == "revoked"
    listed = items(sim.api("GET", AWARDS, token=token, params={"status[]": "revoked"}))
    assert [a["award_id"] for a in listed] == [award["award_id"]]
    assert sim.api("POST", AWARDS, token=token, json=body).status_code == 201  # awarded again after revoke


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"issued_on": "01/03/2026"}, "issued_on"),
        ({"id_cert": 1}, "id_cert"),
        ({"user_id": None}, "user_id"),
        ({"expires_on": "2020-01-01"}, "expires_on"),
    ],
)
def test_award_validation_names_the_field(small_world: DoceboSim, change: dict[str, Any], field: str) -> None:
    body = {"id_cert": 901, "user_id": 10001, "issued_on": "2026-03-01", **change}
    response = small_world.api("POST", AWARDS, json=body)
    assert response.status_code == 400 and response.json()["field"] == field
    assert field in response.json()["message"]


def test_unknown_award_is_404(small_world: DoceboSim) -> None:
    response = small_world.api("PUT", f"{AWARDS}/424242", json={"expires_on": "2028-01-01"})
    assert response.status_code == 404 and response.json()["status"] == 404


def test_external_training_create_update_delete(small_world: DoceboSim) -> None:
    sim, token = small_world, small_world.token()
    body = {
        "user_id": 10002,
        "title": "Cloud Basics",
        "provider": "Credly",
        "date_from": "2026-02-01",
        "expiration_date": "2027-02-01",
        "certificate_url": "https://www.credly.com/badges/abc",
    }
    created = sim.api("POST", EXTERNAL, token=token, json=body).json()["data"]
    training_id = created["external_training_id"]
    assert created["provider"] == "Credly" and created["certificate_url"].endswith("/abc")
    updated = sim.api(
        "PUT", f"{EXTERNAL}/{training_id}", token=token, json={"expiration_date": "2028-02-01"}
    ).json()["data"]
    assert updated["expiration_date"] == "2028-02-01" and updated["title"] == "Cloud Basics"
    listed = items(sim.api("GET", EXTERNAL, token=token, params={"user_id[]": 10002}))
    assert [t["external_training_id"] for t in listed] == [training_id]
    assert sim.api("DELETE", f"{EXTERNAL}/{training_id}", token=token).status_code == 204
    assert sim.api("DELETE", f"{EXTERNAL}/{training_id}", token=token).status_code == 404
    assert sim.world.external_training == {}


@pytest.mark.parametrize(
    ("drop", "field"), [("title", "title"), ("provider", "provider"), ("date_from", "date_from")]
)
def test_external_training_validation_names_the_field(small_world: DoceboSim, drop: str, field: str) -> None:
    body = {"user_id": 10002, "title": "Cloud", "provider": "Credly", "date_from": "2026-02-01"}
    del body[drop]
    response = small_world.api("POST", EXTERNAL, json=body)
    assert response.status_code == 400 and response.json()["field"] == field


def test_dropdown_field_options_and_course_values(small_world: DoceboSim) -> None:
    sim, token = small_world, small_world.token()
    field = sim.api(
        "POST", FIELDS, token=token, json={"type": "dropdown", "name": "Credly Badge Template"}
    ).json()["data"]
    first = sim.api("POST", f"{FIELDS}/{field['id']}/options", token=token, json={"label": "Archery"}).json()[
        "data"
    ]["id"]
    second = sim.api(
        "POST", f"{FIELDS}/{field['id']}/options", token=token, json={"label": "Fencing"}
    ).json()["data"]["id"]
    assert isinstance(first, int) and second != first
    for course_id in (101, 102):
        assert (
            sim.api(
                "PUT",
                f"/learn/v1/courses/{course_id}/field/{field['id']}",
                token=token,
                json={"value": first},
            ).status_code
            == 200
        )
    sim.api("PUT", f"/learn/v1/courses/103/field/{field['id']}", token=token, json={"value": second})
    renamed = sim.api("PUT", f"{FIELDS}/{field['id']}/options/{second}", token=token, json={"label": "Épée"})
    assert renamed.json()["data"]["label"] == "Épée"
    listed = items(sim.api("GET", FIELDS, token=token, params={"no_pagination": 1}))
    assert listed[0]["name"]["value"] == "Credly Badge Template"
    assert listed[0]["options"] == [{"id": first, "label": "Archery"}, {"id": second, "label": "Épée"}]
    enrollments_before = {k: (e.status, e.completed_at) for k, e in sim.world.enrollments.items()}
    removed = sim.api("DELETE", f"{FIELDS}/{field['id']}/options/{first}", token=token).json()["data"]
    assert removed["courses_reset"] == 2
    course = sim.api("GET", "/learn/v1/courses/101", token=token).json()["data"]
    assert course["additional_fields"] == [{"id": field["id"], "value": None}]
    assert sim.world.courses[103].field_values[field["id"]] == second
    assert {k: (e.status, e.completed_at) for k, e in sim.world.enrollments.items()} == enrollments_before
    assert sim.api("DELETE", f"/learn/v1/courses/103/field/{field['id']}", token=token).status_code == 200
    assert sim.world.courses[103].field_values[field["id"]] is None


def test_dropdown_validation_and_404s(small_world: DoceboSim) -> None:
    sim, token = small_world, small_world.token()
    field_id = sim.api("POST", FIELDS, token=token, json={"type": "dropdown", "name": "Badge"}).json()[
        "data"
    ]["id"]
    not_option = sim.api("PUT", f"/learn/v1/courses/101/field/{field_id}", token=token, json={"value": 999})
    assert not_option.status_code == 400 and not_option.json()["field"] == "value"
    empty_label = sim.api("POST", f"{FIELDS}/{field_id}/options", token=token, json={"label": " "})
    assert empty_label.status_code == 400 and empty_label.json()["field"] == "label"
    no_name = sim.api("POST", FIELDS, token=token, json={"type": "dropdown"})
    assert no_name.status_code == 400 and no_name.json()["field"] == "name"
    assert sim.api("DELETE", f"{FIELDS}/{field_id}/options/999", token=token).status_code == 404
    assert sim.api("POST", f"{FIELDS}/999/options", token=token, json={"label": "x"}).status_code == 404
    assert sim.api("GET", "/learn/v1/courses/9999", token=token).status_code == 404
    not_int = sim.api("GET", "/learn/v1/courses/abc", token=token)
    assert not_int.status_code == 400 and not_int.json()["field"] == "course_id"


def test_admin_completion_reset_and_learning_plan_completion(small_world: DoceboSim) -> None:
    sim = small_world
    done = sim.admin(
        "POST",
        "enrollments/complete",
        json={"user_id": 10005, "course_id": 103, "completed_at": "2026-04-01"},
    )
    assert done.json() == {"completed": 1}
    assert sim.world.enrollments[(10005, 103)].completed_at == "2026-04-01 00:00:00"
    reset = sim.admin("POST", "enrollments/reset", json={"user_id": 10005, "course_id": 103}).json()
    assert reset["status"] == "in_progress" and reset["course_complete_date"] == "0000-00-00 00:00:00"
    plan = sim.admin(
        "POST",
        "learning_plans/complete",
        json={"user_id": 10001, "learning_plan_id": 501, "completed_at": "2026-04-02 10:00:00"},
    ).json()
    assert (
        plan["enrollment_status"] == "completed"
        and plan["enrollment_completion_date"] == "2026-04-02 10:00:00"
    )
    unknown = sim.admin("POST", "enrollments/complete", json={"user_id": 1, "course_id": 103})
    assert unknown.status_code == 404


def test_faults_use_the_error_body_and_spare_admin(docebo_sim: DoceboSim) -> None:
    token = docebo_sim.token()
    docebo_sim.set_faults(FaultRule("status", status=429, retry_after=2, times=1))
    limited = docebo_sim.api("GET", "/learn/v1/courses", token=token)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert limited.json()["status"] == 429 and limited.json()["message"] == "Too Many Requests"
    docebo_sim.set_faults(FaultRule("status", status=503))
    assert docebo_sim.admin("GET", "calls").json()["GET /learn/v1/courses"] == 1
    assert docebo_sim.admin("POST", "reset").status_code == 200


# --- webhooks ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(_receiver: WebhookReceiver, small_world: DoceboSim) -> WebhookReceiver:
    _receiver.clear()
    small_world.admin("PUT", "webhook", json={"url": _receiver.url, "retry_base": 0.01, "retry_factor": 1})
    return _receiver


def _completions(sim: DoceboSim) -> None:
    rows = [
        {"user_id": 10001, "course_id": 103, "completed_at": "2026-05-01 09:00:00"},
        {"user_id": 10002, "course_id": 103},
    ]
    sim.admin("POST", "enrollments/complete", json={"completions": rows})
    assert sim.simulator.webhooks.wait_idle(10)


def test_webhook_single_payload_per_message(small_world: DoceboSim, receiver: WebhookReceiver) -> None:
    _completions(small_world)
    assert [b["event"] for b in receiver.bodies] == ["course.enrollment.completed"] * 2
    first = receiver.bodies[0]
    assert (
        first["payload"]["user_id"] == 10001 and first["payload"]["completion_date"] == "2026-05-01 09:00:00"
    )
    assert first["fired_by_batch_action"] is True and first["original_domain"] == "acme.docebosaas.com"
    assert "payloads" not in first and first["message_id"] != receiver.bodies[1]["message_id"]


def test_webhook_grouped_payloads(small_world: DoceboSim, receiver: WebhookReceiver) -> None:
    small_world.admin("PUT", "webhook", json={"grouped": True})
    _completions(small_world)
    assert len(receiver.bodies) == 1
    assert [p["user_id"] for p in receiver.bodies[0]["payloads"]] == [10001, 10002]
    assert "payload" not in receiver.bodies[0]


def test_webhook_groups_hold_at_most_25_payloads(small_world: DoceboSim, receiver: WebhookReceiver) -> None:
    small_world.seed(learners=10, courses=3, certifications=1, completions=0, awards=0)
    small_world.admin("PUT", "webhook", json={"grouped": True})
    learners = sorted(small_world.world.users)
    courses = sorted(small_world.world.courses)
    rows = [{"user_id": u, "course_id": c} for u in learners for c in courses][:30]
    assert len(rows) == 30, "the small world has enough enrollments for two groups"
    small_world.admin("POST", "enrollments/complete", json={"completions": rows})
    assert small_world.simulator.webhooks.wait_idle(10)
    assert [len(b["payloads"]) for b in receiver.bodies] == [25, 5]
    assert len({b["message_id"] for b in receiver.bodies}) == 2


def test_webhook_duplicates_delivered_bodies(small_world: DoceboSim, receiver: WebhookReceiver) -> None:
    small_world.admin("PUT", "webhook", json={"duplicate_rate": 1.0, "max_attempts": 2})
    _completions(small_world)
    ids = [b["message_id"] for b in receiver.bodies]
    assert len(ids) == 4 and len(set(ids)) == 2, "each message arrives twice, with the same id"


def test_webhook_retries_until_200(small_world: DoceboSim, receiver: WebhookReceiver) -> None:
    receiver.statuses.extend([500, 201])
    body = {"id_cert": 902, "user_id": 10003, "issued_on": "2026-03-01"}
    small_world.admin("POST", "certifications/award", json=body)
    assert small_world.simulator.webhooks.wait_idle(10)
    deliveries = small_world.admin("GET", "webhook/deliveries").json()
    assert [(d["attempt"], d["status"], d["delivered"]) for d in deliveries] == [
        (1, 500, False),
        (2, 201, False),
        (3, 200, True),
    ]
    assert receiver.bodies[-1]["event"] == "certification.awarded"
    assert receiver.bodies[-1]["payload"]["certification_code"] == "CERT-002"


def test_webhook_retries_are_bounded(small_world: DoceboSim, receiver: WebhookReceiver) -> None:
    small_world.admin("PUT", "webhook", json={"max_attempts": 2})
    receiver.statuses.extend([503] * 5)
    award = small_world.admin(
        "POST", "certifications/award", json={"id_cert": 901, "user_id": 10001, "issued_on": "2026-03-01"}
    ).json()
    small_world.admin("POST", f"certifications/awards/{award['award_id']}/revoke")
    assert small_world.simulator.webhooks.wait_idle(10)
    deliveries = small_world.admin("GET", "webhook/deliveries").json()
    assert len(deliveries) == 4 and not any(d["delivered"] for d in deliveries)
    assert {b["event"] for b in receiver.bodies} == {"certification.awarded", "certification.revoked"}


# --- snapshots and the generator -------------------------------------------------------------------


def test_snapshot_round_trip(docebo_sim: DoceboSim) -> None:
    docebo_sim.seed(3, learners=15, courses=3, learning_plans=1, certifications=2, completions=20, awards=5)
    field_id = docebo_sim.api("POST", FIELDS, json={"name": "Badge"}).json()["data"]["id"]
    docebo_sim.api("POST", f"{FIELDS}/{field_id}/options", json={"label": "A"})
    docebo_sim.api(
        "POST", EXTERNAL, json={"user_id": 10001, "title": "T", "provider": "P", "date_from": "2026-01-01"}
    )
    saved = docebo_sim.admin("GET", "snapshot").json()
    docebo_sim.admin("POST", "reset")
    assert docebo_sim.world.users == {}
    counts = docebo_sim.admin("PUT", "snapshot", json=saved).json()
    assert counts["users"] == 15 and counts["external_training"] == 1 and counts["course_fields"] == 1
    assert docebo_sim.admin("GET", "snapshot").json() == saved
    assert docebo_sim.admin("PUT", "snapshot", json={"users": []}).status_code == 400


def test_seed_endpoint_and_generator_determinism(docebo_sim: DoceboSim) -> None:
    sizes = {"learners": 50, "courses": 6, "learning_plans": 2, "certifications": 3, "completions": 120}
    counts = docebo_sim.admin("POST", "seed", json={"seed": 4, **sizes}).json()
    assert counts["users"] == 50 and counts["enrollments"] == 150 and counts["awards"] == 12
    assert docebo_sim.state.snapshot() == generate_world(4, **sizes).to_json()
    assert generate_world(5, **sizes).to_json() != generate_world(4, **sizes).to_json()
    user = docebo_sim.world.users[learner(49).user_id]
    assert (user.email, user.first_name) == (learner(49).email, learner(49).first_name)
    completed = [e for e in docebo_sim.world.enrollments.values() if e.status == "completed"]
    assert len(completed) == 120 and all(
        "2024-12-01" <= e.completed_at[:10] <= "2026-01-01" for e in completed
    )
