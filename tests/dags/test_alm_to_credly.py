"""lms_to_credly on an Adobe Learning Manager deployment (LMS = ALM), end to end: ALM simulator
(strict: no externalBadgeId in the API, unknown filters ignored) -> plan -> journal -> Credly
simulator, with the warehouse on PostgreSQL. Badges name their Credly templates through the
badge.csv exported from the template table and imported back, as an ALM admin would."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from airflow.sdk import DagRunState
from sqlalchemy import Engine, select

from credly_sync.hooks.alm_unconfirmed import COMPLETION_EVENTS
from credly_sync.settings import write_setting
from credly_sync.warehouse.alm_badges import export_badge_csv, import_alm_badges, parse_badge_csv
from credly_sync.warehouse.schema import event_inbox, issued_badge_ledger, operation_journal
from include.simulators.alm.records import UserBadge
from include.simulators.common.faults import FaultRule
from tests.fixtures.airflow import run_dag
from tests.fixtures.alm import AlmSim
from tests.fixtures.credly import CredlySim
from tests.fixtures.intake import WEBHOOK_SECRETS

DAG_ID = "lms_to_credly"
FULL = {"full_reconcile": True}
PEOPLE = [
    ("Ada Lovelace", "ada@example.com"),
    ("Alan Turing", "alan@example.com"),
    ("Grace Hopper", "grace@example.com"),
]


class AlmWorld:
    """Credly templates, their ALM badges (migrated from our badge.csv), badge-carrying learning
    objects of each type, and three learners."""

    def __init__(self, dagbag: Any, credly: CredlySim, alm: AlmSim, warehouse: Engine) -> None:
        self.dagbag, self.credly, self.alm, self.warehouse = dagbag, credly, alm, warehouse
        write_setting(warehouse, "LMS", "ALM")
        write_setting(warehouse, "BATCH_SYNC_START_DATE", "2026-01-01")
        self.templates = {name: credly.create_template(name) for name in ("Cloud", "Data Path", "Security")}
        self.archived = credly.create_template("Old Course")
        self.names = {t.id: name for name, t in {**self.templates, "Old Course": self.archived}.items()}
        assert run_dag(dagbag, "credly_templates").state == DagRunState.SUCCESS
        self.alm_badges = self._migrate_badges()
        credly.state.update_template(self.archived.id, {"state": "archived"})
        assert run_dag(dagbag, "credly_templates").state == DagRunState.SUCCESS
        state = alm.state
        self.users = [state.add_user({"name": name, "email": email}).id for name, email in PEOPLE]
        self.course = self._object("course", "Cloud 101", "Cloud")
        self.path = self._object("learningProgram", "Data Path", "Data Path")
        self.certification = self._object("certification", "Security Cert", "Security")
        self.old_course = self._object("course", "Old Course", "Old Course")

    def _migrate_badges(self) -> dict[str, str]:
        """badge.csv out of the template table, into ALM (new ids) and into the mappings."""
        csv_text = io.StringIO()
        export_badge_csv(self.warehouse, csv_text)
        migrated = self.alm.admin("POST", "/migration/badges", data=csv_text.getvalue().encode())
        migrated.raise_for_status()
        rows, errors = parse_badge_csv(io.StringIO(csv_text.getvalue()))
        assert errors == []
        import_alm_badges(self.warehouse, rows)
        by_template = migrated.json()["badges"]  # csv id (the template id) -> ALM badge id
        return {self.names[template]: badge for template, badge in by_template.items()}

    def _object(self, lo_type: str, name: str, badge: str) -> str:
        return self.alm.state.add_learning_object(
            {"loType": lo_type, "name": name, "badgeId": self.alm_badges[badge]}
        ).id

    def complete(self, user: int, lo_id: str, at: str) -> None:
        self.alm.state.complete([(self.users[user], lo_id, at)], by_admin=False)

    def run(self, **conf: Any) -> Any:
        return run_dag(self.dagbag, DAG_ID, **conf)

    def badges(self) -> dict[tuple[str, str], list[Any]]:
        """(e-mail, template name) -> its badges in Credly."""
        found: dict[tuple[str, str], list[Any]] = {}
        for badge in self.credly.state.badges.values():
            found.setdefault((badge.recipient_email, self.names[badge.badge_template_id]), []).append(badge)
        return found

    def credly_writes(self) -> dict[str, int]:
        return {k: v for k, v in self.credly.calls().items() if not k.startswith("GET ")}

    def journal(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.warehouse.connect() as connection:
            for kind, status in connection.execute(
                select(operation_journal.c.kind, operation_journal.c.status)
            ):
                counts[f"{kind}:{status}"] = counts.get(f"{kind}:{status}", 0) + 1
        return counts


@pytest.fixture
def world(
    dagbag: Any,
    credly_sim: CredlySim,
    credly_connection: str,
    alm_sim: AlmSim,
    alm_connection: str,
    configured_warehouse: Engine,
    smtp_sink: Any,
) -> AlmWorld:
    return AlmWorld(dagbag, credly_sim, alm_sim, configured_warehouse)


def test_user_badges_of_each_object_type_become_credly_badges_once(world: AlmWorld) -> None:
    world.complete(0, world.course, "2026-03-01T10:15:00.000Z")
    world.complete(1, world.path, "2026-03-02T08:00:00.000Z")
    world.complete(2, world.certification, "2026-03-03T09:30:00.000Z")
    world.complete(0, world.old_course, "2026-03-04T09:00:00.000Z")  # its template is archived

    run = world.run(**FULL)
    assert run.state == DagRunState.SUCCESS
    badges = world.badges()
    assert sorted(badges) == [
        ("ada@example.com", "Cloud"),
        ("alan@example.com", "Data Path"),
        ("grace@example.com", "Security"),
    ]
    [cloud] = badges[("ada@example.com", "Cloud")]
    assert cloud.issued_at.startswith("2026-03-01T10:15:00"), "issued at the user badge's dateAchieved"
    assert cloud.issuer_earner_id == world.users[0], "issuer_earner_id is the ALM user id"
    assert "Adobe Learning Manager" in cloud.evidence[0]["description"]
    [security] = badges[("grace@example.com", "Security")]
    assert security.expires_at is None, "an ALM certification without an expiry: none"
    summary = run.get_task_instance("plan_badges").xcom_pull(task_ids="plan_badges", key="summary")
    assert summary["issue"] == 3
    [archived] = summary["lms_problems"]
    assert world.archived.id in archived and "not an active template" in archived
    with world.warehouse.connect() as connection:
        ledger = {
            (r.lms_user_id, r.learning_object_type, r.learning_object_id)
            for r in connection.execute(select(issued_badge_ledger))
        }
    assert ledger == {
        (world.users[0], "course", world.course),
        (world.users[1], "learning_plan", world.path),
        (world.users[2], "certification", world.certification),
    }

    world.credly.simulator.control.calls.reset()
    for conf in (FULL, {}):
        assert world.run(**conf).state == DagRunState.SUCCESS
    assert world.credly_writes() == {}, "a rerun writes nothing"


def test_a_retired_badge_earns_nothing_and_is_reported(world: AlmWorld) -> None:
    world.alm.state.set_badge_state(world.alm_badges["Cloud"], "Retired")
    world.complete(0, world.course, "2026-03-01T10:15:00.000Z")

    run = world.run(**FULL)
    assert run.state == DagRunState.SUCCESS
    assert world.badges() == {}
    summary = run.get_task_instance("plan_badges").xcom_pull(task_ids="plan_badges", key="summary")
    assert any(
        f"ALM badge {world.alm_badges['Cloud']}" in p and "Retired" in p for p in summary["lms_problems"]
    )


def test_a_badge_the_alm_connector_already_issued_is_not_issued_again(world: AlmWorld) -> None:
    """ALM's own Credly connector issued Ada's badge (its own earner id): the check before issue
    finds it, so the incremental run sends no second one."""
    world.credly.state.issue(
        {
            "badge_template_id": world.templates["Cloud"].id,
            "recipient_email": "ada@example.com",
            "issued_to_first_name": "Ada",
            "issued_to_last_name": "Lovelace",
            "issued_at": "2026-03-01T10:20:00Z",
            "issuer_earner_id": "alm-connector-77",
        }
    )
    world.complete(0, world.course, "2026-03-01T10:15:00.000Z")
    world.credly.simulator.control.calls.reset()

    assert world.run().state == DagRunState.SUCCESS  # incremental: since BATCH_SYNC_START_DATE
    assert len(world.badges()[("ada@example.com", "Cloud")]) == 1
    assert world.credly_writes() == {}


@pytest.mark.parametrize("revocation", [False, True])
def test_a_reset_completion_revokes_only_with_sync_revocation(world: AlmWorld, revocation: bool) -> None:
    write_setting(world.warehouse, "SYNC_REVOCATION", "true" if revocation else "false")
    world.complete(0, world.course, "2026-03-01T10:15:00.000Z")
    world.complete(1, world.course, "2026-03-01T11:00:00.000Z")
    assert world.run(**FULL).state == DagRunState.SUCCESS
    world.alm.admin("POST", "/enrollments/reset", json={"user_id": world.users[0], "lo_id": world.course})

    assert world.run(**FULL).state == DagRunState.SUCCESS
    states = {email: [b.state for b in found] for (email, _), found in world.badges().items()}
    assert states["alan@example.com"] == ["pending"]
    assert states["ada@example.com"] == (["revoked"] if revocation else ["pending"])


def test_faults_and_an_expired_token_end_in_the_same_state(world: AlmWorld) -> None:
    world.complete(0, world.course, "2026-03-01T10:15:00.000Z")
    world.complete(1, world.path, "2026-03-02T08:00:00.000Z")
    world.alm.set_faults(
        FaultRule("status", status=429, retry_after=0.35, method="GET", path=r"/users/", times=2),
        FaultRule("status", status=503, method="GET", path=r"/learningObjects", times=1),
        FaultRule("status", status=502, method="GET", path=r"/badges", times=1),
        # a token ALM no longer takes (expired early, revoked): one 401, then a refresh
        FaultRule("status", status=401, method="GET", path=r"/enrollments", times=1),
    )

    assert world.run(**FULL).state == DagRunState.SUCCESS
    assert sorted(world.badges()) == [("ada@example.com", "Cloud"), ("alan@example.com", "Data Path")]
    assert world.journal() == {"issue:applied": 2}
    assert world.alm.calls().get("POST /oauth/token/refresh", 0) >= 2, "renewed after the 401"


def test_hourly_runs_pick_up_a_new_completion(world: AlmWorld) -> None:
    world.complete(0, world.course, "2026-03-01T10:15:00.000Z")
    assert world.run(**FULL).state == DagRunState.SUCCESS
    world.complete(1, world.course, None)  # now

    assert world.run().state == DagRunState.SUCCESS
    assert sorted(world.badges()) == [("ada@example.com", "Cloud"), ("alan@example.com", "Cloud")]
    assert world.journal() == {"issue:applied": 2}


def test_credly_to_lms_only_refreshes_holders_and_the_dropdown_dag_skips(world: AlmWorld) -> None:
    world.complete(0, world.course, "2026-03-01T10:15:00.000Z")
    assert world.run(**FULL).state == DagRunState.SUCCESS
    world.alm.simulator.control.calls.reset()

    run = run_dag(world.dagbag, "credly_to_lms", full_reconcile=True)
    assert run.state == DagRunState.SUCCESS
    summary = run.get_task_instance("plan_credly_to_lms").xcom_pull(task_ids="plan_credly_to_lms")
    assert summary["badges"] == 1 and summary["lms"] == "ALM"
    assert not any(not call.startswith("GET ") for call in world.alm.calls()), "nothing written to ALM"
    dropdown = run_dag(world.dagbag, "credly_lms_dropdown")
    assert dropdown.get_task_instance("plan_dropdown").state == "skipped"


def test_an_alm_webhook_becomes_a_badge_and_a_forged_one_changes_nothing(
    world: AlmWorld, intake: str
) -> None:
    world.alm.simulator.webhooks.configure(
        url=f"{intake}/webhooks/alm/{WEBHOOK_SECRETS['alm']}",
        events=list(COMPLETION_EVENTS),
        retry_base=0.05,
        duplicate_rate=1.0,  # every envelope arrives twice
        max_attempts=2,
    )
    world.complete(0, world.course, None)
    forged = {  # a valid secret, but ALM knows no such completion
        "accountId": 1,
        "events": [
            {
                "eventId": "forged-1",
                "eventName": "COURSE_COMPLETED",
                "timestamp": "2026-03-01T10:00:00.000Z",
                "data": {"userId": int(world.users[1]), "loId": world.course, "loType": "course"},
            }
        ],
    }
    answer = requests.post(f"{intake}/webhooks/alm/{WEBHOOK_SECRETS['alm']}", json=forged, timeout=10)
    assert answer.status_code == 200
    docebo = {
        "message_id": "m-1",
        "event": "course.enrollment.completed",
        "payload": {"user_id": 5, "course_id": 1},
    }
    answer = requests.post(f"{intake}/webhooks/docebo/{WEBHOOK_SECRETS['docebo']}", json=docebo, timeout=10)
    assert answer.status_code == 200
    assert world.alm.simulator.webhooks.wait_idle(20)

    run = run_dag(world.dagbag, "credly_sync_events")
    assert run.state == DagRunState.SUCCESS
    assert sorted(world.badges()) == [("ada@example.com", "Cloud")]
    with world.warehouse.connect() as connection:
        statuses = {(r.source, r.status) for r in connection.execute(select(event_inbox))}
    assert statuses == {("alm", "processed"), ("docebo", "ignored")}, "a Docebo event in an ALM deployment"


def test_a_user_badge_achieved_through_a_skill_is_tied_to_the_alm_badge(world: AlmWorld) -> None:
    badge = world.alm_badges["Security"]
    user_badge = UserBadge(
        f"{world.users[1]}_{badge}_COMPETENCY_17_1",
        world.users[1],
        badge,
        "skill:17",
        "2026-03-05T12:00:00.000Z",
    )
    world.alm.world.user_badges[user_badge.id] = user_badge

    assert world.run(**FULL).state == DagRunState.SUCCESS
    [security] = world.badges()[("alan@example.com", "Security")]
    assert security.issued_at.startswith("2026-03-05T12:00:00")
    with world.warehouse.connect() as connection:
        [row] = connection.execute(select(issued_badge_ledger)).all()
    assert (row.learning_object_type, row.learning_object_id) == ("badge", badge)
