"""Adobe Learning Manager badge.csv, both ways (lms-apis.md §2.8), and the ALM badge mappings.

**Export**: the active Credly templates of the Credly Badge Templates table as an ALM badge.csv
(``id`` and ``externalBadgeId`` = the Credly template id, ``externalBadgeProvider`` = Credly,
``state`` Active), ready for ALM's migration. ALM allows 25 characters in ``badgeName``: a longer
(or duplicate) template name is written as a proposed shorter one and reported with its line,
never cut silently. Credly image URLs are not in the warehouse, so ``imageUrl`` is a
content-folder path (``badges/<template id>.png`` by default) for the images migrated with it.

**Import**: an ALM badge.csv into the ``alm_badge_mappings`` table, one row per ALM badge that
is a Credly badge. This is a mapping kind of its own, beside the Docebo-shaped Credly
Integration Mappings (whose learning plan and certification rules it leaves alone): an ALM
badge maps to exactly one Credly template, and the sync finds the mapping of a badge it reads
from the API by the badge.csv ``id`` or, since a migration gives badges ALM ids of its own, by
its (unique) name. Every row is checked first; each bad cell is reported with line, column and
reason, good rows are written in one transaction.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import Engine, select

from credly_sync.warehouse.mappings import CONTROL_CHARACTER, CREDLY_ID, RowError
from credly_sync.warehouse.schema import alm_badge_mappings, credly_badge_templates, utcnow

ID, NAME, CREATED, MODIFIED = "id", "badgeName", "badgeCreationDate", "lastModifiedDate"
STATE, IMAGE, EXTERNAL_ID, PROVIDER = "state", "imageUrl", "externalBadgeId", "externalBadgeProvider"
# Base columns in the sample's order; the two Credly columns after imageUrl (position unconfirmed).
BADGE_CSV_COLUMNS = (ID, NAME, CREATED, MODIFIED, STATE, IMAGE, EXTERNAL_ID, PROVIDER)
REQUIRED_COLUMNS = (ID, NAME, CREATED, STATE, IMAGE, EXTERNAL_ID, PROVIDER)
MAX_NAME = 25
STATES = ("Active", "Retired")
CREDLY = "Credly"  # the exact spelling ALM expects is unconfirmed; read case-insensitively
DEFAULT_IMAGE_URL = "badges/{badge_template_id}.png"
ALM_TIME = re.compile(r"^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
FIRST_YEAR, LAST_YEAR = 1981, 2038


@dataclass(frozen=True)
class ShortenedName:
    """A template whose name did not fit ALM's badgeName: the line it is on and the proposal."""

    line: int
    badge_template_id: str
    name: str
    proposed: str

    def __str__(self) -> str:
        why = (
            f"{len(self.name)} characters, ALM allows {MAX_NAME}"
            if len(self.name) > MAX_NAME
            else "a duplicate"
        )
        return (
            f"line {self.line}, column {NAME}: template {self.badge_template_id} is named {self.name!r} "
            f"({why}); written as the proposed {self.proposed!r}: edit the file to choose another"
        )


@dataclass
class BadgeCsvImport:
    """What an import wrote, the rows it refused against the table (a name another badge has)
    and what it noticed about rows it wrote (an unknown or archived template)."""

    inserted: int = 0
    updated: int = 0
    rejected: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)


# --- export ---------------------------------------------------------------------------------------


