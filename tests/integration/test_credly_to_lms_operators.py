"""Credly -> LMS below the DAG: what the extract reads (and in how many calls), and the apply
branches a DAG run rarely meets (an award that appeared meanwhile, a cleared expiry, a create
cut off by a crash), against the simulators and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, select

from credly_sync.extract import credly_to_lms as extract
from credly_sync.extract.lms import docebo as docebo_lms
from credly_sync.hooks.base import RetryPolicy
from credly_sync.hooks.credly import CredlyHook
from credly_sync.hooks.docebo import DoceboHook
from credly_sync.operators.credly_to_lms import (
    ApplyCertificationAwardsOperator,
    ApplyExternalTrainingOperator,
)
from credly_sync.planning.credly_to_lms import (
    AWARD_COLUMNS,
    EXTERNAL_TRAINING_COLUMNS,
    MAPPING_COLUMNS,
    ImportPolicy,
    plan_credly_to_lms,
)
from credly_sync.planning.frames import frame
from credly_sync.runs import SyncWindow
from credly_sync.warehouse.journal import open_operations, record_operations, start_attempt
from credly_sync.warehouse.schema import operation_journal
from include.simulators.common.people import learner
from tests.fixtures.credly import CredlySim
from tests.fixtures.docebo import DoceboSim

pytestmark = pytest.mark.usefixtures("sample_settings")  # apply tasks validate them first

INSTANT = RetryPolicy(max_attempts=3, backoff_base=0, timeout=2.0)
EVERYTHING = SyncWindow(datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), full=True)


def issue(
    sim: CredlySim, template_id: str, index: int, at: str = "2026-03-01T09:00:00Z", **extra: Any
) -> Any:
    person = learner(index)
    body = {
        "recipient_email": person.email,
        "issued_to_first_name": person.first_name,
        "issued_to_last_name": person.last_name,
        "badge_template_id": template_id,
        "issued_at": at,
        **extra,
    }
    return sim.state.issue(body)


def test_badge_links_give_back_the_badge_id() -> None:
    assert extract.badge_id_from_url("https://www.credly.com/badges/3f2a-9c") == "3f2a-9c"
    assert extract.badge_id_from_url("https://www.credly.com/badges/3f2a-9c/public_url?x=1") == "3f2a-9c"
    assert extract.badge_id_from_url("https://example.com/courses/12") is None
    assert extract.badge_id_from_url(None) is None


@pytest.mark.usefixtures("credly_connection")
def test_credly_badges_are_read_a_page_at_a_time_with_the_earners_whole_story(
    credly_sim: CredlySim, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = CredlyHook("credly_default", retry=INSTANT, per_page=10)
    cloud, data = credly_sim.create_template("Cloud"), credly_sim.create_template("Data")
    other = credly_sim.create_template("Other")
    clock = [datetime(2026, 3, 1, 9, tzinfo=UTC)]
    monkeypatch.setattr(credly_sim.state, "clock", lambda: clock[0])
    for index in range(24):
        issue(credly_sim, cloud.id if index % 2 else data.id, index)
    issue(credly_sim, other.id, 0)
    clock[0] = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    changed = issue(credly_sim, cloud.id, 2)  # learner 2 also holds a Data badge from 09:00

    credly_sim.simulator.control.calls.reset()
    everything = extract.credly_badges(hook, [cloud.id, data.id], EVERYTHING)
    assert len(everything) == 25 and other.id not in set(everything["badge_template_id"])
    assert credly_sim.call_count("GET", "badges") == 3, "25 badges, 10 a page, both templates at once"
    row = everything.set_index("badge_id").loc[changed.id]
    assert (row["badge_template_name"], row["badge_url"]) == (
        "Cloud",
        f"https://sandbox.credly.com/badges/{changed.id}",
    )

    credly_sim.simulator.control.calls.reset()
    hour = SyncWindow(datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2026, 3, 1, 13, tzinfo=UTC), full=False)
    incremental = extract.credly_badges(hook, [cloud.id, data.id], hour)
    assert set(incremental["recipient_email"]) == {learner(2).email}
    assert len(incremental) == 2, "the changed badge and the earner's other badge"
    # no date filter on /badges is documented: the 3 pages are read and checked here, then the
    # earner's badges (1 page)
    assert credly_sim.call_count("GET", "badges") == 4
    assert credly_sim.ignored_filters() == {"updated_at_min": 3, "updated_at_max": 3}  # a page each


@pytest.mark.usefixtures("docebo_connection")
def test_lms_lists_are_filtered_by_user_or_read_whole_with_the_same_result(
    docebo_sim: DoceboSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    docebo_sim.seed(1, learners=12, courses=0, learning_plans=0, certifications=2, completions=0, awards=0)
    hook = DoceboHook("docebo_default", retry=INSTANT, page_size=5)
    for index in range(12):
        url = f"https://www.credly.com/badges/b{index}" if index % 3 else "https://example.com/certificate"
        hook.create_external_training(learner(index).user_id, "T", "Credly", "2026-03-01", badge_url=url)
        hook.award_certification(learner(index).user_id, 901, "2026-03-01")

    lms = docebo_lms.DoceboLms(hook)
    docebo_sim.simulator.control.calls.reset()
    users = lms.users_by_email([learner(1).email.upper(), learner(4).email, "nobody@example.com"])
    assert sorted(users["lms_user_id"]) == [str(learner(1).user_id), str(learner(4).user_id)]
    assert docebo_sim.call_count("GET", "/manage/v1/user") == 3, "12 users, 5 a page, read once"
    assert lms.certification_ids(["CERT-001", "NOPE"]) == {"CERT-001": 901}

    ids = [str(learner(i).user_id) for i in range(6)]
    trainings = lms.external_trainings(ids)
    awards = lms.certification_awards(ids, {"CERT-001": 901})
    assert sorted(trainings["credly_badge_id"]) == ["b1", "b2", "b4", "b5"], "links to Credly badges only"
    assert len(awards) == 6 and set(awards["certification_code"]) == {"CERT-001"}

    monkeypatch.setattr(docebo_lms, "USER_FILTER_LIMIT", 2)  # many users: read the whole lists once
    docebo_sim.simulator.control.calls.reset()
    pd.testing.assert_frame_equal(lms.external_trainings(ids), trainings)
    pd.testing.assert_frame_equal(lms.certification_awards(ids, {"CERT-001": 901}), awards)
    assert docebo_sim.call_count("GET", "/learn/v1/external_training") == 3


def journal(engine: Engine, badges: list[dict[str, Any]], awards: list[dict[str, Any]] = ()) -> None:
    mappings = [
        {
            "badge_template_id": "t1",
            "badge_template_name": "Cloud",
            "import_as_external_training": True,
            "certification_code": "CERT-001",
            "is_active": True,
        }
    ]
    users = [{"lms_user_id": learner(i).user_id, "email": learner(i).email} for i in range(3)]
    plan = plan_credly_to_lms(
        pd.DataFrame(badges),
        frame(mappings, MAPPING_COLUMNS),
        pd.DataFrame(users),
        frame([], EXTERNAL_TRAINING_COLUMNS),
        frame(awards, AWARD_COLUMNS),
        pd.DataFrame({"credly_badge_id": []}),
        ImportPolicy(institute_name="Credly"),
    )
    with engine.begin() as connection:
        record_operations(connection, plan.operations, "test-run")


def badge(index: int, badge_id: str, expires: str | None) -> dict[str, Any]:
    return {
        "badge_id": badge_id,
        "badge_template_id": "t1",
        "badge_template_name": "Cloud",
        "recipient_email": learner(index).email,
        "issuer_earner_id": None,
        "state": "accepted",
        "issued_at": "2026-05-01T09:00:00Z",
        "expires_at": expires,
        "replaces_badge_id": None,
        "replacement_badge_id": None,
        "badge_url": f"https://www.credly.com/badges/{badge_id}",
    }


def outcomes(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        return {r.kind: r.result["outcome"] for r in connection.execute(select(operation_journal))}


@pytest.mark.usefixtures("docebo_connection")
def test_apply_adopts_what_the_lms_already_holds(docebo_sim: DoceboSim, postgres_warehouse: Engine) -> None:
    docebo_sim.seed(1, learners=3, courses=0, learning_plans=0, certifications=1, completions=0, awards=0)
    state = docebo_sim.state
    journal(postgres_warehouse, [badge(0, "b0", "2027-05-01T09:00:00Z")])
    # meanwhile an admin awards the certification by hand, and a killed run's create took effect
    state.award_certification({"id_cert": 901, "user_id": learner(0).user_id, "issued_on": "2026-01-01"})
    [create] = open_operations(postgres_warehouse, ["external_training_create"])
    start_attempt(postgres_warehouse, create.op_key)
    link = "https://www.credly.com/badges/b0"
    body = {"user_id": learner(0).user_id, "title": "Cloud", "provider": "Credly", "date_from": "2026-05-01"}
    state.create_external({**body, "certificate_url": link})
    docebo_sim.simulator.control.calls.reset()

    ApplyExternalTrainingOperator(task_id="et", http_retry=INSTANT).execute({"run_id": "r"})
    ApplyCertificationAwardsOperator(task_id="cert", http_retry=INSTANT).execute({"run_id": "r"})
    assert outcomes(postgres_warehouse) == {
        "external_training_create": "already_exists",
        "certification_award": "updated_existing",
    }
    assert docebo_sim.call_count("POST", "/learn/v1/external_training") == 0
    [award] = docebo_sim.world.awards.values()
    assert (award.issued_on, award.expires_on, award.external_link) == ("2026-05-01", "2027-05-01", link)
    assert len(docebo_sim.world.external_training) == 1

    # the badge is replaced by one that never expires: the award's expiry is cleared
    held = [
        {
            "award_id": award.award_id,
            "lms_user_id": learner(0).user_id,
            "certification_code": "CERT-001",
            "issued_at": "2026-05-01",
            "expires_at": "2027-05-01",
            "state": "active",
        }
    ]
    journal(postgres_warehouse, [badge(0, "b0", None)], held)
    ApplyCertificationAwardsOperator(task_id="cert", http_retry=INSTANT).execute({"run_id": "r2"})
    assert (award.issued_on, award.expires_on) == ("2026-05-01", None)
