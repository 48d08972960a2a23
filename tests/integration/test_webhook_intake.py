"""The webhook intake app under good and bad input, against a real warehouse (SQLite and
PostgreSQL): what each request is answered, and what the inbox holds afterwards; and the ALM
simulator delivering its webhooks to the intake over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select

from credly_sync.warehouse.schema import event_inbox
from credly_sync.webhooks.app import SECRET_HEADER, create_app
from credly_sync.webhooks.sources import ALM_EVENTS, SOURCES
from include.simulators.common.server import ThreadedServer
from tests.distributed.cluster import wait_for
from tests.fixtures.alm import AlmSim

CREDLY_SECRET = "whs-credly-7f3a9c"
DOCEBO_SECRET = "whs-docebo-2b8e41"
ALM_SECRET = "whs-alm-c5d017"
SECRETS = {"credly": CREDLY_SECRET, "docebo": DOCEBO_SECRET, "alm": ALM_SECRET}
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


def alm_event(
    event_id: str,
    user_id: Any = 10001,
    lo_id: str = "course:101",
    name: str = "COURSE_COMPLETED",
    **data: Any,
) -> dict[str, Any]:
    """One ALM completion event as lms-apis.md §2.7 shows it (times in epoch milliseconds)."""
    fields = {
        "userId": user_id,
        "loId": lo_id,
        "loInstanceId": f"{lo_id}_1",
        "loType": lo_id.partition(":")[0],
        "enrollmentSource": "SELF_ENROLL",
        "dateCompleted": 1772359200000,
        "hasPassed": True,
    }
    return {
        "eventId": event_id,
        "eventName": name,
        "timestamp": 1772359200000,
        "eventInfo": "1772359200000-040363-12018-0",
        "data": {**fields, **data},
    }


def alm_envelope(*events: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"accountId": 1234, "events": list(events), **changes}


def alm_json(*events: dict[str, Any], **changes: Any) -> bytes:
    return json.dumps(alm_envelope(*events, **changes)).encode()


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
    set_secrets(monkeypatch, SECRETS)


def set_secrets(monkeypatch: pytest.MonkeyPatch, secrets: dict[str, str]) -> None:
    connection = {"conn_type": "generic", "extra": secrets}
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
        (f"/webhooks/moodle/{CREDLY_SECRET}", {}, 404, "unknown webhook source 'moodle'"),
        (f"/webhooks/alm/{DOCEBO_SECRET}", {}, 401, "wrong secret"),
        ("/webhooks/alm", {}, 401, "missing secret"),
        ("/webhooks/alm", {SECRET_HEADER: f"{ALM_SECRET}x"}, 401, "wrong secret"),
    ],
)
def test_bad_secrets_and_sources_are_refused_and_store_nothing(
    client: TestClient, warehouse: Engine, path: str, headers: dict[str, str], status: int, message: str
) -> None:
    response = client.post(path, json=credly_body(), headers=headers)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert not any(secret in response.text for secret in SECRETS.values())
    assert inbox(warehouse) == []


@pytest.mark.parametrize(
    ("source", "content", "status", "message"),
    [
        ("credly", b'{"id": "878dcffd", "event_type": ', 400, "malformed JSON"),
        ("credly", b"\xff\xfe not text", 400, "malformed JSON"),
        ("credly", json.dumps(credly_body(padding="x" * 20_000)).encode(), 413, "larger than 16384 bytes"),
        (
            "credly",
            json.dumps(credly_body(event_type="badge.exploded")).encode(),
            422,
            "unknown event_type 'badge.exploded'",
        ),
        ("credly", json.dumps(credly_body(id="")).encode(), 422, "id: expected a non-empty string"),
        ("credly", json.dumps(credly_body(id="../badges")).encode(), 422, "id: expected a Credly event id"),
        (
            "credly",
            json.dumps({k: v for k, v in credly_body().items() if k != "organization_id"}).encode(),
            422,
            "organization_id",
        ),
        ("credly", b"[1, 2]", 422, "expected a JSON object"),
        ("alm", b'{"accountId": 1234, "events": [', 400, "malformed JSON"),
        ("alm", alm_json(alm_event("e-1", padding="x" * 2**21)), 413, "larger than 2097152 bytes"),
        (
            "alm",
            alm_json(alm_event("e-1"), alm_event("e-2", name="COURSE_ENROLLMENT")),
            422,
            "events[1].eventName: unknown event 'COURSE_ENROLLMENT'",
        ),
        (
            "alm",
            alm_json(alm_event("e-1"), alm_event("e-2"), alm_event("e-3", user_id="abc")),
            422,
            "events[2].data.userId: expected a whole number",
        ),
        ("alm", alm_json(alm_event("e-1"), alm_event("")), 422, "events[1].eventId: expected a non-empty"),
        (
            "alm",
            alm_json(alm_event("e-1", name="LEARNING_PATH_COMPLETED_BATCH")),
            422,
            "events[0].data.loId: expected a learningProgram id",
        ),
        (
            "alm",
            alm_json(alm_event("e-1", loType="certification")),
            422,
            "events[0].data.loType: expected 'course'",
        ),
        ("alm", alm_json(alm_event("e-1", lo_id="course:1x")), 422, "events[0].data.loId"),
        ("alm", alm_json({**alm_event("e-1"), "timestamp": "yesterday"}), 422, "events[0].timestamp"),
        ("alm", alm_json(alm_event("e-1", dateCompleted=True)), 422, "events[0].data.dateCompleted"),
        ("alm", alm_json({**alm_event("e-1"), "data": None}), 422, "events[0].data: expected an object"),
        ("alm", alm_json(alm_event("e-1"), "e-2"), 422, "events[1]: expected an object"),
        ("alm", alm_json(), 422, "events: expected a non-empty list"),
        ("alm", alm_json(alm_event("e-1"), accountId=None), 422, "accountId: expected a whole number"),
        ("alm", b"[1, 2]", 422, "expected a JSON object with accountId and events"),
    ],
)
def test_bad_bodies_are_refused_with_a_reason_and_store_nothing(
    client: TestClient,
    warehouse: Engine,
    notified: Recorder,
    source: str,
    content: bytes,
    status: int,
    message: str,
) -> None:
    """A body is stored whole or not at all: a bad event anywhere stores none of its neighbours."""
    response = client.post(
        f"/webhooks/{source}/{SECRETS[source]}", content=content, headers={"content-type": "application/json"}
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


def test_alm_envelopes_store_one_event_per_event_once_by_its_event_id(
    client: TestClient, warehouse: Engine, notified: Recorder
) -> None:
    url = f"/webhooks/alm/{ALM_SECRET}"
    batch = alm_envelope(
        alm_event("e-1", name="COURSE_COMPLETED_BATCH", enrollmentSource="ADMIN_ENROLL"),
        alm_event("e-2", user_id="10002", lo_id="learningProgram:103", name="LEARNING_PATH_COMPLETED_BATCH"),
        {
            **alm_event("e-3", lo_id="certification:104", name="CERTIFICATION_COMPLETED"),
            "timestamp": "2026-03-01T10:00:00.000Z",
        },
    )
    assert client.post(url, json=batch).json() == {"stored": 3, "duplicates": 0}
    assert client.post(url, json=batch).json() == {"stored": 0, "duplicates": 3}, "a redelivery"
    again = alm_envelope(batch["events"][1], alm_event("e-4"), alm_event("e-4"))  # e-4 twice in one body
    assert client.post(url, json=again).json() == {"stored": 1, "duplicates": 1}
    rows = inbox(warehouse)
    assert [(r["source"], r["event_id"], r["event_type"]) for r in rows] == [
        ("alm", "e-1", "COURSE_COMPLETED_BATCH"),
        ("alm", "e-2", "LEARNING_PATH_COMPLETED_BATCH"),
        ("alm", "e-3", "CERTIFICATION_COMPLETED"),
        ("alm", "e-4", "COURSE_COMPLETED"),
    ]
    assert rows[0]["payload"] == {"accountId": 1234, **batch["events"][0]}
    assert notified.calls == [("alm", 3), ("alm", 1)]


def test_each_lms_source_names_the_learners_of_its_stored_events(
    client: TestClient, warehouse: Engine
) -> None:
    client.post(f"/webhooks/alm/{ALM_SECRET}", json=alm_envelope(alm_event("e-1", user_id=11080928)))
    client.post(f"/webhooks/docebo/{DOCEBO_SECRET}", json=docebo_message([completion(7)], grouped=False))
    client.post(f"/webhooks/credly/{CREDLY_SECRET}", json=credly_body())
    named = {r["source"]: SOURCES[r["source"]].learner_ids(r["payload"]) for r in inbox(warehouse)}
    assert named == {"alm": ["11080928"], "docebo": ["7"], "credly": []}
    assert {name: source.lms for name, source in SOURCES.items()} == {
        "credly": None,
        "docebo": "docebo",
        "alm": "alm",
    }


# --- the ALM simulator delivering to the intake -----------------------------------------------------


@pytest.fixture
def alm_delivering(alm_sim: AlmSim, logged: PathLog) -> Iterator[AlmSim]:
    """The ALM simulator's webhook, subscribed to the completion events, pointed at the intake
    (served on loopback); a world of 3 learners, 2 courses, a learning path, a certification."""
    alm_sim.seed(learners=3, courses=2, learning_programs=1, certifications=1, badges=4, completions=0)
    with ThreadedServer(logged) as server:
        alm_sim.admin(
            "PUT",
            "webhook",
            json={
                "url": f"{server.url}/webhooks/alm/{ALM_SECRET}",
                "events": list(ALM_EVENTS),
                "retry_base": 0.05,
                "retry_factor": 1,
            },
        )
        yield alm_sim
        assert alm_sim.simulator.webhooks.wait_idle(10)


def test_the_alm_simulators_completions_become_inbox_rows(alm_delivering: AlmSim, warehouse: Engine) -> None:
    sim = alm_delivering
    sim.admin("POST", "enrollments", json={"user_id": "10001", "lo_id": "course:101"})  # not subscribed
    rows = [
        {"user_id": "10001", "lo_id": "course:101"},
        {"user_id": "10002", "lo_id": "learningProgram:103"},
        {"user_id": "10003", "lo_id": "certification:104"},
    ]
    sim.admin("POST", "enrollments/complete", json={"completions": rows, "by": "admin"})
    sim.admin("POST", "enrollments/complete", json={"user_id": "10002", "lo_id": "course:102"})
    assert sim.simulator.webhooks.wait_idle(10)
    deliveries = sim.admin("GET", "webhook/deliveries").json()
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 200), (1, 200)]
    stored = inbox(warehouse)
    assert [(r["event_type"], r["payload"]["data"]["loId"]) for r in stored] == [
        ("COURSE_COMPLETED_BATCH", "course:101"),
        ("LEARNING_PATH_COMPLETED_BATCH", "learningProgram:103"),
        ("CERTIFICATION_COMPLETED_BATCH", "certification:104"),
        ("COURSE_COMPLETED", "course:102"),
    ]
    assert [SOURCES["alm"].learner_ids(r["payload"]) for r in stored] == [
        ["10001"],
        ["10002"],
        ["10003"],
        ["10002"],
    ]
    assert [stored[0]["event_id"], stored[3]["event_id"]] == [d["id"] for d in deliveries]
    assert {r["payload"]["accountId"] for r in stored} == {1234}


def test_alm_retries_until_the_intake_takes_the_envelope_the_next_waiting_behind(
    alm_delivering: AlmSim, warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook registered before its secret was configured: refused (503), retried."""
    sim = alm_delivering
    set_secrets(monkeypatch, {"credly": CREDLY_SECRET})
    rows = [{"user_id": "10001", "lo_id": "course:101"}, {"user_id": "10002", "lo_id": "course:101"}]
    sim.admin("POST", "enrollments/complete", json={"completions": rows, "by": "admin"})
    sim.admin("POST", "enrollments/complete", json={"user_id": "10003", "lo_id": "certification:104"})
    wait_for("two refusals", lambda: len(sim.simulator.webhooks.attempts) >= 2, timeout=10, every=0.02)
    assert inbox(warehouse) == []
    set_secrets(monkeypatch, SECRETS)
    assert sim.simulator.webhooks.wait_idle(10)
    deliveries = sim.admin("GET", "webhook/deliveries").json()
    first, second = dict.fromkeys(d["id"] for d in deliveries)
    refused = [(first, 503)] * (len(deliveries) - 2)
    assert [(d["id"], d["status"]) for d in deliveries] == [*refused, (first, 200), (second, 200)]
    assert len(refused) >= 2
    assert [(r["event_type"], SOURCES["alm"].learner_ids(r["payload"])) for r in inbox(warehouse)] == [
        ("COURSE_COMPLETED_BATCH", ["10001"]),
        ("COURSE_COMPLETED_BATCH", ["10002"]),
        ("CERTIFICATION_COMPLETED", ["10003"]),
    ]


def test_every_alm_envelope_delivered_twice_is_stored_once(alm_delivering: AlmSim, warehouse: Engine) -> None:
    sim = alm_delivering
    sim.admin("PUT", "webhook", json={"duplicate_rate": 1.0, "max_attempts": 2})
    rows = [{"user_id": "10001", "lo_id": "course:101"}, {"user_id": "10002", "lo_id": "learningProgram:103"}]
    sim.admin("POST", "enrollments/complete", json={"completions": rows})
    sim.admin("POST", "enrollments/complete", json={"user_id": "10003", "lo_id": "course:102"})
    assert sim.simulator.webhooks.wait_idle(10)
    deliveries = sim.admin("GET", "webhook/deliveries").json()
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 200), (2, 200)] * 2
    assert [r["event_type"] for r in inbox(warehouse)] == [
        "COURSE_COMPLETED",
        "LEARNING_PATH_COMPLETED",
        "COURSE_COMPLETED",
    ]


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
