"""Fault soak: both sync DAGs against simulators that fail 10 % of every call and apply 1 % of
writes before answering 504. Two runs each must end in the state a fault-free run gives: one
badge per completing learner, one external training per imported badge, no duplicate, and no
ledger row naming another learner's badge."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, select

from credly_sync.hooks import base
from credly_sync.hooks.base import RetryPolicy
from credly_sync.settings import write_setting
from credly_sync.warehouse.schema import credly_integration_mappings, issued_badge_ledger
from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from tests.fixtures.airflow import run_dag
from tests.fixtures.credly import CredlySim
from tests.fixtures.docebo import DoceboSim

LEARNERS, IMPORTED = 2000, 300
COURSE = 101
CLIENT_TIMEOUT = 0.3
FULL = {"full_reconcile": True}


def soak_faults() -> list[FaultRule]:
    """10 % of every call fails (503, 429, a timeout); 1 % of writes are applied, then 504."""
    return [
        FaultRule("status", status=503, probability=0.04),
        FaultRule("status", status=429, retry_after=0, probability=0.03),
        FaultRule("slow", delay=CLIENT_TIMEOUT + 0.2, probability=0.03),
        FaultRule("applied_then_status", status=504, method="POST|PUT|DELETE", probability=0.01),
    ]


@pytest.fixture
def quick_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every hook built with the default policy times out fast and retries without waiting."""
    quick = RetryPolicy(max_attempts=6, backoff_base=0, timeout=CLIENT_TIMEOUT, max_retry_after=0)
    monkeypatch.setattr(base, "RetryPolicy", lambda **fields: replace(quick, **fields))


def test_two_runs_under_faults_end_exact_with_no_duplicate(
    dagbag: Any,
    credly_sim: CredlySim,
    credly_connection: str,
    docebo_sim: DoceboSim,
    docebo_connection: str,
    configured_warehouse: Engine,
    smtp_sink: Any,
    quick_client: None,
) -> None:
    warehouse = configured_warehouse
    write_setting(warehouse, "BATCH_SYNC_START_DATE", "2026-01-01")
    docebo_sim.seed(5, learners=LEARNERS, courses=2, learning_plans=0, certifications=0, completions=0)
    course_template = credly_sim.create_template("Cloud Basics")
    partner = credly_sim.create_template("Partner Badge")
    for dag_id in ("credly_templates", "credly_lms_dropdown"):
        assert run_dag(dagbag, dag_id).state == "success"
    [field] = docebo_sim.world.course_fields.values()
    element = next(e for e, label in field.options.items() if label == "Cloud Basics")
    docebo_sim.state.set_course_value(COURSE, field.id, element)
    with warehouse.begin() as connection:
        connection.execute(
            credly_integration_mappings.insert().values(
                badge_template_id=partner.id, import_as_external_training=True
            )
        )
    docebo_sim.state.complete_courses(
        [
            (learner(i).user_id, COURSE, f"2026-03-01 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}")
            for i in range(LEARNERS)
        ]
    )
    imported = {}
    for index in range(IMPORTED):
        person = learner(index)
        badge = credly_sim.state.issue(
            {
                "recipient_email": person.email,
                "issued_to_first_name": person.first_name,
                "issued_to_last_name": person.last_name,
                "badge_template_id": partner.id,
                "issued_at": "2026-03-02T09:00:00Z",
                "expires_at": False,
            }
        )
        imported[person.user_id] = badge

    credly_sim.set_faults(*soak_faults(), seed=1)
    docebo_sim.set_faults(*soak_faults(), seed=2)
    for _ in range(2):
        run_dag(dagbag, "lms_to_credly", **FULL)
        run_dag(dagbag, "credly_to_lms", **FULL)
    posts = credly_sim.call_count("POST", "badges")
    assert posts > LEARNERS, f"{posts} POSTs for {LEARNERS} badges: the faults must have fired"
    credly_sim.clear_faults()
    docebo_sim.clear_faults()
    credly_sim.settle()
    docebo_sim.settle()

    held = Counter(
        (b.recipient_email, b.state)
        for b in credly_sim.state.badges.values()
        if b.badge_template_id == course_template.id
    )
    assert held == {(learner(i).email, "pending"): 1 for i in range(LEARNERS)}, "one badge each, no duplicate"
    with warehouse.connect() as connection:
        ledger = connection.execute(select(issued_badge_ledger)).all()
    assert len(ledger) == LEARNERS
    emails = {str(learner(i).user_id): learner(i).email for i in range(LEARNERS)}
    for row in ledger:
        badge = credly_sim.state.badges[row.credly_badge_id]
        assert (badge.recipient_email, badge.issuer_earner_id) == (emails[row.lms_user_id], row.lms_user_id)
    trainings = Counter((r.user_id, r.certificate_url) for r in docebo_sim.world.external_training.values())
    assert trainings == {
        (user_id, f"https://sandbox.credly.com/badges/{badge.id}"): 1 for user_id, badge in imported.items()
    }, "one external training per imported badge, none twice"
