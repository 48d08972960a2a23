"""lms_to_credly end to end: Docebo simulator -> plan -> journal -> Credly simulator, with the
warehouse on PostgreSQL. Courses (through the dropdown), learning plans and certifications."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.sdk import DagRunState
from sqlalchemy import Engine, select

from credly_sync.operators import pacing
from credly_sync.settings import write_setting
from credly_sync.warehouse.schema import (
    api_call_budget,
    course_badge_templates,
    credly_integration_mappings,
    issued_badge_ledger,
    operation_journal,
)
from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from include.simulators.docebo.records import LpEnrollment
from tests.fixtures.airflow import run_dag
from tests.fixtures.credly import CredlySim
from tests.fixtures.docebo import DoceboSim

DAG_ID = "lms_to_credly"
COURSE, PLAN, CERT = 101, 501, "CERT-001"
FULL = {"full_reconcile": True}


class World:
    """Both simulators and the warehouse, with one template per route wired up."""

    def __init__(self, dagbag: Any, credly: CredlySim, docebo: DoceboSim, warehouse: Engine) -> None:
        self.dagbag, self.credly, self.docebo, self.warehouse = dagbag, credly, docebo, warehouse
        write_setting(warehouse, "BATCH_SYNC_START_DATE", "2026-01-01")
        docebo.seed(3, learners=12, courses=2, learning_plans=1, certifications=1, completions=0, awards=0)
        self.course_template = credly.create_template("Cloud Basics")
        self.plan_template = credly.create_template("Data Path")
        self.cert_template = credly.create_template("Certified Cloud")
        for dag_id in ("credly_templates", "credly_lms_dropdown"):
            assert run_dag(dagbag, dag_id).state == DagRunState.SUCCESS
        [field] = docebo.world.course_fields.values()
        element = next(e for e, label in field.options.items() if label == "Cloud Basics")
        docebo.state.set_course_value(COURSE, field.id, element)
        with warehouse.begin() as connection:
            for row in (
                {"badge_template_id": self.plan_template.id, "learning_plan_id": str(PLAN)},
                {"badge_template_id": self.cert_template.id, "certification_code": CERT},
            ):
                connection.execute(credly_integration_mappings.insert().values(**row))

    def complete_course(self, index: int, at: str) -> None:
        self.docebo.state.complete_courses([(learner(index).user_id, COURSE, at)])

    def run(self, **conf: Any) -> Any:
        return run_dag(self.dagbag, DAG_ID, **conf)

    def held(self, template_id: str) -> dict[str, list[str]]:
        """E-mail -> states of this template's badges."""
        result: dict[str, list[str]] = {}
        for badge in self.credly.state.badges.values():
            if badge.badge_template_id == template_id:
                result.setdefault(badge.recipient_email, []).append(badge.state)
        return result

    def badge_operations(self) -> list[str]:
        """Statuses of the journaled issue/revoke/replace operations."""
        journal = operation_journal
        query = select(journal.c.status).where(journal.c.kind.in_(("issue", "revoke", "replace")))
        with self.warehouse.connect() as connection:
            return list(connection.execute(query).scalars())

    def credly_writes(self) -> dict[str, int]:
        return {k: v for k, v in self.credly.calls().items() if not k.startswith("GET ")}


@pytest.fixture
def world(
    dagbag: Any,
    credly_sim: CredlySim,
    credly_connection: str,
    docebo_sim: DoceboSim,
    docebo_connection: str,
    configured_warehouse: Engine,
    smtp_sink: Any,
) -> World:
    return World(dagbag, credly_sim, docebo_sim, configured_warehouse)


