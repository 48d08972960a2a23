"""The browser check: headless Chromium (include/browser.py) logs into the Airflow UI of the
cluster (conftest.py), after the demo's runs (scripts/demo.py: templates, dropdown, the demo's
course badges, a full reconcile each way), and opens the dashboard, the DAG list, the
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

from include.browser import chromium, missing_browser, take_screenshots
from scripts.demo import COURSE_BADGES, MAIN_DAGS
from tests.distributed.cluster import ADMIN_PASSWORD, PG, ROOT, Cluster, Docebo

MISSING = missing_browser()
pytestmark = [
    pytest.mark.distributed,
    pytest.mark.timeout(900),
    pytest.mark.skipif(bool(MISSING) and os.environ.get("CI") != "true", reason=str(MISSING)),
]

SCREENSHOTS = Path(os.environ.get("CREDLY_SYNC_SCREENSHOTS") or ROOT / ".airflow-test" / "screenshots")
DEMO_DAGS = {dag_id for dag_id, _ in MAIN_DAGS}


@pytest.fixture(scope="module")
def demo_runs(cluster: Cluster) -> dict[str, str]:
    """What ``make demo`` runs, in its order, on the cluster: dag id -> the successful run."""
    runs = {}
    for dag_id, conf in MAIN_DAGS:
        if dag_id == "lms_to_credly":
            docebo = Docebo(cluster.ports["docebo"])
            for course_id, template_name in COURSE_BADGES.items():
                docebo.give_course_a_badge(course_id, template_name)
        cluster.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        runs[dag_id] = cluster.trigger(dag_id, conf)
        cluster.wait_for_run(dag_id, runs[dag_id])
    return runs


@pytest.fixture(scope="module")
def warehouse(cluster: Cluster) -> Iterator[Engine]:
    engine = create_engine(
        f"postgresql+psycopg://{PG['login']}@{PG['host']}:{PG['port']}/{cluster.warehouse_db}"
    )
    yield engine
    engine.dispose()


def test_the_ui_shows_the_dags_a_successful_run_and_the_warehouse_numbers(
    cluster: Cluster, demo_runs: dict[str, str], warehouse: Engine
) -> None:
    if MISSING:
        pytest.fail(MISSING)  # CI=true: the browser check must run
    cluster.wait_for_dags(sorted(DEMO_DAGS))
    parsed = {dag["dag_id"] for dag in cluster.api("GET", "/api/v2/dags", params={"limit": 100})["dags"]}
    assert cluster.api("GET", "/api/v2/importErrors")["total_entries"] == 0
    assert cluster.api("GET", "/api/v2/plugins/importErrors")["total_entries"] == 0

    with chromium() as driver:
        seen = take_screenshots(
            driver,
            cluster.api_url,
            "admin",
            ADMIN_PASSWORD,
            SCREENSHOTS,
            ("lms_to_credly", demo_runs["lms_to_credly"]),
        )

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
