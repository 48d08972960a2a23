"""Per-stream high-water marks: how far each source stream has been read, so a scheduled run
reads from where the last one stopped (a paused DAG or a failed run leaves no gap)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select, update

from credly_sync.warehouse.schema import sync_watermarks, utcnow


def read_watermark(engine: Engine, stream: str) -> datetime | None:
    """The stream's high-water mark (aware UTC), or None before its first complete run."""
    return read_watermarks(engine, [stream]).get(stream)


def read_watermarks(engine: Engine, streams: Iterable[str]) -> dict[str, datetime]:
    """The marks of those streams that have one (aware UTC)."""
    table = sync_watermarks
    with engine.connect() as connection:
        rows = connection.execute(
            select(table.c.stream, table.c.value).where(table.c.stream.in_(list(streams)))
        )
        return {stream: _utc(value) for stream, value in rows}


def write_watermark(connection: Connection, stream: str, value: datetime) -> None:
    """Set the stream's mark (in the caller's transaction, with the writes it covers)."""
    table = sync_watermarks
    changed = connection.execute(
        update(table).where(table.c.stream == stream).values(value=value, updated_at=utcnow())
    ).rowcount
    if not changed:
        connection.execute(table.insert().values(stream=stream, value=value, updated_at=utcnow()))


def advance_watermark(connection: Connection, stream: str, value: datetime) -> None:
    """Move the stream's mark forward to ``value``; never back (a late or backfill run)."""
    current = connection.execute(
        select(sync_watermarks.c.value).where(sync_watermarks.c.stream == stream)
    ).scalar_one_or_none()
    if current is None or _utc(current) < value:
        write_watermark(connection, stream, value)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