def test_courses_plans_and_certifications_become_badges_once(world: World) -> None:
    world.complete_course(0, "2026-03-01 10:15:00")
    world.docebo.state.complete_learning_plan(learner(1).user_id, PLAN, "2026-03-02 08:00:00")
    world.docebo.state.award_certification(
        {"id_cert": 901, "user_id": learner(2).user_id, "issued_on": "2026-03-03", "expires_on": "2027-03-03"}
    )
    world.docebo.world.users[learner(3).user_id].first_name = ""
    world.complete_course(3, "2026-03-04 09:00:00")
    world.complete_course(4, "2025-12-31 23:00:00")  # before BATCH_SYNC_START_DATE

    run = world.run(**FULL)
    assert run.state == DagRunState.SUCCESS
    assert world.held(world.course_template.id) == {learner(0).email: ["pending"]}
    assert world.held(world.plan_template.id) == {learner(1).email: ["pending"]}
    assert world.held(world.cert_template.id) == {learner(2).email: ["pending"]}
    badges = {b.recipient_email: b for b in world.credly.state.badges.values()}
    course_badge, cert_badge = badges[learner(0).email], badges[learner(2).email]
    assert course_badge.issued_at.startswith("2026-03-01T10:15:00")
    assert course_badge.issuer_earner_id == str(learner(0).user_id)
    assert course_badge.evidence[0]["title"] == "Issued by credly-sync"
    expiry = datetime.fromisoformat(course_badge.expires_at.replace("Z", "+00:00"))
    assert abs((expiry - datetime.now(UTC)).days - 365) <= 1, "CREDLY_DEFAULT_EXPIRATION_DAYS is 365"
    assert cert_badge.expires_at.startswith("2027-03-03")
    summary = run.get_task_instance("plan_badges").xcom_pull(task_ids="plan_badges", key="summary")
    assert summary["issue"] == 3
    assert [(r["lms_user_id"], r["reason"]) for r in summary["rejected_learner_examples"]] == [
        (str(learner(3).user_id), "missing first name")
    ]
    with world.warehouse.connect() as connection:
        assert len(connection.execute(select(issued_badge_ledger)).all()) == 3
        courses = connection.execute(select(course_badge_templates)).all()
    assert [(c.course_id, c.badge_template_id) for c in courses] == [(str(COURSE), world.course_template.id)]
    assert courses[0].dropdown_element_id is not None

    world.credly.simulator.control.calls.reset()
    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert world.credly_writes() == {}, "a rerun writes nothing"

    award = world.docebo.state.holding_award(learner(2).user_id, 901)
    world.docebo.state.revoke_award(award.award_id)
    world.docebo.state.reset_completion(learner(0).user_id, COURSE)
    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert world.held(world.cert_template.id) == {learner(2).email: ["revoked"]}
    assert world.held(world.course_template.id) == {learner(0).email: ["revoked"]}
    assert world.held(world.plan_template.id) == {learner(1).email: ["pending"]}


def test_without_sync_revocation_a_renewal_replaces_and_a_revocation_is_left_alone(world: World) -> None:
    write_setting(world.warehouse, "SYNC_REVOCATION", "false")
    for index in (0, 1):
        world.docebo.state.award_certification(
            {
                "id_cert": 901,
                "user_id": learner(index).user_id,
                "issued_on": "2026-03-03",
                "expires_on": "2027-03-03",
            }
        )
    assert world.run(**FULL).state == DagRunState.SUCCESS
    renewed = world.docebo.state.holding_award(learner(0).user_id, 901)
    world.docebo.state.update_award(renewed.award_id, {"issued_on": "2027-03-01", "expires_on": "2028-03-01"})
    world.docebo.state.revoke_award(world.docebo.state.holding_award(learner(1).user_id, 901).award_id)
    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert world.held(world.cert_template.id) == {
        learner(0).email: ["replaced", "pending"],
        learner(1).email: ["pending"],
    }
    new = next(
        b
        for b in world.credly.state.badges.values()
        if b.state == "pending" and b.recipient_email == learner(0).email
    )
    assert new.expires_at.startswith("2028-03-01")


def test_dry_run_writes_nothing_and_a_killed_apply_finishes_on_the_next_run(world: World) -> None:
    for index in range(8):
        world.complete_course(index, f"2026-03-01 10:{index:02d}:00")
    dry = world.run(full_reconcile=True, dry_run=True)
    assert dry.state == DagRunState.SUCCESS
    assert dry.get_task_instance("plan_badges").xcom_pull(task_ids="plan_badges", key="summary")["issue"] == 8
    assert world.held(world.course_template.id) == {}
    assert world.badge_operations() == []

    world.credly.set_faults(
        FaultRule("late", delay=1.5, method="POST", path=r"/badges$", times=1),
        FaultRule("reset", method="POST", path=r"/badges$", times=1),
        FaultRule("status", status=503, method="POST", path=r"/badges$", times=30),
    )
    dag = world.dagbag.get_dag(DAG_ID)
    issue = dag.get_task("issue_badges")
    issue.partial_kwargs["http_retry"] = {"max_attempts": 3, "backoff_base": 0, "timeout": 1.0}
    assert world.run(**FULL).state == DagRunState.FAILED
    world.credly.settle()
    statuses = world.badge_operations()
    assert "pending" in statuses and len(statuses) == 8, "transient failures are sent again"

    world.credly.clear_faults()
    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert world.held(world.course_template.id) == {learner(i).email: ["pending"] for i in range(8)}