def export_badge_csv(
    engine: Engine, stream: TextIO, *, image_url: str = DEFAULT_IMAGE_URL
) -> tuple[int, list[ShortenedName]]:
    """Write the active templates (oldest first, so an older one keeps a shared name) as
    badge.csv; return the rows written and each name that had to be proposed anew."""
    table = credly_badge_templates
    query = (
        select(table.c.badge_template_id, table.c.badge_template_name, table.c.created_at, table.c.updated_at)
        .where(table.c.is_active.is_(True))
        .order_by(table.c.created_at, table.c.badge_template_id)
    )
    with engine.connect() as connection:
        templates = connection.execute(query).all()
    writer = csv.DictWriter(stream, fieldnames=BADGE_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    taken: set[str] = set()
    shortened: list[ShortenedName] = []
    for line, (template_id, name, created, modified) in enumerate(templates, start=2):
        clean = " ".join(str(name).split())
        proposed = propose_badge_name(clean, taken)
        taken.add(proposed.casefold())
        if proposed != clean:
            shortened.append(ShortenedName(line, template_id, str(name), proposed))
        writer.writerow(
            {
                ID: template_id,
                NAME: proposed,
                CREATED: alm_time(created),
                MODIFIED: alm_time(modified) if modified else "",
                STATE: "Active",
                IMAGE: image_url.format(badge_template_id=template_id),
                EXTERNAL_ID: template_id,
                PROVIDER: CREDLY,
            }
        )
    return len(templates), shortened


def propose_badge_name(name: str, taken: Iterable[str] = ()) -> str:
    """``name`` if it fits 25 characters and is not taken (case-insensitive), else the longest
    run of whole leading words that fits (a first word longer than 25 is cut), then numbered
    ``… 2``, ``… 3`` until it is free."""
    used = {text.casefold() for text in taken}
    if len(name) <= MAX_NAME and name.casefold() not in used:
        return name
    base = _words_within(name, MAX_NAME)
    if base.casefold() not in used:
        return base
    number = 2
    while True:
        suffix = f" {number}"
        candidate = _words_within(name, MAX_NAME - len(suffix)) + suffix
        if candidate.casefold() not in used:
            return candidate
        number += 1


def _words_within(name: str, limit: int) -> str:
    kept = ""
    for word in name.split():
        longer = f"{kept} {word}" if kept else word
        if len(longer) > limit:
            break
        kept = longer
    return kept or name[:limit].rstrip()


def alm_time(value: datetime) -> str:
    """ALM's badge.csv time: ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC."""
    moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --- import ---------------------------------------------------------------------------------------


def parse_badge_csv(stream: TextIO) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    """Read an ALM badge.csv; return the good rows as ``(line, mapping row)`` and an error per
    bad cell or row."""
    reader = csv.DictReader(stream)
    header = [name.lstrip("\ufeff") for name in reader.fieldnames or []]
    reader.fieldnames = header
    unknown = [name for name in header if name not in BADGE_CSV_COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if unknown or missing:
        reasons = [f"unknown column {name!r}" for name in unknown] + [
            f"missing column {name!r}" for name in missing
        ]
        return [], [RowError(1, "header", f"{'; '.join(reasons)} (columns: {', '.join(BADGE_CSV_COLUMNS)})")]
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        row, row_errors = _parse_badge_row(record, line)
        badge_id, name = row.get("alm_badge_id"), row.get("badge_name")
        if badge_id and badge_id in ids:
            row_errors.append(RowError(line, ID, f"same id as line {ids[badge_id]}"))
        if name and name.casefold() in names:
            row_errors.append(
                RowError(line, NAME, f"same name as line {names[name.casefold()]} (names identify badges)")
            )
        if badge_id:
            ids.setdefault(badge_id, line)
        if name:
            names.setdefault(name.casefold(), line)
        if row_errors:
            errors.extend(row_errors)
        else:
            rows.append((line, row))
    return rows, errors


def _parse_badge_row(record: dict[str, str | None], line: int) -> tuple[dict[str, Any], list[RowError]]:
    if None in record:  # more cells than columns
        return {}, [RowError(line, "row", f"{len(record[None] or [])} cell(s) more than the header has")]  # type: ignore[index]
    values = {column: (record.get(column) or "").strip() for column in BADGE_CSV_COLUMNS}
    errors: list[RowError] = []

    def problem(column: str, reason: str) -> None:
        errors.append(RowError(line, column, reason))

    badge_id = values[ID]
    if not badge_id:
        problem(ID, "required (the badge id in the source system)")
    elif CONTROL_CHARACTER.search(badge_id) or len(badge_id) > 64:
        problem(ID, f"{badge_id!r} must be at most 64 characters without control characters")
    name = " ".join(values[NAME].split())
    if not name:
        problem(NAME, "required")
    elif len(name) > MAX_NAME:
        problem(
            NAME,
            f"{name!r} has {len(name)} characters, ALM allows {MAX_NAME}: try {propose_badge_name(name)!r}",
        )
    elif CONTROL_CHARACTER.search(name):
        problem(NAME, f"{name!r} contains a control character")
    created = _time_cell(values[CREATED], CREATED, required=True, problem=problem)
    modified = _time_cell(values[MODIFIED], MODIFIED, required=False, problem=problem)
    state = values[STATE]
    if state not in STATES:
        problem(STATE, f"{state!r} must be Active or Retired" if state else "required: Active or Retired")
    image = values[IMAGE]
    if not image:
        problem(IMAGE, "required (a content-folder path or a web URL)")
    elif "://" in image and not image.lower().startswith(("http://", "https://")):
        problem(IMAGE, f"{image!r}: a web URL must start with http:// or https://")
    template_id = values[EXTERNAL_ID]
    if not template_id:
        problem(EXTERNAL_ID, "maps nothing: no Credly badge template id (an ALM-only badge is not imported)")
    elif not CREDLY_ID.match(template_id):
        problem(
            EXTERNAL_ID,
            f"{template_id!r} is not a Credly badge template id (a lower-case UUID such as "
            "38348470-6f69-4e80-8bd3-d8af504959c3)",
        )
    provider = values[PROVIDER]
    if provider.casefold() != CREDLY.casefold():
        problem(PROVIDER, f"{provider!r} must be Credly" if provider else "required: Credly")
    row = {
        "alm_badge_id": badge_id or None,
        "badge_name": name or None,
        "badge_template_id": template_id,
        "external_badge_provider": CREDLY,
        "state": state,
        "image_url": image,
        "badge_created_at": created,
        "badge_modified_at": modified,
    }
    return row, errors


def _time_cell(text: str, column: str, *, required: bool, problem: Any) -> datetime | None:
    if not text:
        if required:
            problem(column, "required: YYYY-MM-DDTHH:MM:SS.mmmZ")
        return None
    match = ALM_TIME.match(text)
    if not match:
        problem(column, f"{text!r} must be YYYY-MM-DDTHH:MM:SS.mmmZ (e.g. 2026-01-31T09:30:00.000Z)")
        return None
    if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        problem(column, f"{text!r}: the year must be between {FIRST_YEAR} and {LAST_YEAR}")
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        problem(column, f"{text!r} is not a real date and time")
        return None


def import_alm_badges(engine: Engine, rows: Iterable[tuple[int, dict[str, Any]]]) -> BadgeCsvImport:
    """Insert or update ``(line, row)`` rows (keyed by the badge.csv id) in one transaction; a
    row whose name another stored badge has is refused (names identify migrated badges). A
    template not in the Credly Badge Templates table, or archived there, is imported and warned
    about by line: the sync reports that badge's achievements until the template is active."""
    table, templates = alm_badge_mappings, credly_badge_templates
    report = BadgeCsvImport()
    with engine.begin() as connection:
        active = dict(connection.execute(select(templates.c.badge_template_id, templates.c.is_active)).all())
        stored = connection.execute(select(table.c.alm_badge_id, table.c.badge_name)).all()
        existing = {badge_id for badge_id, _ in stored}
        named = {name.casefold(): badge_id for badge_id, name in stored}
        for line, row in rows:
            holder = named.get(row["badge_name"].casefold())
            if holder is not None and holder != row["alm_badge_id"]:
                report.rejected.append(
                    RowError(line, NAME, f"{row['badge_name']!r} is already the name of ALM badge {holder}")
                )
                continue
            named[row["badge_name"].casefold()] = row["alm_badge_id"]
            template_id = row["badge_template_id"]
            if template_id not in active:
                report.warnings.append(
                    RowError(line, EXTERNAL_ID, f"{template_id} is not in the Credly Badge Templates table")
                )
            elif not active[template_id]:
                report.warnings.append(RowError(line, EXTERNAL_ID, f"{template_id} is archived in Credly"))
            if row["alm_badge_id"] in existing:
                connection.execute(
                    table.update()
                    .where(table.c.alm_badge_id == row["alm_badge_id"])
                    .values(**row, updated_at=utcnow())
                )
                report.updated += 1
            else:
                connection.execute(table.insert().values(**row))
                existing.add(row["alm_badge_id"])
                report.inserted += 1
    return report


def read_alm_badge_mappings(engine: Engine) -> list[dict[str, Any]]:
    """Every ALM badge mapping (badge.csv id, name, Credly template, state, ...), by id."""
    table = alm_badge_mappings
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(table).order_by(table.c.alm_badge_id))]
