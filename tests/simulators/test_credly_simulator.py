"""The Credly simulator over real HTTP: auth, envelopes, paging, filters, writes, events,
webhooks, snapshots and the seeded generator (contract: reference/credly-api.md)."""

from __future__ import annotations

import argparse
import threading
from typing import Any

import pytest
import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from include.simulators.common.server import ThreadedServer
from include.simulators.credly.__main__ import add_arguments, build_app
from include.simulators.credly.generator import generate_world
from include.simulators.credly.records import to_dict
from tests.fixtures.credly import CredlySim


@pytest.fixture
def api(credly_sim: CredlySim) -> requests.Session:
    session = requests.Session()
    session.auth = (credly_sim.token, "")
    return session


def issue_body(template_id: str, index: int = 0, **overrides: Any) -> dict[str, Any]:
    person = learner(index)
    body = {
        "recipient_email": person.email,
        "issued_to_first_name": person.first_name,
        "issued_to_last_name": person.last_name,
        "badge_template_id": template_id,
        "issued_at": "2026-03-01 09:41:00 -0500",
        "issuer_earner_id": str(person.user_id),
    }
    return {**body, **overrides}


# --- auth --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [None, ("wrong-token", ""), ("e668c0d5", "sim-token-3b1f9a7c5e")],
    ids=["missing", "wrong-token", "login-password-style"],
)
def test_bad_credentials_get_401_with_message(credly_sim: CredlySim, auth: Any) -> None:
    response = requests.get(f"{credly_sim.api_url}/badge_templates", auth=auth, timeout=5)
    assert response.status_code == 401
    assert response.json()["data"]["message"]


def test_other_organization_403_unknown_organization_404(
    credly_sim: CredlySim, api: requests.Session
) -> None:
    foreign = api.get(f"{credly_sim.url}/v1/organizations/{credly_sim.foreign_organization_id}/badges")
    unknown = api.get(f"{credly_sim.url}/v1/organizations/no-such-org/badges")
    assert foreign.status_code == 403 and "message" in foreign.json()["data"]
    assert unknown.status_code == 404 and "message" in unknown.json()["data"]


def test_rotated_or_expired_token_stops_working(credly_sim: CredlySim, api: requests.Session) -> None:
    url = f"{credly_sim.api_url}/badge_templates"
    rotated = api.post(f"{credly_sim.api_url}/authorization_tokens/rotate").json()["data"]["token"]
    assert api.get(url).status_code == 401
    assert requests.get(url, auth=(rotated, ""), timeout=5).status_code == 200

    admin_token = credly_sim.admin("POST", "token/rotate").json()["token"]
    assert requests.get(url, auth=(rotated, ""), timeout=5).status_code == 401
    credly_sim.admin("POST", "token/expire")
    assert requests.get(url, auth=(admin_token, ""), timeout=5).status_code == 401


# --- envelopes, paging, filters --------------------------------------------------------------


def test_template_pages_carry_metadata_and_strict_links_carry_only_the_page(
    credly_sim: CredlySim, api: requests.Session
) -> None:
    for index in range(7):
        credly_sim.create_template(f"Template {index}")
    url = f"{credly_sim.api_url}/badge_templates"
    query = {"per": 3, "sort": "-name", "filter": "state::active"}
    first = api.get(url, params=query).json()
    assert [item["name"] for item in first["data"]] == ["Template 6", "Template 5", "Template 4"]
    meta = first["metadata"]
    assert (meta["count"], meta["current_page"], meta["total_count"], meta["total_pages"], meta["per"]) == (
        3,
        1,
        7,
        3,
        3,
    )
    assert meta["previous_page_url"] is None
    assert meta["next_page_url"] == f"{url}?page=2"

    # Following the link bare loses per and sort: page 2 of 50 is empty.
    assert api.get(meta["next_page_url"]).json()["data"] == []
    names, next_url = [], meta["next_page_url"]
    while next_url:  # what a client must do: its own query, the link's page
        page = api.get(next_url, params=query).json()
        names += [item["name"] for item in page["data"]]
        next_url = page["metadata"]["next_page_url"]
    assert names == ["Template 3", "Template 2", "Template 1", "Template 0"]
    assert page["metadata"]["previous_page_url"] == f"{url}?page=2"


