"""Shared set-up for DAG runs: a PostgreSQL warehouse with the sample settings loaded."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.fixtures.warehouse import load_sample_settings


@pytest.fixture
def configured_warehouse(postgres_warehouse: Engine, airflow_db: None) -> Engine:
    """The PostgreSQL warehouse (as ``credly_sync_warehouse``) holding the sample settings."""
    return load_sample_settings(postgres_warehouse)
