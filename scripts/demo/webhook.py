"""One webhook event end to end: a learner completes a course in the Docebo simulator, its
webhook reaches the intake the Airflow api-server serves (plugin ``credly_sync_webhooks``), the
event waits in the warehouse's ``event_inbox``, ``credly_sync_events`` (``airflow dags test``)
issues the badge, and the Credly simulator shows it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy import Engine, func, select

from credly_sync.warehouse.schema import event_inbox
from scripts.demo import world
from scripts.demo.console import Console, child_env
from scripts.demo.processes import Background, Processes, wait_until
from scripts.demo.runs import RunRecord, dag_test
from scripts.demo.summary import describe_run, run_operations

COURSE = 101  # earns world.COURSE_BADGES[101] through the dropdown
EVENT_DAG = "credly_sync_events"
INBOX_TIMEOUT = 30.0


@dataclass
class Journey:
    """What the event went through, for the summary (and the failure report)."""

    lines: list[str]
    run: RunRecord | None = None
    log_offset: int = 0
    ok: bool = False


def api_server_env(port: int, **extra: str) -> dict[str, str]:
    """The environment of an api-server on ``port`` (and of the processes that call it)."""
    url = f"http://127.0.0.1:{port}"
    return child_env(
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__BASE_URL=url,
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{url}/execution/",
        AIRFLOW__API__WORKERS="1",
        **extra,
    )


def start_api_server(processes: Processes, port: int, env: dict[str, str] | None = None) -> Background:
    args = [world.AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port)]
    return processes.start("api-server", args, world.HOME / "api-server.log", env or api_server_env(port))


def wait_healthy(server: Background, port: int, timeout: float = 120) -> float:
    def healthy() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5).ok
        except requests.RequestException:
            return False

    return wait_until(f"the Airflow api-server on port {port}", healthy, timeout, server.check)


def register_docebo_webhook(port: int, secret: str) -> str:
    """Point the Docebo simulator's webhook (grouped payloads) at the intake; the URL, secret masked."""
    url = f"http://127.0.0.1:{port}{world.INTAKE_PREFIX}/webhooks/docebo/"
    body = {"url": url + secret, "grouped": True}
    requests.put(f"{world.DOCEBO_URL}/_admin/webhook", json=body, timeout=10).raise_for_status()
    return url + "***"


def travel(console: Console, engine: Engine, server: Background, port: int) -> Journey:
    """Complete a course, follow the event to the badge; every step adds a line."""
    journey = Journey([])
    say = journey.lines.append
    wait_healthy(server, port)
    say(f"the Airflow api-server on 127.0.0.1:{port} serves the intake (log {world.shown(server.log)})")
    say(f"Docebo webhook (grouped) -> {register_docebo_webhook(port, world.webhook_secret())}")
    template = world.COURSE_BADGES[COURSE]
    learner = learner_without_badge(world.template_id(template))
    newest = _newest_inbox_id(engine)
    completed = time.monotonic()
    response = requests.post(
        f"{world.DOCEBO_URL}/_admin/enrollments/complete",
        json={"user_id": learner["user_id"], "course_id": COURSE},
        timeout=10,
    )
    response.raise_for_status()
    say(f"{learner['email']} completes course {COURSE} in Docebo (it earns {template!r})")
    row = _wait_for_inbox_row(engine, newest)
    if row is None:
        say(f"no event reached the inbox in {INBOX_TIMEOUT:.0f} s; deliveries: {_deliveries()}")
        return journey
    stored = time.monotonic() - completed
    say(
        f"inbox row {row['id']}: {row['source']} {row['event_type']} {row['event_id']}, "
        f"status {row['status']} ({stored:.1f} s after the completion)"
    )
    journey.run, journey.log_offset = dag_test(console, EVENT_DAG)
    journey.lines.extend(describe_run(journey.run, run_operations(engine, journey.run.run_id)))
    if journey.run.state != "success":
        return journey
    badge = _badge(learner["email"], template)
    if badge is None:
        say(f"no {template!r} badge for {learner['email']} in Credly")
        return journey
    latency = time.monotonic() - completed
    say(f"Credly: badge {badge['id']} {template!r} for {learner['email']}, state {badge['state']}")
    say(f"latency from completion to badge: {latency:.1f} s (in the inbox after {stored:.1f} s)")
    journey.ok = True
    return journey


def learner_without_badge(template_id: str) -> dict[str, Any]:
    """The first active learner who has not completed the course and holds no such badge."""
    snapshot = requests.get(f"{world.DOCEBO_URL}/_admin/snapshot", timeout=30).json()
    completed = {
        row["user_id"]
        for row in snapshot["enrollments"]
        if row["course_id"] == COURSE and row["status"] == "completed"
    }
    session = world.credly_session()
    for user in sorted(snapshot["users"], key=lambda user: user["user_id"]):
        if not user["active"] or user["user_id"] in completed:
            continue
        found = session.get(
            world.credly_api("/badges"),
            params={"filter": f"recipient_email::{user['email']}|badge_template_id::{template_id}"},
            timeout=10,
        )
        found.raise_for_status()
        if not found.json()["data"]:
            return user
    raise RuntimeError(f"every demo learner already completed course {COURSE}")


def _newest_inbox_id(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.max(event_inbox.c.id))).scalar() or 0


def _wait_for_inbox_row(engine: Engine, newest: int) -> dict[str, Any] | None:
    deadline = time.monotonic() + INBOX_TIMEOUT
    query = select(event_inbox).where(event_inbox.c.id > newest).order_by(event_inbox.c.id).limit(1)
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            row = connection.execute(query).first()
        if row is not None:
            return dict(row._mapping)
        time.sleep(0.1)
    return None


def _deliveries() -> str:
    attempts = requests.get(f"{world.DOCEBO_URL}/_admin/webhook/deliveries", timeout=10).json()
    return ", ".join(f"{a['event']} -> {a['status'] or a['error']}" for a in attempts) or "none"


def _badge(email: str, template: str) -> dict[str, Any] | None:
    response = world.credly_session().get(
        world.credly_api("/badges"),
        params={"filter": f"recipient_email::{email}|badge_template_id::{world.template_id(template)}"},
        timeout=10,
    )
    response.raise_for_status()
    badges = response.json()["data"]
    return badges[0] if badges else None
