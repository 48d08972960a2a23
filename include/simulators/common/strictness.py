"""Strict or helpful: how a simulator answers where the reference marks the server unconfirmed.

Strict (the default) is the least helpful plausible form: a filter the reference does not
confirm is ignored, pages are small, links drop the query. Clients must be right under it.
Helpful serves the convenient forms a test may need (e.g. a filter applied server-side).
Either way, each request parameter the simulator ignored is counted by name, so a test can
see that a client relied on something the server did not do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import APIRouter, Body, Request

from include.simulators.common.faults import KeyCounter


class ServerMode:
    """The switch (``strict``) and the count of ignored request parameters per name."""

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self.ignored = KeyCounter()

    def ignore(self, names: Iterable[str]) -> None:
        """Count each of ``names`` once: the request sent it and the simulator did not use it."""
        for name in names:
            self.ignored.add(name)

    def helpful(self, request: Request, names: Iterable[str]) -> bool:
        """Whether to apply the unconfirmed filters ``names``; strict counts those the request
        sent as ignored."""
        if not self.strict:
            return True
        self.ignore(name for name in names if name in request.query_params)
        return False

    def reset(self, strict: bool = True) -> None:
        self.strict = strict
        self.ignored.reset()


def unknown_parameter_counter(mode: ServerMode) -> Callable[[Request], None]:
    """A route dependency: a query parameter the route does not declare is ignored, as by any
    server, so ``mode`` counts it."""

    def count_unknown_parameters(request: Request) -> None:
        route = request.scope.get("route")
        known = {param.alias for param in getattr(getattr(route, "dependant", None), "query_params", [])}
        mode.ignore(name for name in dict.fromkeys(request.query_params) if name not in known)

    return count_unknown_parameters


def mode_admin_router(mode: ServerMode) -> APIRouter:
    """``GET``/``PUT /strict`` (the switch) and ``GET``/``DELETE /ignored_filters`` (the counts),
    to include in a simulator's ``/_admin`` router."""
    router = APIRouter()

    @router.get("/strict")
    def get_strict() -> dict[str, bool]:
        return {"strict": mode.strict}

    @router.put("/strict")
    def set_strict(strict: bool = Body(..., embed=True)) -> dict[str, bool]:
        """``{"strict": false}`` serves the helpful forms; ignored counts are kept."""
        mode.strict = strict
        return {"strict": mode.strict}

    @router.get("/ignored_filters")
    def ignored_filters() -> dict[str, int]:
        return mode.ignored.snapshot()

    @router.delete("/ignored_filters", status_code=204)
    def reset_ignored_filters() -> None:
        mode.ignored.reset()

    return router
