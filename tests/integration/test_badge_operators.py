"""Issue, revoke and replace operators against the Credly simulator and PostgreSQL: every
planned badge ends up in Credly exactly once, whatever faults or crashes happen on the way."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowNotFoundException
from sqlalchemy import Engine, select

from credly_sync.hooks.base import RetryPolicy
from credly_sync.hooks.credly import CredlyHook
from credly_sync.operators.badges import (
    IssueBadgesOperator,
    ReplaceBadgesOperator,
    RevokeBadgesOperator,
)
from credly_sync.planning.frames import frame
from credly_sync.planning.lms_to_credly import (
    DESIRED_COLUMNS,
    ISSUED_COLUMNS,
    IssuePolicy,
    plan_lms_to_credly,
)
from credly_sync.warehouse.journal import open_operations, record_operations, start_attempt
from credly_sync.warehouse.ledger import read_ledger
from credly_sync.warehouse.schema import issued_badge_ledger, operation_journal
from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from tests.fixtures.credly import CredlySim

pytestmark = pytest.mark.usefixtures("sample_settings")  # apply tasks validate them first

POLICY = IssuePolicy(sync_revocation=True, default_expiration_days=None, evidence_title="credly-sync test")
NOW = datetime(2026, 6, 1, tzinfo=UTC)


INSTANT = RetryPolicy(max_attempts=5, backoff_base=0, timeout=2.0)  # retries in milliseconds


def completions(template_id: str, learners: range, **overrides) -> list[dict]:
    rows = []
    for index in learners:
        person = learner(index)
        rows.append(
            {
                "lms_user_id": str(person.user_id),
                "email": person.email,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "object_type": "course",
                "object_id": "42",
                "object_name": "Cloud",
                "badge_template_id": template_id,
                "completed_at": "2026-05-01T10:00:00Z",
                "lms_expires_at": None,
                "revoked": False,
                **overrides,
            }
        )
    return rows


def journal_plan(engine: Engine, desired: list[dict], sim: CredlySim) -> None:
    issued = [
        {
            "badge_id": b.id,
            "badge_template_id": b.badge_template_id,
            "recipient_email": b.recipient_email,
            "issuer_earner_id": b.issuer_earner_id,
            "state": b.state,
            "issued_at": b.issued_at,
            "expires_at": b.expires_at,
        }
        for b in sim.state.badges.values()
    ]
    plan = plan_lms_to_credly(
        frame(desired, DESIRED_COLUMNS), frame(issued, ISSUED_COLUMNS), read_ledger(engine), POLICY, NOW
    )
    with engine.begin() as connection:
        record_operations(connection, plan.operations, "test-run")


def statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(select(operation_journal.c.status))
        result: dict[str, int] = {}
        for (status,) in rows:
            result[status] = result.get(status, 0) + 1
        return result


def held(sim: CredlySim, template_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for badge in sim.state.badges.values():
        if badge.badge_template_id == template_id and badge.state in ("pending", "accepted"):
            counts[badge.recipient_email] = counts.get(badge.recipient_email, 0) + 1
    return counts


@pytest.mark.usefixtures("credly_connection")
def test_issue_under_faults_gives_each_learner_exactly_one_badge(
    credly_sim: CredlySim, postgres_warehouse
) -> None:
    template = credly_sim.create_template("Cloud Basics", allow_duplicate_badges=True)
    journal_plan(postgres_warehouse, completions(template.id, range(12)), credly_sim)
    credly_sim.set_faults(
        FaultRule("status", status=503, method="POST", path=r"/badges$", times=3),
        FaultRule("reset", method="POST", path=r"/badges$", times=2),
        FaultRule("status", status=429, retry_after=0, times=2),
    )
    summary = IssueBadgesOperator(task_id="issue", http_retry=INSTANT, max_workers=4).execute(
        {"run_id": "test-run"}
    )
    assert summary["outcomes"] == {"issue.applied": 12}
    assert credly_sim.call_count("POST", "badges") >= 12 + 5, "the faults were met and survived"
    assert held(credly_sim, template.id) == {learner(i).email: 1 for i in range(12)}
    assert len(read_ledger(postgres_warehouse)) == 12

    credly_sim.clear_faults()
    journal_plan(postgres_warehouse, completions(template.id, range(12)), credly_sim)
    assert open_operations(postgres_warehouse, ["issue"]) == [], "a rerun plans nothing"


@pytest.mark.usefixtures("credly_connection")
def test_an_issue_cut_off_by_a_crash_is_looked_up_not_sent_again(
    credly_sim: CredlySim, postgres_warehouse
) -> None:
    template = credly_sim.create_template("Data", allow_duplicate_badges=True)
    journal_plan(postgres_warehouse, completions(template.id, range(2)), credly_sim)
    [first, second] = open_operations(postgres_warehouse, ["issue"])
    # The killed run had sent the first badge and counted the attempt, but never recorded the outcome.
    start_attempt(postgres_warehouse, first.op_key)
    credly_sim.state.issue(first.payload["badge"])
    summary = IssueBadgesOperator(task_id="issue", http_retry=INSTANT).execute({"run_id": "rerun"})
    assert summary["outcomes"] == {"issue.applied": 2}
    assert held(credly_sim, template.id) == {learner(0).email: 1, learner(1).email: 1}
    with postgres_warehouse.connect() as connection:
        results = {r.op_key: r.result["outcome"] for r in connection.execute(select(operation_journal))}
    assert results == {first.op_key: "already_issued", second.op_key: "issued"}


@pytest.mark.usefixtures("credly_connection")
def test_a_refused_issue_is_rejected_with_its_reason_and_never_sent_again(
    credly_sim: CredlySim, postgres_warehouse
) -> None:
    template = credly_sim.create_template("Old", allow_duplicate_badges=True)
    journal_plan(postgres_warehouse, completions(template.id, range(2)), credly_sim)
    credly_sim.admin("POST", f"templates/{template.id}/archive").raise_for_status()
    with pytest.raises(Exception, match=r"2 of 2 operation\(s\) not applied \(2 rejected"):
        IssueBadgesOperator(task_id="issue", http_retry=INSTANT).execute({"run_id": "r"})
    assert open_operations(postgres_warehouse, ["issue"]) == []
    with postgres_warehouse.connect() as connection:
        [entry, _] = connection.execute(select(operation_journal)).all()
    assert (entry.status, entry.attempts) == ("rejected", 1)
    assert "archived" in entry.last_error.lower() and credly_sim.token not in entry.last_error
    posts = credly_sim.call_count("POST", "badges")

    journal_plan(postgres_warehouse, completions(template.id, range(2)), credly_sim)
    summary = IssueBadgesOperator(task_id="issue", http_retry=INSTANT).execute({"run_id": "r2"})
    assert summary["operations"] == 0, "the next run neither sends nor fails for a rejected operation"
    assert credly_sim.call_count("POST", "badges") == posts


@pytest.mark.usefixtures("credly_connection")
def test_revoke_and_replace_follow_the_lms_and_keep_the_ledger(
    credly_sim: CredlySim, postgres_warehouse
) -> None:
    template = credly_sim.create_template("Certified Cloud Engineer")
    cert = {"object_type": "certification", "object_id": "CERT-1"}
    journal_plan(
        postgres_warehouse,
        completions(template.id, range(2), **cert, lms_expires_at="2027-05-01T00:00:00Z"),
        credly_sim,
    )
    IssueBadgesOperator(task_id="issue", http_retry=INSTANT).execute({"run_id": "r1"})

    renewed = completions(template.id, range(1), **cert, lms_expires_at="2028-05-01T00:00:00Z")
    revoked = completions(template.id, range(1, 2), **cert, revoked=True)
    journal_plan(postgres_warehouse, renewed + revoked, credly_sim)
    assert ReplaceBadgesOperator(task_id="replace", http_retry=INSTANT).execute({"run_id": "r2"})[
        "outcomes"
    ] == {"replace.applied": 1}
    assert RevokeBadgesOperator(task_id="revoke", http_retry=INSTANT).execute({"run_id": "r2"})[
        "outcomes"
    ] == {"revoke.applied": 1}

    states = sorted(
        (b.recipient_email, b.state, (b.expires_at or "")[:10]) for b in credly_sim.state.badges.values()
    )
    assert states == [
        (learner(0).email, "pending", "2028-05-01"),
        (learner(0).email, "replaced", "2027-05-01"),
        (learner(1).email, "revoked", "2027-05-01"),
    ]
    with postgres_warehouse.connect() as connection:
        ledger = sorted((r.lms_user_id, r.state) for r in connection.execute(select(issued_badge_ledger)))
    assert ledger == [("10001", "issued"), ("10001", "replaced"), ("10002", "revoked")]
    journal_plan(postgres_warehouse, renewed + revoked, credly_sim)
    assert statuses(postgres_warehouse) == {"applied": 4}, "nothing left to do on a rerun"


@pytest.mark.usefixtures("credly_connection")
def test_partitions_split_the_journal_without_gaps(credly_sim: CredlySim, postgres_warehouse) -> None:
    template = credly_sim.create_template("Partitioned")
    journal_plan(postgres_warehouse, completions(template.id, range(9)), credly_sim)
    applied = [
        IssueBadgesOperator(task_id="issue", http_retry=INSTANT, partition=(index, 3)).execute(
            {"run_id": "r"}
        )["operations"]
        for index in range(3)
    ]
    assert sum(applied) == 9 and all(0 < count < 9 for count in applied)
    assert held(credly_sim, template.id) == {learner(i).email: 1 for i in range(9)}


@pytest.mark.usefixtures("credly_connection")
def test_connections_are_read_on_the_task_thread_only(
    credly_sim: CredlySim, postgres_warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a real task the Task SDK answers connection look-ups on the main thread only."""
    real_get_connection = CredlyHook.get_connection

    def main_thread_only(conn_id: str) -> Any:
        if threading.current_thread() is not threading.main_thread():
            raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")
        return real_get_connection(conn_id)

    monkeypatch.setattr(CredlyHook, "get_connection", staticmethod(main_thread_only))
    template = credly_sim.create_template("Threads")
    journal_plan(postgres_warehouse, completions(template.id, range(6)), credly_sim)
    summary = IssueBadgesOperator(task_id="issue", http_retry=INSTANT, max_workers=4).execute({"run_id": "r"})
    assert summary["outcomes"] == {"issue.applied": 6}


@pytest.mark.usefixtures("credly_connection")
def test_a_badge_someone_else_issued_is_not_taken_into_the_ledger(
    credly_sim: CredlySim, postgres_warehouse
) -> None:
    template = credly_sim.create_template("Issued elsewhere")
    journal_plan(postgres_warehouse, completions(template.id, range(2)), credly_sim)
    person = learner(0)
    credly_sim.state.issue(
        {
            "recipient_email": person.email,
            "issued_to_first_name": person.first_name,
            "issued_to_last_name": person.last_name,
            "badge_template_id": template.id,
            "issued_at": "2026-04-01 10:00:00 +0000",
        }
    )  # issued by another system after the plan: Credly answers "already has this badge"
    summary = IssueBadgesOperator(task_id="issue", http_retry=INSTANT).execute({"run_id": "r"})
    assert summary["outcomes"] == {"issue.applied": 2}
    assert list(read_ledger(postgres_warehouse)["lms_user_id"]) == [str(learner(1).user_id)]
