"""Every apply task takes slots of a pool the setup creates, one per call it may have in flight."""

from __future__ import annotations

from typing import Any

import pytest

from credly_sync.operators.apply import POOLS, ApplyJournalOperator

APPLY_DAGS = ("lms_to_credly", "credly_to_lms")


@pytest.mark.parametrize("dag_id", APPLY_DAGS)
def test_apply_tasks_take_a_pool_slot_per_worker(dagbag: Any, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    applying = [
        task
        for task in dag.tasks
        if issubclass(getattr(task, "operator_class", type(task)), ApplyJournalOperator)
    ]
    assert len(applying) >= 2, f"{dag_id} has apply tasks: {[t.task_id for t in applying]}"
    for task in applying:
        workers = task.partial_kwargs.get("max_workers") if hasattr(task, "partial_kwargs") else None
        workers = workers or getattr(task, "max_workers", None)
        assert task.pool in POOLS, f"{task.task_id} uses a pool the setup creates"
        assert task.pool_slots == workers > 0, f"{task.task_id}: one slot per call in flight"
        assert task.pool_slots <= POOLS[task.pool][0], f"{task.task_id} fits in its pool"
