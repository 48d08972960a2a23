"""credly_templates + credly_lms_dropdown end to end: Credly templates -> lookup table -> the
course dropdown in the Docebo simulator, with the warehouse on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import DagRunState
from sqlalchemy import Engine, select

from credly_sync.hooks.base import RetryPolicy
from credly_sync.planning.dropdown import ALLOW_LARGE_CUT_PARAM
from credly_sync.warehouse.schema import credly_badge_templates, integration_settings, operation_journal
from include.simulators.common.faults import FaultRule
from include.simulators.smtp import MailSink
from tests.fixtures.airflow import run_dag
from tests.fixtures.credly import CredlySim
from tests.fixtures.docebo import DoceboSim

FIELD_NAME = "Credly Badge Template"  # COURSE_ADDITIONAL_FIELD in include/sample/settings.csv


def run_dropdown(dagbag: Any, *, allow_large_cut: bool = False) -> Any:
    """One credly_lms_dropdown run; the param is always sent, since dag.test() keeps the last one."""
    return run_dag(dagbag, "credly_lms_dropdown", **{ALLOW_LARGE_CUT_PARAM: allow_large_cut})


def sync(dagbag: Any) -> None:
    assert run_dag(dagbag, "credly_templates").state == DagRunState.SUCCESS
    assert run_dropdown(dagbag).state == DagRunState.SUCCESS


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
    assert run_dropdown(dagbag).state == DagRunState.FAILED
    with warehouse.connect() as connection:
        failed = [
            r.last_error for r in connection.execute(select(operation_journal)) if r.status == "pending"
        ]
    assert len(failed) == 2 and all("503" in reason for reason in failed)

    docebo.clear_faults()
    docebo.settle()
    assert run_dropdown(dagbag).state == DagRunState.SUCCESS
    _, options = dropdown(docebo)
    assert sorted(options.values()) == ["Cloud Basics", "Data Literacy", "Security Essentials"]
    assert options == {v: k for k, v in element_ids(warehouse).items()}


def journal(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return [(r.op_key, r.status) for r in connection.execute(select(operation_journal))]


def six_options_and_two_courses(dagbag: Any, credly: CredlySim, docebo: DoceboSim) -> dict[int, Any]:
    """The dropdown in step with six templates; both seeded courses select a badge."""
    for name in ("Cloud", "Data", "Security", "Ops", "AI", "Networking"):
        credly.create_template(name)
    sync(dagbag)
    field_id, options = dropdown(docebo)
    assert len(options) == 6
    for course_id, element_id in zip(sorted(docebo.world.courses), sorted(options), strict=False):
        docebo.state.set_course_value(course_id, field_id, element_id)
    return {course_id: course.field_values[field_id] for course_id, course in docebo.world.courses.items()}


def test_an_empty_template_table_never_wipes_the_dropdown_unless_allowed(
    dagbag: Any, world, capsys: pytest.CaptureFixture[str]
) -> None:
    credly, docebo, warehouse, _ = world
    selected = six_options_and_two_courses(dagbag, credly, docebo)
    assert len(selected) == 2 and None not in selected.values()
    field_id, options = dropdown(docebo)
    with warehouse.begin() as connection:  # pointed at a warehouse whose table was never synced
        connection.execute(credly_badge_templates.delete())
        connection.execute(operation_journal.delete())
    docebo.simulator.control.calls.reset()
    capsys.readouterr()

    assert run_dropdown(dagbag).state == DagRunState.FAILED
    assert dropdown(docebo) == (field_id, options)
    assert {c: docebo.world.courses[c].field_values[field_id] for c in selected} == selected
    assert lms_writes(docebo) == {} and journal(warehouse) == []
    task_log = capsys.readouterr().out
    assert f"refusing to remove 6 of the 6 options of dropdown field {field_id}" in task_log
    assert "the Credly Badge Templates table is empty" in task_log
    assert ALLOW_LARGE_CUT_PARAM in task_log

    assert run_dropdown(dagbag, allow_large_cut=True).state == DagRunState.SUCCESS
    assert dropdown(docebo) == (field_id, {})
    assert all(docebo.world.courses[c].field_values.get(field_id) is None for c in selected)


def test_archiving_most_templates_at_once_needs_the_param(dagbag: Any, world) -> None:
    credly, docebo, warehouse, _ = world
    six_options_and_two_courses(dagbag, credly, docebo)
    field_id, options = dropdown(docebo)
    for template in list(credly.state.templates.values())[:3]:
        credly.admin("POST", f"templates/{template.id}/archive").raise_for_status()
    assert run_dag(dagbag, "credly_templates").state == DagRunState.SUCCESS
    before = element_ids(warehouse)
    docebo.simulator.control.calls.reset()

    assert run_dropdown(dagbag).state == DagRunState.FAILED, "3 of 6 is more than max(2, 20 %)"
    assert dropdown(docebo) == (field_id, options)
    assert lms_writes(docebo) == {} and element_ids(warehouse) == before
    assert run_dropdown(dagbag, allow_large_cut=True).state == DagRunState.SUCCESS
    assert len(dropdown(docebo)[1]) == 3


def test_invalid_settings_fail_the_dropdown_run_before_any_lms_call(
    dagbag: Any, world, capsys: pytest.CaptureFixture[str]
) -> None:
    credly, docebo, warehouse, _ = world
    credly.create_template("Cloud Basics")
    sync(dagbag)
    options = dropdown(docebo)
    credly.create_template("Data Literacy")
    assert run_dag(dagbag, "credly_templates").state == DagRunState.SUCCESS
    before, journal_before = element_ids(warehouse), journal(warehouse)
    with warehouse.begin() as connection:  # a hand edit of the table, unvalidated
        for key, value in (("COURSE_ADDITIONAL_FIELD", ""), ("BATCH_SYNC_START_DATE", "01/01/2025")):
            connection.execute(
                integration_settings.update().where(integration_settings.c.key == key).values(value=value)
            )
    docebo.simulator.control.calls.reset()
    capsys.readouterr()

    assert run_dropdown(dagbag).state == DagRunState.FAILED
    assert docebo.calls() == {}, "the LMS is not even read"
    assert dropdown(docebo) == options and element_ids(warehouse) == before
    assert journal(warehouse) == journal_before, "the new template's option is not even planned"
    task_log = capsys.readouterr().out
    assert "COURSE_ADDITIONAL_FIELD = ''" in task_log and "BATCH_SYNC_START_DATE = '01/01/2025'" in task_log