def test_a_three_day_backfill_processes_each_completion_once(world: World) -> None:
    world.complete_course(0, "2026-03-01 10:15:00")
    world.complete_course(1, "2026-03-02 11:59:59")  # the last second of an hourly interval
    world.complete_course(2, "2026-03-03 12:00:00")  # the first second of the next one
    world.complete_course(3, "2026-03-04 12:00:00")  # after the backfilled days
    world.credly.simulator.control.calls.reset()
    for day in (1, 2, 3):
        windows = []
        for hour in range(9, 14):  # consecutive hourly runs, as a backfill creates them
            run = run_dag(world.dagbag, DAG_ID, logical_date=datetime(2026, 3, day, hour, tzinfo=UTC))
            assert run.state == DagRunState.SUCCESS
            windows.append((run.data_interval_start, run.data_interval_end))
        assert all(end - start == timedelta(hours=1) for start, end in windows)
        assert all(earlier[1] == later[0] for earlier, later in itertools.pairwise(windows))
    assert world.credly.call_count("POST", "badges") == 3
    assert world.held(world.course_template.id) == {learner(i).email: ["pending"] for i in range(3)}


def test_master_scope_multi_template_mappings_bad_rows_and_no_loop(world: World) -> None:
    """CREDLY master: certification awards stay Credly -> LMS, courses and plans still issue; a
    learning plan mapped to two templates earns both; a bad mapping row is skipped, not fatal;
    an award that came from Credly is never issued back."""
    second = world.credly.create_template("Data Path Plus")
    with world.warehouse.begin() as connection:
        connection.execute(
            credly_integration_mappings.insert(),
            [
                {"badge_template_id": second.id, "learning_plan_id": str(PLAN)},
                {"badge_template_id": second.id, "learning_plan_id": "LP-not-a-number"},
            ],
        )
    world.complete_course(0, "2026-03-01 10:15:00")
    world.docebo.state.complete_learning_plan(learner(1).user_id, PLAN, "2026-03-02 08:00:00")
    award = {"id_cert": 901, "user_id": learner(2).user_id, "issued_on": "2026-03-03"}
    world.docebo.state.award_certification(award)
    write_setting(world.warehouse, "CREDLY_INTEGRATION_MASTER", "CREDLY")
    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert world.held(world.course_template.id) == {learner(0).email: ["pending"]}
    assert world.held(world.plan_template.id) == {learner(1).email: ["pending"]}
    assert world.held(second.id) == {learner(1).email: ["pending"]}
    assert world.held(world.cert_template.id) == {}, "the CREDLY master keeps certifications in Credly"

    write_setting(world.warehouse, "CREDLY_INTEGRATION_MASTER", "")
    from_credly = {**award, "user_id": learner(3).user_id, "source": "Credly"}
    world.docebo.state.award_certification(from_credly)
    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert world.held(world.cert_template.id) == {learner(2).email: ["pending"]}, (
        "learner 3's award came from Credly: issuing it back would loop"
    )


def test_a_later_batch_sync_start_date_revokes_nothing(world: World) -> None:
    write_setting(world.warehouse, "SYNC_REVOCATION", "true")
    world.complete_course(0, "2026-03-01 10:15:00")
    world.complete_course(1, "2026-05-01 10:15:00")
    assert world.run(**FULL).state == DagRunState.SUCCESS
    write_setting(world.warehouse, "BATCH_SYNC_START_DATE", "2026-04-01")
    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert world.held(world.course_template.id) == {
        learner(0).email: ["pending"],
        learner(1).email: ["pending"],
    }
    assert world.credly.call_count("PUT", "badges/{badge_id}/revoke") == 0


