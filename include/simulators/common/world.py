"""A simulated service's world and the state that holds it (Docebo, ALM): replaced whole on
load, reset or restore, saved as a JSON snapshot, and read through lists cached until the next
change; plus the ``/_admin/snapshot`` routes.

What the records are, their JSON form and how a change notifies the webhook sender stay with
each simulator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any, Generic, Self, TypeVar

from fastapi import APIRouter, Body

from include.simulators.common.strictness import ServerMode

CACHE_SIZE = 32  # cached lists kept; the oldest goes first


@dataclass
class World:
    """Base of a world: the subclass's fields are dicts of records; ``next_id`` is the next
    server-assigned id. Subclasses give the snapshot form (:meth:`to_json`, :meth:`from_json`)."""

    next_id: int = 1

    def take_id(self) -> int:
        """A new server-assigned id."""
        value = self.next_id
        self.next_id += 1
        return value

    def counts(self) -> dict[str, int]:
        """How many records of each kind."""
        return {f.name: len(getattr(self, f.name)) for f in fields(self) if f.name != "next_id"}

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        raise NotImplementedError


W = TypeVar("W", bound=World)


class WorldState(Generic[W]):
    """The live world behind ``lock`` and the strict/helpful ``mode``; a subclass that changes
    the world clears ``_cache`` (under the lock) so no stale list is served."""

    def __init__(self, world_type: type[W], *, strict: bool) -> None:
        self.mode = ServerMode(strict)
        self.world = world_type()
        self.lock = threading.RLock()
        self._world_type = world_type
        self._cache: dict[tuple[Any, ...], list[Any]] = {}

    def load(self, world: W) -> None:
        with self.lock:
            self.world = world
            self._cache.clear()

    def reset(self) -> None:
        """An empty world."""
        self.load(self._world_type())

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return self.world.to_json()

    def restore(self, data: dict[str, Any]) -> None:
        """Load a :meth:`snapshot`; ``KeyError``, ``TypeError`` or ``ValueError`` if it is none."""
        self.load(self._world_type.from_json(data))

    def cached(self, key: tuple[Any, ...], build: Callable[[], Iterable[Any]]) -> list[Any]:
        """The list for ``key`` (built under the lock), reused until the world changes."""
        with self.lock:
            if key not in self._cache:
                if len(self._cache) >= CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = list(build())
            return self._cache[key]


def snapshot_admin_router(state: WorldState[Any], refusal: Callable[[str], Exception]) -> APIRouter:
    """``GET /snapshot`` (the world as JSON) and ``PUT /snapshot`` (load one; answers the counts),
    to include in a simulator's ``/_admin`` router; ``refusal(reason)`` is raised for a body that
    is not a snapshot."""
    router = APIRouter()

    @router.get("/snapshot")
    def save_snapshot() -> dict[str, Any]:
        return state.snapshot()

    @router.put("/snapshot")
    def load_snapshot(body: dict[str, Any] = Body(...)) -> dict[str, int]:
        try:
            state.restore(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise refusal(str(exc)) from None
        return state.world.counts()

    return router
