"""credly_templates end to end: Credly simulator -> PostgreSQL lookup table -> mail on loopback."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.sdk import DagRunState
from sqlalchemy import Engine, select

from credly_sync.assets import BADGE_TEMPLATES_TABLE
from credly_sync.hooks.base import RetryPolicy
from credly_sync.warehouse.schema import (
    credly_badge_templates,
    credly_integration_mappings,
    integration_settings,
    operation_journal,
)
from include.simulators.common.faults import FaultRule
from include.simulators.smtp import MailSink
from tests.fixtures.airflow import run_dag
from tests.fixtures.credly import CredlySim

DAG_ID = "credly_templates"
ONE_TEMPLATE = r"/badge_templates/[^/]+$"  # GET /badge_templates/{id}, not the listing


def table(engine: Engine) -> dict[str, tuple[str, bool]]:
    with engine.connect() as connection:
        rows = connection.execute(select(credly_badge_templates))
        return {r.badge_template_id: (r.badge_template_name, r.is_active) for r in rows}


def active_mappings(engine: Engine) -> dict[int, bool]:
    with engine.connect() as connection:
        query = select(credly_integration_mappings).order_by(credly_integration_mappings.c.id)
        return {r.id: r.is_active for r in connection.execute(query)}


def add_mappings(engine: Engine, *rows: dict[str, Any]) -> None:
    with engine.begin() as connection:
        for row in rows:
            connection.execute(credly_integration_mappings.insert().values(**row))


def asset_events_of(run: Any) -> int:
    """Asset events the run emitted for the template table."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = (
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == BADGE_TEMPLATES_TABLE.uri, AssetEvent.source_run_id == run.run_id)
        )
        return len(session.scalars(query).all())


def journal_rows(engine: Engine) -> list[tuple[str, str, int]]:
    with engine.connect() as connection:
        return [
            (r.op_key, r.status, r.attempts)
            for r in connection.execute(select(operation_journal).order_by(operation_journal.c.op_key))
        ]


@pytest.fixture
def world(
    credly_sim: CredlySim,
    credly_connection: str,
    configured_warehouse: Engine,
    smtp_sink: MailSink,
    monkeypatch: pytest.MonkeyPatch,
):
    # one second between changes, so "the first created" is well defined (Credly's creation
    # times have millisecond resolution; templates made in one test share a millisecond)
    ticks = itertools.count()
    start = datetime(2026, 3, 1, tzinfo=UTC)
    monkeypatch.setattr(credly_sim.state, "clock", lambda: start + timedelta(seconds=next(ticks)))
    return credly_sim, configured_warehouse, smtp_sink


def test_templates_follow_credly_through_rename_archive_unarchive_and_delete(dagbag: Any, world) -> None:
    sim, warehouse, mail = world
    cloud = sim.create_template("Cloud Basics")
    data = sim.create_template("Data Literacy")
    twin = sim.create_template("Cloud Basics")
    draft = sim.create_template("Security", state="draft")
    add_mappings(
        warehouse,
        {"badge_template_id": cloud.id, "badge_template_name": "Cloud Basics", "learning_plan_id": "LP-1"},
        {
            "badge_template_id": cloud.id,
            "badge_template_name": "Cloud Basics",
            "certification_code": "C-9",
            "is_active": False,
        },
        {"badge_template_id": data.id, "badge_template_name": "Data Literacy", "learning_plan_id": "LP-2"},
    )

    first = run_dag(dagbag, DAG_ID)
    assert first.state == DagRunState.SUCCESS
    assert asset_events_of(first) == 1, "the table Asset is updated, which schedules credly_lms_dropdown"
    assert table(warehouse) == {
        cloud.id: ("Cloud Basics", True),
        data.id: ("Data Literacy", True),
        draft.id: ("Security", False),
    }
    assert twin.id not in table(warehouse)
    summary = first.get_task_instance("sync_template_table").xcom_pull(task_ids="sync_template_table")
    assert summary["duplicates_skipped"] == [
        {"badge_template_id": twin.id, "name": "Cloud Basics", "kept_badge_template_id": cloud.id}
    ]
    assert mail.messages == []

    sim.admin("PATCH", f"templates/{cloud.id}", json={"name": "Cloud Foundations"}).raise_for_status()
    sim.admin("POST", f"templates/{data.id}/archive").raise_for_status()
    assert run_dag(dagbag, DAG_ID).state == DagRunState.SUCCESS
    assert table(warehouse)[cloud.id] == ("Cloud Foundations", True)
    assert table(warehouse)[data.id] == ("Data Literacy", False)
    assert twin.id in table(warehouse), "the name is free again, so the twin is taken in"

    sim.admin("POST", f"templates/{data.id}/unarchive").raise_for_status()
    sim.admin("DELETE", f"templates/{cloud.id}").raise_for_status()
    sim.simulator.control.calls.reset()
    assert run_dag(dagbag, DAG_ID).state == DagRunState.SUCCESS
    assert cloud.id not in table(warehouse)
    assert table(warehouse)[data.id] == ("Data Literacy", True)
    assert list(active_mappings(warehouse).values()) == [False, False, True]
    [notice] = mail.messages
    assert notice["To"] == "lms-admin@example.com"
    assert notice["Subject"] == "credly-sync: 1 Credly badge template deleted"
    body = notice.get_body(("html",)).get_content()
    assert "Cloud Foundations" in body and cloud.id in body and "LP-1" in body
    assert "C-9" not in body, "an already inactive mapping is not reported as deactivated"
    assert [k for k in sim.calls() if not k.startswith("GET ")] == []

    before = table(warehouse)
    assert run_dag(dagbag, DAG_ID).state == DagRunState.SUCCESS
    assert table(warehouse) == before
    assert len(mail.messages) == 1, "a notice is mailed once"


