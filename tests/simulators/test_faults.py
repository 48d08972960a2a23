"""Fault injection over real HTTP (include/simulators/common/faults.py), on the Credly simulator."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import requests

from include.simulators.common.faults import FaultPlan, FaultRule
from include.simulators.common.people import learner
from tests.fixtures.credly import CredlySim


@pytest.fixture
def api(credly_sim: CredlySim) -> requests.Session:
    session = requests.Session()
    session.auth = (credly_sim.token, "")
    return session


def issue_body(template_id: str, index: int) -> dict[str, Any]:
    person = learner(index)
    return {
        "recipient_email": person.email,
        "issued_to_first_name": person.first_name,
        "issued_to_last_name": person.last_name,
        "badge_template_id": template_id,
        "issued_at": "2026-03-01 09:41:00 +0000",
    }


def test_applied_then_status_makes_the_change_and_answers_the_error(
    credly_sim: CredlySim, api: requests.Session
) -> None:
    template = credly_sim.create_template()
    credly_sim.set_faults(
        FaultRule("applied_then_status", status=504, retry_after=2, method="POST", path=r"/badges$", times=1)
    )
    url = f"{credly_sim.api_url}/badges"
    answer = api.post(url, json=issue_body(template.id, 0))
    assert answer.status_code == 504 and answer.headers["Retry-After"] == "2"
    assert answer.json() == {"data": {"message": "Gateway timeout"}}
    assert len(credly_sim.badges_held(template.id, learner(0).email)) == 1  # issued all the same

    retried = api.post(url, json=issue_body(template.id, 0))
    assert retried.status_code == 422 and "already has this badge" in retried.json()["data"]["message"]


def test_applied_then_status_waits_its_delay(credly_sim: CredlySim, api: requests.Session) -> None:
    template = credly_sim.create_template()
    credly_sim.set_faults(FaultRule("applied_then_status", status=504, delay=1.0, method="POST", times=1))
    with pytest.raises(requests.Timeout):
        api.post(f"{credly_sim.api_url}/badges", json=issue_body(template.id, 0), timeout=0.3)
    credly_sim.settle()
    assert len(credly_sim.badges_held(template.id, learner(0).email)) == 1


def test_a_rule_may_name_several_methods(credly_sim: CredlySim, api: requests.Session) -> None:
    template = credly_sim.create_template(allow_duplicate_badges=True)
    credly_sim.set_faults(FaultRule("status", status=503, method="post|PUT|DELETE"))
    assert api.get(f"{credly_sim.api_url}/badges").status_code == 200
    assert api.post(f"{credly_sim.api_url}/badges", json=issue_body(template.id, 0)).status_code == 503
    assert api.delete(f"{credly_sim.api_url}/badges/any").status_code == 503


SOAK_RULES = [
    {"kind": "status", "status": 503, "probability": 0.04},
    {"kind": "status", "status": 429, "retry_after": 1, "probability": 0.03},
    {"kind": "slow", "delay": 0.0, "probability": 0.03},
    {"kind": "applied_then_status", "status": 504, "method": "POST|PUT|DELETE", "probability": 0.01},
]


def verdicts(plan: FaultPlan, requests_seen: list[tuple[str, str]]) -> list[str | None]:
    return [
        None if rule is None else f"{rule.kind}:{rule.status}"
        for rule in (plan.draw(method, path) for method, path in requests_seen)
    ]


def test_probabilistic_rules_combine_and_are_reproducible_by_seed() -> None:
    reads = [("GET", "/v1/organizations/o/badges")] * 20000
    writes = [("POST", "/v1/organizations/o/badges")] * 20000
    first = verdicts(FaultPlan.from_dict({"rules": SOAK_RULES, "seed": 7}), reads + writes)
    again = verdicts(FaultPlan.from_dict({"rules": SOAK_RULES, "seed": 7}), reads + writes)
    other = verdicts(FaultPlan.from_dict({"rules": SOAK_RULES, "seed": 8}), reads + writes)
    assert first == again and first != other

    on_reads, on_writes = Counter(first[:20000]), Counter(first[20000:])
    assert "applied_then_status:504" not in on_reads
    # Each rule keeps its own share (one draw per request), to within sampling noise.
    for counts in (on_reads, on_writes):
        assert 0.035 < counts["status:503"] / 20000 < 0.045
        assert 0.025 < counts["status:429"] / 20000 < 0.035
        assert 0.025 < counts["slow:500"] / 20000 < 0.035
    assert 0.007 < on_writes["applied_then_status:504"] / 20000 < 0.013


def test_scripted_rules_fire_before_probabilistic_ones() -> None:
    plan = FaultPlan(
        [FaultRule("status", status=503, probability=1.0), FaultRule("status", status=500, times=2)]
    )
    assert verdicts(plan, [("GET", "/x")] * 4) == ["status:500", "status:500", "status:503", "status:503"]


def test_soak_plan_over_http_is_reproducible(credly_sim: CredlySim, api: requests.Session) -> None:
    """The same plan and seed give the same answers to the same sequence of requests."""
    template = credly_sim.create_template(allow_duplicate_badges=True)
    rules = [{**rule, "probability": rule["probability"] * 5} for rule in SOAK_RULES]

    def run() -> list[int]:
        credly_sim.admin("PUT", "faults", json={"rules": rules, "seed": 3})
        statuses = []
        for index in range(40):
            statuses.append(api.get(f"{credly_sim.api_url}/badges").status_code)
            statuses.append(
                api.post(f"{credly_sim.api_url}/badges", json=issue_body(template.id, index)).status_code
            )
        return statuses

    first = run()
    assert first == run()
    assert {503, 429, 200, 201} <= set(first)
