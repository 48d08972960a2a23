"""The demo world: Airflow home ``.airflow/`` (SQLite metadata database), the warehouse
``.airflow/warehouse.db``, connections to the local Credly and Docebo simulators and an SMTP
sink (mail lands in ``.airflow/mail/``), the pools, and the simulators themselves.

``make demo`` builds it fresh each time (:func:`prepare_airflow`, :func:`fresh_warehouse`,
simulators from their seeds) and saves the simulators' state at the end
(:func:`save_snapshots`), so ``make ui`` starts them where the warehouse left off.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import requests

from include.processes import port_open
from include.simulators.demo_world import COURSE_BADGES, CREDLY_WORLD, DOCEBO_WORLD
from scripts.demo import ROOT
from scripts.demo.console import Console
from scripts.demo.processes import Processes, StartError, wait_until

HOME = Path(os.environ["AIRFLOW_HOME"])
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
SAMPLE = ROOT / "include" / "sample"
WAREHOUSE = HOME / "warehouse.db"
MAILDIR = HOME / "mail"
SNAPSHOTS = HOME / "demo-world"  # the simulators' state after the last demo, for make ui

# Credentials of the local simulators only; real ones belong in Airflow connections.
CREDLY_PORT, DOCEBO_PORT, SMTP_PORT = 8801, 8802, 8825
CREDLY_URL, DOCEBO_URL = f"http://127.0.0.1:{CREDLY_PORT}", f"http://127.0.0.1:{DOCEBO_PORT}"
CREDLY_ORG, CREDLY_TOKEN = "demo-org", "demo-credly-token"
DOCEBO_CLIENT, DOCEBO_SECRET = "demo-client", "demo-docebo-secret"
UI_PORT = int(os.environ.get("UI_PORT", "8808"))  # make ui's api-server
WEBHOOKS_CONN_ID = "credly_sync_webhooks"  # credly_sync.webhooks.app.SECRETS_CONN_ID
INTAKE_PREFIX = "/credly-sync-intake"  # plugins/credly_sync_webhooks.py

# What a course admin does in Docebo's UI after the dropdown exists: pick a course's badge.
# Retired in Credly at the end of the batch, so credly_templates shows a deletion and its notice
# mail (a template without badges and with an inactive mapping: nothing else changes).
DELETED_TEMPLATE = "Machine Learning Level 1"


def connections(webhook_secret: str) -> dict[str, dict[str, Any]]:
    return {
        "credly_default": {
            "conn_type": "http",
            "host": CREDLY_URL,
            "login": CREDLY_ORG,
            "password": CREDLY_TOKEN,
            "extra": json.dumps({"token_created": date.today().isoformat()}),
        },
        "docebo_default": {
            "conn_type": "http",
            "host": DOCEBO_URL,
            "login": DOCEBO_CLIENT,
            "password": DOCEBO_SECRET,
        },
        "credly_sync_warehouse": {"conn_type": "sqlite", "host": str(WAREHOUSE)},
        "smtp_default": {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": SMTP_PORT,
            "extra": json.dumps(
                {"disable_tls": True, "disable_ssl": True, "from_email": "credly-sync@localhost"}
            ),
        },
        WEBHOOKS_CONN_ID: {
            "conn_type": "generic",
            "extra": json.dumps({"credly": webhook_secret, "docebo": webhook_secret}),
        },
    }


def simulator_commands(from_snapshots: bool) -> dict[str, tuple[int, list[str]]]:
    """name -> (port, arguments): generated from seed 7, or the state the last demo left."""
    credly_world, docebo_world = CREDLY_WORLD, DOCEBO_WORLD
    if from_snapshots:
        credly_world = ["--snapshot", str(SNAPSHOTS / "credly.json")]
        docebo_world = ["--snapshot", str(SNAPSHOTS / "docebo.json")]
    python = [sys.executable, "-m"]
    credly = ["include.simulators.credly", "--org", CREDLY_ORG, "--token", CREDLY_TOKEN]
    docebo = ["include.simulators.docebo", "--client-id", DOCEBO_CLIENT, "--client-secret", DOCEBO_SECRET]
    return {
        "credly": (CREDLY_PORT, [*python, *credly, "--port", str(CREDLY_PORT), *credly_world]),
        "docebo": (DOCEBO_PORT, [*python, *docebo, "--port", str(DOCEBO_PORT), *docebo_world]),
        "smtp": (
            SMTP_PORT,
            [*python, "include.simulators.smtp", "--port", str(SMTP_PORT), "--maildir", str(MAILDIR)],
        ),
    }


def ports() -> dict[str, int]:
    return {f"{name} simulator": port for name, (port, _) in simulator_commands(False).items()}


def start_simulators(processes: Processes, *, from_snapshots: bool = False) -> None:
    for name, (port, args) in simulator_commands(from_snapshots).items():
        started = processes.start(f"{name} simulator", args, HOME / f"{name}-simulator.log")
        wait_until(f"the {name} simulator on port {port}", lambda p=port: port_open(p), 30, started.check)


def have_snapshots() -> bool:
    return (
        all((SNAPSHOTS / f"{name}.json").is_file() for name in ("credly", "docebo")) and WAREHOUSE.is_file()
    )


def save_snapshots() -> None:
    SNAPSHOTS.mkdir(parents=True, exist_ok=True)
    for name, url in (("credly", CREDLY_URL), ("docebo", DOCEBO_URL)):
        response = requests.get(f"{url}/_admin/snapshot", timeout=30)
        response.raise_for_status()
        (SNAPSHOTS / f"{name}.json").write_text(response.text)


# --- Airflow and the warehouse -------------------------------------------------------------------


def prepare_airflow(console: Console) -> None:
    """Metadata database migrated, connections (a new webhook secret) and pools set."""
    code, offset = console.run([AIRFLOW, "db", "migrate"])
    if code:
        raise SetupError("airflow db migrate", console.relevant_lines(offset))
    _put_connections(connections(secrets.token_urlsafe(18)))
    _put_pools()


def write_env_file() -> Path:
    """``.airflow/env.sh``: the Makefile's environment, for ``airflow`` and ``python -m credly_sync``
    commands in a shell of one's own."""
    from scripts.demo import ENVIRONMENT

    path = HOME / "env.sh"
    path.write_text("".join(f"export {name}='{os.environ[name]}'\n" for name in ENVIRONMENT))
    return path


