"""The operations journal on SQLite and PostgreSQL: record once, drain, resume after a crash."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from credly_sync.warehouse.journal import (
    Operation,
    mark_applied,
    mark_failed,
    mark_skipped,
    open_operation_keys,
    open_operations,
    operations_by_key,
    record_operations,
    start_attempt,
    supersede_open,
)


def ops(*keys: str) -> list[Operation]:
    return [
        Operation(op_key=key, kind="issue", target=key.split(":")[-1], payload={"n": key}) for key in keys
    ]


def test_recording_twice_keeps_one_row_per_key(warehouse: Engine) -> None:
    with warehouse.begin() as connection:
        assert record_operations(connection, ops("issue:t1:1", "issue:t1:2"), "run-1") == 2
    with warehouse.begin() as connection:
        assert record_operations(connection, ops("issue:t1:1", "issue:t1:3"), "run-2") == 1
    assert [e.op_key for e in open_operations(warehouse, ["issue"])] == [
        "issue:t1:1",
        "issue:t1:2",
        "issue:t1:3",
    ]


def test_applied_and_skipped_operations_are_never_planned_again(warehouse: Engine) -> None:
    with warehouse.begin() as connection:
        record_operations(connection, ops("a", "b", "c"), "run-1")
    start_attempt(warehouse, "c")
    with warehouse.begin() as connection:
        mark_applied(connection, "a", {"badge_id": "B-1"})
        mark_skipped(connection, "b", "learner has no e-mail")
        mark_failed(connection, "c", "503 from Credly")
    with warehouse.begin() as connection:
        assert record_operations(connection, ops("a", "b", "c"), "run-2") == 0
    [entry] = open_operations(warehouse, ["issue"])
    assert (entry.op_key, entry.status, entry.attempts, entry.last_error) == (
        "c",
        "failed",
        1,
        "503 from Credly",
    )
    assert open_operations(warehouse, ["revoke"]) == []


def test_a_fresh_plan_supersedes_open_operations_of_its_kinds(warehouse: Engine) -> None:
    with warehouse.begin() as connection:
        record_operations(connection, ops("a", "b"), "run-1")
        mark_applied(connection, "a")
        supersede_open(connection, ["issue"], "superseded by run-2")
    assert open_operations(warehouse, ["issue"]) == []


def test_lookups_run_in_chunks_below_the_databases_parameter_limits(
    warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("credly_sync.warehouse.journal.LOOKUP_CHUNK", 3)
    keys = [f"issue:t1:{n:02d}" for n in range(10)]
    with warehouse.begin() as connection:
        assert record_operations(connection, ops(*keys[:7]), "run-1") == 7
        mark_applied(connection, keys[1])
    with warehouse.begin() as connection:
        assert record_operations(connection, ops(*keys), "run-2") == 3
    open_keys = open_operation_keys(warehouse, ["issue"])
    assert open_keys == [k for k in keys if k != keys[1]]
    assert [e.op_key for e in operations_by_key(warehouse, list(reversed(keys)))] == list(reversed(keys))
