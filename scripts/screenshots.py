"""Screenshots of a running Airflow UI for the README: the dashboard, the DAG list, the newest
successful ``lms_to_credly`` run and the Credly sync page, as PNGs in ``docs/screenshots/``.

    python scripts/screenshots.py                       # the UI `make ui` started (.airflow/ui.json)
    python scripts/screenshots.py --base-url http://127.0.0.1:8080 --username admin --password …

Needs Debian's chromium and chromium-driver (`make test-deps`); drives them like the browser
check does (include/browser.py).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path

import requests

from include.browser import Seen, chromium, missing_browser, take_screenshots

ROOT = Path(__file__).resolve().parents[1]
UI_FILE = Path(os.environ.get("AIRFLOW_HOME") or ROOT / ".airflow") / "ui.json"
DAG_ID = "lms_to_credly"


def newest_successful_run(base_url: str, username: str, password: str) -> str:
    """The run id of the newest successful ``lms_to_credly`` run, through the REST API."""
    login = requests.post(
        f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30
    )
    login.raise_for_status()
    response = requests.get(
        f"{base_url}/api/v2/dags/{DAG_ID}/dagRuns",
        params={"state": "success", "order_by": "-end_date", "limit": 1},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        timeout=30,
    )
    response.raise_for_status()
    runs = response.json()["dag_runs"]
    if not runs:
        raise SystemExit(f"{DAG_ID} has no successful run at {base_url} yet: let `make ui` finish its runs")
    return runs[0]["dag_run_id"]


def screenshots(ui: Mapping[str, str], out: Path) -> Seen:
    """Log into the UI ``ui`` (base_url, username, password) and save the PNGs in ``out``."""
    if reason := missing_browser():
        raise SystemExit(reason)
    base_url, username, password = ui["base_url"].rstrip("/"), ui["username"], ui["password"]
    run_id = newest_successful_run(base_url, username, password)
    with chromium() as driver:
        return take_screenshots(driver, base_url, username, password, out, (DAG_ID, run_id))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ui", type=Path, default=UI_FILE, help="JSON with base_url, username, password")
    parser.add_argument("--base-url", help="the UI's address (default: from --ui)")
    parser.add_argument("--username", help="default: from --ui")
    parser.add_argument("--password", help="default: from --ui")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    ui = {"base_url": args.base_url, "username": args.username, "password": args.password}
    if not all(ui.values()):
        if not args.ui.is_file():
            parser.error(f"{args.ui} not found: start the UI with `make ui`, or give --base-url etc.")
        ui = {key: value or json.loads(args.ui.read_text())[key] for key, value in ui.items()}
    for path in screenshots(ui, args.out).screenshots:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
