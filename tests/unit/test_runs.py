"""The window a sync run covers, its dry-run switch and the direction check."""

from __future__ import annotations

from datetime import UTC, date, datetime

from credly_sync.runs import sync_window
from credly_sync.settings import parse_settings
from tests.unit.test_settings import VALID

SETTINGS = parse_settings({**VALID, "BATCH_SYNC_START_DATE": "2026-03-01"})
HOUR = {
    "data_interval_start": datetime(2026, 3, 5, 10, tzinfo=UTC),
    "data_interval_end": datetime(2026, 3, 5, 11, tzinfo=UTC),
}


def test_an_incremental_run_covers_its_data_interval() -> None:
    window = sync_window({**HOUR, "params": {}}, SETTINGS)
    assert (window.start, window.end, window.full) == (
        HOUR["data_interval_start"],
        HOUR["data_interval_end"],
        False,
    )


def test_full_reconcile_starts_at_the_batch_sync_start_date() -> None:
    window = sync_window({**HOUR, "params": {"full_reconcile": True}}, SETTINGS)
    assert window.start.date() == date(2026, 3, 1) and window.end == HOUR["data_interval_end"] and window.full


def test_nothing_before_the_batch_sync_start_date_is_read() -> None:
    early = {
        "data_interval_start": datetime(2026, 2, 27, tzinfo=UTC),
        "data_interval_end": datetime(2026, 3, 1, 6, tzinfo=UTC),
    }
    assert sync_window({**early, "params": {}}, SETTINGS).start == datetime(2026, 3, 1, tzinfo=UTC)