def shown(path: Path) -> str:
    """A path as a user in the project folder would type it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def fresh_warehouse(console: Console) -> None:
    """A new warehouse file with the sample settings and mappings; the mail folder emptied."""
    from credly_sync.cli import main as credly_sync

    with contextlib.suppress(FileNotFoundError):
        WAREHOUSE.unlink()
    shutil.rmtree(MAILDIR, ignore_errors=True)
    for args in (
        ["migrate"],
        ["settings", "import", str(SAMPLE / "settings.csv")],
        ["mappings", "import", str(SAMPLE / "mappings.csv")],
    ):
        console.note(f"python -m credly_sync {' '.join(args)}")
        if credly_sync(args) != 0:
            raise SetupError(f"python -m credly_sync {' '.join(args)}", [])


def webhook_secret() -> str:
    """The Docebo secret of the intake, from the connection :func:`prepare_airflow` stored."""
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(WEBHOOKS_CONN_ID).extra_dejson["docebo"]


def _put_connections(wanted: dict[str, dict[str, Any]]) -> None:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(Connection).where(Connection.conn_id.in_(list(wanted))))
        session.add_all(Connection(conn_id=conn_id, **fields) for conn_id, fields in wanted.items())


def _put_pools() -> None:
    from airflow.models.pool import Pool

    from credly_sync.operators.apply import POOLS

    for name, (slots, description) in POOLS.items():
        Pool.create_or_update_pool(name, slots, description, include_deferred=False)


class SetupError(RuntimeError):
    """A set-up step failed: which, and the log lines that say why."""

    def __init__(self, step: str, lines: list[str]) -> None:
        super().__init__(step)
        self.step, self.lines = step, lines


# What stops the demo or make ui early with a message (anything else is a bug: a traceback).
STOP_ERRORS = (SetupError, StartError, requests.RequestException)


# --- what people do in the simulated services' UIs -----------------------------------------------


def docebo_session() -> requests.Session:
    form = {"client_id": DOCEBO_CLIENT, "client_secret": DOCEBO_SECRET, "grant_type": "client_credentials"}
    token = requests.post(f"{DOCEBO_URL}/oauth2/token", data=form, timeout=10).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def credly_session() -> requests.Session:
    session = requests.Session()
    session.auth = (CREDLY_TOKEN, "")
    return session


def credly_api(path: str) -> str:
    return f"{CREDLY_URL}/v1/organizations/{CREDLY_ORG}{path}"


def pick_course_badges() -> list[str]:
    """Set the badge dropdown of the demo courses through the Docebo API; what was done."""
    session = docebo_session()
    fields = session.get(f"{DOCEBO_URL}/learn/v1/courses/field", timeout=10).json()["data"]["items"]
    field = next(f for f in fields if f["type"] == "dropdown")
    elements = {option["label"]: option["id"] for option in field["options"]}
    for course_id, template_name in COURSE_BADGES.items():
        url = f"{DOCEBO_URL}/learn/v1/courses/{course_id}/field/{field['id']}"
        session.put(url, json={"value": elements[template_name]}, timeout=10).raise_for_status()
    picked = ", ".join(f"course {course_id} {name!r}" for course_id, name in COURSE_BADGES.items())
    return [f"a Docebo admin picks badges in the dropdown: {picked}"]


def template_id(name: str) -> str:
    response = credly_session().get(credly_api("/badge_templates"), params={"per": 100}, timeout=10)
    response.raise_for_status()
    return next(t["id"] for t in response.json()["data"] if t["name"] == name)


def delete_template(name: str) -> None:
    requests.delete(f"{CREDLY_URL}/_admin/templates/{template_id(name)}", timeout=10).raise_for_status()
