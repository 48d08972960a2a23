"""Docebo's list envelope (lms-apis.md §1.3): ``page`` (1-based) and ``page_size`` (default 200)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from typing import Any

from include.simulators.docebo.records import ApiRefusal

DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000  # unconfirmed: the real ceiling is not documented


def page_of(
    records: Sequence[Any],
    page: int,
    page_size: int,
    render: Callable[[Any], dict[str, Any]],
    query: str = "",
) -> dict[str, Any]:
    """One page of ``records`` in the ``{"data": {"count", "has_more_data", ...}}`` envelope."""
    if page < 1:
        raise ApiRefusal(400, "page: must be a positive integer", "page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ApiRefusal(400, f"page_size: must be between 1 and {MAX_PAGE_SIZE}", "page_size")
    total_pages = math.ceil(len(records) / page_size)
    items = [render(record) for record in records[(page - 1) * page_size : page * page_size]]
    return {
        "data": {
            "count": len(records),
            "has_more_data": page < total_pages,
            "total_page_count": total_pages,
            "current_page": page,
            "current_page_size": page_size,
            "cursor": hashlib.sha1(query.encode()).hexdigest()[:16],
            "items": items,
        },
        "version": "1.0.0",
        "_links": [],
    }


def unpaged(records: Sequence[Any], render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """``no_pagination=1``: every item in one answer."""
    items = [render(record) for record in records]
    envelope = {
        "count": len(items),
        "has_more_data": False,
        "total_page_count": 1 if items else 0,
        "current_page": 1,
        "current_page_size": len(items),
        "cursor": "",
        "items": items,
    }
    return {"data": envelope, "version": "1.0.0", "_links": []}


def one(data: dict[str, Any]) -> dict[str, Any]:
    return {"data": data, "version": "1.0.0", "_links": []}
