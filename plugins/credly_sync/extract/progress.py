"""Progress in the task log while a list is paged through, and lists cut into chunks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

log = logging.getLogger(__name__)
PROGRESS_EVERY = 10_000
Item = TypeVar("Item")


def logged(items: Iterable[Item], what: str) -> Iterator[Item]:
    """Yield ``items``, logging a count every ``PROGRESS_EVERY`` and the total at the end."""
    count = 0
    for count, item in enumerate(items, start=1):
        if count % PROGRESS_EVERY == 0:
            log.info("read %d %s so far", count, what)
        yield item
    log.info("read %d %s", count, what)


def chunked(items: Sequence[Item], size: int) -> Iterator[list[Item]]:
    """``items`` in lists of at most ``size`` (ids per filter, so no URL grows without bound)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
