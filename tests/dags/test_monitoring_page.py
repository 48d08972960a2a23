"""The "Credly sync" page inside Airflow's own api-server app (plugin loaded from plugins/):
authentication through Airflow's JWT, numbers equal to the warehouse's, the operator extra link."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from airflow.sdk import DagRunState
from sqlalchemy import Engine

from credly_sync.planning.operations import Operation
from credly_sync.warehouse.holders import upsert_holders
from credly_sync.warehouse.journal import Outcome, record_operations, record_outcomes
from credly_sync.warehouse.status import journal_counts
from tests.fixtures.airflow import run_dag

PASSWORD = "page-test-password"


@pytest.fixture(scope="module")
def api(airflow_db: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Airflow's api-server application (core API, auth manager, plugins), as ``airflow
    api-server`` builds it, with one SimpleAuthManager user ``admin``."""
    from fastapi.testclient import TestClient

    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
        from airflow.api_fastapi.app import create_app, purge_cached_app

        purge_cached_app()
        with TestClient(create_app("core")) as client:
            yield client
        purge_cached_app()


def _token(api: Any) -> str:
    response = api.post("/auth/token", json={"username": "admin", "password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def test_the_page_needs_an_airflow_login(api: Any) -> None:
    assert api.get("/credly-sync/api/summary").status_code == 401
    page = api.get("/credly-sync/?status=failed", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/auth/login?next=%2Fcredly-sync%2F%3Fstatus%3Dfailed"
    forged = api.get("/credly-sync/api/summary", headers={"Authorization": "Bearer not.a.jwt"})
    assert forged.status_code == 403
    plugins = api.get("/api/v2/plugins", headers={"Authorization": f"Bearer {_token(api)}"}).json()
    [ours] = [plugin for plugin in plugins["plugins"] if plugin["name"] == "credly_sync_ui"]
    assert ours["fastapi_apps"][0]["url_prefix"] == "/credly-sync"
    assert ours["external_views"][0]["href"] == "/credly-sync/"
    assert plugins.get("import_errors", []) == [] or all(
        "credly" not in str(error) for error in plugins["import_errors"]
    )


def test_the_page_shows_the_warehouse(
    api: Any,
    dagbag: Any,
    configured_warehouse: Engine,
    credly_sim: Any,
    credly_connection: str,
    docebo_sim: Any,
    docebo_connection: str,
    smtp_sink: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docebo_sim.seed(3, learners=4, courses=1, learning_plans=1, certifications=1, completions=0, awards=0)
    run = run_dag(dagbag, "lms_to_credly")
    assert run.state == DagRunState.SUCCESS
    keys = ["issue:t1:1:a", "issue:t1:2:b", "revoke:b3", "issue:t2:4:c", "revoke:b5"]
    with configured_warehouse.begin() as connection:
        record_operations(
            connection, [Operation(k, k.split(":")[0], f"user {k[-1]}", {}) for k in keys], run.run_id
        )
        record_outcomes(
            connection,
            [
                Outcome(keys[0], "applied", result={"badge_id": "b1"}),
                Outcome(keys[1], "rejected", last_error="422: badge template archived"),
                Outcome(keys[2], "failed", last_error="503 (gave up after 5 attempts)"),
                Outcome(keys[3], "rejected", last_error="422: invalid recipient e-mail"),
            ],
        )
        upsert_holders(
            connection,
            pd.DataFrame(
                [
                    {
                        "badge_id": "b1",
                        "badge_template_id": "t1",
                        "badge_template_name": "Cloud Basics",
                        "recipient_email": "ada@example.com",
                        "issued_to": "Ada Lovelace",
                        "state": "accepted",
                    },
                    {
                        "badge_id": "b2",
                        "badge_template_id": "t2",
                        "badge_template_name": "Data Path",
                        "recipient_email": "alan@example.com",
                        "issued_to": "Alan Turing",
                        "state": "accepted",
                    },
                ]
            ),
            "org-1",
        )
    created = (datetime.now(UTC).date() - timedelta(days=170)).isoformat()
    connection_env = json.loads(os.environ["AIRFLOW_CONN_CREDLY_DEFAULT"])
    monkeypatch.setenv(
        "AIRFLOW_CONN_CREDLY_DEFAULT", json.dumps({**connection_env, "extra": {"token_created": created}})
    )

    api.cookies.set("_token", _token(api))  # what the UI's login leaves in the browser
    try:
        summary = api.get("/credly-sync/api/summary").json()
        expected = journal_counts(configured_warehouse)
        assert {(r["kind"], r["status"]): r["count"] for r in summary["journal"]} == expected
        assert (summary["waiting"], summary["failed"], summary["rejected"]) == (1, 1, 2)
        last = summary["last_sync"]["lms_to_credly"]
        assert last["run_id"] == run.run_id
        assert sum(row["count"] for row in last["counts"]) == len(keys)
        assert summary["credly_token"]["level"] == "warning"

        page = api.get("/credly-sync/", headers={"accept": "text/html"}).text
        assert f"data-count='journal-total'>{sum(expected.values())}<" in page
        assert "data-kind='issue' data-status='rejected'>2<" in page
        assert "in 10 days" in page and run.run_id in page
        assert "503 (gave up after 5 attempts)" in page and "invalid recipient e-mail" in page

        rejected = api.get("/credly-sync/?status=rejected&q=e-mail", headers={"accept": "text/html"}).text
        problems = rejected[rejected.index("id='problems'") : rejected.index("id='waiting'")]
        assert "data-count='problems'>1<" in problems and keys[3] in problems and keys[1] not in problems

        holders = api.get("/credly-sync/?holders=cloud", headers={"accept": "text/html"}).text
        assert "Ada Lovelace" in holders and "Alan Turing" not in holders

        this_run = api.get("/credly-sync/", params={"dag_id": "lms_to_credly", "run_id": run.run_id}).text
        assert "data-count='this-run-total'>5<" in this_run

        link = api.get(
            f"/api/v2/dags/lms_to_credly/dagRuns/{run.run_id}/taskInstances/plan_badges/links"
        ).json()
        assert re.fullmatch(
            r"/credly-sync/\?dag_id=lms_to_credly&run_id=.+#this-run", link["extra_links"]["Credly sync"]
        )
    finally:
        api.cookies.clear()


def test_airflow_scans_the_plugin_file_and_not_the_package() -> None:
    """The plugin manager imports each scanned file under its bare name: the package's modules
    (settings.py, __main__.py, ...) must stay out, the plugin file must be in."""
    from airflow._shared.module_loading import find_path_from_directory

    plugins = Path(__file__).resolve().parents[2] / "plugins"
    scanned = {
        Path(path).relative_to(plugins).as_posix()
        for path in find_path_from_directory(str(plugins), ".airflowignore")
    }
    assert "credly_sync_ui.py" in scanned
    assert not [path for path in scanned if path.startswith("credly_sync/")]