def test_helpful_links_keep_the_query(credly_sim: CredlySim, api: requests.Session) -> None:
    credly_sim.set_strict(False)
    for index in range(7):
        credly_sim.create_template(f"Template {index}")
    url = f"{credly_sim.api_url}/badge_templates"
    meta = api.get(url, params={"per": 3, "sort": "-name", "filter": "state::active"}).json()["metadata"]
    assert "sort=-name" in meta["next_page_url"] and "filter=state" in meta["next_page_url"]

    names, next_url = [], meta["next_page_url"]
    while next_url:
        page = api.get(next_url).json()
        names += [item["name"] for item in page["data"]]
        next_url = page["metadata"]["next_page_url"]
    assert names == ["Template 3", "Template 2", "Template 1", "Template 0"]


@pytest.mark.parametrize(("strict", "cap"), [(True, 50), (False, 100)], ids=["strict", "helpful"])
def test_default_page_size_is_50_and_per_is_capped(
    credly_sim: CredlySim, api: requests.Session, strict: bool, cap: int
) -> None:
    credly_sim.set_strict(strict)
    credly_sim.seed(templates=120, learners=1, badges=0)
    url = f"{credly_sim.api_url}/badge_templates"
    assert api.get(url).json()["metadata"]["per"] == 50
    capped = api.get(url, params={"per": 1000}).json()
    assert capped["metadata"]["per"] == cap and len(capped["data"]) == cap
    assert capped["metadata"]["total_pages"] == -(-120 // cap)


def test_template_fields_and_filters(credly_sim: CredlySim, api: requests.Session) -> None:
    archery = credly_sim.create_template("Archery", description="Bow skills")
    credly_sim.create_template("Archery Advanced", state="archived")
    credly_sim.create_template("Cooking", state="draft", description="Knife skills")
    url = f"{credly_sim.api_url}/badge_templates"

    def names(filter_text: str) -> list[str]:
        return [
            item["name"]
            for item in api.get(url, params={"filter": filter_text, "sort": "name"}).json()["data"]
        ]

    assert names("state::active,archived") == ["Archery", "Archery Advanced"]
    assert names('name::"Archery"') == ["Archery"]
    assert names("name::archery") == ["Archery", "Archery Advanced"]
    assert names("query::skills|state::draft") == ["Cooking"]
    one = api.get(f"{url}/{archery.id}").json()
    assert one["metadata"] == {}
    expected = {"id", "name", "description", "state", "public", "image_url", "url", "vanity_slug", "skills"}
    expected |= {"reporting_tags", "allow_duplicate_badges", "owner", "badge_template_activities", "level"}
    expected |= {"time_to_earn", "state_updated_at", "created_at", "updated_at", "recipient_type"}
    assert expected <= set(one["data"])
    assert api.get(f"{url}/nope").status_code == 404


def test_unknown_template_filter_is_ignored_and_counted(credly_sim: CredlySim, api: requests.Session) -> None:
    credly_sim.create_template("Archery")
    credly_sim.create_template("Cooking", state="draft")
    url = f"{credly_sim.api_url}/badge_templates"
    answer = api.get(url, params={"filter": "colour::red|state::draft"})
    assert answer.status_code == 200
    assert [item["name"] for item in answer.json()["data"]] == ["Cooking"]
    assert credly_sim.ignored_filters() == {"colour": 1}

    credly_sim.set_strict(False)
    refused = api.get(url, params={"filter": "colour::red"})
    assert refused.status_code == 422 and "colour" in refused.json()["data"]["message"]


def test_confirmed_badge_filters_and_sort(credly_sim: CredlySim, api: requests.Session) -> None:
    credly_sim.seed(templates=4, learners=30, badges=45)
    badges = list(credly_sim.state.badges.values())
    template_id = badges[0].badge_template_id
    url = f"{credly_sim.api_url}/badges"

    def ids(filter_text: str, sort: str | None = None) -> list[str]:
        params = {"filter": filter_text, **({"sort": sort} if sort else {})}
        return [item["id"] for item in api.get(url, params=params).json()["data"]]

    assert set(ids(f"badge_template_id::{template_id}")) == {
        badge.id for badge in badges if badge.badge_template_id == template_id
    }
    assert set(ids("state::accepted,pending")) == {b.id for b in badges if b.state in ("accepted", "pending")}
    email, other = badges[0].recipient_email, badges[-1].recipient_email
    assert set(ids(f"recipient_email::{email.upper()},{other}")) == {
        b.id for b in badges if b.recipient_email in (email, other)
    }
    assert set(ids(f"recipient_email_all::{email}")) == {b.id for b in badges if b.recipient_email == email}
    newest_first = ids("state::accepted,pending,rejected,revoked", "-issued_at")
    issued = [credly_sim.state.badges[badge_id].issued_at for badge_id in newest_first]
    assert issued == sorted(issued, reverse=True)
    assert api.get(url, params={"sort": "colour"}).status_code == 422
    assert credly_sim.ignored_filters() == {}


def test_badges_filter_on_their_template_reporting_tags(credly_sim: CredlySim, api: requests.Session) -> None:
    tagged = credly_sim.create_template("Tagged", reporting_tags=["Cloud", "ops"])
    plain = credly_sim.create_template("Plain")
    url = f"{credly_sim.api_url}/badges"
    wanted = api.post(url, json=issue_body(tagged.id, 1)).json()["data"]
    api.post(url, json=issue_body(plain.id, 2))
    found = api.get(url, params={"filter": "badge_templates[reporting_tags]::cloud,security"}).json()
    assert [item["id"] for item in found["data"]] == [wanted["id"]]


UNCONFIRMED_BADGE_FILTERS = (
    "issuer_earner_id",
    "issued_at_min",
    "issued_at_max",
    "updated_at_min",
    "updated_at_max",
    "created_at_min",
    "created_at_max",
    "state_updated_at_min",
    "state_updated_at_max",
)


@pytest.mark.parametrize("key", UNCONFIRMED_BADGE_FILTERS)
def test_strict_ignores_and_counts_unconfirmed_badge_filters(
    credly_sim: CredlySim, api: requests.Session, key: str
) -> None:
    credly_sim.seed(templates=3, learners=20, badges=30)
    template_id = next(iter(credly_sim.state.templates))
    value = "10001" if key == "issuer_earner_id" else "2000-01-01" if key.endswith("_max") else "2999-01-01"
    url = f"{credly_sim.api_url}/badges"
    plain = api.get(url, params={"filter": f"badge_template_id::{template_id}"}).json()
    answer = api.get(url, params={"filter": f"{key}::{value}|badge_template_id::{template_id}"})
    assert answer.status_code == 200
    assert answer.json() == plain  # as if the key had not been sent; the confirmed one still applies
    assert plain["metadata"]["total_count"] > 1
    assert credly_sim.ignored_filters() == {key: 1}
    assert credly_sim.admin("GET", "ignored_filters").json() == {key: 1}
    assert credly_sim.admin("DELETE", "ignored_filters").status_code == 204
    assert credly_sim.ignored_filters() == {}


def test_helpful_applies_earner_and_date_filters(credly_sim: CredlySim, api: requests.Session) -> None:
    credly_sim.set_strict(False)
    credly_sim.seed(templates=4, learners=30, badges=60)
    badges = list(credly_sim.state.badges.values())
    url = f"{credly_sim.api_url}/badges"

    def ids(filter_text: str) -> set[str]:
        return {
            item["id"] for item in api.get(url, params={"filter": filter_text, "per": 100}).json()["data"]
        }

    earner = badges[0].issuer_earner_id
    assert ids(f"issuer_earner_id::{earner}") == {b.id for b in badges if b.issuer_earner_id == earner}
    middle = sorted(badge.updated_at for badge in badges)[30]
    assert ids(f"updated_at_min::{middle}") == {b.id for b in badges if b.updated_at >= middle}
    assert ids("issued_at_max::2024-06-30") == {b.id for b in badges if b.issued_at[:10] <= "2024-06-30"}
    assert api.get(url, params={"filter": "colour::red"}).status_code == 422
    assert credly_sim.ignored_filters() == {}


@pytest.mark.parametrize(
    ("strict", "newest_first"), [(True, True), (False, False)], ids=["strict", "helpful"]
)
def test_lists_without_sort_are_newest_first_when_strict(
    credly_sim: CredlySim, api: requests.Session, strict: bool, newest_first: bool
) -> None:
    credly_sim.set_strict(strict)
    template = credly_sim.create_template("First")
    credly_sim.create_template("Second")
    url = f"{credly_sim.api_url}/badges"
    issued = [api.post(url, json=issue_body(template.id, index)).json()["data"]["id"] for index in range(4)]
    expected = issued[::-1] if newest_first else issued
    assert [item["id"] for item in api.get(url).json()["data"]] == expected
    search = api.get(f"{credly_sim.api_url}/high_volume_issued_badge_search").json()
    assert [item["id"] for item in search["data"]] == expected
    templates = [item["name"] for item in api.get(f"{credly_sim.api_url}/badge_templates").json()["data"]]
    assert templates == (["Second", "First"] if newest_first else ["First", "Second"])


def test_strict_newest_first_shifts_later_pages(credly_sim: CredlySim, api: requests.Session) -> None:
    """A badge issued while a client pages pushes one it has seen onto the next page."""
    template = credly_sim.create_template(allow_duplicate_badges=True)
    url = f"{credly_sim.api_url}/badges"
    for index in range(4):
        api.post(url, json=issue_body(template.id, index))
    first = [item["id"] for item in api.get(url, params={"per": 2}).json()["data"]]
    api.post(url, json=issue_body(template.id, 9))
    second = [item["id"] for item in api.get(url, params={"per": 2, "page": 2}).json()["data"]]
    assert second[0] == first[1]


def test_badge_record_has_the_documented_fields(credly_sim: CredlySim, api: requests.Session) -> None:
    template = credly_sim.create_template()
    created = api.post(f"{credly_sim.api_url}/badges", json=issue_body(template.id)).json()["data"]
    expected = {"id", "state", "recipient_email", "issued_to", "issued_to_first_name", "issued_to_last_name"}
    expected |= {"issuer_earner_id", "user", "public", "locale", "issued_at", "issued_at_date", "expires_at"}
    expected |= {
        "expires_at_date",
        "created_at",
        "updated_at",
        "state_updated_at",
        "badge_template",
        "issuer",
    }
    expected |= {"replaces_badge_id", "replacement_badge_id", "revocation_reason", "evidence", "image_url"}
    expected |= {"badge_url", "accept_badge_url"}
    assert expected <= set(created)
    assert created["issued_at"] == "2026-03-01T14:41:00.000Z"
    assert created["badge_template"]["id"] == template.id


def test_high_volume_search_is_slim_and_pages_by_50(credly_sim: CredlySim, api: requests.Session) -> None:
    credly_sim.seed(templates=3, learners=40, badges=90)
    url = f"{credly_sim.api_url}/high_volume_issued_badge_search"
    first = api.get(url, params={"per": 1000}).json()
    assert set(first["metadata"]) == {"next_page_url"}
    assert set(first["data"][0]) == {
        "id",
        "state",
        "recipient_email",
        "issuer_earner_id",
        "issued_at",
        "updated_at",
        "state_updated_at",
        "badge_template",
        "user",
    }
    assert len(first["data"]) == 50
    assert first["metadata"]["next_page_url"] == f"{url}?page=2"
    second = api.get(first["metadata"]["next_page_url"]).json()
    assert len(second["data"]) == 40 and second["metadata"]["next_page_url"] is None
    assert {item["id"] for item in first["data"] + second["data"]} == set(credly_sim.state.badges)


def test_high_volume_dates_are_ignored_unless_helpful(credly_sim: CredlySim, api: requests.Session) -> None:
    credly_sim.seed(templates=3, learners=40, badges=90)
    url = f"{credly_sim.api_url}/high_volume_issued_badge_search"
    start = sorted(badge.updated_at for badge in credly_sim.state.badges.values())[45]
    dates = {"start_date": start.replace("T", " ")[:19], "end_date": "2999-01-01 00:00:00"}
    strict = api.get(url, params=dates).json()
    assert strict == api.get(url).json()
    assert credly_sim.ignored_filters() == {"start_date": 1, "end_date": 1}

    credly_sim.set_strict(False)
    since = api.get(url, params={"per": 1000, **dates}).json()["data"]
    assert {item["id"] for item in since} == {
        badge.id for badge in credly_sim.state.badges.values() if badge.updated_at[:19] >= start[:19]
    }
    helpful = api.get(url, params={"per": 1000}).json()
    assert len(helpful["data"]) == 90 and helpful["metadata"]["next_page_url"] is None


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "helpful"])
def test_get_one_badge_is_404_when_strict(credly_sim: CredlySim, api: requests.Session, strict: bool) -> None:
    credly_sim.set_strict(strict)
    template = credly_sim.create_template()
    badge = api.post(f"{credly_sim.api_url}/badges", json=issue_body(template.id)).json()["data"]
    answer = api.get(f"{credly_sim.api_url}/badges/{badge['id']}")
    if strict:
        assert answer.status_code == 404
        assert answer.json() == {"data": {"message": "Not found"}}
    else:
        assert answer.status_code == 200 and answer.json()["data"]["id"] == badge["id"]
    assert requests.get(f"{credly_sim.api_url}/badges/{badge['id']}", timeout=5).status_code == 401