def test_a_failed_notice_keeps_the_deletion_and_is_mailed_by_the_next_run(dagbag: Any, world) -> None:
    sim, warehouse, mail = world
    doomed = sim.create_template("Legacy Badge")
    add_mappings(
        warehouse, {"badge_template_id": doomed.id, "badge_template_name": "Legacy", "learning_plan_id": "L"}
    )
    assert run_dag(dagbag, DAG_ID).state == DagRunState.SUCCESS

    sim.admin("DELETE", f"templates/{doomed.id}").raise_for_status()
    mail.refuse = True
    dag = dagbag.get_dag(DAG_ID)
    failed = dag.test()
    assert failed.state == DagRunState.FAILED
    assert doomed.id not in table(warehouse)
    assert list(active_mappings(warehouse).values()) == [False]
    [(op_key, status, attempts)] = journal_rows(warehouse)
    assert (op_key, status, attempts) == (f"notify_template_deleted:{doomed.id}", "pending", 1)
    assert mail.messages == []

    mail.refuse = False
    assert dag.test().state == DagRunState.SUCCESS
    [notice] = mail.messages
    assert "Legacy Badge" in notice.get_body(("html",)).get_content()
    assert journal_rows(warehouse) == [(f"notify_template_deleted:{doomed.id}", "applied", 2)]


def summary_of(run: Any) -> dict[str, Any]:
    return run.get_task_instance("sync_template_table").xcom_pull(task_ids="sync_template_table")


