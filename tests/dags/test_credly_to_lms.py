"""credly_to_lms end to end: Credly simulator -> plan -> journal -> Docebo simulator, with the
warehouse on PostgreSQL. External training and certification awards through a badge's life."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.sdk import DagRunState
from sqlalchemy import Engine, select

from credly_sync.hooks.base import RetryPolicy
from credly_sync.planning.credly_to_lms import KINDS
from credly_sync.settings import write_setting
from credly_sync.warehouse.holders import find_holders
from credly_sync.warehouse.ledger import ledger_row, record_issued
from credly_sync.warehouse.schema import credly_integration_mappings, operation_journal
from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from include.simulators.credly.records import Badge
from tests.fixtures.airflow import run_dag
from tests.fixtures.credly import CredlySim
from tests.fixtures.docebo import DoceboSim

DAG_ID = "credly_to_lms"
PLAN_TASK = "plan_credly_to_lms"
FULL = {"full_reconcile": True}
CERT_1, CERT_2 = "CERT-001", "CERT-002"  # id_cert 901, 902 in the seeded Docebo world
STRANGER = "stranger@example.com"


class World:
    """Both simulators and the warehouse. Templates: ``expert`` imports as external training and
    awards CERT-001; ``basics`` imports as external training (and names CERT-404, which the LMS
    does not know); ``certified`` awards CERT-002 only; ``other`` is not mapped."""

    def __init__(self, dagbag: Any, credly: CredlySim, docebo: DoceboSim, warehouse: Engine) -> None:
        self.dagbag, self.credly, self.docebo, self.warehouse = dagbag, credly, docebo, warehouse
        docebo.seed(3, learners=12, courses=0, learning_plans=0, certifications=2, completions=0, awards=0)
        self.expert = credly.create_template("Cloud Expert")
        self.basics = credly.create_template("Cloud Basics")
        self.certified = credly.create_template("Certified Data")
        self.other = credly.create_template("Data Literacy")
        with warehouse.begin() as connection:
            for template, training, code in (
                (self.expert, True, CERT_1),
                (self.basics, True, None),
                (self.certified, False, CERT_2),
                (self.basics, False, "CERT-404"),  # no such certification in the LMS
            ):
                connection.execute(
                    credly_integration_mappings.insert().values(
                        badge_template_id=template.id,
                        badge_template_name=template.name,
                        import_as_external_training=training,
                        certification_code=code,
                    )
                )

    def issue(self, template: Any, index: int | None, at: str, expires: str | None, **extra: Any) -> Badge:
        person = learner(index if index is not None else 99)
        return self.credly.state.issue(
            {
                "recipient_email": person.email if index is not None else STRANGER,
                "issued_to_first_name": person.first_name,
                "issued_to_last_name": person.last_name,
                "badge_template_id": template.id,
                "issued_at": at,
                "expires_at": expires if expires else False,
                **extra,
            }
        )

    def replace(self, badge: Badge, template: Any, at: str, expires: str) -> Badge:
        return self.credly.state.replace(
            badge.id, {"badge_template_id": template.id, "issued_at": at, "expires_at": expires}
        )

    def run(self, **conf: Any) -> Any:
        return run_dag(self.dagbag, DAG_ID, **conf)

    def trainings(self) -> dict[int, list[tuple[str, str, str, str | None, str | None]]]:
        """LMS user id -> (title, institute, date, expiry, link) of each external training."""
        result: dict[int, list[Any]] = {}
        for r in sorted(self.docebo.world.external_training.values(), key=lambda r: r.external_training_id):
            row = (r.title, r.provider, r.date_from, r.expiration_date, r.certificate_url)
            result.setdefault(r.user_id, []).append(row)
        return result

    def awards(self) -> dict[tuple[int, int], list[tuple[str, str | None, str]]]:
        """(LMS user id, id_cert) -> (issued, expires, status) of each award."""
        result: dict[tuple[int, int], list[Any]] = {}
        for a in sorted(self.docebo.world.awards.values(), key=lambda a: a.award_id):
            result.setdefault((a.user_id, a.id_cert), []).append((a.issued_on, a.expires_on, a.status))
        return result

    def docebo_writes(self) -> dict[str, int]:
        return {
            k: v for k, v in self.docebo.calls().items() if not k.startswith("GET ") and "oauth2" not in k
        }

    def journal(self) -> dict[str, str]:
        journal = operation_journal
        query = select(journal.c.op_key, journal.c.status).where(journal.c.kind.in_(KINDS))
        with self.warehouse.connect() as connection:
            return dict(connection.execute(query).all())


@pytest.fixture
def world(
    dagbag: Any,
    credly_sim: CredlySim,
    credly_connection: str,
    docebo_sim: DoceboSim,
    docebo_connection: str,
    configured_warehouse: Engine,
) -> World:
    return World(dagbag, credly_sim, docebo_sim, configured_warehouse)


def summary_of(run: Any) -> dict[str, Any]:
    return run.get_task_instance(PLAN_TASK).xcom_pull(task_ids=PLAN_TASK)


def user(index: int) -> int:
    return learner(index).user_id


def test_a_badge_s_life_reaches_the_lms_once_per_change(world: World) -> None:
    expert = world.issue(world.expert, 0, "2026-03-01T09:30:00Z", "2027-03-01T09:30:00Z")
    basics = world.issue(world.basics, 1, "2026-03-02T10:00:00Z", None)
    certified = world.issue(world.certified, 2, "2026-03-03T11:00:00Z", "2028-03-03T11:00:00Z")
    ours = world.issue(world.basics, 3, "2026-03-04T12:00:00Z", None, issuer_earner_id=str(user(3)))
    in_ledger = world.issue(world.certified, 4, "2026-03-04T12:00:00Z", None)
    with world.warehouse.begin() as connection:  # issued by lms_to_credly, without an earner id
        badge = {"issuer_earner_id": str(user(4)), "badge_template_id": world.certified.id}
        record_issued(connection, [ledger_row(in_ledger.id, badge, {"type": "certification", "id": CERT_2})])
    stranger = world.issue(world.basics, None, "2026-03-05T08:00:00Z", None)
    world.issue(world.other, 5, "2026-03-05T08:00:00Z", None)  # template not mapped

    first = world.run(**FULL)
    assert first.state == DagRunState.SUCCESS
    holders = {(h["recipient_email"], h["state"]) for h in find_holders(world.warehouse, "cloud basics")}
    assert holders == {(learner(1).email, "pending"), (learner(3).email, "pending"), (STRANGER, "pending")}, (
        "the run keeps the holders table current: who holds a badge is answered without an API call"
    )
    link = f"https://sandbox.credly.com/badges/{expert.id}"
    assert world.trainings() == {
        user(0): [("Cloud Expert", "Credly", "2026-03-01", "2027-03-01", link)],
        user(1): [
            ("Cloud Basics", "Credly", "2026-03-02", None, f"https://sandbox.credly.com/badges/{basics.id}")
        ],
    }
    assert world.awards() == {
        (user(0), 901): [("2026-03-01", "2027-03-01", "active")],
        (user(2), 902): [("2026-03-03", "2028-03-03", "active")],
    }
    [award] = [a for a in world.docebo.world.awards.values() if a.user_id == user(0)]
    assert (award.source, award.external_link) == ("Credly", link)
    summary = summary_of(first)
    assert (summary["external_training_create"], summary["certification_award"]) == (2, 2)
    assert summary["unknown_certification_codes"] == ["CERT-404"]
    assert summary["own_badges"] == 2, f"{ours.id} (earner id) and {in_ledger.id} (ledger) are skipped"
    assert [(b["badge_id"], b["reason"]) for b in summary["unmatched_badge_examples"]] == [
        (stranger.id, "no LMS user with this e-mail")
    ]
    assert set(world.journal().values()) == {"applied"}

    world.docebo.simulator.control.calls.reset()
    world.credly.simulator.control.calls.reset()
    rerun = world.run(**FULL)
    assert rerun.state == DagRunState.SUCCESS
    assert world.docebo_writes() == {}, "a rerun with no change writes nothing"
    assert [k for k in world.credly.calls() if not k.startswith("GET ")] == []
    assert summary_of(rerun)["external_training_create"] == 0

    # replaced by the same template: the external training and the award follow the new badge
    record_ids = (set(world.docebo.world.external_training), set(world.docebo.world.awards))
    renewed = world.replace(expert, world.expert, "2027-02-20T08:00:00Z", "2028-02-20T08:00:00Z")
    # replaced by another template: the external training goes
    moved = world.replace(basics, world.other, "2026-06-01T08:00:00Z", "2027-06-01T08:00:00Z")
    assert world.run(**FULL).state == DagRunState.SUCCESS
    new_link = f"https://sandbox.credly.com/badges/{renewed.id}"
    assert world.trainings() == {user(0): [("Cloud Expert", "Credly", "2027-02-20", "2028-02-20", new_link)]}
    assert world.awards()[(user(0), 901)] == [("2027-02-20", "2028-02-20", "active")]
    assert set(world.docebo.world.external_training) < record_ids[0], "updated in place, one deleted"
    assert set(world.docebo.world.awards) == record_ids[1]
    assert moved.id not in str(world.trainings())

    # revoked: the external training is deleted and the award revoked
    world.credly.state.revoke(renewed.id, "issued in error")
    world.credly.state.revoke(certified.id, "issued in error")
    world.docebo.simulator.control.calls.reset()
    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert world.trainings() == {}
    assert world.awards() == {
        (user(0), 901): [("2027-02-20", "2028-02-20", "revoked")],
        (user(2), 902): [("2026-03-03", "2028-03-03", "revoked")],
    }
    assert world.docebo_writes() == {
        "DELETE /learn/v1/external_training/{training_id}": 1,
        "DELETE /learn/v1/certification/awards/{award_id}": 2,
    }

    world.docebo.simulator.control.calls.reset()
    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert world.docebo_writes() == {}


@pytest.fixture
def fast_retries(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The apply tasks retry in milliseconds and time out after a second."""
    dag = world.dagbag.get_dag(DAG_ID)
    for task_id in ("apply_external_training", "apply_certification_awards"):
        monkeypatch.setattr(
            dag.get_task(task_id), "http_retry", RetryPolicy(max_attempts=3, backoff_base=0, timeout=1.0)
        )


