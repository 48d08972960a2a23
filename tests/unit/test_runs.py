"""The window a sync run covers: data interval, watermarks, backfills, full reconcile."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from credly_sync.runs import WATERMARK_OVERLAP, sync_window
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


def test_a_scheduled_run_reads_from_the_oldest_watermark_less_the_overlap() -> None:
    marks = {"a": datetime(2026, 3, 5, 7, tzinfo=UTC), "b": datetime(2026, 3, 5, 8, tzinfo=UTC)}
    window = sync_window({**HOUR, "params": {}, "run_id": "scheduled__x"}, SETTINGS, marks)
    assert (window.start, window.end) == (marks["a"] - WATERMARK_OVERLAP, HOUR["data_interval_end"])
    assert window.advances_watermarks
    ahead = {"a": datetime(2026, 3, 5, 12, tzinfo=UTC)}  # a later run already read further
    assert sync_window({**HOUR, "params": {}}, SETTINGS, ahead).start == HOUR["data_interval_start"]


def test_a_backfill_run_reads_its_own_interval_and_leaves_the_watermarks() -> None:
    marks = {"a": datetime(2026, 3, 1, 7, tzinfo=UTC)}
    run = SimpleNamespace(run_type="backfill")
    for context in ({"dag_run": run}, {"run_id": "backfill__2026-03-05T10:00:00+00:00"}):
        window = sync_window({**HOUR, "params": {}, **context}, SETTINGS, marks)
        assert (window.start, window.advances_watermarks) == (HOUR["data_interval_start"], False)
    full = sync_window({**HOUR, "params": {"full_reconcile": True}, "dag_run": run}, SETTINGS, marks)
    assert full.full and not full.advances_watermarks
