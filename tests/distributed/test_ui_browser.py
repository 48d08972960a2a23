"""The browser check: headless Chromium (include/browser.py) logs into the Airflow UI of the
cluster (conftest.py), after the demo's runs (what `make demo` runs: templates, dropdown, the
demo's course badges, a full reconcile each way), and opens the dashboard, the DAG list, the
``lms_to_credly`` run and the Credly sync page. It saves a PNG of each (in
``.airflow-test/screenshots/`` or ``$CREDLY_SYNC_SCREENSHOTS``) and checks what a user would
see: no import error, the sync DAGs, the run's success, and the page's numbers equal to the
warehouse's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from include.browser import missing_browser
from include.simulators.demo_world import COURSE_BADGES
from scripts.screenshots import screenshots
from tests.distributed.cluster import ADMIN_PASSWORD, PG, ROOT, Cluster, Docebo

MISSING = missing_browser()
pytestmark = [
    pytest.mark.distributed,
    pytest.mark.timeout(900),
    pytest.mark.skipif(bool(MISSING) and os.environ.get("CI") != "true", reason=str(MISSING)),
]

SCREENSHOTS = Path(os.environ.get("CREDLY_SYNC_SCREENSHOTS") or ROOT / ".airflow-test" / "screenshots")
# What `make demo` runs, in its order (dag id, conf); before lms_to_credly it picks the
# COURSE_BADGES in Docebo.
DEMO_RUNS = (
    ("credly_templates", None),
    ("credly_lms_dropdown", None),
    ("lms_to_credly", {"full_reconcile": True}),
    ("credly_to_lms", {"full_reconcile": True}),
)


@pytest.fixture(scope="module")
def demo_runs(cluster: Cluster) -> None:
    """What ``make demo`` runs, in its order, on the cluster; each run must succeed."""
    for dag_id, conf in DEMO_RUNS:
        if dag_id == "lms_to_credly":
            docebo = Docebo(cluster.ports["docebo"])
            for course_id, template_name in COURSE_BADGES.items():
                docebo.give_course_a_badge(course_id, template_name)
        cluster.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        cluster.wait_for_run(dag_id, cluster.trigger(dag_id, conf))


@pytest.fixture(scope="module")
def warehouse(cluster: Cluster) -> Iterator[Engine]:
    engine = create_engine(
        f"postgresql+psycopg://{PG['login']}@{PG['host']}:{PG['port']}/{cluster.warehouse_db}"
    )
    yield engine
    engine.dispose()


def test_the_ui_shows_the_dags_a_successful_run_and_the_warehouse_numbers(
    cluster: Cluster, demo_runs: None, warehouse: Engine
) -> None:
    if MISSING:
        pytest.fail(MISSING)  # CI=true: the browser check must run
    cluster.wait_for_dags([dag_id for dag_id, _ in DEMO_RUNS])
    parsed = {dag["dag_id"] for dag in cluster.api("GET", "/api/v2/dags", params={"limit": 100})["dags"]}
    assert cluster.api("GET", "/api/v2/importErrors")["total_entries"] == 0
    assert cluster.api("GET", "/api/v2/plugins/importErrors")["total_entries"] == 0

    ui = {"base_url": cluster.api_url, "username": "admin", "password": ADMIN_PASSWORD}
    seen = screenshots(ui, SCREENSHOTS)  # what scripts/screenshots.py does for the README

    assert seen.import_error_indicators == 0
    assert seen.dag_ids == parsed
    assert seen.run_state == "success"
    with warehouse.connect() as connection:
        journal = {
            (kind, status): count
            for kind, status, count in connection.execute(
                text("SELECT kind, status, count(*) FROM operation_journal GROUP BY kind, status")
            )
        }
        per_run = dict(
            connection.execute(
                text("SELECT dag_run_id, count(*) FROM operation_journal GROUP BY dag_run_id")
            ).all()
        )
    by_status = {status: 0 for status in ("pending", "failed", "rejected")}
    for (_, status), count in journal.items():
        by_status[status] = by_status.get(status, 0) + count
    assert seen.last_runs.keys() == {"lms_to_credly", "credly_to_lms"}
    assert seen.last_runs["lms_to_credly"] == seen.run_id, "the page's last sync is the API's newest"
    expected = {
        "journal-total": sum(journal.values()),
        "problems": by_status["failed"] + by_status["rejected"],
        "waiting": by_status["pending"],
        **{f"last-{dag_id}": per_run.get(run_id, 0) for dag_id, run_id in seen.last_runs.items()},
    }
    assert seen.counts == expected
    assert seen.journal == journal
    assert journal.get(("issue", "applied"), 0) > 0, "the demo's full reconcile issued badges"
    assert all(path.stat().st_size > 10_000 for path in seen.screenshots), seen.screenshots
