"""Credly Integration Mappings: CSV import/export, validation and the active-mapping queries.

A row is keyed by (badge template, learning plan, certification code): one learning plan or
certification code may map to several templates. Import checks every row first; bad rows are
reported with line, column and reason, good rows are written in one transaction, so a run never
leaves a half-written row behind. :func:`mapping_row_problems` is the one definition of a
usable row: the import applies it, and :func:`usable_active_mappings` applies it again to rows
that reached the table another way (SQL), so a sync skips and reports them instead of crashing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
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
# Credly ids are UUIDs in lower case (credly-api.md §5, the simulator's uuid4); the API matches
# them exactly, so an upper-case or braced form would never find its template.
CREDLY_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Docebo ids are positive integers; a leading zero would never equal the LMS's own "7".
LMS_ID = re.compile(r"^[1-9][0-9]*$")
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


@dataclass(frozen=True)
class MappingProblem:
    """A stored active mapping a run cannot use: its row id, the column and why."""

    mapping_id: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"mapping {self.mapping_id}, column {self.column}: {self.reason}"


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
    errors.extend(RowError(line, column, reason) for column, reason in mapping_row_problems(row))
    return row, errors


def mapping_row_problems(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(column, reason)`` for each value of a mapping row that a sync could not use.

    ``row`` holds MAPPING_COLUMNS, typed (None for an empty value); a boolean that is absent
    (unparsed) is not judged here.
    """
    problems: list[tuple[str, str]] = []
    template_id = row.get("badge_template_id")
    if template_id is None or template_id == "":
        problems.append(("badge_template_id", "required"))
    elif not isinstance(template_id, str) or not CREDLY_ID.match(template_id):
        problems.append(
            (
                "badge_template_id",
                f"{template_id!r} is not a Credly badge template id (a lower-case UUID such as "
                "38348470-6f69-4e80-8bd3-d8af504959c3, shown in the template's Details tab)",
            )
        )
    learning_plan_id = row.get("learning_plan_id")
    if learning_plan_id is not None and not LMS_ID.match(str(learning_plan_id)):
        problems.append(
            (
                "learning_plan_id",
                f"{learning_plan_id!r} is not a Docebo learning plan id (a whole number above 0, "
                "without leading zeros, as in the first column of the learning plan list)",
            )
        )
    code = row.get("certification_code")
    if code is not None:
        if not isinstance(code, str) or code.strip() == "":
            problems.append(("certification_code", f"{code!r} must be text; leave it empty for none"))
        elif code != code.strip():
            problems.append(("certification_code", f"{code!r} has blanks before or after the code"))
        elif CONTROL_CHARACTER.search(code):
            problems.append(("certification_code", f"{code!r} contains a control character"))
    if row.get("import_as_external_training") is False and learning_plan_id is None and code is None:
        problems.append(
            (
                "learning_plan_id",
                "maps nothing: set learning_plan_id, certification_code or import_as_external_training",
            )
        )
    return problems


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


def split_usable_mappings(
    rows: Iterable[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[MappingProblem]]:
    """Stored mapping rows (with ``id``) -> the usable ones and a problem per bad value of the rest."""
    usable: list[dict[str, Any]] = []
    problems: list[MappingProblem] = []
    for row in rows:
        found = mapping_row_problems(row)
        if found:
            problems.extend(MappingProblem(int(row["id"]), column, reason) for column, reason in found)
        else:
            usable.append(dict(row))
    return usable, problems


def usable_active_mappings(engine: Engine) -> tuple[list[dict[str, Any]], list[MappingProblem]]:
    """Active mappings a sync can use, and the problems of those it must skip and report."""
    return split_usable_mappings(active_mappings(engine))
