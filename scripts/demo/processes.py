"""Background processes (simulators, Airflow components), each in a process group of its own
with its own log file, stopped by that group's id and only that."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from include.processes import port_open, stop_groups
from scripts.demo.console import child_env


class StartError(RuntimeError):
    """A process did not start (the message says which and where its log is)."""


def require_free(ports: dict[str, int]) -> None:
    """Refuse to start when a port is taken (by another demo, ``make ui``, or anything else)."""
    taken = [f"{port} ({name})" for name, port in ports.items() if port_open(port)]
    if taken:
        raise StartError(
            f"port(s) {', '.join(taken)} already in use: is `make ui` or another demo running? "
            "Stop it and try again."
        )


@dataclass
class Background:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def check(self) -> None:
        if not self.alive():
            raise StartError(f"{self.name} exited with {self.process.returncode}; see {self.log}")


class Processes:
    """The processes one command started, stopped together in reverse order."""

    def __init__(self) -> None:
        self.started: list[Background] = []

    def start(
        self, name: str, args: Sequence[str], log: Path, env: dict[str, str] | None = None
    ) -> Background:
        with log.open("wb") as stream:
            process = subprocess.Popen(
                list(args),
                stdout=stream,
                stderr=subprocess.STDOUT,
                env=env or child_env(),
                start_new_session=True,  # its own process group: stop() ends it and its children only
            )
        background = Background(name, process, log)
        self.started.append(background)
        return background

    def check(self) -> None:
        for background in self.started:
            background.check()

    def stop(self, name: str | None = None) -> None:
        """Stop one process (by name) or all of them: SIGTERM to the group, SIGKILL after 20 s."""
        chosen = [b for b in reversed(self.started) if name is None or b.name == name]
        stop_groups(b.process for b in chosen)
        for background in chosen:
            self.started.remove(background)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def interrupt_on_signals() -> None:
    """The first SIGINT, SIGTERM or SIGHUP raises KeyboardInterrupt, so the processes started
    get stopped (also when a shell started this one in the background, with SIGINT ignored);
    later ones are ignored, so the clean-up runs to its end."""

    def interrupt(signum: int, frame: object) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt

    for sig in STOP_SIGNALS:
        signal.signal(sig, interrupt)


def wait_until(what: str, ready: Callable[[], bool], timeout: float, check: Callable[[], None]) -> float:
    """Poll ``ready`` (and ``check``, which raises when a process died) until it holds; the
    seconds it took."""
    start = time.monotonic()
    while not ready():
        check()
        if time.monotonic() - start > timeout:
            raise StartError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - start
