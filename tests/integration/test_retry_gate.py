"""A 429's Retry-After slows every thread sharing a hook (the workers of an apply task)."""

from __future__ import annotations

import threading

from credly_sync.hooks.base import RetryAfterGate
from credly_sync.hooks.credly import CredlyHook
from include.simulators.common.faults import FaultRule
from include.simulators.common.people import learner
from tests.fixtures.credly import CredlySim

POST_BADGES = {"method": "POST", "path": r"/badges$"}


def issue_body(template_id: str, index: int) -> dict[str, str]:
    person = learner(index)
    return {
        "recipient_email": person.email,
        "issued_to_first_name": person.first_name,
        "issued_to_last_name": person.last_name,
        "badge_template_id": template_id,
        "issued_at": "2026-03-01T09:41:00Z",
        "issuer_earner_id": str(person.user_id),
    }


def test_a_429_holds_back_the_other_workers_until_retry_after(
    credly_hook: CredlyHook, credly_sim: CredlySim
) -> None:
    """Worker A is refused with Retry-After: 30; while A waits, worker B starts a call: B must
    wait out the rest of A's 30 s before it sends, and A must not wait twice."""
    template = credly_sim.create_template("Gated", allow_duplicate_badges=True)
    credly_sim.set_faults(FaultRule("status", status=429, retry_after=30, times=1, **POST_BADGES))
    waits: dict[str, list[float]] = {"A": [], "B": []}
    posts_before_b_slept: list[int] = []

    def worker_b() -> None:
        credly_hook.issue_badge(issue_body(template.id, 1))

    def sleep(seconds: float) -> None:  # returns at once; A's wait is when B starts its call
        name = threading.current_thread().name
        waits[name].append(seconds)
        if name == "B":
            posts_before_b_slept.append(credly_sim.call_count("POST", "badges"))
        elif len(waits["A"]) == 1:
            b = threading.Thread(target=worker_b, name="B")
            b.start()
            b.join(timeout=10)

    credly_hook.sleep = sleep
    a = threading.Thread(target=lambda: credly_hook.issue_badge(issue_body(template.id, 0)), name="A")
    a.start()
    a.join(timeout=20)

    assert waits["A"] == [30.0], "the refused worker waits Retry-After once"
    [held_back] = waits["B"]
    assert 25 < held_back <= 30, "the other worker waits the rest of the same Retry-After"
    assert posts_before_b_slept == [1], "B sent nothing before its wait"
    assert credly_sim.call_count("POST", "badges") == 3
    assert len(credly_sim.badges_held(template.id, learner(0).email)) == 1
    assert len(credly_sim.badges_held(template.id, learner(1).email)) == 1


def test_the_gate_keeps_the_latest_deadline_and_opens_when_it_passed() -> None:
    now = [100.0]
    gate = RetryAfterGate(clock=lambda: now[0])
    assert gate.remaining() == 0.0
    deadline = gate.close(10)
    assert gate.close(2) == deadline == 110.0, "a shorter Retry-After does not shorten the wait"
    assert gate.remaining() == 10.0
    assert gate.remaining(waited_until=deadline) == 0.0, "the thread that waited for it goes on"
    gate.close(20)
    assert gate.remaining(waited_until=deadline) == 20.0, "a newer 429 holds that thread back too"
    now[0] = 125.0
    assert gate.remaining() == 0.0