def test_a_refused_badge_fails_the_run_is_mailed_once_and_is_not_sent_again(
    world: World, smtp_sink: Any
) -> None:
    for index in (0, 1):
        world.complete_course(index, f"2026-03-01 10:0{index}:00")
    world.credly.admin("POST", f"templates/{world.course_template.id}/archive").raise_for_status()
    run = world.run(**FULL)
    assert run.state == DagRunState.FAILED
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert (states["issue_badges"], states["mail_failure_digest"]) == ("failed", "success")
    assert world.badge_operations() == ["rejected", "rejected"]
    [digest] = smtp_sink.messages
    assert digest["To"] == "lms-admin@example.com"
    assert digest["Subject"].startswith("credly-sync: 2 rejected operations")
    assert "archived" in digest.get_body(("html",)).get_content()
    assert run.get_task_instance("mail_failure_digest").xcom_pull(task_ids="mail_failure_digest") == {
        "sent": 1,
        "failed": 0,
        "rejected": 2,
    }

    posts = world.credly.call_count("POST", "badges")
    assert world.run(**FULL).state == DagRunState.SUCCESS, "rejected rows do not turn later runs red"
    assert world.credly.call_count("POST", "badges") == posts
    assert len(smtp_sink.messages) == 1, "each rejection is mailed once"


def test_an_hourly_run_rechecks_what_a_strict_lms_ignores(world: World) -> None:
    """Docebo ignores the unconfirmed completion-date and learning-plan status filters and sends
    empty dates as 0000-00-00: the run still issues exactly the completions of its hour."""
    in_progress = LpEnrollment(learner(5).user_id, PLAN, "in_progress", "2026-03-01 08:00:00")
    world.docebo.world.lp_enrollments[(learner(5).user_id, PLAN)] = in_progress
    world.complete_course(0, "2026-03-01 10:15:00")
    world.complete_course(1, "2026-03-01 09:59:59")  # the hour before
    world.complete_course(2, "2026-03-01 11:00:00")  # the hour after
    world.docebo.state.complete_learning_plan(learner(3).user_id, PLAN, "2026-03-01 10:30:00")
    always_valid = {"id_cert": 901, "user_id": learner(4).user_id, "issued_on": "2026-03-01"}
    world.docebo.state.award_certification(always_valid)
    run = run_dag(world.dagbag, DAG_ID, logical_date=datetime(2026, 3, 1, 11, tzinfo=UTC))
    assert run.state == DagRunState.SUCCESS
    assert world.docebo.ignored_filters(), "the strict simulator ignored the unconfirmed filters"
    assert world.held(world.course_template.id) == {learner(0).email: ["pending"]}
    assert world.held(world.plan_template.id) == {learner(3).email: ["pending"]}
    summary = run.get_task_instance("plan_badges").xcom_pull(task_ids="plan_badges", key="summary")
    assert summary["rejected_learner_examples"] == []
    full = world.run(**FULL)
    assert full.state == DagRunState.SUCCESS
    [cert_badge] = [
        b for b in world.credly.state.badges.values() if b.badge_template_id == world.cert_template.id
    ]
    assert (cert_badge.recipient_email, cert_badge.expires_at) == (learner(4).email, None), (
        "an always-valid certification (expires_on 0000-00-00) gives a badge without expiry"
    )


def test_after_three_hours_paused_one_scheduled_run_issues_the_whole_gap_once(world: World) -> None:
    def hourly(end_hour: int) -> Any:
        run = run_dag(world.dagbag, DAG_ID, logical_date=datetime(2026, 3, 1, end_hour, tzinfo=UTC))
        assert run.state == DagRunState.SUCCESS
        return run

    hourly(10)  # covers 09:00-10:00 and sets the watermarks to 10:00
    world.complete_course(0, "2026-03-01 10:30:00")
    world.complete_course(1, "2026-03-01 11:30:00")
    world.complete_course(2, "2026-03-01 12:30:00")
    world.complete_course(3, "2026-03-01 13:30:00")
    # paused 10:00-13:00: no run; the next run covers 13:00-14:00 by its data interval
    hourly(14)
    assert world.held(world.course_template.id) == {learner(i).email: ["pending"] for i in range(4)}
    posts = world.credly.call_count("POST", "badges")
    hourly(15)
    assert world.credly.call_count("POST", "badges") == posts == 4


