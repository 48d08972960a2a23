"""GraphHook against the Graph simulator over loopback: token, paging, people schema rules,
items, Retry-After on 429 and 503, secrets kept out of errors."""

from __future__ import annotations

import json

import pytest

from credly_sync.hooks.base import NotFoundError, ValidationError
from credly_sync.hooks.graph import GraphHook, TokenRequestError
from credly_sync.planning.profiles import PROFILE_SCHEMA
from include.simulators.common.faults import FaultRule
from tests.fixtures.graph import GRAPH_CLIENT_SECRET, GRAPH_TENANT_ID, GraphSim

CONNECTION = "credlytest"
ACL = [{"type": "everyone", "value": GRAPH_TENANT_ID, "accessType": "grant"}]


def ready_connection(hook: GraphHook) -> None:
    hook.create_external_connection(CONNECTION, "Credly", "test")
    operation = hook.register_schema(CONNECTION, PROFILE_SCHEMA)
    assert operation and operation.endswith("/operations/" + operation.rsplit("/", 1)[-1])
    assert hook.wait_for_operation(operation)["status"] == "completed"


def item(upn: str, *certifications: str) -> dict:
    return {
        "acl": ACL,
        "properties": {
            "account": json.dumps({"userPrincipalName": upn}),
            "certifications@odata.type": "Collection(String)",
            "certifications": list(certifications),
            "awards@odata.type": "Collection(String)",
            "awards": [],
        },
    }


def test_users_are_paged_with_the_fields_selected(graph_sim: GraphSim, graph_hook: GraphHook) -> None:
    for index in range(1100):
        graph_sim.add_user(f"user{index}@contoso.com", licensed=index % 2 == 0)
    users = list(graph_hook.iter_users())
    assert len(users) == 1100
    assert graph_sim.call_count("GET", "/v1.0/users") == 2, "999 a page, following @odata.nextLink"
    assert set(users[1]) == {
        "id",
        "userPrincipalName",
        "mail",
        "accountEnabled",
        "assignedLicenses",
        "displayName",
    }
    assert users[1]["assignedLicenses"] == [] and users[0]["assignedLicenses"]


def test_a_wrong_secret_is_a_clear_error_without_the_secret(
    graph_sim: GraphSim, graph_connection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "wrong-secret-value-123"
    connection = {
        "conn_type": "http",
        "host": graph_sim.url,
        "login": "credly-sync-graph-app",
        "password": wrong,
        "extra": {"tenant_id": GRAPH_TENANT_ID, "authority_host": graph_sim.url},
    }
    monkeypatch.setenv("AIRFLOW_CONN_MSGRAPH_BAD", json.dumps(connection))
    with pytest.raises(TokenRequestError) as caught:
        list(GraphHook("msgraph_bad").iter_users())
    assert "AADSTS7000215" in str(caught.value) and wrong not in str(caught.value)


def test_settings_in_extra_are_not_sent_as_headers_and_an_expired_token_is_renewed(
    graph_sim: GraphSim, graph_hook: GraphHook
) -> None:
    session = graph_hook.session
    assert "tenant_id" not in session.headers and "authority_host" not in session.headers
    graph_sim.add_user("ada@contoso.com")
    assert len(list(graph_hook.iter_users())) == 1
    graph_sim.state.expire_tokens()
    assert len(list(graph_hook.iter_users())) == 1
    assert graph_sim.call_count("POST", "/{tenant}/oauth2/v2.0/token") == 2
    assert GRAPH_CLIENT_SECRET in graph_hook.secrets()


def test_the_people_schema_needs_exactly_one_person_account(
    graph_sim: GraphSim, graph_hook: GraphHook
) -> None:
    graph_hook.create_external_connection(CONNECTION, "Credly", "test")
    again = graph_hook.create_external_connection(CONNECTION, "Credly", "test")
    assert again["contentCategory"] == "people", "a second create returns the existing connection"
    twice = [*PROFILE_SCHEMA, {"name": "account2", "type": "string", "labels": ["personAccount"]}]
    for schema in (PROFILE_SCHEMA[1:], twice):
        with pytest.raises(ValidationError, match="exactly one personAccount"):
            graph_hook.register_schema(CONNECTION, schema)
    operation = graph_hook.register_schema(CONNECTION, PROFILE_SCHEMA)
    with pytest.raises(Exception, match="409"):
        graph_hook.put_item(CONNECTION, "item1", item("ada@contoso.com"))  # schema still provisioning
    graph_hook.wait_for_operation(operation)
    assert graph_hook.sleep.waits == [0], "polled once while in progress"
    assert graph_hook.register_schema(CONNECTION, PROFILE_SCHEMA) is None, "already registered"


def test_items_follow_the_id_rules_and_invalid_values_are_ignored(
    graph_sim: GraphSim, graph_hook: GraphHook
) -> None:
    ada = graph_sim.add_user("ada@contoso.com")
    ready_connection(graph_hook)
    with pytest.raises(ValidationError, match="alphanumeric"):
        graph_hook.put_item(CONNECTION, "not-alphanumeric", item("ada@contoso.com"))
    with pytest.raises(ValidationError, match="grant everyone"):
        graph_hook.put_item(CONNECTION, "item1", {**item("ada@contoso.com"), "acl": []})
    valid = json.dumps({"displayName": "PM Pro", "issuedDate": "2026-02-01"})
    invalid = [
        "{not json",
        json.dumps({"displayName": "X", "colour": "red"}),
        json.dumps({"issuedDate": "2026"}),
    ]
    graph_hook.put_item(CONNECTION, "item1", item("ADA@contoso.com", valid, *invalid))
    stored = graph_sim.state.connections[CONNECTION].items["item1"]
    assert stored.user_id == ada.id
    assert len(stored.ignored) == 3
    assert graph_sim.state.profile("ada@contoso.com")["certifications"] == [json.loads(valid)]
    assert graph_hook.delete_item(CONNECTION, "item1") is True
    assert graph_hook.delete_item(CONNECTION, "item1") is False, "already gone (a retried DELETE)"
    with pytest.raises(NotFoundError):
        graph_hook.register_schema("nosuchconnection", PROFILE_SCHEMA)


def test_retry_after_is_honoured_on_429_and_503(graph_sim: GraphSim, graph_hook: GraphHook) -> None:
    graph_sim.add_user("ada@contoso.com")
    ready_connection(graph_hook)
    graph_hook.sleep.waits.clear()
    graph_sim.set_faults(
        FaultRule("status", status=429, retry_after=7, method="PUT", times=1),
        FaultRule("status", status=503, retry_after=3, method="PUT", times=1),
    )
    graph_hook.put_item(CONNECTION, "item1", item("ada@contoso.com"))
    assert graph_hook.sleep.waits == [7.0, 3.0]
    assert "item1" in graph_sim.state.connections[CONNECTION].items
