"""Shared set-up for DAG runs: a PostgreSQL warehouse with the sample settings loaded."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Engine

from credly_sync.settings import write_setting

SAMPLE_SETTINGS = Path(__file__).resolve().parents[2] / "include" / "sample" / "settings.csv"


@pytest.fixture
def configured_warehouse(postgres_warehouse: Engine, airflow_db: None) -> Engine:
    """The PostgreSQL warehouse (as ``credly_sync_warehouse``) holding the sample settings."""
    with SAMPLE_SETTINGS.open(newline="") as stream:
        for row in csv.DictReader(stream):
            write_setting(postgres_warehouse, row["key"], row["value"] or "")
    return postgres_warehouse