def test_strict_switch_over_admin(credly_sim: CredlySim, api: requests.Session) -> None:
    assert credly_sim.admin("GET", "strict").json() == {"strict": True}
    assert credly_sim.admin("PUT", "strict", json={"strict": False}).json() == {"strict": False}
    assert (
        api.get(f"{credly_sim.api_url}/badges", params={"filter": "issuer_earner_id::1"}).status_code == 200
    )
    assert credly_sim.ignored_filters() == {}
    credly_sim.admin("PUT", "strict", json={"strict": True})
    api.get(f"{credly_sim.api_url}/badges", params={"filter": "issuer_earner_id::1"})
    assert credly_sim.ignored_filters() == {"issuer_earner_id": 1}


def test_command_line_helpful_flag() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for flags, strict in (([], True), (["--helpful"], False)):
        app = build_app(parser.parse_args(["--org", "org-1", "--token", "t", *flags]))
        with ThreadedServer(app) as server:
            answer = requests.get(f"{server.url}/_admin/strict", timeout=5).json()
        assert answer == {"strict": strict}


# --- writes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "missing",
    ["recipient_email", "issued_to_first_name", "issued_to_last_name", "badge_template_id", "issued_at"],
)
def test_issue_names_the_missing_field(credly_sim: CredlySim, api: requests.Session, missing: str) -> None:
    template = credly_sim.create_template()
    body = issue_body(template.id)
    del body[missing]
    response = api.post(f"{credly_sim.api_url}/badges", json=body)
    assert response.status_code == 422
    assert missing in response.json()["data"]["message"]