@pytest.fixture
def fast_lookups(dagbag: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two attempts per Credly call, no backoff (the DAG's own policy waits seconds)."""
    task = dagbag.get_dag(DAG_ID).get_task("sync_template_table")
    monkeypatch.setattr(task, "http_retry", RetryPolicy(max_attempts=2, backoff_base=0, timeout=2.0))


def test_a_template_the_listing_missed_is_kept_and_only_a_404_deletes(
    dagbag: Any, world, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, warehouse, mail = world
    templates = [sim.create_template(f"Badge {n:02}") for n in range(1, 52)]  # 51: two pages of 50
    first, last = templates[0], templates[-1]
    add_mappings(
        warehouse,
        {"badge_template_id": first.id, "badge_template_name": first.name, "learning_plan_id": "11"},
        {"badge_template_id": last.id, "badge_template_name": last.name, "learning_plan_id": "12"},
    )
    assert run_dag(dagbag, DAG_ID).state == DagRunState.SUCCESS
    assert len(table(warehouse)) == 51

    # An admin deletes the first template while the sync is between pages 1 and 2: page 2 then
    # starts one template further on, and the listing misses the last one, which still exists.
    sim.admin("POST", f"templates/{last.id}/archive").raise_for_status()
    original = sim.state.list_templates
    pages: list[int] = []

    def list_templates(conditions: dict[str, str], sort: str | None) -> list[Any]:
        pages.append(1)
        if len(pages) == 2:
            sim.state.delete_template(first.id)
        return original(conditions, sort)

    monkeypatch.setattr(sim.state, "list_templates", list_templates)
    run = run_dag(dagbag, DAG_ID)
    assert run.state == DagRunState.SUCCESS
    assert len(pages) == 2
    rows = table(warehouse)
    assert len(rows) == 51, "the first was listed on page 1; the last was missed but exists"
    assert rows[last.id] == (last.name, False), "kept, with the state the lookup answered"
    assert active_mappings(warehouse) == {1: True, 2: True}
    assert mail.messages == []
    summary = summary_of(run)
    assert (summary["retrieved"], summary["missing_from_listing"]) == (50, 1)
    assert summary["kept_after_lookup"] == [last.id]
    assert (summary["deleted"], summary["unconfirmed_deletions"]) == (0, [])

    monkeypatch.setattr(sim.state, "list_templates", original)
    run = run_dag(dagbag, DAG_ID)
    assert run.state == DagRunState.SUCCESS
    rows = table(warehouse)
    assert first.id not in rows and rows[last.id] == (last.name, False)
    assert active_mappings(warehouse) == {1: False, 2: True}
    [notice] = mail.messages
    body = notice.get_body(("html",)).get_content()
    assert first.name in body and last.name not in body
    assert summary_of(run)["kept_after_lookup"] == []


def test_an_unconfirmed_deletion_leaves_the_row_and_the_next_run_confirms_it(
    dagbag: Any, world, fast_lookups: None
) -> None:
    sim, warehouse, mail = world
    kept = sim.create_template("Cloud Basics")
    doomed = sim.create_template("Legacy Badge")
    add_mappings(
        warehouse, {"badge_template_id": doomed.id, "badge_template_name": "Legacy", "learning_plan_id": "7"}
    )
    assert run_dag(dagbag, DAG_ID).state == DagRunState.SUCCESS
    before = table(warehouse)

    sim.admin("DELETE", f"templates/{doomed.id}").raise_for_status()
    sim.admin("PATCH", f"templates/{kept.id}", json={"name": "Cloud Foundations"}).raise_for_status()
    sim.set_faults(FaultRule("status", status=503, method="GET", path=ONE_TEMPLATE, times=2))
    run = run_dag(dagbag, DAG_ID)
    assert run.state == DagRunState.SUCCESS, "one unconfirmed deletion does not fail the sync"
    assert table(warehouse) == {**before, kept.id: ("Cloud Foundations", True)}
    assert active_mappings(warehouse) == {1: True}
    assert journal_rows(warehouse) == [] and mail.messages == []
    [unconfirmed] = summary_of(run)["unconfirmed_deletions"]
    assert (unconfirmed["badge_template_id"], unconfirmed["name"]) == (doomed.id, "Legacy Badge")
    assert "503" in unconfirmed["reason"]

    assert run_dag(dagbag, DAG_ID).state == DagRunState.SUCCESS
    assert doomed.id not in table(warehouse)
    assert active_mappings(warehouse) == {1: False}
    [notice] = mail.messages
    assert "Legacy Badge" in notice.get_body(("html",)).get_content()


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_lookup_fails_the_run_before_anything_is_written(
    dagbag: Any, world, fast_lookups: None, status: int
) -> None:
    sim, warehouse, mail = world
    kept = sim.create_template("Cloud Basics")
    doomed = sim.create_template("Legacy Badge")
    add_mappings(
        warehouse, {"badge_template_id": doomed.id, "badge_template_name": "Legacy", "learning_plan_id": "7"}
    )
    assert run_dag(dagbag, DAG_ID).state == DagRunState.SUCCESS
    before = table(warehouse)

    sim.admin("DELETE", f"templates/{doomed.id}").raise_for_status()
    sim.admin("PATCH", f"templates/{kept.id}", json={"name": "Cloud Foundations"}).raise_for_status()
    sim.set_faults(FaultRule("status", status=status, method="GET", path=ONE_TEMPLATE, times=1))
    run = run_dag(dagbag, DAG_ID)
    assert run.state == DagRunState.FAILED
    assert table(warehouse) == before, "not even the rename is written"
    assert active_mappings(warehouse) == {1: True}
    assert journal_rows(warehouse) == [] and mail.messages == []


def test_invalid_settings_fail_the_run_before_any_call_or_write(
    dagbag: Any, world, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, warehouse, mail = world
    cloud = sim.create_template("Cloud Basics")
    assert run_dag(dagbag, DAG_ID).state == DagRunState.SUCCESS
    before = table(warehouse)
    sim.admin("PATCH", f"templates/{cloud.id}", json={"name": "Cloud Foundations"}).raise_for_status()
    sim.create_template("Data Literacy")
    sim.simulator.control.calls.reset()
    capsys.readouterr()
    with warehouse.begin() as connection:  # as a hand edit of the table would, unvalidated
        for key, value in (("NOTIFICATION_MAIL_ID", "nobody"), ("SYNC_REVOCATION", "yes")):
            connection.execute(
                integration_settings.update().where(integration_settings.c.key == key).values(value=value)
            )
    run = run_dag(dagbag, DAG_ID)
    assert run.state == DagRunState.FAILED
    assert table(warehouse) == before
    assert journal_rows(warehouse) == [] and mail.messages == []
    assert sim.calls() == {}, "Credly is not even read"
    assert asset_events_of(run) == 0, "credly_lms_dropdown is not scheduled"
    task_log = capsys.readouterr().out  # dag.test() prints the task log
    assert "NOTIFICATION_MAIL_ID = 'nobody'" in task_log
    assert "SYNC_REVOCATION = 'yes'" in task_log
