"""The badge holders table: every badge of an organisation as a sync last read it from Credly,
so "who holds badge X" is answered from the warehouse (``python -m credly_sync holders``, the
``badge_holders_view`` for BI tools) without an API call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, and_, delete, func, or_, select

from credly_sync.planning.frames import records
from credly_sync.warehouse.schema import badge_holders, utcnow

#: Columns ``upsert_holders`` reads from a badges frame (others are ignored; missing ones are null).
HOLDER_COLUMNS = (
    "badge_id",
    "badge_template_id",
    "badge_template_name",
    "recipient_email",
    "issued_to",
    "state",
    "public",
    "issued_at",
    "expires_at",
    "updated_at",
    "badge_url",
)
HOLDING_STATES = ("accepted", "pending")
CHUNK = 500


@dataclass(frozen=True)
class HoldersWrite:
    inserted: int
    updated: int
    deleted: int


def upsert_holders(
    connection: Connection, badges: pd.DataFrame, organization_id: str, *, complete: bool = False
) -> HoldersWrite:
    """Insert or update one row per badge of ``badges`` (HOLDER_COLUMNS, Credly's ISO times).

    ``complete=True`` says the frame holds every badge of the organisation (a full read): rows
    of badges it lacks (deleted in Credly) are removed. Runs in the caller's transaction.
    """
    rows = [_row(badge, organization_id) for badge in records(badges.reindex(columns=list(HOLDER_COLUMNS)))]
    rows = [row for row in rows if row["badge_id"]]
    existing = _existing(connection, organization_id, [row["badge_id"] for row in rows])
    inserts = [row for row in rows if row["badge_id"] not in existing]
    updates = [
        row for row in rows if row["badge_id"] in existing and existing[row["badge_id"]] != _compared(row)
    ]
    now = utcnow()
    for start in range(0, len(inserts), CHUNK):
        connection.execute(
            badge_holders.insert(),
            [{**row, "created_at": now, "updated_at": now} for row in inserts[start : start + CHUNK]],
        )
    for row in updates:
        connection.execute(
            badge_holders.update()
            .where(
                badge_holders.c.organization_id == organization_id,
                badge_holders.c.badge_id == row["badge_id"],
            )
            .values(**row, updated_at=now)
        )
    deleted = 0
    if complete:
        stale = set(_existing(connection, organization_id, None)) - {row["badge_id"] for row in rows}
        for chunk in _chunks(sorted(stale)):
            deleted += connection.execute(
                delete(badge_holders).where(
                    badge_holders.c.organization_id == organization_id, badge_holders.c.badge_id.in_(chunk)
                )
            ).rowcount
    return HoldersWrite(len(inserts), len(updates), deleted)


def find_holders(
    engine: Engine,
    query: str,
    *,
    organization_id: str | None = None,
    current_only: bool = True,
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """Holders of badges whose template name contains ``query`` (case-insensitive), ordered by
    template and holder. ``current_only``: accepted or pending, not expired at ``as_of``."""
    table = badge_holders
    conditions = [func.lower(table.c.badge_template_name).contains(query.strip().lower(), autoescape=True)]
    if organization_id:
        conditions.append(table.c.organization_id == organization_id)
    if current_only:
        moment = as_of or utcnow()
        conditions.append(table.c.state.in_(HOLDING_STATES))
        conditions.append(or_(table.c.expires_at.is_(None), table.c.expires_at > moment))
    columns = (
        table.c.badge_template_name,
        table.c.issued_to,
        table.c.recipient_email,
        table.c.state,
        table.c.issued_at,
        table.c.expires_at,
        table.c.organization_id,
        table.c.badge_id,
    )
    statement = (
        select(*columns)
        .where(and_(*conditions))
        .order_by(table.c.badge_template_name, func.lower(table.c.recipient_email), table.c.badge_id)
    )
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(statement)]


def _row(badge: dict[str, Any], organization_id: str) -> dict[str, Any]:
    return {
        "organization_id": organization_id,
        "badge_id": badge["badge_id"],
        "badge_template_id": badge["badge_template_id"] or "",
        "badge_template_name": badge["badge_template_name"],
        "recipient_email": badge["recipient_email"] or "",
        "issued_to": badge["issued_to"],
        "state": badge["state"] or "unknown",
        "public": None if badge["public"] is None else bool(badge["public"]),
        "issued_at": _moment(badge["issued_at"]),
        "expires_at": _moment(badge["expires_at"]),
        "badge_updated_at": _moment(badge["updated_at"]),
        "badge_url": badge["badge_url"],
    }


_COMPARED = ("badge_template_name", "recipient_email", "issued_to", "state", "public", "badge_url")
_COMPARED_TIMES = ("issued_at", "expires_at", "badge_updated_at")


def _compared(row: dict[str, Any]) -> tuple[Any, ...]:
    """What decides whether a stored row needs an update (times to the second, in UTC)."""
    times = tuple(_second(row[name]) for name in _COMPARED_TIMES)
    return (*(row[name] for name in _COMPARED), *times)


def _existing(
    connection: Connection, organization_id: str, badge_ids: Sequence[str] | None
) -> dict[str, tuple[Any, ...]]:
    table = badge_holders
    columns = [table.c[name] for name in (*_COMPARED, *_COMPARED_TIMES)]
    base = select(table.c.badge_id, *columns).where(table.c.organization_id == organization_id)
    if badge_ids is None:
        statements = [base]
    else:
        statements = [base.where(table.c.badge_id.in_(chunk)) for chunk in _chunks(list(badge_ids))]
    found: dict[str, tuple[Any, ...]] = {}
    for statement in statements:
        for row in connection.execute(statement):
            found[row.badge_id] = _compared(dict(row._mapping))
    return found


def _moment(value: Any) -> datetime | None:
    """A Credly ISO time (or a datetime) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def _second(value: Any) -> str | None:
    """SQLite hands times back naive, PostgreSQL aware: compare them as UTC text."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S")


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]
