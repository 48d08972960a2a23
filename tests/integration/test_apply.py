"""The shared apply step against the Credly simulator and PostgreSQL: claims keep overlapping
runs and killed tasks from sending a badge twice (on templates that allow duplicates, so no
422 can hide a second POST); refusals, transient failures and a bad token end as designed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from credly_sync.hooks.base import RetryPolicy
from credly_sync.operators.badges import IssueBadgesOperator
from credly_sync.warehouse.ledger import read_ledger
from credly_sync.warehouse.schema import operation_journal, utcnow
from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from tests.fixtures.credly import CredlySim
from tests.integration.test_badge_operators import INSTANT, completions, held, journal_plan

pytestmark = pytest.mark.usefixtures("sample_settings")  # apply tasks validate them first

ROOT = Path(__file__).resolve().parents[2]


def journal_rows(engine: Engine) -> list[tuple[str, int, str | None]]:
    """(status, attempts, claimed_by) per operation, in key order."""
    with engine.connect() as connection:
        query = select(operation_journal).order_by(operation_journal.c.op_key)
        return [(r.status, r.attempts, r.claimed_by) for r in connection.execute(query)]


@pytest.mark.usefixtures("credly_connection")
def test_two_runs_applying_at_once_post_each_badge_exactly_once(
    credly_sim: CredlySim, postgres_warehouse: Engine
) -> None:
    template = credly_sim.create_template("Backfilled", allow_duplicate_badges=True)
    journal_plan(postgres_warehouse, completions(template.id, range(40)), credly_sim)
    credly_sim.set_faults(FaultRule("slow", delay=0.02, method="POST", path=r"/badges$"))  # keep both busy
    start = threading.Barrier(2)
    summaries: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []

    def run(run_id: str) -> None:
        operator = IssueBadgesOperator(task_id="issue", http_retry=INSTANT, max_workers=4, claim_chunk=5)
        start.wait()
        try:
            summaries[run_id] = operator.execute({"run_id": run_id})
        except BaseException as exc:  # surfaced below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"backfill__{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert credly_sim.call_count("POST", "badges") == 40
    assert held(credly_sim, template.id) == {learner(i).email: 1 for i in range(40)}
    sent = sorted(summary["operations"] for summary in summaries.values())
    assert sum(sent) == 40 and sent[0] > 0, f"both runs applied a share: {sent}"
    assert all(s["outcomes"] == {"issue.applied": s["operations"]} for s in summaries.values())
    assert len(read_ledger(postgres_warehouse)) == 40
    assert {status for status, _, claimed_by in journal_rows(postgres_warehouse)} == {"applied"}


KILLED_BETWEEN_CLAIM_AND_SEND = textwrap.dedent(
    """
    import os, signal
    from credly_sync.hooks.base import RetryPolicy
    from credly_sync.hooks.credly import CredlyHook
    from credly_sync.operators.badges import IssueBadgesOperator

    def die(self, body):  # the worker is about to send its first badge: the task is killed
        os.kill(os.getpid(), signal.SIGKILL)

    CredlyHook.issue_badge = die
    IssueBadgesOperator(
        task_id="issue", http_retry=RetryPolicy(max_attempts=2, backoff_base=0, timeout=2.0)
    ).execute({"run_id": "killed"})
    """
)


@pytest.mark.usefixtures("credly_connection")
def test_a_task_killed_between_its_claim_and_its_first_send_is_finished_once_by_the_next_run(
    credly_sim: CredlySim, postgres_warehouse: Engine
) -> None:
    template = credly_sim.create_template("Killed", allow_duplicate_badges=True)
    journal_plan(postgres_warehouse, completions(template.id, range(6)), credly_sim)
    paths = os.pathsep.join([str(ROOT / "plugins"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BETWEEN_CLAIM_AND_SEND],
        env={**os.environ, "PYTHONPATH": paths},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    rows = journal_rows(postgres_warehouse)
    assert [(status, attempts) for status, attempts, _ in rows] == [("pending", 1)] * 6, "claimed, counted"
    assert all(claimed_by and claimed_by.startswith("issue/killed#") for _, _, claimed_by in rows)
    assert credly_sim.call_count("POST", "badges") == 0

    rerun = IssueBadgesOperator(task_id="issue", http_retry=INSTANT).execute({"run_id": "next"})
    assert (rerun["operations"], rerun["claimed_elsewhere"]) == (0, 0), "a live claim is left alone"

    with postgres_warehouse.begin() as connection:  # time passes: the dead task's claims expire
        connection.execute(operation_journal.update().values(claimed_until=utcnow() - timedelta(seconds=1)))
    summary = IssueBadgesOperator(task_id="issue", http_retry=INSTANT).execute({"run_id": "later"})
    assert summary["outcomes"] == {"issue.applied": 6}
    assert credly_sim.call_count("GET", "badges") >= 6, "attempts > 0: each badge was looked up first"
    assert credly_sim.call_count("POST", "badges") == 6
    assert held(credly_sim, template.id) == {learner(i).email: 1 for i in range(6)}
    assert [(status, attempts) for status, attempts, _ in journal_rows(postgres_warehouse)] == [
        ("applied", 2)
    ] * 6


@pytest.mark.usefixtures("credly_connection")
def test_transient_failures_are_retried_by_later_runs_up_to_the_cap_then_failed(
    credly_sim: CredlySim, postgres_warehouse: Engine
) -> None:
    template = credly_sim.create_template("Outage", allow_duplicate_badges=True)
    journal_plan(postgres_warehouse, completions(template.id, range(2)), credly_sim)
    credly_sim.set_faults(FaultRule("status", status=503, method="POST", path=r"/badges$"))
    one_try = RetryPolicy(max_attempts=1, backoff_base=0, timeout=2.0)

    def apply(run_id: str) -> None:
        IssueBadgesOperator(task_id="issue", http_retry=one_try, max_attempts=3).execute({"run_id": run_id})

    for run, status in (("r1", "pending"), ("r2", "pending"), ("r3", "failed")):
        with pytest.raises(Exception, match=f"2 {status}"):
            apply(run)
        assert [row[:2] for row in journal_rows(postgres_warehouse)] == [(status, int(run[1]))] * 2
    with postgres_warehouse.connect() as connection:
        reasons = [r.last_error for r in connection.execute(select(operation_journal))]
    assert all("503" in reason and "gave up after 3 attempts" in reason for reason in reasons)
    posts = credly_sim.call_count("POST", "badges")
    credly_sim.clear_faults()
    apply("r4")  # a failed operation is closed: no call and no red run until someone re-opens it
    assert credly_sim.call_count("POST", "badges") == posts
    assert held(credly_sim, template.id) == {}


@pytest.mark.usefixtures("credly_connection")
def test_a_refused_token_stops_the_task_without_spending_attempts(
    credly_sim: CredlySim, postgres_warehouse: Engine
) -> None:
    template = credly_sim.create_template("Rotated", allow_duplicate_badges=True)
    journal_plan(postgres_warehouse, completions(template.id, range(5)), credly_sim)
    credly_sim.state.set_token("rotated-token")
    operator = IssueBadgesOperator(task_id="issue", http_retry=INSTANT, max_workers=1, claim_chunk=2)
    with pytest.raises(Exception, match="connection 'credly_default'") as refused:
        operator.execute({"run_id": "r1"})
    assert credly_sim.token not in str(refused.value)
    assert credly_sim.call_count("POST", "badges") <= 2, "the task stopped at the first 401"
    assert [row for row in journal_rows(postgres_warehouse)] == [("pending", 0, None)] * 5

    credly_sim.state.set_token(credly_sim.token)
    summary = IssueBadgesOperator(task_id="issue", http_retry=INSTANT).execute({"run_id": "r2"})
    assert summary["outcomes"] == {"issue.applied": 5}
    assert held(credly_sim, template.id) == {learner(i).email: 1 for i in range(5)}


@pytest.mark.usefixtures("credly_connection")
def test_calls_queued_behind_a_task_that_dies_are_never_sent(
    credly_sim: CredlySim, postgres_warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warehouse fails when the first outcomes are written: the task stops, and the claimed
    calls still queued are not sent (nobody could record them); the next run finishes them once."""
    template = credly_sim.create_template("Queued", allow_duplicate_badges=True)
    journal_plan(postgres_warehouse, completions(template.id, range(12)), credly_sim)
    credly_sim.set_faults(latency=0.25)  # when the first outcomes are written, most calls wait queued

    def warehouse_down(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("warehouse connection lost")

    with monkeypatch.context() as patch:
        patch.setattr(IssueBadgesOperator, "_record", warehouse_down)
        operator = IssueBadgesOperator(task_id="issue", http_retry=INSTANT, max_workers=1, claim_chunk=5)
        with pytest.raises(RuntimeError, match="warehouse connection lost"):
            operator.execute({"run_id": "dies"})
    assert credly_sim.call_count("POST", "badges") <= 4, "only the calls sent before it died went out"
    assert sum(attempts for _, attempts, _ in journal_rows(postgres_warehouse)) == 12, "all were claimed"

    credly_sim.set_faults()
    with_expired_claims = IssueBadgesOperator(task_id="issue", http_retry=INSTANT, claim_ttl=600)
    with postgres_warehouse.begin() as connection:  # the dead task's claims have expired
        connection.execute(operation_journal.update().values(claimed_until=utcnow() - timedelta(seconds=1)))
    assert with_expired_claims.execute({"run_id": "next"})["outcomes"] == {"issue.applied": 12}
    assert held(credly_sim, template.id) == {learner(i).email: 1 for i in range(12)}
