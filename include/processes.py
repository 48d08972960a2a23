"""Loopback ports and background process groups, for whatever starts servers on this machine
(the simulators' SMTP sink, make demo / make ui, the process tests, the benchmarks)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterable


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    """Whether something listens on this loopback port."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group of a process started with ``start_new_session``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def stop_group(process: subprocess.Popen, timeout: float = 20) -> None:
    """End a process started in a session of its own, and what it started: SIGTERM, then
    SIGKILL after ``timeout`` seconds."""
    signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        signal_group(process, signal.SIGKILL)
        process.wait(timeout=10)
    signal_group(process, signal.SIGKILL)  # children the leader left behind


def stop_groups(processes: Iterable[subprocess.Popen], timeout: float = 20) -> None:
    """Stop several process groups: SIGTERM to all of them first (so they shut down side by
    side), then :func:`stop_group` each in turn."""
    chosen = list(processes)
    for process in chosen:
        if process.poll() is None:
            signal_group(process, signal.SIGTERM)
    for process in chosen:
        stop_group(process, timeout)
