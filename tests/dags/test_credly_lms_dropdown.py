"""credly_templates + credly_lms_dropdown end to end: Credly templates -> lookup table -> the
course dropdown in the Docebo simulator, with the warehouse on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import DagRunState
from sqlalchemy import Engine, select

from credly_sync.hooks.base import RetryPolicy
from credly_sync.warehouse.schema import credly_badge_templates, operation_journal
from include.simulators.common.faults import FaultRule
from include.simulators.smtp import MailSink
from tests.fixtures.airflow import run_dag
from tests.fixtures.credly import CredlySim
from tests.fixtures.docebo import DoceboSim

FIELD_NAME = "Credly Badge Template"  # COURSE_ADDITIONAL_FIELD in include/sample/settings.csv


def sync(dagbag: Any) -> None:
    for dag_id in ("credly_templates", "credly_lms_dropdown"):
        assert run_dag(dagbag, dag_id).state == DagRunState.SUCCESS, dag_id


def dropdown(docebo: DoceboSim) -> tuple[int, dict[int, str]]:
    [field] = [f for f in docebo.world.course_fields.values() if f.name == FIELD_NAME]
    return field.id, dict(field.options)


def element_ids(engine: Engine) -> dict[str, int | None]:
    with engine.connect() as connection:
        rows = connection.execute(select(credly_badge_templates))
        return {r.badge_template_name: r.dropdown_element_id for r in rows}


def lms_writes(docebo: DoceboSim) -> dict[str, int]:
    return {k: v for k, v in docebo.calls().items() if not k.startswith("GET ") and "oauth2" not in k}


@pytest.fixture
def world(
    credly_sim: CredlySim,
    credly_connection: str,
    docebo_sim: DoceboSim,
    docebo_connection: str,
    configured_warehouse: Engine,
    smtp_sink: MailSink,
):
    docebo_sim.seed(3, learners=4, courses=2, learning_plans=0, certifications=0, completions=8)
    return credly_sim, docebo_sim, configured_warehouse, smtp_sink


def test_the_course_dropdown_follows_the_templates_through_their_life(dagbag: Any, world) -> None:
    credly, docebo, warehouse, mail = world
    cloud = credly.create_template("Cloud Basics")
    data = credly.create_template("Data Literacy")
    sync(dagbag)
    field_id, options = dropdown(docebo)
    assert sorted(options.values()) == ["Cloud Basics", "Data Literacy"]
    ids = element_ids(warehouse)
    assert options == {ids["Cloud Basics"]: "Cloud Basics", ids["Data Literacy"]: "Data Literacy"}

    course_id = min(docebo.world.courses)
    docebo.state.set_course_value(course_id, field_id, ids["Cloud Basics"])
    completed = {k: e.completed_at for k, e in docebo.world.enrollments.items() if e.course_id == course_id}
    assert any(completed.values()), "the seeded course has completions to keep"

    credly.admin("PATCH", f"templates/{cloud.id}", json={"name": "Cloud Foundations"}).raise_for_status()
    credly.admin("POST", f"templates/{data.id}/archive").raise_for_status()
    credly.create_template("Security Essentials")
    sync(dagbag)
    _, options = dropdown(docebo)
    ids_now = element_ids(warehouse)
    assert options[ids["Cloud Basics"]] == "Cloud Foundations", "a rename keeps the element id"
    assert ids_now["Data Literacy"] is None and ids["Data Literacy"] not in options
    assert sorted(options.values()) == ["Cloud Foundations", "Security Essentials"]
    assert docebo.world.courses[course_id].field_values[field_id] == ids["Cloud Basics"]

    credly.admin("DELETE", f"templates/{cloud.id}").raise_for_status()
    credly.admin("POST", f"templates/{data.id}/unarchive").raise_for_status()
    sync(dagbag)
    _, options = dropdown(docebo)
    ids_now = element_ids(warehouse)
    assert sorted(options.values()) == ["Data Literacy", "Security Essentials"]
    assert options == {v: k for k, v in ids_now.items()}
    assert docebo.world.courses[course_id].field_values.get(field_id) is None, "reset to the default value"
    now = {k: e.completed_at for k, e in docebo.world.enrollments.items() if e.course_id == course_id}
    assert now == completed, "the course stays completed"
    [notice] = mail.messages
    assert "Cloud Foundations" in notice.get_body(("html",)).get_content()

    docebo.simulator.control.calls.reset()
    sync(dagbag)
    assert lms_writes(docebo) == {}, "a run with nothing to change writes nothing"
    assert dropdown(docebo)[1] == options


def test_failed_option_writes_keep_their_reason_and_the_next_run_converges(dagbag: Any, world) -> None:
    credly, docebo, warehouse, _ = world
    for name in ("Cloud Basics", "Data Literacy", "Security Essentials"):
        credly.create_template(name)
    assert run_dag(dagbag, "credly_templates").state == DagRunState.SUCCESS
    docebo.set_faults(  # the first option is added but answered too late, then every add fails
        FaultRule("late", delay=2.0, method="POST", path=r"/options$", times=1),
        FaultRule("status", status=503, method="POST", path=r"/options$", times=40),
    )
    dag = dagbag.get_dag("credly_lms_dropdown")
    apply = dag.get_task("apply_dropdown")
    apply.http_retry = RetryPolicy(max_attempts=3, backoff_base=0, timeout=1.0)
    assert dag.test().state == DagRunState.FAILED
    with warehouse.connect() as connection:
        failed = [
            r.last_error for r in connection.execute(select(operation_journal)) if r.status == "pending"
        ]
    assert len(failed) == 2 and all("503" in reason for reason in failed)

    docebo.clear_faults()
    docebo.settle()
    assert dag.test().state == DagRunState.SUCCESS
    _, options = dropdown(docebo)
    assert sorted(options.values()) == ["Cloud Basics", "Data Literacy", "Security Essentials"]
    assert options == {v: k for k, v in element_ids(warehouse).items()}