def test_master_dry_run_and_faults_leave_the_lms_exact(world: World, fast_retries: None) -> None:
    badges = [
        world.issue(world.expert, index, f"2026-04-0{index + 1}T09:00:00Z", "2028-01-01T00:00:00Z")
        for index in range(6)
    ]

    write_setting(world.warehouse, "CREDLY_INTEGRATION_MASTER", "DOCEBO")
    lms_master = world.run(full_reconcile=True, dry_run=True)
    assert lms_master.state == DagRunState.SUCCESS
    summary = summary_of(lms_master)
    assert (summary["external_training_create"], summary["certification_award"]) == (6, 0), (
        "an LMS master keeps certifications in the LMS; external training runs whatever the master"
    )

    write_setting(world.warehouse, "CREDLY_INTEGRATION_MASTER", "CREDLY")
    dry = world.run(full_reconcile=True, dry_run=True)
    assert dry.state == DagRunState.SUCCESS
    summary = summary_of(dry)
    assert (summary["dry_run"], summary["external_training_create"], summary["certification_award"]) == (
        True,
        6,
        6,
    )
    assert len(summary["planned"]) == 12
    assert world.docebo_writes() == {} and world.journal() == {}

    world.credly.set_faults(FaultRule("status", status=503, method="GET", path=r"/badges$", times=2))
    world.docebo.set_faults(
        FaultRule("status", status=429, retry_after=0, method="GET", times=2),
        FaultRule("late", delay=1.5, method="POST", path=r"/external_training$", times=1),
        FaultRule("reset", method="POST", path=r"/external_training$", times=1),
        FaultRule("late", delay=1.5, method="POST", path=r"/certification/awards$", times=1),
        FaultRule("status", status=503, method="POST", path=r"/certification/awards$", times=40),
    )
    assert world.run(**FULL).state == DagRunState.FAILED
    world.docebo.settle()
    failed = sorted(k for k, status in world.journal().items() if status == "pending")
    assert len(failed) == 5 and all(k.startswith("certification_award:") for k in failed)

    # before the next run one of the failed awards' badges is revoked: its award is never sent
    gone = int(failed[0].split(":")[1]) - user(0)
    world.credly.state.revoke(badges[gone].id, "issued in error")
    world.docebo.clear_faults()
    world.credly.clear_faults()
    assert world.run(**FULL).state == DagRunState.SUCCESS
    kept = [i for i in range(6) if i != gone]
    assert {u: len(rows) for u, rows in world.trainings().items()} == {user(i): 1 for i in kept}
    assert world.awards() == {
        (user(i), 901): [(f"2026-04-0{i + 1}", "2028-01-01", "active")] for i in kept
    }, "one award each, no duplicate from a late or refused POST, none for the revoked badge"
    assert world.journal()[failed[0]] == "superseded", "the stale award was superseded"
    assert set(world.journal().values()) == {"applied", "superseded"}

    world.docebo.simulator.control.calls.reset()
    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert world.docebo_writes() == {}


