"""Test session set-up. Airflow reads its configuration on first import, so the
environment is fixed here, before anything imports ``airflow``."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["AIRFLOW_HOME"] = str(ROOT / ".airflow-test")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"

pytest_plugins = [
    "tests.fixtures.airflow",
    "tests.fixtures.warehouse",
    "tests.fixtures.smtp",
    "tests.fixtures.credly",
    "tests.fixtures.docebo",
    "tests.fixtures.graph",
    "tests.fixtures.alm",
    "tests.fixtures.intake",
]
