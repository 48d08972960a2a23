"""The Graph simulator over raw HTTP: what a careless client would get wrong."""

from __future__ import annotations

import requests

from tests.fixtures.graph import GRAPH_CLIENT_ID, GRAPH_CLIENT_SECRET, GRAPH_TENANT_ID, GraphSim

SCOPE = "https://graph.microsoft.com/.default"


def token(sim: GraphSim, **overrides: str) -> requests.Response:
    form = {
        "client_id": GRAPH_CLIENT_ID,
        "client_secret": GRAPH_CLIENT_SECRET,
        "scope": SCOPE,
        "grant_type": "client_credentials",
        **overrides,
    }
    return requests.post(f"{sim.url}/{GRAPH_TENANT_ID}/oauth2/v2.0/token", data=form, timeout=5)


def get(sim: GraphSim, path: str, bearer: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return requests.get(f"{sim.url}{path}", headers=headers, timeout=5)


def test_tokens_need_the_app_secret_and_the_default_scope(graph_sim: GraphSim) -> None:
    assert token(graph_sim, client_secret="nope").json()["error"] == "invalid_client"
    assert token(graph_sim, scope="User.Read.All").json()["error"] == "invalid_scope"
    granted = token(graph_sim).json()
    assert (granted["token_type"], granted["expires_in"]) == ("Bearer", 3599)
    denied = get(graph_sim, "/v1.0/users", None)
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_users_need_select_for_status_and_licences_and_refuse_filters(graph_sim: GraphSim) -> None:
    graph_sim.add_user("ada@contoso.com", accountEnabled=False)
    bearer = token(graph_sim).json()["access_token"]
    [default] = get(graph_sim, "/v1.0/users", bearer).json()["value"]
    assert "accountEnabled" not in default and "assignedLicenses" not in default
    selected = get(graph_sim, "/v1.0/users?$select=accountEnabled,assignedLicenses", bearer).json()["value"]
    assert selected[0]["accountEnabled"] is False
    assert get(graph_sim, "/v1.0/users?$filter=accountEnabled eq true", bearer).status_code == 400


def test_roles_are_checked_and_item_writes_can_be_throttled(graph_sim: GraphSim) -> None:
    graph_sim.admin("PUT", "roles", json={"roles": ["User.Read.All"]})
    bearer = token(graph_sim).json()["access_token"]
    refused = requests.post(
        f"{graph_sim.url}/v1.0/external/connections",
        json={"id": "credly", "name": "Credly", "contentCategory": "people"},
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=5,
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "Authorization_RequestDenied"

    graph_sim.admin("PUT", "throttle", json={"every": 2, "retry_after": 4})
    graph_sim.state.item_writes = 1
    state = graph_sim.state
    connection = state.create_connection({"id": "credly", "name": "Credly", "contentCategory": "people"})
    connection.schema_status = "completed"
    graph_sim.admin("PUT", "roles", json={"roles": ["ExternalItem.ReadWrite.OwnedBy"]})
    writer = token(graph_sim).json()["access_token"]
    throttled = requests.delete(
        f"{graph_sim.url}/v1.0/external/connections/credly/items/abc",
        headers={"Authorization": f"Bearer {writer}"},
        timeout=5,
    )
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "4.0"
