"""``airflow dags test`` of one DAG, and what its run left in the metadata database: the run's
state, each task's state and the summaries the tasks pushed (XCom ``summary`` and
``return_value``), read with Airflow's models (this process is not a task, so it may)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from include.processes import stop_group
from scripts.demo.console import Console
from scripts.demo.world import AIRFLOW

SUMMARY_KEYS = ("return_value", "summary")  # operators push their figures under these


@dataclass
class RunRecord:
    """One finished DAG run: ``tasks`` task id -> state (mapped tasks: their worst state);
    ``figures`` task id -> the dict its summaries hold (unmapped tasks only)."""

    dag_id: str
    run_id: str | None
    state: str
    seconds: float
    conf: dict[str, Any] | None = None
    tasks: dict[str, str] = field(default_factory=dict)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def failed_tasks(self) -> list[str]:
        """The tasks that failed (or wait for a retry), not those that failed because of them."""
        return [task for task, state in self.tasks.items() if state in ("failed", "up_for_retry")]


def dag_test(console: Console, dag_id: str, conf: dict[str, Any] | None = None) -> tuple[RunRecord, int]:
    """Run the DAG with ``airflow dags test`` (output to the log); its record and the log offset
    where the command's output starts.

    ``dags test`` waits out a failed task's retry delay (minutes); the demo stops the run at the
    first failed attempt instead, marks it failed and reports it (an interrupted run too).
    """
    args = [AIRFLOW, "dags", "test", dag_id, *(["--conf", json.dumps(conf)] if conf else [])]
    started = time.monotonic()
    newest_before = _newest_run_key(dag_id)
    process, offset = console.start(args)
    retrying = False
    try:
        while process.poll() is None and not retrying:
            time.sleep(1)
            retrying = _waiting_for_retry(dag_id, newest_before)
        record = read_run(dag_id, after=newest_before, seconds=time.monotonic() - started)
    finally:
        if process.poll() is None:  # stopped at a failed attempt, or the demo was interrupted
            stop_group(process)
            _close_unfinished(dag_id, newest_before)
    record.conf = conf
    if retrying:
        record.state = "stopped at the first failed attempt; `airflow dags test` would wait out the retries"
    elif process.returncode != 0 and record.state == "success":  # failed around a finished run
        record.state = f"exit code {process.returncode}"
    return record, offset


def read_run(dag_id: str, *, after: int | None, seconds: float) -> RunRecord:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
        run = session.scalar(query)
        if run is None or (after is not None and run.id <= after):
            return RunRecord(dag_id, None, "not created", seconds)
        record = RunRecord(dag_id, run.run_id, str(run.state), seconds)
        instances = session.execute(
            select(TaskInstance.task_id, TaskInstance.state).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id
            )
        )
        for task_id, state in instances:
            record.tasks[task_id] = _worse(record.tasks.get(task_id), str(state))
        xcoms = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == dag_id,
                XComModel.run_id == run.run_id,
                XComModel.map_index == -1,
                XComModel.key.in_(SUMMARY_KEYS),
            )
        )
        for xcom in xcoms:
            value = XComModel.deserialize_value(xcom)
            if isinstance(value, dict):
                record.figures.setdefault(xcom.task_id, {}).update(value)
    return record


def _newest_run_key(dag_id: str) -> int | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(select(func.max(DagRun.id)).where(DagRun.dag_id == dag_id))


def _waiting_for_retry(dag_id: str, after: int | None) -> bool:
    """Whether a new run of ``dag_id`` has a task waiting for its retry."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = (
        select(DagRun.run_id)
        .join(TaskInstance, (TaskInstance.dag_id == DagRun.dag_id) & (TaskInstance.run_id == DagRun.run_id))
        .where(DagRun.dag_id == dag_id, DagRun.id > (after or 0), TaskInstance.state == "up_for_retry")
        .limit(1)
    )
    with create_session() as session:
        return session.scalar(query) is not None


def _close_unfinished(dag_id: str, after: int | None) -> None:
    """Mark the new runs of ``dag_id`` a stopped ``dags test`` left unfinished failed, with their
    unfinished tasks (a run left running would hold the DAG's one active run under ``make ui``'s
    scheduler)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import or_, select, update

    finished = ("success", "failed", "skipped", "upstream_failed", "removed")
    runs = select(DagRun.run_id).where(
        DagRun.dag_id == dag_id, DagRun.id > (after or 0), DagRun.state.not_in(("success", "failed"))
    )
    with create_session() as session:
        run_ids = list(session.scalars(runs))
        session.execute(
            update(TaskInstance)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id.in_(run_ids),
                or_(TaskInstance.state.is_(None), TaskInstance.state.not_in(finished)),
            )
            .values(state="failed")
        )
        session.execute(
            update(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id.in_(run_ids)).values(state="failed")
        )


_ORDER = ("success", "skipped", "None", "upstream_failed", "up_for_retry", "failed")


def _worse(old: str | None, new: str) -> str:
    if old is None:
        return new
    rank = {state: index for index, state in enumerate(_ORDER)}
    return max(old, new, key=lambda state: rank.get(state, len(_ORDER)))
