"""The webhook intake app under good and bad input, against a real warehouse (SQLite and
PostgreSQL): what each request is answered, and what the inbox holds afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select

from credly_sync.warehouse.schema import event_inbox
from credly_sync.webhooks.app import SECRET_HEADER, create_app

CREDLY_SECRET = "whs-credly-7f3a9c"
DOCEBO_SECRET = "whs-docebo-2b8e41"
ORG = "e668c0d5-0000-4000-8000-00000000c0de"


def credly_body(event_id: str = "878dcffd-0000-4000-8000-000000000001", **changes: Any) -> dict[str, Any]:
    body = {
        "id": event_id,
        "organization_id": ORG,
        "event_type": "badge.created",
        "occurred_at": "2026-03-01T10:00:00Z",
    }
    return {**body, **changes}


def docebo_message(
    payloads: list[dict[str, Any]], *, grouped: bool, message_id: str = "wh-1"
) -> dict[str, Any]:
    content = {"payloads": payloads} if grouped else {"payload": payloads[0]}
    return {
        "webhook_id": 12,
        "original_domain": "acme.docebosaas.com",
        "event": "course.enrollment.completed",
        "fired_by_batch_action": grouped,
        "message_id": message_id,
        **content,
    }


def completion(user_id: int, course_id: int = 42) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "course_id": course_id,
        "status": "completed",
        "completion_date": "2026-03-01",
    }


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, source: str, new: int) -> None:
        self.calls.append((source, new))


class PathLog:
    """An outer ASGI app that keeps the path the server would log (read after the response)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.paths.append(scope["path"])


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = {"conn_type": "generic", "extra": {"credly": CREDLY_SECRET, "docebo": DOCEBO_SECRET}}
    monkeypatch.setenv("AIRFLOW_CONN_CREDLY_SYNC_WEBHOOKS", json.dumps(connection))


@pytest.fixture
def notified() -> Recorder:
    return Recorder()


@pytest.fixture
def logged(warehouse: Engine, secrets: None, notified: Recorder) -> PathLog:
    return PathLog(create_app(engine=lambda: warehouse, notify=notified, secret_ttl=0))


@pytest.fixture
def client(logged: PathLog) -> Iterator[TestClient]:
    with TestClient(logged) as test_client:
        yield test_client


def inbox(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(event_inbox).order_by(event_inbox.c.id))]


def test_a_credly_event_is_stored_once_and_announced(
    client: TestClient, warehouse: Engine, notified: Recorder, logged: PathLog
) -> None:
    response = client.post(f"/webhooks/credly/{CREDLY_SECRET}", json=credly_body())
    assert response.status_code == 200 and response.json() == {"stored": 1, "duplicates": 0}
    [row] = inbox(warehouse)
    assert (row["source"], row["event_id"], row["event_type"], row["status"], row["attempts"]) == (
        "credly",
        "878dcffd-0000-4000-8000-000000000001",
        "badge.created",
        "received",
        0,
    )
    assert row["payload"] == credly_body()
    assert notified.calls == [("credly", 1)]
    assert CREDLY_SECRET not in logged.paths[-1] and logged.paths[-1].endswith("/webhooks/credly/***")


def test_a_duplicate_delivery_is_answered_200_and_stores_nothing(
    client: TestClient, warehouse: Engine, notified: Recorder
) -> None:
    for _ in range(2):
        response = client.post("/webhooks/credly", json=credly_body(), headers={SECRET_HEADER: CREDLY_SECRET})
        assert response.status_code == 200
    assert response.json() == {"stored": 0, "duplicates": 1}
    assert len(inbox(warehouse)) == 1
    assert notified.calls == [("credly", 1)], "a duplicate starts no run"


