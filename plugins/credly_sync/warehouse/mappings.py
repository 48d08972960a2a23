"""Credly Integration Mappings: CSV import/export and the active-mapping query.

A row is keyed by (badge template, learning plan, certification code). Import checks every
row first; bad rows are reported with line, column and reason, good rows are written in one
transaction, so a run never leaves a half-written row behind.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from sqlalchemy import Engine, select

from credly_sync.warehouse.schema import credly_integration_mappings, utcnow

MAPPING_COLUMNS = (
    "badge_template_id",
    "badge_template_name",
    "learning_plan_id",
    "import_as_external_training",
    "certification_code",
    "is_active",
)
BOOLEAN_DEFAULTS = {"import_as_external_training": False, "is_active": True}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0


def mapping_key(row: dict[str, Any]) -> tuple[str, str, str]:
    return (row["badge_template_id"], row["learning_plan_id"] or "", row["certification_code"] or "")


def parse_mapping_csv(stream: TextIO) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Read mapping rows from CSV; return the good rows and an error per bad cell or row."""
    reader = csv.DictReader(stream)
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in MAPPING_COLUMNS]
    missing = [name for name in ("badge_template_id",) if name not in header]
    if unknown or missing:
        reasons = [f"unknown column {name!r}" for name in unknown] + [
            f"missing column {name!r}" for name in missing
        ]
        return [], [RowError(1, "header", f"{'; '.join(reasons)} (columns: {', '.join(MAPPING_COLUMNS)})")]
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str, str], int] = {}
    for record in reader:
        line = reader.line_num
        row, row_errors = _parse_mapping_row(record, line)
        if not row_errors:
            key = mapping_key(row)
            if key in seen:
                row_errors.append(RowError(line, "badge_template_id", f"same mapping as line {seen[key]}"))
            seen.setdefault(key, line)
        if row_errors:
            errors.extend(row_errors)
        else:
            rows.append(row)
    return rows, errors


def _parse_mapping_row(record: dict[str, str | None], line: int) -> tuple[dict[str, Any], list[RowError]]:
    errors: list[RowError] = []
    row: dict[str, Any] = {}
    for column in MAPPING_COLUMNS:
        value = (record.get(column) or "").strip()
        if column in BOOLEAN_DEFAULTS:
            if value == "":
                row[column] = BOOLEAN_DEFAULTS[column]
            elif value in ("true", "false"):
                row[column] = value == "true"
            else:
                errors.append(RowError(line, column, f"{value!r} must be 'true' or 'false' (lower case)"))
        else:
            row[column] = value or None
    if not row["badge_template_id"]:
        errors.append(RowError(line, "badge_template_id", "required"))
    elif not errors and not (
        row["learning_plan_id"] or row["certification_code"] or row["import_as_external_training"]
    ):
        errors.append(
            RowError(
                line,
                "learning_plan_id",
                "maps nothing: set learning_plan_id, certification_code or import_as_external_training",
            )
        )
    return row, errors


def import_mappings(engine: Engine, rows: Iterable[dict[str, Any]]) -> ImportReport:
    """Insert or update good rows (keyed by template, learning plan, certification) in one transaction."""
    table = credly_integration_mappings
    report = ImportReport()
    with engine.begin() as connection:
        existing = {mapping_key(dict(r._mapping)): r.id for r in connection.execute(select(table))}
        for row in rows:
            mapping_id = existing.get(mapping_key(row))
            if mapping_id is None:
                connection.execute(table.insert().values(**row))
                report.inserted += 1
            else:
                connection.execute(
                    table.update().where(table.c.id == mapping_id).values(**row, updated_at=utcnow())
                )
                report.updated += 1
    return report


def export_mappings(engine: Engine) -> str:
    """All mappings as CSV text, in the import format."""
    table = credly_integration_mappings
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=MAPPING_COLUMNS, lineterminator="\n")
    writer.writeheader()
    with engine.connect() as connection:
        for row in connection.execute(select(*[table.c[c] for c in MAPPING_COLUMNS]).order_by(table.c.id)):
            writer.writerow({c: _csv_value(v) for c, v in row._mapping.items()})
    return out.getvalue()


def _csv_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def active_mappings(engine: Engine) -> list[dict[str, Any]]:
    """Mappings with IsActive true, as dicts."""
    table = credly_integration_mappings
    with engine.connect() as connection:
        return [
            dict(r._mapping) for r in connection.execute(select(table).where(table.c.is_active.is_(True)))
        ]
