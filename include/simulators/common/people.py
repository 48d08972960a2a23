"""Deterministic learners shared by every simulator's data generator.

Learner ``i`` (0-based) is the same person in the Credly and LMS simulators, so a seeded
Docebo world and a seeded Credly world line up by e-mail and LMS user id.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman")
FIRST_USER_ID = 10001


@dataclass(frozen=True)
class Learner:
    user_id: int
    email: str
    first_name: str
    last_name: str


def learner(index: int) -> Learner:
    """The ``index``-th learner: user id 10001 + index, e-mail learner000001@example.com, ..."""
    return Learner(
        user_id=FIRST_USER_ID + index,
        email=f"learner{index + 1:06d}@example.com",
        first_name=FIRST_NAMES[index % len(FIRST_NAMES)],
        last_name=LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)],
    )


def seeded_random(seed: int, salt: str) -> random.Random:
    """A generator for one part of a world, so adding a part never shifts another's draws."""
    return random.Random(f"{seed}:{salt}")
