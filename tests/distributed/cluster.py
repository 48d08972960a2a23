"""A production-shaped Airflow on this machine, without Docker: api-server, scheduler,
dag-processor, triggerer and a Celery worker as processes (CeleryExecutor, a Redis broker of its
own, a fresh PostgreSQL metadata database, one JWT secret), the Credly, Docebo and SMTP
simulators as processes, and the warehouse in a PostgreSQL database of its own.

The simulators hold the demo's world (the seeds and sizes of `make demo`), so the browser
check's screenshots show the numbers `make demo` shows. Every port is picked free at start, so
several checkouts can run it at once. Started once for tests/distributed/ (conftest.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from credly_sync.operators.apply import POOLS
from include.processes import free_port, port_open, stop_groups
from include.simulators.demo_world import CREDLY_WORLD, DOCEBO_WORLD

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG = {"host": "127.0.0.1", "port": 5432, "login": "postgres"}
CREDLY_ORG, CREDLY_TOKEN = "cluster-org", "cluster-credly-token"
DOCEBO_CLIENT, DOCEBO_SECRET = "cluster-client", "cluster-docebo-secret"
ADMIN_PASSWORD = "cluster-admin"
AIRFLOW_COMPONENTS = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
    "celery-worker": ["celery", "worker", "--concurrency", "2"],
}


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", PG["host"], "-p", str(PG["port"]), "-U", PG["login"], "-qc", sql],
        check=True,
        capture_output=True,
    )


@dataclass
class Cluster:
    """Start with :meth:`start`, stop with :meth:`stop` (also after a failed start)."""

    home: Path
    name: str = field(default_factory=lambda: f"credly_cluster_{secrets.token_hex(4)}")
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    token: str | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def metadata_db(self) -> str:
        return f"{self.name}_airflow"

    @property
    def warehouse_db(self) -> str:
        return f"{self.name}_warehouse"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def env(self) -> dict[str, str]:
        """The configuration every process shares (what docker-compose.yaml sets as well)."""
        pg = f"postgresql+psycopg://{PG['login']}@{PG['host']}:{PG['port']}"
        warehouse = {"conn_type": "postgres", **PG, "schema": self.warehouse_db}
        connections = {
            "CREDLY_DEFAULT": {
                "conn_type": "http",
                "host": f"http://127.0.0.1:{self.ports['credly']}",
                "login": CREDLY_ORG,
                "password": CREDLY_TOKEN,
                "extra": {"token_created": time.strftime("%Y-%m-%d")},
            },
            "DOCEBO_DEFAULT": {
                "conn_type": "http",
                "host": f"http://127.0.0.1:{self.ports['docebo']}",
                "login": DOCEBO_CLIENT,
                "password": DOCEBO_SECRET,
            },
            "CREDLY_SYNC_WAREHOUSE": warehouse,
            "SMTP_DEFAULT": {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.ports["smtp"],
                "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "credly-sync@localhost"},
            },
        }
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AIRFLOW", "_AIRFLOW")) and key != "PYTEST_CURRENT_TEST"
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}",
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{pg}/{self.metadata_db}",
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{pg}/{self.metadata_db}",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
                # one secret for every component, or workers fail "Signature verification failed"
                "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.ports["api"]),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports["worker_log"]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.ports["trigger_log"]),
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                **{f"AIRFLOW_CONN_{name}": json.dumps(value) for name, value in connections.items()},
            }
        )
        return env

    # --- life cycle ---------------------------------------------------------------------------

    def start(self, *, timeout: float = 180) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self.jwt_secret = secrets.token_urlsafe(48)
        for name in ("api", "redis", "credly", "docebo", "smtp", "worker_log", "trigger_log"):
            self.ports[name] = free_port()
        (self.home / "passwords.json").write_text(json.dumps({"admin": ADMIN_PASSWORD}))
        psql(f"CREATE DATABASE {self.metadata_db}")
        psql(f"CREATE DATABASE {self.warehouse_db}")
        self._spawn(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.ports["redis"]),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            port="redis",
        )
        self._start_simulators()
        self.run("airflow", "db", "migrate")
        for pool, (slots, description) in POOLS.items():  # the apply tasks take their slots
            self.run("airflow", "pools", "set", pool, str(slots), description)
        self.run("python", "-m", "credly_sync", "migrate")
        self.run("python", "-m", "credly_sync", "settings", "import", "include/sample/settings.csv")
        self.run("python", "-m", "credly_sync", "mappings", "import", "include/sample/mappings.csv")
        for name, args in AIRFLOW_COMPONENTS.items():
            self._spawn(name, [str(BIN / "airflow"), *args])
        wait_for("the api-server", self._healthy, timeout)
        self.token = self._login()

    def stop(self) -> None:
        """Stop what was started (SIGTERM, then SIGKILL), drop the two databases."""
        stop_groups(reversed(list(self.processes.values())))
        self.processes.clear()
        for database in (self.metadata_db, self.warehouse_db):
            with contextlib.suppress(subprocess.CalledProcessError):
                psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")

    def run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command of the venv with the cluster's environment (output kept in the log)."""
        result = subprocess.run(
            [str(BIN / program), *args], cwd=ROOT, env=self.env(), capture_output=True, text=True
        )
        with (self.logs / "commands.log").open("a") as log:
            log.write(f"$ {program} {' '.join(args)}\n{result.stdout}{result.stderr}\n")
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        return result

    def _start_simulators(self) -> None:
        credly = ["include.simulators.credly", "--org", CREDLY_ORG, "--token", CREDLY_TOKEN]
        docebo = ["include.simulators.docebo", "--client-id", DOCEBO_CLIENT, "--client-secret", DOCEBO_SECRET]
        for name, args, world in (("credly", credly, CREDLY_WORLD), ("docebo", docebo, DOCEBO_WORLD)):
            where = ["--host", "127.0.0.1", "--port", str(self.ports[name])]
            self._spawn(f"{name}-simulator", [sys.executable, "-m", *args, *where, *world], port=name)
        self._spawn(
            "smtp-sink",
            [
                sys.executable,
                "-m",
                "include.simulators.smtp",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.ports["smtp"]),
                "--maildir",
                str(self.home / "mail"),
            ],
            port="smtp",
        )

    def _spawn(self, name: str, args: list[str], *, port: str | None = None) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env() if self.ports else None,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends it and its children only
        )
        if port:
            wait_for(
                f"{name} on port {self.ports[port]}",
                lambda: self._alive(name) and port_open(self.ports[port]),
                30,
                0.2,
            )

    def _alive(self, name: str) -> bool:
        process = self.processes[name]
        if process.poll() is not None:
            tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")
        return True

    def _healthy(self) -> bool:
        for name in self.processes:
            self._alive(name)
        try:
            return requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).ok
        except requests.ConnectionError:
            return False

    def _login(self) -> str:
        response = requests.post(
            f"{self.api_url}/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
        )
        response.raise_for_status()
        return response.json()["access_token"]

    # --- REST API v2 --------------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method,
            f"{self.api_url}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **kwargs,
        )
        if not response.ok:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 180) -> None:
        def parsed() -> bool:
            found = {dag["dag_id"] for dag in self.api("GET", "/api/v2/dags", params={"limit": 100})["dags"]}
            return set(dag_ids) <= found

        wait_for(f"the dag-processor to parse {dag_ids}", parsed, timeout, 2)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240) -> dict[str, Any]:
        """Wait until the run ends; return it (fail with the task states when it did not succeed)."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{requests.utils.quote(run_id, safe='')}"

        def finished() -> dict[str, Any] | None:
            run = self.api("GET", path)
            return run if run["state"] in ("success", "failed") else None

        run = wait_for(f"{dag_id} run {run_id}", finished, timeout, 2)
        if run["state"] != "success":
            tasks = self.api("GET", f"{path}/taskInstances")["task_instances"]
            states = {task["task_id"]: task["state"] for task in tasks}
            raise AssertionError(f"{dag_id} {run_id} ended {run['state']}: {states}; logs in {self.logs}")
        return run

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        body = {"logical_date": None, "conf": conf or {}}
        return self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]


class Docebo:
    """The Docebo simulator process through its API (and its ``/_admin`` routes)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        form = {
            "client_id": DOCEBO_CLIENT,
            "client_secret": DOCEBO_SECRET,
            "grant_type": "client_credentials",
        }
        token = requests.post(f"{self.base}/oauth2/token", data=form, timeout=10).json()["access_token"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        response = self.session.get(f"{self.base}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()["data"]["items"]

    def give_course_a_badge(
        self, course_id: int | None = None, template_name: str | None = None
    ) -> tuple[int, str]:
        """What a course admin does once the dropdown exists: pick a course's badge template (by
        default the first course and the first template)."""
        [field] = [f for f in self.items("/learn/v1/courses/field") if f["type"] == "dropdown"]
        option = next(o for o in field["options"] if template_name in (None, o["label"]))
        course_id = course_id or self.items("/learn/v1/courses")[0]["id_course"]
        url = f"{self.base}/learn/v1/courses/{course_id}/field/{field['id']}"
        self.session.put(url, json={"value": option["id"]}, timeout=10).raise_for_status()
        return course_id, option["label"]

    def complete(self, user_id: int, course_id: int, at: str) -> None:
        body = {"user_id": user_id, "course_id": course_id, "completed_at": at}
        requests.post(f"{self.base}/_admin/enrollments/complete", json=body, timeout=10).raise_for_status()
