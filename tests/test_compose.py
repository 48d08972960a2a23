"""docker-compose.yaml against what tests/distributed/ proves on real processes: the same
components, executor, broker, databases, JWT secret, execution API URL and connections.
(No Docker engine on the build machines: this reads the file, it does not start it.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.distributed.cluster import AIRFLOW_COMPONENTS, Cluster

ROOT = Path(__file__).resolve().parents[1]
# Settings the process test needs only because many checkouts share one machine (free ports,
# temporary files, small sizes); compose uses the defaults or its own paths.
MACHINE_LOCAL = {
    "AIRFLOW_HOME",
    "AIRFLOW__API__HOST",
    "AIRFLOW__API__PORT",
    "AIRFLOW__API__WORKERS",
    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT",
    "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY",
    "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK",  # compose turns it on for its health check
}
LONG_RUNNING = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


@pytest.fixture(scope="module")
def proven() -> dict[str, str]:
    cluster = Cluster(home=Path("/nonexistent"))
    cluster.ports = dict.fromkeys(
        ("api", "redis", "credly", "docebo", "smtp", "worker_log", "trigger_log"), 1
    )
    cluster.jwt_secret = "s"
    return {key: value for key, value in cluster.env().items() if key.startswith("AIRFLOW")}


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in service["environment"].items()}


def test_the_components_are_the_ones_started_as_processes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    commands = {name: services[name]["command"] for name in LONG_RUNNING}
    assert sorted(commands.values()) == sorted(
        " ".join(args[:2]) if args[0] == "celery" else args[0] for args in AIRFLOW_COMPONENTS.values()
    )
    for name in (*LONG_RUNNING, "postgres", "redis"):
        assert services[name]["healthcheck"]["test"], f"{name} has no health check"
    assert services["airflow-apiserver"]["healthcheck"]["test"][-1].endswith("/api/v2/monitor/health")
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"].startswith("redis:7")
    assert "FROM apache/airflow:3.3.2-python3.11" in (ROOT / "Dockerfile").read_text()
    for name in ("credly-sim", "docebo-sim", "mail"):
        assert services[name]["profiles"] == ["demo"]


def test_every_airflow_service_has_the_proven_configuration(
    compose: dict[str, Any], proven: dict[str, str]
) -> None:
    needed = set(proven) - MACHINE_LOCAL
    for name in (*LONG_RUNNING, "airflow-init"):
        env = _env(compose["services"][name])
        assert needed <= set(env), f"{name} lacks {sorted(needed - set(env))}"
        assert env["AIRFLOW__CORE__EXECUTOR"] == proven["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://")
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg://")
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["PYTHONPATH"] == "/opt/airflow:/opt/airflow/plugins"
        volumes = compose["services"][name]["volumes"]
        for folder in ("dags", "plugins", "include"):
            assert f"./{folder}:/opt/airflow/{folder}" in volumes
    secrets = {_env(compose["services"][name])["AIRFLOW__API_AUTH__JWT_SECRET"] for name in LONG_RUNNING}
    assert len(secrets) == 1, "one JWT secret for every component"
    assert compose["services"]["airflow-apiserver"]["ports"] == ["8080:8080"]
    assert _env(compose["services"]["airflow-apiserver"])["AIRFLOW__API__BASE_URL"].endswith(":8080")
