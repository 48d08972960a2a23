"""credly_templates end to end: Credly simulator -> PostgreSQL lookup table -> mail on loopback."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import DagRunState
from sqlalchemy import Engine, select

from credly_sync.assets import BADGE_TEMPLATES_TABLE
from credly_sync.warehouse.schema import (
    credly_badge_templates,
    credly_integration_mappings,
    operation_journal,
)
from include.simulators.smtp import MailSink
from tests.fixtures.airflow import run_dag
from tests.fixtures.credly import CredlySim

DAG_ID = "credly_templates"


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
def world(credly_sim: CredlySim, credly_connection: str, configured_warehouse: Engine, smtp_sink: MailSink):
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
