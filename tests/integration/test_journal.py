"""The operations journal on SQLite and PostgreSQL: record once, claim, drain, resume after a crash."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from credly_sync.warehouse.journal import (
    Operation,
    Outcome,
    claim_operations,
    claim_unreported,
    claimable_keys,
    finish_report,
    open_operation_keys,
    open_operations,
    record_operations,
    record_outcomes,
    release_claims,
    reopen,
    supersede_unplanned,
)
from credly_sync.warehouse.schema import operation_journal

TTL = timedelta(minutes=5)
EXPIRED = timedelta(seconds=-1)  # the claim of a task killed long ago


def ops(*keys: str, target: str | None = None) -> list[Operation]:
    return [
        Operation(op_key=key, kind="issue", target=target or key.split(":")[-1], payload={"n": key})
        for key in keys
    ]


def journal(warehouse: Engine, *keys: str) -> None:
    with warehouse.begin() as connection:
        record_operations(connection, ops(*keys), "run-1")


def close(warehouse: Engine, *outcomes: Outcome) -> None:
    with warehouse.begin() as connection:
        record_outcomes(connection, outcomes)


def rows(warehouse: Engine) -> dict[str, tuple[str, int, str | None]]:
    """Key -> (status, attempts, claimed_by)."""
    with warehouse.connect() as connection:
        return {
            r.op_key: (r.status, r.attempts, r.claimed_by)
            for r in connection.execute(select(operation_journal))
        }


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


def test_closed_operations_are_never_planned_again_and_only_pending_is_open(warehouse: Engine) -> None:
    journal(warehouse, "a", "b", "c", "d", "e")
    close(
        warehouse,
        Outcome("a", "applied", {"badge_id": "B-1"}),
        Outcome("b", "skipped", last_error="learner has no e-mail"),
        Outcome("c", "failed", last_error="503 from Credly (gave up after 5 attempts)"),
        Outcome("d", "rejected", last_error="template archived"),
        Outcome("e", "pending", last_error="timeout"),
    )
    with warehouse.begin() as connection:
        assert record_operations(connection, ops("a", "b", "c", "d", "e"), "run-2") == 0
    [entry] = open_operations(warehouse, ["issue"])
    assert (entry.op_key, entry.status, entry.last_error) == ("e", "pending", "timeout")
    assert open_operations(warehouse, ["revoke"]) == []


def test_a_claim_counts_the_attempt_and_hands_each_row_to_one_claimant(warehouse: Engine) -> None:
    journal(warehouse, "a", "b", "c")
    first = claim_operations(warehouse, ["a", "b"], "task-1", ttl=TTL)
    assert [(e.op_key, e.attempts) for e in first] == [("a", 0), ("b", 0)], "attempts made before"
    second = claim_operations(warehouse, ["a", "b", "c"], "task-2", ttl=TTL)
    assert [e.op_key for e in second] == ["c"]
    assert claimable_keys(warehouse, ["issue"]) == []
    assert rows(warehouse) == {
        "a": ("pending", 1, "task-1"),
        "b": ("pending", 1, "task-1"),
        "c": ("pending", 1, "task-2"),
    }

    with warehouse.begin() as connection:
        record_outcomes(connection, [Outcome("a", "applied"), Outcome("c", "applied")], claimant="task-1")
    assert rows(warehouse)["c"] == ("pending", 1, "task-2"), "an outcome only lands on its own claim"
    assert rows(warehouse)["a"] == ("applied", 1, None), "recording releases the claim"


def test_an_expired_claim_is_taken_over_and_shows_the_earlier_attempt(warehouse: Engine) -> None:
    journal(warehouse, "a", "b")
    claim_operations(warehouse, ["a"], "killed-task", ttl=EXPIRED)
    claim_operations(warehouse, ["b"], "live-task", ttl=TTL)
    assert claimable_keys(warehouse, ["issue"]) == ["a"]
    [entry] = claim_operations(warehouse, ["a", "b"], "next-run", ttl=TTL)
    assert (entry.op_key, entry.attempts) == ("a", 1), "attempts > 0: look before sending"
    assert rows(warehouse)["a"] == ("pending", 2, "next-run")


def test_a_task_retry_takes_over_the_claims_of_its_earlier_try(warehouse: Engine) -> None:
    journal(warehouse, "a", "b")
    claim_operations(warehouse, ["a"], "dag/run/issue/0#1:x", ttl=TTL)
    claim_operations(warehouse, ["b"], "dag/run/issue/10#1:y", ttl=TTL)  # another mapped instance
    won = claim_operations(
        warehouse, ["a", "b"], "dag/run/issue/0#2:z", ttl=TTL, inherit_from="dag/run/issue/0#"
    )
    assert [e.op_key for e in won] == ["a"]


def test_released_and_uncounted_attempts_do_not_count(warehouse: Engine) -> None:
    journal(warehouse, "a", "b")
    claim_operations(warehouse, ["a", "b"], "task-1", ttl=TTL)
    release_claims(warehouse, ["a"], "task-1")
    with warehouse.begin() as connection:
        record_outcomes(
            connection, [Outcome("b", "pending", last_error="401", counted=False)], claimant="task-1"
        )
    assert rows(warehouse) == {"a": ("pending", 0, None), "b": ("pending", 0, None)}


def test_concurrent_claimers_never_share_a_row(warehouse: Engine) -> None:
    keys = [f"issue:t:{n:03d}" for n in range(60)]
    journal(warehouse, *keys)
    won: dict[str, list[str]] = {}
    start = threading.Barrier(3)

    def claimer(name: str) -> None:
        start.wait()
        mine = won.setdefault(name, [])
        for offset in range(0, len(keys), 5):
            mine.extend(
                e.op_key for e in claim_operations(warehouse, keys[offset : offset + 5], name, ttl=TTL)
            )

    threads = [threading.Thread(target=claimer, args=(f"task-{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [key for mine in won.values() for key in mine]
    assert sorted(claimed) == keys, "every row claimed exactly once"
    assert all(attempts == 1 for _, attempts, _ in rows(warehouse).values())


def test_a_newer_plan_supersedes_what_it_no_longer_wants_within_its_targets(warehouse: Engine) -> None:
    with warehouse.begin() as connection:
        record_operations(connection, ops("issue:x:u1", "issue:y:u1", target="u1"), "run-1")
        record_operations(connection, ops("issue:x:u2", target="u2"), "run-1")
        record_operations(connection, ops("issue:z:u3", target="u3"), "run-1")
    claim_operations(warehouse, ["issue:z:u3"], "in-flight", ttl=TTL)
    with warehouse.begin() as connection:
        stale = supersede_unplanned(connection, ["issue"], ["issue:x:u1"], targets=["u1"], reason="run-2")
    assert stale == ["issue:y:u1"], "u2 was outside the plan's targets"
    with warehouse.begin() as connection:
        stale = supersede_unplanned(connection, ["issue"], [], reason="run-3")
    assert sorted(stale) == ["issue:x:u1", "issue:x:u2"], "an operation in flight is left to its task"
    assert open_operation_keys(warehouse, ["issue"]) == ["issue:z:u3"]
    assert rows(warehouse)["issue:y:u1"][0] == "superseded"

    with warehouse.begin() as connection:
        assert record_operations(connection, ops("issue:y:u1", target="u1"), "run-4") == 0
    assert "issue:y:u1" in open_operation_keys(warehouse, ["issue"]), "wanted again: re-opened"


def test_reopen_puts_failed_and_rejected_back_and_keeps_the_look_first_rule(warehouse: Engine) -> None:
    journal(warehouse, "a", "b", "c")
    for _ in range(3):
        claim_operations(warehouse, ["a", "b", "c"], "t", ttl=EXPIRED)
    close(warehouse, Outcome("a", "failed", last_error="503"), Outcome("b", "rejected", last_error="422"))
    with pytest.raises(ValueError), warehouse.begin() as connection:
        reopen(connection, statuses=["applied"])
    with warehouse.begin() as connection:
        assert reopen(connection, statuses=["failed"]) == 1
    assert rows(warehouse)["a"] == ("pending", 1, None), "a fresh set of attempts, but look first"
    assert rows(warehouse)["b"][0] == "rejected"
    with warehouse.begin() as connection:
        assert reopen(connection, op_keys=["b", "c"]) == 1, "c is not failed or rejected"
    assert rows(warehouse)["b"][0] == "pending"


def test_each_problem_is_reported_once_and_a_refused_mail_keeps_it(warehouse: Engine) -> None:
    journal(warehouse, "a", "b", "c")
    close(warehouse, Outcome("a", "failed", last_error="503"), Outcome("b", "rejected", last_error="422"))
    first = claim_unreported(warehouse, ["issue"], "digest-1", ttl=TTL)
    assert [e.op_key for e in first] == ["a", "b"]
    assert claim_unreported(warehouse, ["issue"], "digest-2", ttl=TTL) == [], "no second mail meanwhile"
    assert claim_unreported(warehouse, ["revoke"], "digest-3", ttl=TTL) == []
    finish_report(warehouse, ["a", "b"], "digest-1", reported=False)
    again = claim_unreported(warehouse, None, "digest-4", ttl=TTL)
    assert [e.op_key for e in again] == ["a", "b"], "the refused mail's problems wait for the next one"
    finish_report(warehouse, ["a", "b"], "digest-4", reported=True)
    assert claim_unreported(warehouse, None, "digest-5", ttl=TTL) == []


def test_lookups_run_in_chunks_below_the_databases_parameter_limits(
    warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("credly_sync.warehouse.journal.LOOKUP_CHUNK", 3)
    keys = [f"issue:t1:{n:02d}" for n in range(10)]
    with warehouse.begin() as connection:
        assert record_operations(connection, ops(*keys[:7]), "run-1") == 7
        record_outcomes(connection, [Outcome(keys[1], "applied")])
    with warehouse.begin() as connection:
        assert record_operations(connection, ops(*keys), "run-2") == 3
    open_keys = open_operation_keys(warehouse, ["issue"])
    assert open_keys == [k for k in keys if k != keys[1]]
    assert [e.op_key for e in claim_operations(warehouse, list(reversed(keys)), "t", ttl=TTL)] == open_keys


def test_a_large_plan_is_written_in_bulk_in_plan_order_with_open_rows_refreshed(
    warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("credly_sync.warehouse.journal.WRITE_BATCH", 700)  # several batches on SQLite
    odd = 'tab\there, new\nline, back\\slash, "quoted", é, ✓'  # what COPY's text format must escape
    first = [Operation(f"issue:t1:{n:05d}", "issue", str(n), {"n": n, "text": odd}) for n in range(3000)]
    with warehouse.begin() as connection:
        assert record_operations(connection, first[:2000], "run-1") == 2000
    close(warehouse, Outcome(first[0].op_key, "applied"))
    with warehouse.begin() as connection:
        supersede_unplanned(connection, ["issue"], [op.op_key for op in first[2:2000]], reason="not wanted")
    # the next plan: new rows first in its order, then the old ones with a new payload
    again = list(reversed(first[2000:])) + [
        Operation(op.op_key, op.kind, op.target, {**op.payload, "run": 2}) for op in first[:2000]
    ]
    with warehouse.begin() as connection:
        assert record_operations(connection, again, "run-2") == 1000
    with warehouse.connect() as connection:
        stored = {r.op_key: r for r in connection.execute(select(operation_journal))}
    assert len(stored) == 3000
    assert stored[first[0].op_key].status == "applied" and stored[first[0].op_key].dag_run_id == "run-1"
    assert stored[first[0].op_key].payload == first[0].payload, "a closed row is never rewritten"
    reopened = stored[first[1].op_key]
    assert (reopened.status, reopened.last_error, reopened.payload["run"]) == ("pending", None, 2)
    assert stored[first[5].op_key].payload == {"n": 5, "text": odd, "run": 2}
    assert stored[first[2999].op_key].payload == {"n": 2999, "text": odd}
    assert {r.dag_run_id for k, r in stored.items() if k != first[0].op_key} == {"run-2"}
    open_keys = open_operation_keys(warehouse, ["issue"])
    assert open_keys[-1000:] == [op.op_key for op in again[:1000]], "new rows drain in the plan's order"


def test_each_partition_reads_its_own_share_and_together_they_read_every_key(warehouse: Engine) -> None:
    keys = [f"issue:t1:{n:04d}" for n in range(400)]
    journal(warehouse, *keys)
    shares = [claimable_keys(warehouse, ["issue"], partition=(index, 3)) for index in range(3)]
    assert sorted(key for share in shares for key in share) == keys, "every key in exactly one share"
    assert all(60 < len(share) < 200 for share in shares), [len(share) for share in shares]
    assert all(share == sorted(share) for share in shares), "oldest first within a share"
    assert claimable_keys(warehouse, ["issue"], partition=(0, 1)) == keys
