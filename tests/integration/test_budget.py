"""The shared LMS API budget: reservations in the warehouse keep every task together inside it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select

from credly_sync.warehouse.budget import ApiBudget, BudgetExhaustedError
from credly_sync.warehouse.schema import api_call_budget


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_two_tasks_together_never_exceed_the_window(warehouse: Engine) -> None:
    clock = Clock(7200.0 + 10)
    budgets = [ApiBudget(warehouse, "docebo", 25, clock=clock, sleep=clock.sleep) for _ in range(2)]
    taken: list[int] = []

    def take(budget: ApiBudget) -> None:
        count = 0
        try:
            while True:
                budget.acquire()
                count += 1
        except BudgetExhaustedError:
            taken.append(count)

    threads = [threading.Thread(target=take, args=(budget,)) for budget in budgets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(taken) <= 25 and sum(taken) >= 20, "blocks of 10: at most one block is left unused"
    with warehouse.connect() as connection:
        assert connection.execute(select(api_call_budget.c.calls)).scalars().all() == [25]


def test_a_spent_window_waits_when_the_next_is_close_and_raises_when_it_is_not(warehouse: Engine) -> None:
    clock = Clock(3600.0 * 5 + 3590)  # 10 s before the window ends
    budget = ApiBudget(warehouse, "docebo", 10, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        budget.acquire()
    budget.acquire()  # the window is spent: wait 10 s for the next one
    assert clock.slept == [10.0] and budget.used == 11
    clock.now = 3600.0 * 6 + 60
    for _ in range(9):
        budget.acquire()
    with pytest.raises(BudgetExhaustedError, match="spent until") as raised:
        budget.acquire()
    assert raised.value.resume_at.timestamp() == 3600.0 * 7
    assert budget.remaining() == 0
