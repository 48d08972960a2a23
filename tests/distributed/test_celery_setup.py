"""The DAGs under a real scheduler: api-server, scheduler, dag-processor, triggerer and a Celery
worker as processes (see cluster.py), driven through the REST API v2 and ``airflow backfill``.

One scenario, in order: the scheduled runs of the template and dropdown DAGs; a scheduled run
of each sync DAG; a three-hour backfill of ``lms_to_credly`` whose every run reads its own hour
(one completion placed in each); a ``full_reconcile`` + ``dry_run`` run that writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select

from credly_sync.warehouse.schema import issued_badge_ledger, operation_journal
from tests.distributed.cluster import CREDLY_ORG, CREDLY_TOKEN, PG, Cluster, Docebo, wait_for

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(900)]

SYNC_DAGS = ("lms_to_credly", "credly_to_lms")
SETUP_DAGS = ("credly_templates", "credly_lms_dropdown")
BACKFILL_HOURS = ("2026-03-01T00:00:00+00:00", "2026-03-01T01:00:00+00:00", "2026-03-01T02:00:00+00:00")
COMPLETED_AT = ("2026-03-01 00:20:00", "2026-03-01 01:40:00", "2026-03-01 02:05:00")


def _credly_badges(cluster: Cluster) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{cluster.ports['credly']}/v1/organizations/{CREDLY_ORG}/badges"
    badges: list[dict[str, Any]] = []
    while url:
        body = requests.get(url, auth=(CREDLY_TOKEN, ""), timeout=10).json()
        badges.extend(body["data"])
        url = body["metadata"].get("next_page_url")
    return badges


def _runs(cluster: Cluster, dag_id: str, **params: Any) -> list[dict[str, Any]]:
    return cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100, **params})["dag_runs"]


def _scheduled_success(cluster: Cluster, dag_id: str) -> dict[str, Any]:
    """Unpause ``dag_id`` and wait for its first scheduled run to end; it must succeed."""
    cluster.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
    run = wait_for(
        f"a scheduled run of {dag_id}",
        lambda: next((r for r in _runs(cluster, dag_id) if r["run_type"] == "scheduled"), None),
        120,
        2,
    )
    return cluster.wait_for_run(dag_id, run["dag_run_id"])


def test_scheduled_runs_a_backfill_and_a_dry_run_full_reconcile_on_celery(cluster: Cluster) -> None:
    cluster.wait_for_dags([*SETUP_DAGS, *SYNC_DAGS])
    assert cluster.api("GET", "/api/v2/importErrors")["total_entries"] == 0
    for dag_id in SETUP_DAGS:
        _scheduled_success(cluster, dag_id)

    docebo = Docebo(cluster.ports["docebo"])
    course_id, template_name = docebo.give_course_a_badge()
    learners = [user for user in docebo.items("/manage/v1/user") if user.get("email")][:3]
    for learner, at in zip(learners, COMPLETED_AT, strict=True):
        docebo.complete(int(learner["user_id"]), course_id, at)
    badges_before = len(_credly_badges(cluster))

    for dag_id in SYNC_DAGS:
        scheduled = _scheduled_success(cluster, dag_id)
        assert scheduled["data_interval_end"] > scheduled["data_interval_start"], "a real data interval"

    # the scheduler executes the backfill: one run per hour, each reading its own hour
    cluster.run(
        "airflow", "backfill", "create", "--dag-id", "lms_to_credly",
        "--from-date", BACKFILL_HOURS[0], "--to-date", BACKFILL_HOURS[-1],
    )  # fmt: skip
    backfill_runs = wait_for(
        "the three backfill runs",
        lambda: (runs := _runs(cluster, "lms_to_credly", run_type="backfill")) and len(runs) == 3 and runs,
        60,
        2,
    )
    finished = {
        run["dag_run_id"]: cluster.wait_for_run("lms_to_credly", run["dag_run_id"]) for run in backfill_runs
    }
    assert sorted(run["logical_date"][:19] for run in finished.values()) == [h[:19] for h in BACKFILL_HOURS]

    warehouse = create_engine(
        f"postgresql+psycopg://{PG['login']}@{PG['host']}:{PG['port']}/{cluster.warehouse_db}"
    )
    journal = operation_journal
    with warehouse.connect() as connection:
        per_run = dict(
            connection.execute(
                select(journal.c.dag_run_id, func.count())
                .where(journal.c.kind == "issue", journal.c.status == "applied")
                .group_by(journal.c.dag_run_id)
            ).all()
        )
        ledger = dict(
            connection.execute(
                select(issued_badge_ledger.c.credly_badge_id, issued_badge_ledger.c.lms_user_id)
            ).all()
        )
    for run_id in finished:
        assert per_run.get(run_id) == 1, (
            f"backfill run {run_id} issued {per_run.get(run_id)} badge(s): {per_run}"
        )
    assert sorted(ledger.values()) == sorted(str(learner["user_id"]) for learner in learners)
    issued = {badge["id"]: badge for badge in _credly_badges(cluster) if badge["id"] in ledger}
    assert len(issued) == 3 and {b["badge_template"]["name"] for b in issued.values()} == {template_name}
    assert {b["issuer_earner_id"] for b in issued.values()} == set(ledger.values())
    badges_after_backfill = len(_credly_badges(cluster))
    assert badges_after_backfill == badges_before + 3

    # full reconcile, dry run: planned and reported, nothing written
    with warehouse.connect() as connection:
        journal_before = connection.execute(select(func.count()).select_from(journal)).scalar_one()
    run_id = cluster.trigger("lms_to_credly", {"full_reconcile": True, "dry_run": True})
    cluster.wait_for_run("lms_to_credly", run_id)
    quoted = requests.utils.quote(run_id, safe="")
    summary = cluster.api(
        "GET",
        f"/api/v2/dags/lms_to_credly/dagRuns/{quoted}/taskInstances/plan_badges/xcomEntries/summary",
        params={"deserialize": "true", "stringify": "false"},
    )["value"]
    assert summary["dry_run"] is True and summary["window"].startswith("full reconcile")
    with warehouse.connect() as connection:
        assert connection.execute(select(func.count()).select_from(journal)).scalar_one() == journal_before
    assert len(_credly_badges(cluster)) == badges_after_backfill
    warehouse.dispose()

    page = requests.get(
        f"{cluster.api_url}/credly-sync/api/summary",
        headers={"Authorization": f"Bearer {cluster.token}"},
        timeout=10,
    ).json()
    assert page["last_sync"]["lms_to_credly"]["run_id"] == run_id
