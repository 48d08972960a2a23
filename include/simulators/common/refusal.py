"""The refusal a simulator raises for a request it will not serve; each simulator's app turns it
into that service's own error body (their envelopes differ, see each ``unconfirmed.py``)."""

from __future__ import annotations


class ApiRefusal(Exception):
    """Answer ``status`` with the simulator's error body carrying ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