def test_an_hourly_run_checks_credly_before_issuing_even_when_duplicates_are_allowed(world: World) -> None:
    world.credly.state.templates[world.course_template.id].allow_duplicate_badges = True
    for index in (0, 1):
        person = learner(index)
        world.credly.state.issue(  # by hand in Credly, before the LMS completion syncs
            {
                "recipient_email": person.email.upper(),
                "issued_to_first_name": person.first_name,
                "issued_to_last_name": person.last_name,
                "badge_template_id": world.course_template.id,
                "issued_at": "2026-02-01T09:00:00Z",
            }
        )
    for index in range(3):
        world.complete_course(index, f"2026-03-01 10:1{index}:00")
    world.credly.simulator.control.calls.reset()
    run = run_dag(world.dagbag, DAG_ID, logical_date=datetime(2026, 3, 1, 11, tzinfo=UTC))
    assert run.state == DagRunState.SUCCESS
    assert world.credly.call_count("POST", "badges") == 1, "only learner 2 holds no badge"
    assert world.credly.call_count("GET", "badges") == 1, "one look-up for the template's 3 candidates"
    assert world.held(world.course_template.id) == {
        learner(0).email.upper(): ["pending"],
        learner(1).email.upper(): ["pending"],
        learner(2).email: ["pending"],
    }


def test_two_dags_share_the_lms_budget_and_wait_instead_of_failing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pacing, "BUDGET_WINDOW", 3.0)  # a 3-second "hour"
    write_setting(world.warehouse, "LMS_API_CALLS_PER_HOUR", "5")
    for index in range(4):
        world.complete_course(index, f"2026-03-01 10:1{index}:00")
    with world.warehouse.begin() as connection:  # credly_to_lms imports the plan template's badges
        connection.execute(
            credly_integration_mappings.insert().values(
                badge_template_id=world.plan_template.id, import_as_external_training=True
            )
        )
    person = learner(6)
    world.credly.state.issue(
        {
            "recipient_email": person.email,
            "issued_to_first_name": person.first_name,
            "issued_to_last_name": person.last_name,
            "badge_template_id": world.plan_template.id,
            "issued_at": "2026-03-01T09:00:00Z",
        }
    )
    world.docebo.simulator.control.calls.reset()
    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert run_dag(world.dagbag, "credly_to_lms", full_reconcile=True).state == DagRunState.SUCCESS
    assert world.held(world.course_template.id) == {learner(i).email: ["pending"] for i in range(4)}
    assert [t.user_id for t in world.docebo.world.external_training.values()] == [person.user_id]
    with world.warehouse.connect() as connection:
        windows = dict(
            connection.execute(select(api_call_budget.c.window_start, api_call_budget.c.calls)).all()
        )
    assert len(windows) >= 2, "the runs needed more than one window: they waited"
    assert all(calls <= 5 for calls in windows.values())
    assert sum(world.docebo.calls().values()) <= sum(windows.values()), "no call outside the budget"


def test_a_completion_recorded_late_is_caught_by_the_next_full_reconcile_once(world: World) -> None:
    def hourly(end_hour: int) -> None:
        run = run_dag(world.dagbag, DAG_ID, logical_date=datetime(2026, 3, 1, end_hour, tzinfo=UTC))
        assert run.state == DagRunState.SUCCESS

    hourly(10)
    hourly(11)
    world.complete_course(0, "2026-03-01 08:30:00")  # recorded after 11:00, dated before 09:00
    hourly(12)
    assert world.held(world.course_template.id) == {}, "an hourly run reads from its watermark"
    weekly = run_dag(world.dagbag, "lms_to_credly_weekly_reconcile")
    assert weekly.state == DagRunState.SUCCESS
    assert world.held(world.course_template.id) == {learner(0).email: ["pending"]}
    assert run_dag(world.dagbag, "lms_to_credly_weekly_reconcile").state == DagRunState.SUCCESS
    assert world.credly.call_count("POST", "badges") == 1
