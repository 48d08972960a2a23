"""The ledger of badges this package issued: Credly badge id <-> LMS user and learning object.

The Credly -> LMS direction skips these badges, and revocation only touches them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from credly_sync.planning.frames import frame
from credly_sync.planning.lms_to_credly import LEDGER_COLUMNS
from credly_sync.warehouse.schema import issued_badge_ledger, utcnow

LOOKUP_CHUNK = 1000  # learner or badge ids per IN (...) look-up

LEDGER_DETAIL_COLUMNS = (
    *LEDGER_COLUMNS,  # what the planner reads: badge, learner, template, learning object
    "recipient_email",
    "expires_at",
    "created_at",
)


def read_ledger(
    engine: Engine,
    *,
    live_only: bool = True,
    lms_user_ids: Iterable[str] | None = None,
    credly_badge_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The ledger's live rows (not revoked or replaced); every row with ``live_only=False``
    (the Credly -> LMS direction skips every badge this package ever issued). With
    ``lms_user_ids`` or ``credly_badge_ids``, only those rows (indexed look-ups, in chunks):
    an hourly run never loads the whole ledger."""
    ledger = issued_badge_ledger
    query = select(*[ledger.c[c] for c in LEDGER_DETAIL_COLUMNS])
    if live_only:
        query = query.where(ledger.c.state == "issued")
    if lms_user_ids is not None:
        column, keys = ledger.c.lms_user_id, lms_user_ids
    elif credly_badge_ids is not None:
        column, keys = ledger.c.credly_badge_id, credly_badge_ids
    else:
        with engine.connect() as connection:
            return frame(connection.execute(query).mappings(), LEDGER_DETAIL_COLUMNS)
    wanted = sorted({str(key) for key in keys})
    with engine.connect() as connection:
        rows = [
            row
            for start in range(0, len(wanted), LOOKUP_CHUNK)
            for row in connection.execute(
                query.where(column.in_(wanted[start : start + LOOKUP_CHUNK]))
            ).mappings()
        ]
    return frame(rows, LEDGER_DETAIL_COLUMNS)


def count_live(engine: Engine) -> int:
    """How many badges issued here are live: the base of the mass-revocation check."""
    ledger = issued_badge_ledger
    with engine.connect() as connection:
        return connection.execute(select(func.count()).where(ledger.c.state == "issued")).scalar_one()


def ledger_row(badge_id: str, badge: dict[str, Any], learning_object: dict[str, str]) -> dict[str, Any]:
    """The ledger row of a badge issued (or found already issued) for an LMS learner."""
    expires_at = badge.get("expires_at")
    return {
        "credly_badge_id": badge_id,
        "lms_user_id": str(badge["issuer_earner_id"]),
        "learning_object_type": learning_object["type"],
        "learning_object_id": learning_object["id"],
        "badge_template_id": badge["badge_template_id"],
        "recipient_email": badge.get("recipient_email") or "",
        "state": "issued",
        "expires_at": pd.Timestamp(expires_at).to_pydatetime() if expires_at else None,
    }


@dataclass(frozen=True)
class LedgerConflict:
    """A badge id the ledger already gives to another learner: never reassigned, reported."""

    credly_badge_id: str
    ledger_lms_user_id: str
    claimed_by_lms_user_id: str

    def __str__(self) -> str:
        return (
            f"Credly badge {self.credly_badge_id} is in the ledger for LMS user {self.ledger_lms_user_id}, "
            f"not {self.claimed_by_lms_user_id}: left as it is"
        )


def record_issued(connection: Connection, rows: Sequence[dict[str, Any]]) -> list[LedgerConflict]:
    """Insert the ledger rows of new badges (one statement) and refresh those already known for
    the same learner. A badge id the ledger holds for another learner is left untouched and
    returned as a conflict."""
    if not rows:
        return []
    ledger = issued_badge_ledger
    by_id = {row["credly_badge_id"]: row for row in rows}
    owners = dict(
        connection.execute(
            select(ledger.c.credly_badge_id, ledger.c.lms_user_id).where(ledger.c.credly_badge_id.in_(by_id))
        ).all()
    )
    new = [row for badge_id, row in by_id.items() if badge_id not in owners]
    if new:
        connection.execute(ledger.insert(), new)
    conflicts = []
    for badge_id, owner in owners.items():
        row = by_id[badge_id]
        if str(owner) != str(row["lms_user_id"]):
            conflicts.append(LedgerConflict(badge_id, str(owner), str(row["lms_user_id"])))
            continue
        values = {k: v for k, v in row.items() if k != "credly_badge_id"}
        connection.execute(
            ledger.update().where(ledger.c.credly_badge_id == badge_id).values(**values, updated_at=utcnow())
        )
    return conflicts


def record_revoked(connection: Connection, badge_id: str) -> None:
    ledger = issued_badge_ledger
    connection.execute(
        ledger.update()
        .where(ledger.c.credly_badge_id == badge_id)
        .values(state="revoked", updated_at=utcnow())
    )


def record_replaced(connection: Connection, old_badge_id: str, new_badge_id: str) -> None:
    ledger = issued_badge_ledger
    connection.execute(
        ledger.update()
        .where(ledger.c.credly_badge_id == old_badge_id)
        .values(state="replaced", replaced_by=new_badge_id, updated_at=utcnow())
    )
