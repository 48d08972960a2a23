"""Where the output goes: the terminal gets a short story, a log file gets everything else.

Airflow's own logging writes to stdout, so :meth:`Console.capture` points this process's
file descriptors 1 and 2 at the log file and keeps a handle on the terminal for :meth:`say`.
Commands run through :meth:`run` append their whole output to the same log.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import IO

# Set for this process only (scripts.demo.as_admin_process); Airflow's own processes choose theirs.
PRIVATE_ENV = ("_AIRFLOW_PROCESS_CONTEXT",)
# A line worth showing when a command failed: an error-level log line or a Python exception.
_RELEVANT = re.compile(r"\[(error|critical)\s*\]|^\S*(Error|Exception)\b")


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: this one's, without its private settings."""
    env = {key: value for key, value in os.environ.items() if key not in PRIVATE_ENV}
    env.update(extra)
    return env


class Console:
    """The terminal and the log file of one ``make demo`` or ``make ui``."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.terminal: IO[str] = sys.stdout
        self.started = time.monotonic()

    def capture(self) -> None:
        """From now on stdout and stderr of this process (Airflow's logging) go to the log."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        self.terminal = os.fdopen(os.dup(1), "w", buffering=1)
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)

    def say(self, text: str = "") -> None:
        print(text, file=self.terminal, flush=True)

    def stopped(self, what: str, error: Exception, logs: str) -> None:
        """Why ``what`` stopped early: the error, the log lines it carries, where the logs are."""
        self.say(f"\n{what} stopped: {error}")
        for line in getattr(error, "lines", []):
            self.say(f"  {line}")
        self.say(f"logs: {logs}")

    def crashed(self, what: str, error: Exception) -> None:
        """An unexpected error: its traceback into the log, a line on the terminal."""
        traceback.print_exc()
        self.say(f"\n{what} failed unexpectedly: {type(error).__name__}: {error}")
        self.say(f"the traceback is at the end of {self.log_path}")

    def note(self, text: str) -> None:
        """A line for the log only (a heading between commands)."""
        print(f"\n### {text}", flush=True)

    def run(self, args: Sequence[str], env: dict[str, str] | None = None) -> tuple[int, int]:
        """Run a command, its output appended to the log; returns (exit code, log offset where
        its output starts)."""
        process, offset = self.start(args, env)
        return process.wait(), offset

    def start(
        self, args: Sequence[str], env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], int]:
        """Start a command in a session of its own, its output appended to the log; returns the
        process and the log offset where its output starts."""
        print(f"\n$ {' '.join(args)}", flush=True)
        sys.stderr.flush()
        offset = self.log_path.stat().st_size
        process = subprocess.Popen(
            list(args), stdout=1, stderr=subprocess.STDOUT, env=env or child_env(), start_new_session=True
        )
        return process, offset

    def relevant_lines(self, offset: int, limit: int = 8, width: int = 300) -> list[str]:
        """The last error lines of the log from ``offset`` (its last lines if there is none)."""
        with self.log_path.open(errors="replace") as log:
            log.seek(offset)
            lines = [line.rstrip() for line in log if line.strip()]
        chosen = [line for line in lines if _RELEVANT.search(line)] or lines
        return [line if len(line) <= width else line[: width - 3] + "..." for line in chosen[-limit:]]

    def elapsed(self) -> float:
        return time.monotonic() - self.started
