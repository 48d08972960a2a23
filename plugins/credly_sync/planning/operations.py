"""The planners' output: one planned change each, journaled under its key before it is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)  # slots: a batch sync holds hundreds of thousands
class Operation:
    """One planned change: ``kind`` (issue, dropdown_add, ...), whom it targets, and its data."""

    op_key: str
    kind: str
    target: str
    payload: dict[str, Any] = field(default_factory=dict)
