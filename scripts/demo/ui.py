"""``make ui``: the Airflow UI on the demo's data, until Ctrl-C.

Runs ``make demo`` first when there is no demo data yet; then starts the simulators where the
demo left them, and Airflow's api-server, scheduler, dag-processor and triggerer on the demo's
Airflow home (LocalExecutor, the SQLite metadata database with the demo's runs), prints the
URL and the login, writes them to ``.airflow/ui.json`` for scripts (a browser check), and on
Ctrl-C saves the simulators' state for the next ``make ui``, stops everything it started and
removes that file.

SQLite serves one writer at a time: enough to look around, trigger runs and watch them, not for
backfills (Airflow refuses them on SQLite under concurrent access); run those on PostgreSQL
(README, "Running in production").
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from typing import Any

import requests

from include.processes import free_port
from scripts.demo import as_admin_process, world
from scripts.demo.console import Console
from scripts.demo.processes import Processes, StartError, interrupt_on_signals, require_free, wait_until
from scripts.demo.webhook import COURSE, api_server_env, learner_without_badge, wait_healthy
from scripts.demo.world import HOME, shown

USERNAME = "admin"  # role admin (simple auth manager: "user:role")
PASSWORDS = HOME / "simple_auth_manager_passwords.json.generated"  # Airflow's default file
UI_JSON = HOME / "ui.json"
COMPONENTS = {
    "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(world.UI_PORT)],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
}


def main() -> int:
    as_admin_process()
    console = Console(HOME / "ui.log")
    say = console.say
    interrupt_on_signals()
    processes = Processes()
    simulators_up = False
    try:
        if not world.have_snapshots():
            say("No demo data yet: running `make demo` first (about 2 minutes).\n")
            code = _run_demo()
            if code:
                return code
            say()
        require_free({**world.ports(), "Airflow api-server": world.UI_PORT})
        console.capture()
        say(
            f"Starting the Airflow UI on the demo data (logs: {shown(console.log_path)}, {shown(HOME)}/*.log)"
        )
        world.prepare_airflow(console)
        world.start_simulators(processes, from_snapshots=True)
        simulators_up = True
        password = _password()
        env = _environment()
        started = {
            name: processes.start(name, [world.AIRFLOW, *args], HOME / f"{name}.log", env)
            for name, args in COMPONENTS.items()
        }
        base_url = f"http://127.0.0.1:{world.UI_PORT}"
        wait_healthy(started["api-server"], world.UI_PORT, timeout=180)
        wait_until(
            "the scheduler's first heartbeat", lambda: _scheduler_healthy(base_url), 120, processes.check
        )
        _check_login(base_url, password)
        _register_webhooks(world.webhook_secret())
        info = {
            "base_url": base_url,
            "username": USERNAME,
            "password": password,
            "credly_sync_url": f"{base_url}/credly-sync/",
            "warehouse_url": f"sqlite:///{world.WAREHOUSE}",
            "pid": os.getpid(),
        }
        UI_JSON.write_text(json.dumps(info, indent=2) + "\n")
        UI_JSON.chmod(0o600)
        for line in _banner(info):
            say(line)
        while True:
            processes.check()
            time.sleep(1)
    except world.STOP_ERRORS as error:
        console.stopped("make ui", error, f"{shown(console.log_path)} and {shown(HOME)}/<process>.log")
        return 1
    except Exception as error:  # a bug: say so on the terminal, not only in the log
        console.crashed("make ui", error)
        return 1
    except KeyboardInterrupt:
        say("\nStopping what make ui started ...")
        return 0
    finally:
        UI_JSON.unlink(missing_ok=True)
        if simulators_up:  # the next make ui starts where this one left the simulated world
            with contextlib.suppress(requests.RequestException):
                world.save_snapshots()
        processes.stop()
        say("stopped.")


def _run_demo() -> int:
    demo = subprocess.Popen([sys.executable, "-m", "scripts.demo"])
    try:
        return demo.wait()
    except KeyboardInterrupt:
        demo.terminate()  # it stops what it started (a Ctrl-C reached it already)
        demo.wait()
        raise


def _password() -> str:
    """The admin's password: kept from an earlier ``make ui``, or a new one."""
    try:
        password = json.loads(PASSWORDS.read_text()).get(USERNAME)
    except (FileNotFoundError, ValueError):
        password = None
    if not password:
        password = secrets.token_urlsafe(12)
        PASSWORDS.write_text(json.dumps({USERNAME: password}) + "\n")
    PASSWORDS.chmod(0o600)
    return password


def _environment() -> dict[str, str]:
    return api_server_env(
        world.UI_PORT,
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="2",  # LocalExecutor starts this many workers; the pools pace the calls
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USERNAME}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(PASSWORDS),
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="1",
    )


def _scheduler_healthy(base_url: str) -> bool:
    try:
        health = requests.get(f"{base_url}/api/v2/monitor/health", timeout=5).json()
    except (requests.RequestException, ValueError):
        return False
    return health.get("scheduler", {}).get("status") == "healthy"


def _check_login(base_url: str, password: str) -> None:
    response = requests.post(
        f"{base_url}/auth/token", json={"username": USERNAME, "password": password}, timeout=10
    )
    if response.status_code not in (200, 201):
        raise StartError(f"the login {USERNAME} was refused ({response.status_code}); see {shown(PASSWORDS)}")


def _register_webhooks(secret: str) -> None:
    """Both simulators deliver their webhooks to the intake (processed once credly_sync_events
    is unpaused)."""
    intake = f"http://127.0.0.1:{world.UI_PORT}{world.INTAKE_PREFIX}/webhooks"
    for url, body in (
        (world.DOCEBO_URL, {"url": f"{intake}/docebo/{secret}", "grouped": True}),
        (world.CREDLY_URL, {"url": f"{intake}/credly/{secret}"}),
    ):
        requests.put(f"{url}/_admin/webhook", json=body, timeout=10).raise_for_status()


def _banner(info: dict[str, Any]) -> list[str]:
    learner = learner_without_badge(world.template_id(world.COURSE_BADGES[COURSE]))
    completion = json.dumps({"user_id": learner["user_id"], "course_id": COURSE})
    return [
        "",
        f"  Airflow UI        {info['base_url']}/",
        f"  login             {info['username']} / {info['password']}",
        f"  Credly sync page  {info['credly_sync_url']}",
        f"  (the same in {shown(UI_JSON)}, while this runs)",
        "",
        "  api-server, scheduler, dag-processor, triggerer: LocalExecutor on the SQLite metadata database",
        f"  {shown(HOME / 'airflow.db')} (no backfills on SQLite); simulators Credly :{world.CREDLY_PORT}, "
        f"Docebo :{world.DOCEBO_PORT}, SMTP :{world.SMTP_PORT}",
        "  The DAGs are paused: unpause one in the UI and the scheduler runs it. Real time: unpause",
        "  credly_sync_events, then complete a course in the Docebo simulator:",
        f"    curl -X POST {world.DOCEBO_URL}/_admin/enrollments/complete "
        f"-H 'content-type: application/json' -d '{completion}'",
        "",
        "Ctrl-C stops everything make ui started.",
    ]


if __name__ == "__main__":
    sys.exit(main())