def test_issue_creates_pending_and_refuses_duplicates(credly_sim: CredlySim, api: requests.Session) -> None:
    template = credly_sim.create_template()
    url = f"{credly_sim.api_url}/badges"
    created = api.post(url, json=issue_body(template.id))
    assert created.status_code == 201 and created.json()["data"]["state"] == "pending"

    same_email = api.post(url, json=issue_body(template.id, issuer_earner_id=None))
    same_earner = api.post(url, json=issue_body(template.id, recipient_email="other@example.com"))
    for refused in (same_email, same_earner):
        assert refused.status_code == 422
        assert refused.json() == {"data": {"message": "User already has this badge"}}

    lenient = credly_sim.create_template("Lenient", allow_duplicate_badges=True)
    assert api.post(url, json=issue_body(lenient.id)).status_code == 201
    assert api.post(url, json=issue_body(lenient.id)).status_code == 201


@pytest.mark.parametrize("state", ["archived", "draft"])
def test_non_active_template_refuses_to_issue(
    credly_sim: CredlySim, api: requests.Session, state: str
) -> None:
    template = credly_sim.create_template(state=state)
    response = api.post(f"{credly_sim.api_url}/badges", json=issue_body(template.id))
    assert response.status_code == 422 and state in response.json()["data"]["message"]


