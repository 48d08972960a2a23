"""Real time end to end with real Airflow processes: api-server (serving the webhook plugin),
scheduler (LocalExecutor) and dag-processor on a fresh PostgreSQL metadata database, started
here and stopped afterwards. The simulators deliver their webhooks to the api-server.

Completions in the Docebo simulator become badges in the Credly simulator; badges issued in
Credly become external training in Docebo. Prints ``webhook latency: n=N p50_s=X p95_s=Y``
from each change in a simulator to its result in the other (a figure, not an assertion).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, create_engine, text

from credly_sync.operators.apply import POOLS
from include.processes import free_port, stop_groups
from include.simulators.common.people import learner
from tests.dags.test_credly_sync_events import COURSE, PLAN, World
from tests.fixtures.credly import CredlySim
from tests.fixtures.docebo import DoceboSim
from tests.fixtures.intake import WEBHOOK_SECRETS

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "credly_sync_events"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
READY_TIMEOUT = 120.0
APPLY_TIMEOUT = 150.0


class Airflow:
    """The three Airflow processes, each in its own process group (stopped by that id)."""

    def __init__(self, home: Path, env: dict[str, str], port: int) -> None:
        self.home, self.env, self.port = home, env, port
        self.url = f"http://127.0.0.1:{port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def airflow(self, *args: str, timeout: float = 180) -> None:
        result = subprocess.run(
            [_airflow(), *args], env=self.env, capture_output=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            pytest.fail(f"airflow {' '.join(args)} failed:\n{result.stderr.decode()[-3000:]}")

    def start(self) -> None:
        for name, args in (
            ("api-server", ["api-server", "--port", str(self.port), "--host", "127.0.0.1"]),
            ("scheduler", ["scheduler"]),
            ("dag-processor", ["dag-processor"]),
        ):
            log = (self.home / f"{name}.log").open("wb")
            self.processes[name] = subprocess.Popen(
                [_airflow(), *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                pytest.fail(f"airflow {name} exited ({process.returncode}):\n{self.log(name)[-3000:]}")

    def log(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_ready(self) -> None:
        """Until the api-server answers and the event DAG is parsed and unpaused."""
        deadline = time.monotonic() + READY_TIMEOUT
        token = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if token is None:
                    token = requests.get(f"{self.url}/auth/token", timeout=5).json()["access_token"]
                response = requests.get(
                    f"{self.url}/api/v2/dags/{DAG_ID}",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=5,
                )
                if response.status_code == 200 and not response.json()["is_paused"]:
                    return
            except (requests.RequestException, KeyError, ValueError):
                pass
            time.sleep(1)
        pytest.fail(f"Airflow not ready in {READY_TIMEOUT:.0f} s:\n{self.log('dag-processor')[-2000:]}")

    def stop(self) -> None:
        stop_groups(self.processes.values())


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


@pytest.fixture
def metadata_database() -> Iterator[str]:
    """A fresh PostgreSQL database for Airflow's metadata, dropped afterwards."""
    name = f"credly_sync_e2e_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: the postgres marker's skip/fail rule
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def airflow(
    metadata_database: str,
    tmp_path: Path,
    credly_connection: str,
    docebo_connection: str,
    configured_warehouse: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Airflow]:
    """Airflow 3 on LocalExecutor with only the event DAG, talking to the test's simulators and
    warehouse through the same connections (environment variables)."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_CREDLY_SYNC_WEBHOOKS", json.dumps({"conn_type": "generic", "extra": WEBHOOK_SECRETS})
    )
    home = tmp_path / "airflow"
    dags = home / "dags"
    dags.mkdir(parents=True)
    shutil.copy(ROOT / "dags" / f"{DAG_ID}.py", dags)  # the batch DAGs would run too and blur the figure
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_database,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'plugins'}",
    }
    for key in ("AIRFLOW__CORE__UNIT_TEST_MODE",):
        env.pop(key, None)
    instance = Airflow(home, env, port)
    instance.airflow("db", "migrate")
    for pool, (slots, description) in POOLS.items():  # the apply tasks take their slots
        instance.airflow("pools", "set", pool, str(slots), description)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def test_webhooks_are_applied_in_both_directions_by_real_airflow(
    dagbag: Any, credly_sim: CredlySim, docebo_sim: DoceboSim, configured_warehouse: Engine, airflow: Airflow
) -> None:
    world = World(
        dagbag, credly_sim, docebo_sim, configured_warehouse, f"{airflow.url}/credly-sync-intake", learners=30
    )
    airflow.wait_ready()
    changed: dict[tuple[str, str], float] = {}  # (what, e-mail) -> when the change happened
    waves = [range(0, 6), range(6, 12), range(12, 18)]
    for wave, indexes in enumerate(waves):
        rows = [(learner(i).user_id, COURSE, f"2026-03-0{wave + 1} 10:00:00") for i in indexes]
        world.docebo.state.complete_courses(rows)  # one change: a grouped message
        now = time.monotonic()
        changed.update({("badge", learner(i).email): now for i in indexes})
        world.docebo.state.complete_learning_plan(learner(18 + wave).user_id, PLAN, "2026-03-05 08:00:00")
        changed[("plan", learner(18 + wave).email)] = time.monotonic()
        for i in (21 + 2 * wave, 22 + 2 * wave):
            world.issue_by_hand(i)
            changed[("training", learner(i).email)] = time.monotonic()
        time.sleep(8)

    applied: dict[tuple[str, str], float] = {}
    users = {learner(i).user_id: learner(i).email for i in range(30)}
    deadline = time.monotonic() + APPLY_TIMEOUT
    while time.monotonic() < deadline and len(applied) < len(changed):
        now = time.monotonic()
        seen = {("badge", e) for e in world.held(world.course_template.id)}
        seen |= {("plan", e) for e in world.held(world.plan_template.id)}
        seen |= {("training", users[t.user_id]) for t in list(world.docebo.world.external_training.values())}
        for key in seen & changed.keys():
            applied.setdefault(key, now)
        airflow.check_alive()
        time.sleep(0.5)

    latencies = sorted(applied[key] - changed[key] for key in applied)
    if latencies:
        p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        print(f"webhook latency: n={len(latencies)} p50_s={statistics.median(latencies):.1f} p95_s={p95:.1f}")
    missing = sorted(set(changed) - set(applied))
    assert not missing, f"not applied within {APPLY_TIMEOUT:.0f} s: {missing}"
    assert len(changed) >= 20
    assert all(states == ["pending"] for states in world.held(world.course_template.id).values())
    trainings = [t.user_id for t in world.docebo.world.external_training.values()]
    assert len(trainings) == len(set(trainings)) == 6, "one record per badge, no duplicate"
    for secret in WEBHOOK_SECRETS.values():
        assert secret not in airflow.log("api-server"), "a webhook secret reached the api-server log"
