"""credly_to_m365_profiles end to end: Credly and Graph simulators, warehouse on PostgreSQL."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.sdk import DagRunState
from sqlalchemy import Engine, select

from credly_sync.warehouse.schema import badge_holders, m365_profile_items
from include.simulators.common.faults import FaultRule
from include.simulators.credly.records import Badge
from tests.fixtures.airflow import run_dag
from tests.fixtures.credly import CredlySim
from tests.fixtures.graph import GraphSim

DAG_ID = "credly_to_m365_profiles"
SYNC_TASK = "sync_m365_profiles"
CONNECTION_ID = "credlybadges"
WEDNESDAY = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
SUNDAY = datetime(2026, 3, 8, 3, 0, tzinfo=UTC)


class World:
    """Templates ``pm`` and ``cloud`` (active), ``legacy`` (archived after issuing). People:
    ada (UPN), grace (``mail``, other case), alan (pending), edsger (rejected), barbara
    (revoked), donald (private), frances (disabled), ken (no licence), and a stranger."""

    def __init__(self, dagbag: Any, credly: CredlySim, graph: GraphSim, warehouse: Engine) -> None:
        self.dagbag, self.credly, self.graph, self.warehouse = dagbag, credly, graph, warehouse
        self.pm = credly.create_template("Project Management Professional", description="Leads projects")
        self.cloud = credly.create_template("Cloud Basics")
        self.legacy = credly.create_template("Legacy Skills")
        self.users = {
            "ada": graph.add_user("ada@contoso.com", "ada.lovelace@contoso.com"),
            "grace": graph.add_user("ghopper@contoso.com", "Grace.Hopper@Contoso.com"),
            "alan": graph.add_user("alan@contoso.com", "alan@contoso.com"),
            "edsger": graph.add_user("edsger@contoso.com", None),
            "barbara": graph.add_user("barbara@contoso.com", None),
            "donald": graph.add_user("donald@contoso.com", None),
            "frances": graph.add_user("frances@contoso.com", None, accountEnabled=False),
            "ken": graph.add_user("ken@contoso.com", None, licensed=False),
        }
        self.badges = {
            "ada": self.issue(self.pm, "ADA@contoso.com", "accepted"),
            "ada_legacy": self.issue(self.legacy, "ada@contoso.com", "accepted"),
            "grace": self.issue(self.cloud, "grace.hopper@contoso.com", "accepted", expires="2030-01-01"),
            "alan": self.issue(self.pm, "alan@contoso.com", "pending"),
            "edsger": self.issue(self.pm, "edsger@contoso.com", "rejected"),
            "barbara": self.issue(self.pm, "barbara@contoso.com", "accepted"),
            "donald": self.issue(self.pm, "donald@contoso.com", "accepted"),
            "frances": self.issue(self.pm, "frances@contoso.com", "accepted"),
            "ken": self.issue(self.cloud, "ken@contoso.com", "accepted"),
            "stranger": self.issue(self.pm, "stranger@example.com", "accepted"),
        }
        credly.state.revoke(self.badges["barbara"].id, "issued in error")
        self.set_public(self.badges["donald"], False)
        credly.state.update_template(self.legacy.id, {"state": "archived"})

    def issue(self, template: Any, email: str, state: str, expires: str | None = None) -> Badge:
        name = email.split("@")[0].split(".")[0].title()
        badge = self.credly.state.issue(
            {
                "recipient_email": email,
                "issued_to_first_name": name,
                "issued_to_last_name": "Example",
                "badge_template_id": template.id,
                "issued_at": "2026-02-01T09:00:00Z",
                "expires_at": expires or False,
            }
        )
        if state != "pending":
            self.credly.state.set_earner_state(badge.id, state)
        return badge

    def set_public(self, badge: Badge, public: bool) -> None:
        """The earner changes the badge's privacy in Credly's UI (no API for it in the simulator)."""
        with self.credly.state.lock:
            self.credly.state.badges[badge.id].public = public
            self.credly.state._changed()  # the simulator caches list answers per world version

    def run(self, logical_date: datetime, *, full: bool) -> Any:
        run = run_dag(self.dagbag, DAG_ID, logical_date, full_sync=full)
        assert run.state == DagRunState.SUCCESS
        return run

    def profile(self, person: str) -> dict[str, list[str]]:
        upn = self.users[person].userPrincipalName
        shown = self.graph.state.profile(upn)
        return {kind: sorted(entry["displayName"] for entry in entries) for kind, entries in shown.items()}

    def people_with_items(self) -> set[str]:
        by_id = {user.id: name for name, user in self.users.items()}
        items = self.graph.state.connections[CONNECTION_ID].items.values()
        return {by_id[item.user_id] for item in items}

    def ignored(self) -> list[str]:
        return [
            text
            for item in self.graph.state.connections[CONNECTION_ID].items.values()
            for text in item.ignored
        ]


@pytest.fixture
def world(
    dagbag: Any,
    airflow_db: None,
    credly_sim: CredlySim,
    credly_connection: str,
    graph_sim: GraphSim,
    graph_connection: str,
    postgres_warehouse: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    # a minute per change: every badge change has its own time, so "changed since the
    # watermark" does not depend on how many changes fit in one millisecond
    ticks = itertools.count()
    start = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
    monkeypatch.setattr(credly_sim.state, "clock", lambda: start + timedelta(minutes=next(ticks)))
    return World(dagbag, credly_sim, graph_sim, postgres_warehouse)


def summary_of(run: Any) -> dict[str, Any]:
    return run.get_task_instance(SYNC_TASK).xcom_pull(task_ids=SYNC_TASK)


def test_first_run_sets_up_the_connection_and_sends_only_accepted_public_badges(world: World) -> None:
    run = world.run(WEDNESDAY, full=False)  # no watermark yet: full anyway

    connection = world.graph.state.connections[CONNECTION_ID]
    assert (connection.content_category, connection.schema_status) == ("people", "completed")
    setup = run.get_task_instance("ensure_m365_connection").xcom_pull(task_ids="ensure_m365_connection")
    assert setup["created"] and setup["schema_registered"]
    assert any("PeopleSettings.ReadWrite.All" in action for action in setup["admin_actions"])

    assert world.people_with_items() == {"ada", "grace"}, "UPN and mail, in any case"
    assert world.profile("ada") == {"certifications": ["Project Management Professional"], "awards": []}
    assert world.profile("grace") == {"certifications": ["Cloud Basics"], "awards": []}
    assert world.ignored() == [], "every labelled value is valid profile JSON"
    [grace_cert] = world.graph.state.profile("ghopper@contoso.com")["certifications"]
    badge = world.badges["grace"]
    assert grace_cert == {
        "displayName": "Cloud Basics",
        "certificationId": badge.id,
        "issuingAuthority": "Simulated Academy",
        "issuedDate": "2026-02-01",
        "endDate": "2030-01-01",
        "webUrl": f"https://sandbox.credly.com/badges/{badge.id}",
        "thumbnailUrl": f"https://images.credly.example/badges/{badge.id}/image.png",
    }

    summary = summary_of(run)
    assert (summary["full"], summary["why"]) == (True, "no watermark yet")
    assert (summary["items_written"], summary["items_deleted"], summary["failed"]) == (2, 0, 0)
    assert [(e["email"], e["reason"]) for e in summary["unmatched_earner_examples"]] == [
        ("frances@contoso.com", "the user is disabled or has no licence"),
        ("ken@contoso.com", "the user is disabled or has no licence"),
        ("stranger@example.com", "no Microsoft 365 user with this e-mail (UPN or mail)"),
    ]
    assert summary["unmatched_earners"] == 3
    with world.warehouse.connect() as db:
        assert db.execute(select(badge_holders.c.badge_id)).scalars().all().__len__() == len(world.badges)

    world.graph.simulator.control.calls.reset()
    rerun = world.run(WEDNESDAY.replace(day=11), full=True)
    assert world.graph.writes() == {}, "a rerun writes nothing"
    assert summary_of(rerun)["items_to_write"] == 0


def test_incremental_writes_changed_people_only_and_the_weekly_run_deletes(world: World) -> None:
    world.run(WEDNESDAY, full=True)
    assert world.people_with_items() == {"ada", "grace"}

    # ada earns a second badge; alan accepts his: their badges change
    world.issue(world.cloud, "ada@contoso.com", "accepted")
    world.credly.state.set_earner_state(world.badges["alan"].id, "accepted")
    # grace makes hers private (no change time in Credly); ken gets a licence (no badge change)
    world.set_public(world.badges["grace"], False)
    world.graph.state.users[world.users["ken"].id].assignedLicenses = [{"skuId": "x", "disabledPlans": []}]
    world.graph.simulator.control.calls.reset()

    incremental = summary_of(world.run(WEDNESDAY.replace(day=5), full=False))
    assert incremental["full"] is False
    assert world.graph.writes() == {"PUT": 2}, "only ada and alan, the people whose badges changed"
    assert world.profile("ada")["certifications"] == ["Cloud Basics", "Project Management Professional"]
    assert world.people_with_items() == {"ada", "alan", "grace"}

    # the weekly full run catches what changed without a badge change, and who left
    world.graph.state.users[world.users["ada"].id].accountEnabled = False
    world.graph.simulator.control.calls.reset()
    weekly = summary_of(world.run(SUNDAY, full=False))
    assert (weekly["full"], weekly["why"]) == (True, "weekly full run (sunday)")
    assert world.people_with_items() == {"alan", "ken"}
    assert world.graph.writes() == {"PUT": 1, "DELETE": 2}
    with world.warehouse.connect() as db:
        pushed = set(db.execute(select(m365_profile_items.c.user_id)).scalars())
    assert pushed == {world.users["alan"].id, world.users["ken"].id}


def test_throttling_during_a_full_run_ends_in_the_same_state(world: World) -> None:
    world.graph.set_faults(
        FaultRule("status", status=429, retry_after=0.05, method="PUT", path=r"/items/", times=2),
        FaultRule("status", status=503, retry_after=0.05, method="PUT", path=r"/items/", times=1),
    )
    world.graph.admin("PUT", "throttle", json={"every": 3, "retry_after": 0.05})
    run = world.run(WEDNESDAY, full=True)
    assert summary_of(run)["failed"] == 0
    assert world.people_with_items() == {"ada", "grace"}
    assert world.profile("ada") == {"certifications": ["Project Management Professional"], "awards": []}
    assert world.graph.calls()["PUT /v1.0/external/connections/{connection_id}/items/{item_id}"] > 2

    world.graph.admin("PUT", "throttle", json={"every": None})
    world.graph.simulator.control.calls.reset()
    world.run(WEDNESDAY.replace(day=11), full=True)
    assert world.graph.writes() == {}, "nothing left to send after the throttled run"


def test_awards_follow_the_mapping_setting(
    world: World, dagbag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag = dagbag.get_dag(DAG_ID)
    monkeypatch.setattr(dag.get_task(SYNC_TASK), "award_name_pattern", "cloud")
    world.run(WEDNESDAY, full=True)
    assert world.profile("grace") == {"certifications": [], "awards": ["Cloud Basics"]}
    assert world.profile("ada") == {"certifications": ["Project Management Professional"], "awards": []}
    assert json.loads(
        world.graph.state.connections[CONNECTION_ID]
        .items[world.users["grace"].id.replace("-", "")]
        .properties["account"]
    ) == {"userPrincipalName": "ghopper@contoso.com"}
