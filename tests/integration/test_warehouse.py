"""The warehouse on SQLite and PostgreSQL: migrations, every table, settings and mappings I/O."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError

from credly_sync.settings import load_settings, write_setting
from credly_sync.warehouse.engine import current_revision, downgrade, head_revision, migrate, warehouse_engine
from credly_sync.warehouse.mappings import export_mappings, import_mappings, parse_mapping_csv
from credly_sync.warehouse.schema import (
    course_badge_templates,
    credly_badge_templates,
    event_inbox,
    issued_badge_ledger,
    metadata,
    operation_journal,
)
from tests.unit.test_mapping_csv import HEADER, T1, T2


def test_migrated_schema_matches_the_code(warehouse: Engine) -> None:
    assert current_revision(warehouse) == head_revision()
    with warehouse.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_name": lambda name, kind, _: kind != "table" or name in metadata.tables},
        )
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_migrations_downgrade_and_upgrade_again(warehouse: Engine) -> None:
    downgrade(warehouse, "base")
    assert not set(metadata.tables) & set(inspect(warehouse).get_table_names())
    migrate(warehouse)
    migrate(warehouse)  # idempotent
    assert set(metadata.tables) <= set(inspect(warehouse).get_table_names())


def test_the_airflow_connection_reaches_the_same_warehouse(warehouse: Engine) -> None:
    write_setting(warehouse, "SYNC_REVOCATION", "true")
    engine = warehouse_engine()
    assert engine.url.get_backend_name() == warehouse.url.get_backend_name()
    with engine.connect() as connection:
        assert (
            connection.execute(select(metadata.tables["integration_settings"].c.value)).scalar_one() == "true"
        )


def test_every_table_round_trips(warehouse: Engine) -> None:
    expires = datetime(2027, 3, 1, tzinfo=UTC)
    with warehouse.begin() as connection:
        connection.execute(
            credly_badge_templates.insert().values(
                badge_template_id="t-1", badge_template_name="Cloud", is_active=True
            )
        )
        connection.execute(course_badge_templates.insert().values(course_id="42", badge_template_id="t-1"))
        connection.execute(
            operation_journal.insert().values(
                op_key="issue:t-1:10001", kind="issue", target="10001", payload={"badge_template_id": "t-1"}
            )
        )
        connection.execute(
            issued_badge_ledger.insert().values(
                credly_badge_id="b-1",
                lms_user_id="10001",
                learning_object_type="course",
                learning_object_id="42",
                badge_template_id="t-1",
                recipient_email="learner000001@example.com",
                expires_at=expires,
            )
        )
        connection.execute(
            event_inbox.insert().values(source="credly", event_id="e-1", payload={"id": "e-1"})
        )
    with warehouse.connect() as connection:
        template = connection.execute(select(credly_badge_templates)).one()
        journal = connection.execute(select(operation_journal)).one()
        ledger = connection.execute(select(issued_badge_ledger)).one()
        inbox = connection.execute(select(event_inbox)).one()
    assert template.is_active is True and template.created_at is not None
    assert (journal.status, journal.attempts, journal.payload) == ("pending", 0, {"badge_template_id": "t-1"})
    assert ledger.expires_at.replace(tzinfo=UTC) == expires
    assert (inbox.status, inbox.payload) == ("received", {"id": "e-1"})


def test_the_inbox_refuses_a_duplicate_event(warehouse: Engine) -> None:
    with warehouse.begin() as connection:
        connection.execute(event_inbox.insert().values(source="credly", event_id="e-1", payload={}))
    with pytest.raises(IntegrityError), warehouse.begin() as connection:
        connection.execute(event_inbox.insert().values(source="credly", event_id="e-1", payload={}))


def test_settings_are_stored_and_loaded(warehouse: Engine) -> None:
    for key, value in {
        "BATCH_SYNC_START_DATE": "2026-02-01",
        "NOTIFICATION_MAIL_ID": "admin@example.com",
        "COURSE_ADDITIONAL_FIELD": "Badge",
        "CREDLY_INTEGRATION_MASTER": "CREDLY",
    }.items():
        write_setting(warehouse, key, value)
    write_setting(warehouse, "COURSE_ADDITIONAL_FIELD", "Credly Badge")
    settings = load_settings(warehouse)
    assert settings.course_additional_field == "Credly Badge"
    assert not settings.lms_certifications_to_credly


def test_mappings_import_updates_by_key_and_exports_the_same_csv(warehouse: Engine) -> None:
    first = HEADER + f"{T1},Cloud,,true,,true\n{T2},Data,7,false,,true\n"
    rows, errors = parse_mapping_csv(io.StringIO(first))
    assert errors == []
    assert (import_mappings(warehouse, rows).inserted, export_mappings(warehouse)) == (2, first)
    second = HEADER + f"{T2},Data v2,7,false,,false\n"
    report = import_mappings(warehouse, parse_mapping_csv(io.StringIO(second))[0])
    assert (report.inserted, report.updated) == (0, 1)
    assert export_mappings(warehouse).splitlines()[2] == f"{T2},Data v2,7,false,,false"
