"""A client-side call budget for an API (Docebo: 1,000 calls an hour per IP), shared by every
task of the deployment through the warehouse, so that two DAGs in the same hour together stay
inside it and the product never provokes a 429.

Tasks reserve calls in small blocks (one short transaction per block, not per call); a block's
unused calls are lost when the task ends, which errs on the safe side. When the window is spent
a task waits for the next one if that is close, else raises :class:`BudgetExhaustedError` so the
operator can give its worker slot back until then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from credly_sync.warehouse.schema import api_call_budget

DEFAULT_WINDOW = 3600.0
BLOCK = 10  # calls reserved per transaction
MAX_WAIT = 120.0  # longer waits give the worker slot back


class BudgetExhaustedError(Exception):
    """The window's calls are spent; ``resume_at`` is when the next window opens."""

    def __init__(self, api: str, limit: int, resume_at: datetime) -> None:
        super().__init__(f"the {api} budget of {limit} calls is spent until {resume_at.isoformat()}")
        self.resume_at = resume_at


class ApiBudget:
    """``limit`` calls to ``api`` per ``window`` seconds (fixed windows aligned on the epoch).

    :param clock: seconds since the epoch (tests pass a fake); ``sleep`` likewise.
    """

    def __init__(
        self,
        engine: Engine,
        api: str,
        limit: int,
        *,
        window: float = DEFAULT_WINDOW,
        max_wait: float = MAX_WAIT,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine, self.api, self.limit, self.window = engine, api, limit, window
        self.max_wait, self.clock, self.sleep = max_wait, clock, sleep
        self.used = 0
        self._lock = threading.Lock()
        self._granted: tuple[float, int] = (-1.0, 0)  # window start, calls left in our block

    def acquire(self) -> None:
        """Take one call, reserving a block, waiting or raising when the window is spent."""
        with self._lock:
            while True:
                start = self._window_start()
                window, left = self._granted
                if window == start and left > 0:
                    self._granted = (window, left - 1)
                    self.used += 1
                    return
                granted = self._reserve(start)
                if granted:
                    self._granted = (start, granted)
                    continue
                wait = start + self.window - self.clock()
                if wait > self.max_wait:
                    resume = datetime.fromtimestamp(start + self.window, UTC)
                    raise BudgetExhaustedError(self.api, self.limit, resume)
                self.sleep(max(wait, 0.0))

    def remaining(self) -> int:
        """Calls left in the current window for the whole deployment."""
        start = _moment(self._window_start())
        table = api_call_budget
        with self.engine.connect() as connection:
            used = connection.execute(
                select(table.c.calls).where(table.c.api == self.api, table.c.window_start == start)
            ).scalar_one_or_none()
        return max(0, self.limit - (used or 0))

    def _window_start(self) -> float:
        now = self.clock()
        return now - now % self.window

    def _reserve(self, start: float) -> int:
        """Reserve up to BLOCK calls of the window; 0 when it is spent. Optimistic: the update
        only applies if nobody else reserved since we read."""
        table = api_call_budget
        moment = _moment(start)
        while True:
            with self.engine.begin() as connection:
                used = connection.execute(
                    select(table.c.calls).where(table.c.api == self.api, table.c.window_start == moment)
                ).scalar_one_or_none()
                grant = min(BLOCK, self.limit - (used or 0))
                if grant <= 0:
                    return 0
                if used is None:
                    try:
                        with connection.begin_nested():
                            connection.execute(
                                table.insert().values(api=self.api, window_start=moment, calls=grant)
                            )
                        return grant
                    except IntegrityError:
                        continue  # another task opened the window first
                changed = connection.execute(
                    update(table)
                    .where(table.c.api == self.api, table.c.window_start == moment, table.c.calls == used)
                    .values(calls=used + grant)
                ).rowcount
                if changed:
                    return grant


def _moment(seconds: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