def test_expires_at_null_takes_template_default_and_false_never(
    credly_sim: CredlySim, api: requests.Session
) -> None:
    template = credly_sim.create_template(badge_expiry_days=365, allow_duplicate_badges=True)
    url = f"{credly_sim.api_url}/badges"
    by_default = api.post(url, json=issue_body(template.id, expires_at=None)).json()["data"]
    never = api.post(url, json=issue_body(template.id, expires_at=False)).json()["data"]
    explicit = api.post(url, json=issue_body(template.id, expires_at="2030-01-01T00:00:00Z")).json()["data"]
    assert by_default["expires_at"] == "2027-03-01T14:41:00.000Z"
    assert never["expires_at"] is None
    assert explicit["expires_at"] == "2030-01-01T00:00:00.000Z"


def test_revoke_replace_and_delete(credly_sim: CredlySim, api: requests.Session) -> None:
    template = credly_sim.create_template()
    newer = credly_sim.create_template("Archery Advanced")
    url = f"{credly_sim.api_url}/badges"
    first = api.post(url, json=issue_body(template.id, 1)).json()["data"]
    second = api.post(url, json=issue_body(template.id, 2)).json()["data"]

    assert api.put(f"{url}/{first['id']}/revoke", json={}).status_code == 422
    revoked = api.put(f"{url}/{first['id']}/revoke", json={"reason": "Issued in error"})
    assert revoked.status_code == 200
    assert revoked.json()["data"]["state"] == "revoked"
    assert revoked.json()["data"]["revocation_reason"] == "Issued in error"

    assert api.post(f"{url}/{second['id']}/replace", json={"badge_template_id": newer.id}).status_code == 422
    replaced = api.post(
        f"{url}/{second['id']}/replace", json={"badge_template_id": newer.id, "issued_at": "2026-04-01"}
    )
    assert replaced.status_code == 201
    new = replaced.json()["data"]
    old = credly_sim.state.badges[second["id"]]
    assert new["replaces_badge_id"] == second["id"] and new["state"] == "pending"
    assert old.replacement_badge_id == new["id"] and old.state == "replaced"
    assert new["recipient_email"] == second["recipient_email"]

    deleted = api.delete(f"{url}/{new['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert api.delete(f"{url}/{new['id']}").status_code == 404


def test_batch_issue(credly_sim: CredlySim, api: requests.Session) -> None:
    template = credly_sim.create_template()
    response = api.post(
        f"{credly_sim.api_url}/badges/batch", json={"badges": [issue_body(template.id, i) for i in range(3)]}
    )
    assert response.status_code == 201
    assert [item["state"] for item in response.json()["data"]] == ["pending"] * 3


def test_errors_use_the_data_message_envelope(credly_sim: CredlySim, api: requests.Session) -> None:
    for response in (
        api.get(f"{credly_sim.api_url}/no_such_path"),
        api.get(f"{credly_sim.api_url}/badges", params={"page": "x"}),
        api.get(f"{credly_sim.api_url}/events/nope"),
        api.post(
            f"{credly_sim.api_url}/badges", data="not json", headers={"content-type": "application/json"}
        ),
    ):
        assert response.status_code >= 400
        assert isinstance(response.json()["data"]["message"], str)


# --- events and webhooks --------------------------------------------------------------------


def test_every_change_appends_an_event(credly_sim: CredlySim, api: requests.Session) -> None:
    template = credly_sim.create_template()
    credly_sim.admin("PATCH", f"templates/{template.id}", json={"description": "New text"})
    badge = api.post(f"{credly_sim.api_url}/badges", json=issue_body(template.id)).json()["data"]
    credly_sim.admin("PUT", f"badges/{badge['id']}/state", json={"state": "accepted"})
    api.delete(f"{credly_sim.api_url}/badges/{badge['id']}")
    credly_sim.admin("POST", f"templates/{template.id}/archive")
    credly_sim.admin("DELETE", f"templates/{template.id}")

    page = api.get(f"{credly_sim.api_url}/events", params={"per": 3}).json()
    assert page["metadata"]["total_count"] == 7 and page["metadata"]["next_page_url"]
    events = page["data"] + api.get(page["metadata"]["next_page_url"], params={"per": 3}).json()["data"]
    events += api.get(f"{credly_sim.api_url}/events", params={"per": 3, "page": 3}).json()["data"]
    events.reverse()  # the feed is newest first
    assert [event["event_type"] for event in events] == [
        "badge_template.created",
        "badge_template.changed",
        "badge.created",
        "badge.state.changed",
        "badge.deleted",
        "badge_template.changed",
        "badge_template.deleted",
    ]
    one = api.get(f"{credly_sim.api_url}/events/{events[3]['id']}").json()["data"]
    assert one["organization_id"] == credly_sim.organization_id
    assert one["badge"]["id"] == badge["id"] and one["badge"]["state"] == "accepted"
    assert events[0]["badge_template"]["owner"]["id"] == credly_sim.organization_id


class FlakyReceiver:
    """A webhook endpoint that fails ``failures`` times with 500 (and once with 204), then answers 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.app = FastAPI()
        self.app.post("/hook")(self.receive)

    async def receive(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self.lock:
            self.bodies.append(body)
            attempt = len(self.bodies)
        if attempt <= self.failures:
            return JSONResponse({}, status_code=500)
        if attempt == self.failures + 1:
            return JSONResponse({}, status_code=204)  # not 200: Credly retries (§9)
        return JSONResponse({})


def test_webhook_is_posted_and_retried_until_200(credly_sim: CredlySim) -> None:
    receiver = FlakyReceiver(failures=2)
    with ThreadedServer(receiver.app) as server:
        configured = credly_sim.admin(
            "PUT", "webhook", json={"url": f"{server.url}/hook", "retry_base": 0.01, "retry_factor": 2}
        )
        assert configured.status_code == 200
        credly_sim.create_template()
        assert credly_sim.simulator.webhooks.wait_idle(10)

    attempts = credly_sim.admin("GET", "webhook/deliveries").json()
    assert [(a["attempt"], a["status"], a["delivered"]) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 204, False),
        (4, 200, True),
    ]
    event = credly_sim.state.events[0]
    assert receiver.bodies[-1] == {
        "id": event.id,
        "organization_id": credly_sim.organization_id,
        "event_type": "badge_template.created",
        "occurred_at": event.occurred_at,
    }


def test_webhook_gives_up_after_max_attempts(credly_sim: CredlySim) -> None:
    credly_sim.admin(
        "PUT", "webhook", json={"url": "http://127.0.0.1:9/none", "retry_base": 0.0, "max_attempts": 3}
    )
    credly_sim.create_template()
    assert credly_sim.simulator.webhooks.wait_idle(10)
    attempts = credly_sim.admin("GET", "webhook/deliveries").json()
    assert [attempt["attempt"] for attempt in attempts] == [1, 2, 3]
    assert all(attempt["status"] is None and attempt["error"] for attempt in attempts)


# --- faults, snapshots, generator -----------------------------------------------------------------


def test_faults_hit_the_api_but_not_admin(credly_sim: CredlySim, api: requests.Session) -> None:
    credly_sim.set_faults(FaultRule("status", status=429, retry_after=3))
    response = api.get(f"{credly_sim.api_url}/badge_templates")
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert response.json()["data"]["message"]
    assert credly_sim.admin("GET", "organization").status_code == 200
    assert credly_sim.call_count("GET", "badge_templates") == 1


def test_snapshot_round_trip(credly_sim: CredlySim, api: requests.Session) -> None:
    credly_sim.seed(templates=3, learners=10, badges=12)
    template_id = next(iter(credly_sim.state.templates))
    credly_sim.state.update_template(template_id, {"state": "active"})
    api.post(f"{credly_sim.api_url}/badges", json=issue_body(template_id, 11))
    saved = credly_sim.admin("GET", "snapshot").json()
    before = api.get(f"{credly_sim.api_url}/badges", params={"per": 100}).json()

    credly_sim.admin("POST", "reset")
    assert api.get(f"{credly_sim.api_url}/badges").json()["metadata"]["total_count"] == 0
    assert credly_sim.admin("PUT", "snapshot", json=saved).json() == {
        "templates": 3,
        "badges": 13,
        "events": 2,
    }

    assert api.get(f"{credly_sim.api_url}/badges", params={"per": 100}).json() == before
    assert credly_sim.admin("GET", "snapshot").json() == saved


def test_generator_is_deterministic_and_lines_up_with_learners() -> None:
    first = generate_world(7, templates=6, learners=50, badges=120)
    again = generate_world(7, templates=6, learners=50, badges=120)
    other = generate_world(8, templates=6, learners=50, badges=120)
    as_dicts = [[to_dict(record) for record in records] for records in first]
    assert as_dicts == [[to_dict(record) for record in records] for records in again]
    assert first[1][0].id != other[1][0].id

    templates, badges = first
    assert templates[0].state == "active"
    assert len({(badge.badge_template_id, badge.recipient_email) for badge in badges}) == 120
    people = {learner(index).email: learner(index) for index in range(50)}
    for badge in badges:
        assert badge.issuer_earner_id == str(people[badge.recipient_email].user_id)
    assert [badge.issued_at for badge in badges] == sorted(badge.issued_at for badge in badges)


def test_seed_admin_endpoint(credly_sim: CredlySim, api: requests.Session) -> None:
    seeded = credly_sim.admin("POST", "seed", json={"seed": 3, "templates": 4, "learners": 10, "badges": 25})
    assert seeded.json() == {"templates": 4, "badges": 25}
    assert api.get(f"{credly_sim.api_url}/badges").json()["metadata"]["total_count"] == 25
