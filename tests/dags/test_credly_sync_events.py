"""credly_sync_events with dag.test(): the simulators deliver their webhooks over HTTP to the
real intake app (on loopback), the DAG drains the inbox through the batch plans and apply
operators, and the simulators show the result. Warehouse on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from airflow.sdk import DagRunState
from sqlalchemy import Engine, select

from credly_sync.cli import main
from credly_sync.warehouse.schema import credly_integration_mappings, event_inbox
from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from tests.fixtures.airflow import run_dag
from tests.fixtures.credly import CredlySim
from tests.fixtures.docebo import DoceboSim
from tests.fixtures.intake import WEBHOOK_SECRETS

DAG_ID = "credly_sync_events"
COURSE, PLAN = 101, 501


class World:
    """Both simulators delivering webhooks to the intake; a course template (dropdown), a
    learning plan template and an external training template wired up."""

    def __init__(
        self,
        dagbag: Any,
        credly: CredlySim,
        docebo: DoceboSim,
        warehouse: Engine,
        intake: str,
        learners: int = 12,
    ) -> None:
        self.dagbag, self.credly, self.docebo, self.warehouse, self.intake = (
            dagbag,
            credly,
            docebo,
            warehouse,
            intake,
        )
        docebo.seed(
            3, learners=learners, courses=2, learning_plans=1, certifications=1, completions=0, awards=0
        )
        self.course_template = credly.create_template("Cloud Basics")
        self.plan_template = credly.create_template("Data Path")
        self.training_template = credly.create_template("Outside Training")
        for dag_id in ("credly_templates", "credly_lms_dropdown"):
            assert run_dag(dagbag, dag_id).state == DagRunState.SUCCESS
        [field] = docebo.world.course_fields.values()
        element = next(e for e, label in field.options.items() if label == "Cloud Basics")
        docebo.state.set_course_value(COURSE, field.id, element)
        with warehouse.begin() as connection:
            for row in (
                {"badge_template_id": self.plan_template.id, "learning_plan_id": str(PLAN)},
                {"badge_template_id": self.training_template.id, "import_as_external_training": True},
            ):
                connection.execute(credly_integration_mappings.insert().values(**row))
        # the set-up above fired no webhook: deliveries start now, at least once and grouped
        docebo.simulator.webhooks.configure(
            url=f"{intake}/webhooks/docebo/{WEBHOOK_SECRETS['docebo']}",
            grouped=True,
            retry_base=0.05,
            duplicate_rate=1.0,  # every message arrives twice
            max_attempts=2,
        )
        credly.simulator.webhooks.configure(
            url=f"{intake}/webhooks/credly/{WEBHOOK_SECRETS['credly']}", retry_base=0.05, duplicate_rate=0.5
        )

    def deliver(self) -> None:
        assert self.docebo.simulator.webhooks.wait_idle(20) and self.credly.simulator.webhooks.wait_idle(20)

    def run(self) -> Any:
        return run_dag(self.dagbag, DAG_ID)

    def held(self, template_id: str) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for badge in self.credly.state.badges.values():
            if badge.badge_template_id == template_id:
                result.setdefault(badge.recipient_email, []).append(badge.state)
        return result

    def issue_by_hand(self, index: int) -> Any:
        person = learner(index)
        return self.credly.state.issue(
            {
                "recipient_email": person.email,
                "issued_to_first_name": person.first_name,
                "issued_to_last_name": person.last_name,
                "badge_template_id": self.training_template.id,
                "issued_at": "2026-03-05T09:00:00Z",
                "expires_at": False,
            }
        )

    def inbox(self) -> list[dict[str, Any]]:
        with self.warehouse.connect() as connection:
            rows = connection.execute(select(event_inbox).order_by(event_inbox.c.id))
            return [dict(r._mapping) for r in rows]


@pytest.fixture
def world(
    dagbag: Any,
    credly_sim: CredlySim,
    credly_connection: str,
    docebo_sim: DoceboSim,
    docebo_connection: str,
    configured_warehouse: Engine,
    intake: str,
) -> World:
    return World(dagbag, credly_sim, docebo_sim, configured_warehouse, intake)


def test_webhooks_become_badges_and_external_training_and_forgeries_change_nothing(world: World) -> None:
    docebo = world.docebo.state
    docebo.complete_courses(
        [
            (learner(0).user_id, COURSE, "2026-03-01 10:15:00"),
            (learner(1).user_id, COURSE, "2026-03-01 11:00:00"),
        ]
    )
    docebo.complete_learning_plan(learner(2).user_id, PLAN, "2026-03-02 08:00:00")
    badge = world.issue_by_hand(5)
    forged_completion = {
        "message_id": "forged-1",
        "event": "course.enrollment.completed",
        "payload": {
            "user_id": learner(6).user_id,
            "course_id": COURSE,
            "completion_date": "2026-03-03 10:00:00",
        },
    }
    forged_event = {
        "id": "00000000-0000-4000-8000-00000000f0f0",
        "organization_id": world.credly.organization_id,
        "event_type": "badge.created",
        "occurred_at": "2026-03-03T10:00:00Z",
    }
    for source, body in (("docebo", forged_completion), ("credly", forged_event)):
        response = requests.post(
            f"{world.intake}/webhooks/{source}/{WEBHOOK_SECRETS[source]}", json=body, timeout=10
        )
        assert response.status_code == 200
    world.deliver()
    received = world.inbox()
    assert len({(r["source"], r["event_id"]) for r in received}) == len(received), "each event stored once"
    deliveries = world.docebo.simulator.webhooks.attempts_as_dicts()
    assert len(deliveries) > len({d["id"] for d in deliveries}), "some messages were delivered twice"

    assert world.run().state == DagRunState.SUCCESS
    assert world.held(world.course_template.id) == {
        learner(0).email: ["pending"],
        learner(1).email: ["pending"],
    }
    assert world.held(world.plan_template.id) == {learner(2).email: ["pending"]}
    trainings = [
        (t.user_id, t.title, t.certificate_url) for t in world.docebo.world.external_training.values()
    ]
    assert [(user, title) for user, title, _ in trainings] == [(learner(5).user_id, "Outside Training")]
    assert badge.id in str(trainings[0][2]), "the record links to the badge"
    statuses = {r["event_id"]: (r["status"], r["last_error"]) for r in world.inbox()}
    assert statuses[forged_event["id"]][0] == "ignored"
    assert "Credly does not know this event" in statuses[forged_event["id"]][1]
    assert statuses["forged-1"] == ("processed", None), "read again from Docebo: no completion, no badge"
    assert learner(6).email not in world.held(world.course_template.id)

    # the badges just issued fire Credly webhooks too: they are ours, so nothing follows
    world.deliver()
    writes = {
        k: v for k, v in {**world.credly.calls(), **world.docebo.calls()}.items() if not k.startswith("GET")
    }
    assert world.run().state == DagRunState.SUCCESS
    assert {r["status"] for r in world.inbox()} <= {"processed", "ignored"}
    after = {
        k: v for k, v in {**world.credly.calls(), **world.docebo.calls()}.items() if not k.startswith("GET")
    }
    assert {k: v for k, v in after.items() if "oauth2" not in k} == {
        k: v for k, v in writes.items() if "oauth2" not in k
    }, "a rerun writes nothing"


def test_an_event_that_keeps_failing_is_closed_as_failed_and_listed_while_others_go_on(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    task = world.dagbag.get_dag(DAG_ID).get_task("plan_credly_events")
    task.retry_base_seconds = 0  # retry at once instead of after 1, 2, 4, 8 minutes
    try:
        stuck = world.issue_by_hand(7)
        world.deliver()
        [stuck_event] = [r["event_id"] for r in world.inbox()]
        world.credly.set_faults(FaultRule("status", status=500, method="GET", path=f"/events/{stuck_event}$"))
        for run in range(5):
            if run == 2:
                world.issue_by_hand(8)  # arrives while the first keeps failing
                world.deliver()
            assert world.run().state == DagRunState.SUCCESS
    finally:
        task.retry_base_seconds = 60.0
    rows = {r["event_id"]: r for r in world.inbox()}
    failed = rows[stuck_event]
    assert (failed["status"], failed["attempts"]) == ("failed", 5)
    assert "fetching the event from Credly failed" in failed["last_error"]
    assert "gave up after 5 attempts" in failed["last_error"]
    assert [r["status"] for k, r in rows.items() if k != stuck_event] == ["processed"]
    users = sorted(t.user_id for t in world.docebo.world.external_training.values())
    assert users == [learner(8).user_id], "the other event went on"
    assert stuck.id  # the stuck badge is left to the batch sync

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "failed webhook events" in out and stuck_event in out and "gave up after 5 attempts" in out
