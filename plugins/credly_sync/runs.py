"""What a sync DAG run covers: its window, whether it writes, and what it may revoke.

Both sync DAGs (``lms_to_credly``, ``credly_to_lms``) run on ``CronDataIntervalTimetable`` so a
scheduled run or a backfill run covers its data interval; ``full_reconcile`` widens the window
to everything since BATCH_SYNC_START_DATE, ``dry_run`` plans and reports without writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from airflow.sdk import Param

from credly_sync.settings import IntegrationSettings

LMS_TO_CREDLY, CREDLY_TO_LMS = "lms_to_credly", "credly_to_lms"

SYNC_PARAMS = {
    "full_reconcile": Param(
        False,
        type="boolean",
        description="Compare everything since BATCH_SYNC_START_DATE instead of the run's data interval.",
    ),
    "dry_run": Param(
        False,
        type="boolean",
        description="Plan and report (log and XCom) without journaling or writing anything.",
    ),
}
ALLOW_MASS_REVOCATION = {
    "allow_mass_revocation": Param(
        False,
        type="boolean",
        description="Journal a plan that revokes more than max(10, 2 %) of the badges held "
        "(refused otherwise, before anything is journaled).",
    ),
}


@dataclass(frozen=True)
class SyncWindow:
    """Changes in ``[start, end)`` are read; ``full`` says whether this is a full reconcile."""

    start: datetime
    end: datetime
    full: bool

    def describe(self) -> str:
        kind = "full reconcile" if self.full else "incremental"
        return f"{kind} window {self.start.isoformat()} .. {self.end.isoformat()}"


def sync_window(context: Any, settings: IntegrationSettings) -> SyncWindow:
    """The run's window: its data interval, never before BATCH_SYNC_START_DATE."""
    floor = datetime.combine(settings.batch_sync_start_date, time.min, tzinfo=UTC)
    end = context.get("data_interval_end") or context.get("logical_date") or datetime.now(UTC)
    end = max(_utc(end), floor)
    if is_full_reconcile(context):
        return SyncWindow(floor, end, full=True)
    start = context.get("data_interval_start") or end
    return SyncWindow(max(_utc(start), floor), end, full=False)


def is_full_reconcile(context: Any) -> bool:
    return bool((context.get("params") or {}).get("full_reconcile"))


def is_dry_run(context: Any) -> bool:
    return bool((context.get("params") or {}).get("dry_run"))


def allows_mass_revocation(context: Any) -> bool:
    return bool((context.get("params") or {}).get("allow_mass_revocation"))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
