"""make demo's summary after real runs: credly_templates and credly_lms_dropdown with dag.test()
against the simulators, each run read back from Airflow's metadata database (task states, XCom
figures) and its operations from the warehouse, as scripts/demo prints them."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DagRunState
from sqlalchemy import Engine

from scripts.demo.runs import read_run
from scripts.demo.summary import describe_run, run_operations
from tests.dags.test_credly_lms_dropdown import dropdown, run_dropdown
from tests.fixtures.airflow import run_dag
from tests.fixtures.credly import CredlySim
from tests.fixtures.docebo import DoceboSim


def test_the_demo_tells_what_real_template_and_dropdown_runs_did(
    dagbag: Any,
    credly_sim: CredlySim,
    credly_connection: str,
    docebo_sim: DoceboSim,
    docebo_connection: str,
    configured_warehouse: Engine,
) -> None:
    docebo_sim.seed(3, learners=4, courses=2, learning_plans=0, certifications=0, completions=0)
    for name in ("Cloud Basics", "Data Path", "Outside Training"):
        credly_sim.create_template(name)
    templates = run_dag(dagbag, "credly_templates")
    options = run_dropdown(dagbag)
    assert templates.state == options.state == DagRunState.SUCCESS

    template_run = read_run("credly_templates", after=None, seconds=2.0)
    dropdown_run = read_run("credly_lms_dropdown", after=None, seconds=3.0)

    assert (template_run.run_id, dropdown_run.run_id) == (templates.run_id, options.run_id)
    assert set(dropdown_run.tasks.values()) <= {"success", "skipped"}
    assert describe_run(template_run, run_operations(configured_warehouse, template_run.run_id)) == [
        "credly_templates: ok in 2 s",
        "     templates: 3 read, 3 new, 0 changed, 0 deleted",
        "     operations: none planned (nothing to change)",
    ]
    added = len(dropdown(docebo_sim)[1])
    assert added == 3
    assert describe_run(dropdown_run, run_operations(configured_warehouse, dropdown_run.run_id)) == [
        "credly_lms_dropdown: ok in 3 s",
        f"     operations: dropdown_add applied {added}",
    ]
