"""JSON:API envelopes (lms-apis.md §2.2): ``data``, ``included``, ``links.self`` / ``links.next``,
cursor paging with ``page[limit]`` / ``page[cursor]`` (and ``page[offset]``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from include.simulators.alm.state import AlmState
from include.simulators.alm.unconfirmed import (
    HELPFUL_PAGE_SIZE,
    MAX_PAGE_SIZE,
    MAX_PAGE_SIZE_WITH_INCLUDE,
    STRICT_PAGE_SIZE,
)
from include.simulators.common.refusal import ApiRefusal

LIMIT, CURSOR, OFFSET = "page[limit]", "page[cursor]", "page[offset]"
PAGE_PARAMS = (LIMIT, CURSOR, OFFSET)


def includes(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def page_of(
    request: Request,
    state: AlmState,
    records: Sequence[Any],
    render: Callable[[Any], dict[str, Any]],
    *,
    limit: int | None,
    cursor: str | None,
    offset: int | None,
    include: list[str],
) -> dict[str, Any]:
    """One page of ``records`` with the links to the next one (absent on the last page)."""
    most = MAX_PAGE_SIZE_WITH_INCLUDE if include else MAX_PAGE_SIZE
    if limit is None:
        limit = min(most, STRICT_PAGE_SIZE if state.mode.strict else HELPFUL_PAGE_SIZE)
    if not 1 <= limit <= most:
        with_include = " with include" if include else ""
        raise ApiRefusal(400, f"page[limit] must be between 1 and {most}{with_include}")
    start = _start(cursor, offset)
    items = [render(record) for record in records[start : start + limit]]
    base = (state.public_url or str(request.base_url)).rstrip("/") + request.url.path
    links = {"self": f"{base}?{request.url.query}" if request.url.query else base}
    if start + limit < len(records):
        links["next"] = f"{base}?{_next_query(request, state.mode.strict, limit, start + limit)}"
    return {"links": links, "data": items, "included": included(state, items, include)}


def one(state: AlmState, item: dict[str, Any], include: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"data": item}
    if include:
        body["included"] = included(state, [item], include)
    return body


def included(state: AlmState, items: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """The resources the items' relationships ``names`` point to, each once."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        for name in names:
            data = (item.get("relationships") or {}).get(name, {}).get("data")
            for target in data if isinstance(data, list) else [data] if data else []:
                key = (target["type"], target["id"])
                if key not in seen:
                    found = state.resource(*key)
                    if found is not None:
                        seen[key] = found
    return list(seen.values())


def _start(cursor: str | None, offset: int | None) -> int:
    if cursor is not None:
        if not cursor.isdigit():
            raise ApiRefusal(400, "page[cursor] is not a cursor this server gave")
        return int(cursor)
    if offset is not None and offset < 0:
        raise ApiRefusal(400, "page[offset] must not be negative")
    return offset or 0


def _next_query(request: Request, strict: bool, limit: int, start: int) -> str:
    """Strict: only the page parameters; helpful: the request's query with the next cursor."""
    kept = [] if strict else [(k, v) for k, v in request.query_params.multi_items() if k not in PAGE_PARAMS]
    return urlencode([*kept, (LIMIT, limit), (CURSOR, start)], safe="[],:")
