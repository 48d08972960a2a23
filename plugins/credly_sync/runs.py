"""What a sync DAG run covers: its window, whether it writes, and what it may revoke.

Both sync DAGs (``lms_to_credly``, ``credly_to_lms``) run on ``CronDataIntervalTimetable`` so a
scheduled run or a backfill run covers its data interval; ``full_reconcile`` widens the window
to everything since BATCH_SYNC_START_DATE, ``dry_run`` plans and reports without writing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from airflow.sdk import CronTriggerTimetable, Param

from credly_sync.settings import IntegrationSettings

LMS_TO_CREDLY, CREDLY_TO_LMS = "lms_to_credly", "credly_to_lms"  # the two directions' DAG ids
WATERMARK_OVERLAP = timedelta(minutes=15)
CREDLY_BADGE_STREAM = "credly.badges"


def lms_streams(lms: str) -> tuple[str, ...]:
    """The watermark streams an LMS -> Credly run reads (one per kind of achievement)."""
    return tuple(
        f"{lms}.{kind}"
        for kind in ("course_completions", "learning_plan_completions", "certification_awards")
    )


# The weekly full reconcile (its own DAG per direction): cron and time zone from the
# environment, read when the DAG files are parsed (an Airflow Variable would cost a metadata
# query at every parse).
FULL_RECONCILE_CRON = os.environ.get("CREDLY_SYNC_FULL_RECONCILE_CRON", "0 3 * * 0")
FULL_RECONCILE_TIMEZONE = os.environ.get("CREDLY_SYNC_FULL_RECONCILE_TIMEZONE", "UTC")


def sync_params(*, full_reconcile: bool = False) -> dict[str, Param]:
    """The params of a sync DAG (fresh objects per DAG: a DAG owns its params)."""
    return {
        "full_reconcile": Param(
            full_reconcile,
            type="boolean",
            description="Compare everything since BATCH_SYNC_START_DATE instead of the run's data interval.",
        ),
        "dry_run": Param(
            False,
            type="boolean",
            description="Plan and report (log and XCom) without journaling or writing anything.",
        ),
    }


def allow_mass_revocation_param() -> dict[str, Param]:
    return {
        "allow_mass_revocation": Param(
            False,
            type="boolean",
            description="Journal a plan that revokes more than max(10, 2 %) of the badges held "
            "(refused otherwise, before anything is journaled).",
        ),
    }


def full_reconcile_timetable() -> CronTriggerTimetable:
    """When the weekly full reconcile runs (default Sunday 03:00 UTC)."""
    return CronTriggerTimetable(FULL_RECONCILE_CRON, timezone=FULL_RECONCILE_TIMEZONE)


@dataclass(frozen=True)
class SyncWindow:
    """Changes in ``[start, end)`` are read; ``full`` says whether this is a full reconcile;
    ``advances_watermarks``: whether the streams' marks move to ``end`` when the plan is
    journaled (not for a backfill run, which reads its own interval)."""

    start: datetime
    end: datetime
    full: bool
    advances_watermarks: bool = True

    def describe(self) -> str:
        kind = "full reconcile" if self.full else "incremental"
        return f"{kind} window {self.start.isoformat()} .. {self.end.isoformat()}"


def sync_window(
    context: Any, settings: IntegrationSettings, watermarks: Mapping[str, datetime] | None = None
) -> SyncWindow:
    """The run's window, never before BATCH_SYNC_START_DATE.

    A full reconcile reads everything up to the interval's end. A backfill run reads its own
    data interval. Any other run reads from the oldest of its streams' ``watermarks`` (less
    WATERMARK_OVERLAP, for records committed late around the mark) up to its interval's end, so
    hours missed by a paused DAG, an outage or a failed run are read by the next run.
    """
    floor = datetime.combine(settings.batch_sync_start_date, time.min, tzinfo=UTC)
    end = context.get("data_interval_end") or context.get("logical_date") or datetime.now(UTC)
    end = max(_utc(end), floor)
    backfill = is_backfill(context)
    if is_full_reconcile(context):
        return SyncWindow(floor, end, full=True, advances_watermarks=not backfill)
    start = _utc(context.get("data_interval_start") or end)
    if watermarks and not backfill:
        start = min(start, min(watermarks.values()) - WATERMARK_OVERLAP)
    return SyncWindow(max(start, floor), end, full=False, advances_watermarks=not backfill)


def is_backfill(context: Any) -> bool:
    """Whether this run belongs to a backfill (``airflow backfill create``)."""
    run = context.get("dag_run")
    run_type = str(getattr(run, "run_type", "") or "")
    return run_type.lower().endswith("backfill") or str(context.get("run_id") or "").startswith("backfill__")


def is_full_reconcile(context: Any) -> bool:
    return bool((context.get("params") or {}).get("full_reconcile"))


def is_dry_run(context: Any) -> bool:
    return bool((context.get("params") or {}).get("dry_run"))


def allows_mass_revocation(context: Any) -> bool:
    return bool((context.get("params") or {}).get("allow_mass_revocation"))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
