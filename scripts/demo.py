"""``make demo``: set up a local credly-sync and run the main jobs once on the embedded default.

Airflow home in ``.airflow/`` (SQLite metadata database), the warehouse in
``.airflow/warehouse.db``, connections to local Credly and Docebo simulators and to an SMTP sink
(mail lands in ``.airflow/mail/``); then ``airflow dags test`` of each DAG in order and the
warehouse status. Every step is idempotent, so the demo can be run again.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
HOME = Path(os.environ["AIRFLOW_HOME"])
BIN = Path(sys.executable).parent
SAMPLE = ROOT / "include" / "sample"

# Credentials of the local simulators only; real ones belong in Airflow connections.
CREDLY_PORT, DOCEBO_PORT, SMTP_PORT = 8801, 8802, 8825
CREDLY_ORG, CREDLY_TOKEN = "demo-org", "demo-credly-token"
DOCEBO_CLIENT, DOCEBO_SECRET = "demo-client", "demo-docebo-secret"

CONNECTIONS = {
    "credly_default": {
        "conn_type": "http",
        "host": f"http://127.0.0.1:{CREDLY_PORT}",
        "login": CREDLY_ORG,
        "password": CREDLY_TOKEN,
    },
    "docebo_default": {
        "conn_type": "http",
        "host": f"http://127.0.0.1:{DOCEBO_PORT}",
        "login": DOCEBO_CLIENT,
        "password": DOCEBO_SECRET,
    },
    "credly_sync_warehouse": {"conn_type": "sqlite", "host": str(HOME / "warehouse.db")},
    "smtp_default": {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": SMTP_PORT,
        "extra": json.dumps(
            {"disable_tls": True, "disable_ssl": True, "from_email": "credly-sync@localhost"}
        ),
    },
}

SIMULATORS = {
    "credly": (
        CREDLY_PORT,
        [
            "-m",
            "include.simulators.credly",
            "--port",
            str(CREDLY_PORT),
            "--org",
            CREDLY_ORG,
            "--token",
            CREDLY_TOKEN,
            "--seed",
            "7",
            "--templates",
            "6",
            "--learners",
            "40",
            "--badges",
            "30",
            "--earner-id-share",  # a third of the badges were issued outside credly-sync
            "0.66",
        ],
    ),
    "docebo": (
        DOCEBO_PORT,
        [
            "-m",
            "include.simulators.docebo",
            "--port",
            str(DOCEBO_PORT),
            "--client-id",
            DOCEBO_CLIENT,
            "--client-secret",
            DOCEBO_SECRET,
            "--seed",
            "7",
            "--learners",
            "40",
        ],
    ),
    "smtp": (
        SMTP_PORT,
        ["-m", "include.simulators.smtp", "--port", str(SMTP_PORT), "--maildir", str(HOME / "mail")],
    ),
}

# The Airflow pools the apply tasks take slots of (credly_sync.operators.apply.POOLS).
POOLS = {
    "credly_api": (16, "calls in flight to the Credly API from credly-sync apply tasks"),
    "lms_api": (8, "calls in flight to the LMS API from credly-sync apply tasks"),
}

# (dag id, run conf): templates first, then the dropdown, then the first (full) batch syncs.
MAIN_DAGS = (
    ("credly_templates", None),
    ("credly_lms_dropdown", None),
    ("lms_to_credly", {"full_reconcile": True}),
    ("credly_to_lms", {"full_reconcile": True}),
)
# What a course admin does in Docebo's UI after the dropdown exists: pick a course's badge.
COURSE_BADGES = {101: "Python Foundations Level 1", 102: "Data Engineering Level 1"}


def run(*args: str) -> None:
    print(f"\n$ {' '.join(args)}", flush=True)
    subprocess.run(args, check=True, cwd=ROOT)


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start_simulators() -> list[subprocess.Popen[bytes]]:
    processes = []
    for name, (port, args) in SIMULATORS.items():
        if port_open(port):
            raise SystemExit(
                f"port {port} for the {name} simulator is taken; stop what listens there and retry"
            )
        log = (HOME / f"{name}-simulator.log").open("wb")
        processes.append(
            subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        )
        deadline = time.monotonic() + 30
        while not port_open(port):
            if processes[-1].poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the {name} simulator did not start; see {log.name}")
            time.sleep(0.2)
        print(f"{name} simulator listening on 127.0.0.1:{port} (log: {log.name})", flush=True)
    return processes


def pick_course_badges() -> None:
    """Set the badge dropdown of a few demo courses, through the Docebo simulator's API."""
    base = f"http://127.0.0.1:{DOCEBO_PORT}"
    form = {"client_id": DOCEBO_CLIENT, "client_secret": DOCEBO_SECRET, "grant_type": "client_credentials"}
    token = requests.post(f"{base}/oauth2/token", data=form, timeout=10).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    fields = session.get(f"{base}/learn/v1/courses/field", timeout=10).json()["data"]["items"]
    field = next(f for f in fields if f["type"] == "dropdown")
    elements = {option["label"]: option["id"] for option in field["options"]}
    for course_id, template_name in COURSE_BADGES.items():
        url = f"{base}/learn/v1/courses/{course_id}/field/{field['id']}"
        session.put(url, json={"value": elements[template_name]}, timeout=10).raise_for_status()
        print(f"course {course_id} now earns the badge {template_name!r}", flush=True)


def main() -> None:
    HOME.mkdir(parents=True, exist_ok=True)
    airflow, python = str(BIN / "airflow"), str(BIN / "python")
    run(airflow, "db", "migrate")
    connections_file = HOME / "connections.json"
    connections_file.write_text(json.dumps(CONNECTIONS, indent=2))
    run(airflow, "connections", "import", "--overwrite", str(connections_file))
    for pool, (slots, description) in POOLS.items():
        run(airflow, "pools", "set", pool, str(slots), description)
    run(python, "-m", "credly_sync", "migrate")
    run(python, "-m", "credly_sync", "settings", "import", str(SAMPLE / "settings.csv"))
    run(python, "-m", "credly_sync", "mappings", "import", str(SAMPLE / "mappings.csv"))
    processes = start_simulators()
    try:
        for dag_id, conf in MAIN_DAGS:
            if dag_id == "lms_to_credly":
                pick_course_badges()
            run(airflow, "dags", "test", dag_id, *(["--conf", json.dumps(conf)] if conf else []))
        run(python, "-m", "credly_sync", "status")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    print(f"\nDone. Mail sent by the DAGs is in {HOME / 'mail'}; run again at will.")


if __name__ == "__main__":
    main()
