"""What the Microsoft 365 export pushed per Graph connection, and the sync watermarks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, delete, select, update

from credly_sync.planning.frames import frame
from credly_sync.planning.profiles import PUSHED_COLUMNS
from credly_sync.warehouse.schema import m365_profile_items, utcnow


def pushed_items(engine: Engine, connection_id: str) -> pd.DataFrame:
    """The items last written to this Graph connection (PUSHED_COLUMNS)."""
    table = m365_profile_items
    statement = select(table.c.item_id, table.c.user_id, table.c.content_hash).where(
        table.c.connection_id == connection_id
    )
    with engine.connect() as connection:
        return frame((dict(row._mapping) for row in connection.execute(statement)), PUSHED_COLUMNS)


def record_written(
    connection: Connection, connection_id: str, organization_id: str, items: Iterable[dict[str, Any]]
) -> int:
    """Remember items just PUT (ITEM_COLUMNS rows): insert or replace by item id."""
    table = m365_profile_items
    rows = list(items)
    if not rows:
        return 0
    ids = [row["item_id"] for row in rows]
    known = set(
        connection.execute(
            select(table.c.item_id).where(table.c.connection_id == connection_id, table.c.item_id.in_(ids))
        ).scalars()
    )
    now = utcnow()
    for row in rows:
        values = {
            "organization_id": organization_id,
            "user_id": str(row["user_id"]),
            "user_principal_name": row["user_principal_name"],
            "content_hash": row["content_hash"],
            "certifications": int(row["certifications"]),
            "awards": int(row["awards"]),
            "updated_at": now,
        }
        if row["item_id"] in known:
            connection.execute(
                update(table)
                .where(table.c.connection_id == connection_id, table.c.item_id == row["item_id"])
                .values(**values)
            )
        else:
            connection.execute(
                table.insert().values(
                    connection_id=connection_id, item_id=row["item_id"], created_at=now, **values
                )
            )
    return len(rows)


def record_deleted(connection: Connection, connection_id: str, item_ids: Iterable[str]) -> int:
    ids = list(item_ids)
    if not ids:
        return 0
    table = m365_profile_items
    statement = delete(table).where(table.c.connection_id == connection_id, table.c.item_id.in_(ids))
    return connection.execute(statement).rowcount
