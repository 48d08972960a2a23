"""Running a simulator: in a background thread (tests) or as a process (demo, benchmarks),
plus the ``/_admin`` endpoints every simulator shares (faults, call counts, snapshots)."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import APIRouter, Body, FastAPI

from include.simulators.common.faults import ErrorBody, FaultPlan, KeyCounter, SimulatorMiddleware


@dataclass
class SimulatorControl:
    """What the test harness can steer on a simulator: faults in force and calls seen."""

    faults: FaultPlan = field(default_factory=FaultPlan)
    calls: KeyCounter = field(default_factory=KeyCounter)


def install_control(app: FastAPI, control: SimulatorControl, error_body: ErrorBody) -> None:
    """Add the counting/fault middleware and the shared ``/_admin`` routes to ``app``."""
    app.add_middleware(SimulatorMiddleware, plan_holder=control, counter=control.calls, error_body=error_body)
    router = APIRouter(prefix="/_admin", tags=["admin"])

    @router.get("/calls")
    def get_calls() -> dict[str, int]:
        return control.calls.snapshot()

    @router.delete("/calls", status_code=204)
    def reset_calls() -> None:
        control.calls.reset()

    @router.get("/faults")
    def get_faults() -> dict[str, Any]:
        return control.faults.to_dict()

    @router.put("/faults")
    def set_faults(plan: dict[str, Any] = Body(...)) -> dict[str, Any]:
        control.faults = FaultPlan.from_dict(plan)
        return control.faults.to_dict()

    @router.delete("/faults", status_code=204)
    def clear_faults() -> None:
        control.faults = FaultPlan()

    app.include_router(router)


def simulator_app(title: str, on_shutdown: Callable[[], None]) -> FastAPI:
    """A FastAPI app that calls ``on_shutdown`` (e.g. closing the webhook sender) when it stops."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        on_shutdown()

    return FastAPI(title=title, lifespan=lifespan)


class ThreadedServer:
    """A uvicorn server on a free loopback port in a daemon thread; use as a context manager."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.host = host

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_main(
    name: str,
    build_app: Callable[[argparse.Namespace], FastAPI],
    default_port: int,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """Command-line entry point shared by the simulators (``python -m include.simulators.X``)."""
    parser = argparse.ArgumentParser(prog=f"python -m include.simulators.{name}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    uvicorn.run(build_app(args), host=args.host, port=args.port, log_level="info")