@pytest.fixture
def credly_clock(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """Credly stamps changes (``updated_at``) with ``clock[0]``."""
    clock = [datetime(2026, 3, 1, 10, 15, tzinfo=UTC)]
    monkeypatch.setattr(world.credly.state, "clock", lambda: clock[0])
    yield clock


def test_hourly_runs_read_the_changes_of_their_interval(world: World, credly_clock: list[datetime]) -> None:
    first = world.issue(world.expert, 0, "2026-03-01T10:15:00Z", "2027-03-01T00:00:00Z")
    credly_clock[0] = datetime(2026, 3, 1, 11, 59, 59, tzinfo=UTC)  # the last second of 11:00-12:00
    world.issue(world.basics, 1, "2026-03-01T11:59:59Z", None)

    def hourly(hour: int) -> Any:
        """The run that covers ``hour:00`` to ``hour+1:00`` (a manual run covers the hour before)."""
        start = datetime(2026, 3, 1, hour, tzinfo=UTC)
        run = run_dag(world.dagbag, DAG_ID, logical_date=start + timedelta(hours=1))
        assert run.state == DagRunState.SUCCESS
        assert (run.data_interval_start, run.data_interval_end) == (start, start + timedelta(hours=1))
        return summary_of(run)

    assert hourly(9)["badges"] == 0
    assert world.docebo.calls().get("GET /manage/v1/user") is None, "no badge, no LMS read"
    summary = hourly(10)
    assert (summary["external_training_create"], summary["certification_award"]) == (1, 1)
    assert set(world.trainings()) == {user(0)}
    assert hourly(11)["external_training_create"] == 1
    assert set(world.trainings()) == {user(0), user(1)}

    # revoked at 13:30: the 13:00 run sees it, and the learner's other badges with it
    credly_clock[0] = datetime(2026, 3, 1, 13, 30, tzinfo=UTC)
    world.issue(world.certified, 0, "2026-03-01T13:30:00Z", None)
    world.credly.state.revoke(first.id, "issued in error")
    world.docebo.simulator.control.calls.reset()
    # the run reads from the watermark (12:00) less 15 minutes: 11:59:59 again, written once only
    assert hourly(12)["badges"] == 1
    assert world.docebo_writes() == {}
    summary = hourly(13)
    assert (summary["external_training_delete"], summary["certification_revoke"]) == (1, 1)
    assert summary["certification_award"] == 1
    assert set(world.trainings()) == {user(1)}
    assert world.awards() == {
        (user(0), 901): [("2026-03-01", "2027-03-01", "revoked")],
        (user(0), 902): [("2026-03-01", None, "active")],
    }