@pytest.mark.parametrize(
    ("path", "headers", "status", "message"),
    [
        (f"/webhooks/credly/{CREDLY_SECRET}x", {}, 401, "wrong secret"),
        (f"/webhooks/credly/{DOCEBO_SECRET}", {}, 401, "wrong secret"),
        ("/webhooks/credly", {}, 401, "missing secret"),
        ("/webhooks/credly", {SECRET_HEADER: ""}, 401, "missing secret"),
        ("/webhooks/credly", {SECRET_HEADER: "nope"}, 401, "wrong secret"),
        (f"/webhooks/alm/{CREDLY_SECRET}", {}, 404, "unknown webhook source 'alm'"),
    ],
)
def test_bad_secrets_and_sources_are_refused_and_store_nothing(
    client: TestClient, warehouse: Engine, path: str, headers: dict[str, str], status: int, message: str
) -> None:
    response = client.post(path, json=credly_body(), headers=headers)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert CREDLY_SECRET not in response.text and DOCEBO_SECRET not in response.text
    assert inbox(warehouse) == []


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b'{"id": "878dcffd", "event_type": ', 400, "malformed JSON"),
        (b"\xff\xfe not text", 400, "malformed JSON"),
        (json.dumps(credly_body(padding="x" * 20_000)).encode(), 413, "larger than 16384 bytes"),
        (
            json.dumps(credly_body(event_type="badge.exploded")).encode(),
            422,
            "unknown event_type 'badge.exploded'",
        ),
        (json.dumps(credly_body(id="")).encode(), 422, "id: expected a non-empty string"),
        (json.dumps(credly_body(id="../badges")).encode(), 422, "id: expected a Credly event id"),
        (
            json.dumps({k: v for k, v in credly_body().items() if k != "organization_id"}).encode(),
            422,
            "organization_id",
        ),
        (b"[1, 2]", 422, "expected a JSON object"),
    ],
)
def test_bad_credly_bodies_are_refused_with_a_reason_and_store_nothing(
    client: TestClient, warehouse: Engine, notified: Recorder, content: bytes, status: int, message: str
) -> None:
    response = client.post(
        f"/webhooks/credly/{CREDLY_SECRET}", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert inbox(warehouse) == [] and notified.calls == []


def test_a_forged_credly_event_is_stored_for_processing_to_verify(
    client: TestClient, warehouse: Engine
) -> None:
    """Credly signs nothing: the intake cannot tell a forged id without an API call, so it
    stores it; processing fetches it by id and ignores it (tests/dags/test_credly_sync_events.py)."""
    response = client.post(f"/webhooks/credly/{CREDLY_SECRET}", json=credly_body("00000000-dead-beef"))
    assert response.status_code == 200
    assert [r["status"] for r in inbox(warehouse)] == ["received"]


def test_docebo_single_and_grouped_messages_store_one_event_per_payload(
    client: TestClient, warehouse: Engine, notified: Recorder
) -> None:
    url = f"/webhooks/docebo/{DOCEBO_SECRET}"
    assert client.post(url, json=docebo_message([completion(1)], grouped=False, message_id="m-1")).json() == {
        "stored": 1,
        "duplicates": 0,
    }
    group = docebo_message([completion(u) for u in range(2, 27)], grouped=True, message_id="m-2")
    assert client.post(url, json=group).json() == {"stored": 25, "duplicates": 0}
    assert client.post(url, json=group).json() == {"stored": 0, "duplicates": 25}
    rows = inbox(warehouse)
    assert [r["event_id"] for r in rows[:3]] == ["m-1", "m-2/0", "m-2/1"]
    assert rows[1]["payload"]["payload"] == completion(2) and rows[1]["payload"]["message_id"] == "m-2"
    assert {r["event_type"] for r in rows} == {"course.enrollment.completed"}
    assert notified.calls == [("docebo", 1), ("docebo", 25)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            docebo_message([completion(u) for u in range(26)], grouped=True),
            "payloads: expected a list of 1 to 25",
        ),
        (docebo_message([completion(1), {"user_id": 2}], grouped=True), "payloads[1].course_id"),
        (docebo_message([completion(1), "x"], grouped=True), "payloads[1]: expected an object"),
        (docebo_message([{"user_id": "abc", "course_id": 1}], grouped=False), "payload.user_id"),
        ({**docebo_message([completion(1)], grouped=False), "payloads": []}, "exactly one of payload"),
        (
            {**docebo_message([completion(1)], grouped=False), "event": "user.created"},
            "unknown event 'user.created'",
        ),
        ({**docebo_message([completion(1)], grouped=False), "message_id": None}, "message_id"),
    ],
)
def test_bad_docebo_messages_store_nothing_not_even_their_good_payloads(
    client: TestClient, warehouse: Engine, body: dict[str, Any], message: str
) -> None:
    response = client.post("/webhooks/docebo", json=body, headers={SECRET_HEADER: DOCEBO_SECRET})
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert inbox(warehouse) == []


def test_a_source_without_a_secret_is_refused_as_not_configured(
    warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = {"conn_type": "generic", "extra": {"credly": CREDLY_SECRET}}
    monkeypatch.setenv("AIRFLOW_CONN_CREDLY_SYNC_WEBHOOKS", json.dumps(connection))
    with TestClient(create_app(engine=lambda: warehouse, notify=Recorder(), secret_ttl=0)) as client:
        response = client.post("/webhooks/docebo", json={}, headers={SECRET_HEADER: ""})
    assert response.status_code == 503 and "no 'docebo' secret" in response.json()["detail"]
    assert inbox(warehouse) == []


def test_an_unreachable_warehouse_is_a_503_so_the_sender_retries(secrets: None, tmp_path: Any) -> None:
    broken = create_engine(f"sqlite:///{tmp_path / 'missing' / 'warehouse.db'}")
    with TestClient(create_app(engine=lambda: broken, notify=Recorder(), secret_ttl=0)) as client:
        response = client.post(f"/webhooks/credly/{CREDLY_SECRET}", json=credly_body())
    assert response.status_code == 503 and response.json() == {"detail": "warehouse unavailable, retry later"}
