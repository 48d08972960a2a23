"""frames.records and the zero-date helpers: plain Python values, ``None`` for missing."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from credly_sync.planning.frames import records, without_zero_dates


def test_records_gives_plain_values_and_none_for_missing() -> None:
    df = pd.DataFrame(
        {
            "number": [1, None],
            "text": ["x", None],
            "nested": [[1], {"k": 1}],
            "mixed": pd.Series([np.int64(3), np.float64("nan")], dtype=object),
            "flag": [True, False],
        }
    )
    rows = records(df)
    assert rows == [
        {"number": 1.0, "text": "x", "nested": [1], "mixed": 3, "flag": True},
        {"number": None, "text": None, "nested": {"k": 1}, "mixed": None, "flag": False},
    ]
    assert type(rows[0]["mixed"]) is int and type(rows[0]["flag"]) is bool
    assert records(pd.DataFrame(columns=["a"])) == []
    assert records(pd.DataFrame(index=range(2))) == [{}, {}]


def test_zero_dates_and_blanks_are_missing_other_values_are_kept() -> None:
    values = pd.Series(["0000-00-00", " ", "2020-01-01", None, "0000-00-00 00:00:00", date(2020, 1, 2), 5])
    assert without_zero_dates(values).tolist() == [None, None, "2020-01-01", None, None, date(2020, 1, 2), 5]
    moments = pd.Series([pd.Timestamp("2026-01-01", tz="UTC"), None], dtype=object)
    assert without_zero_dates(moments).tolist() == [pd.Timestamp("2026-01-01", tz="UTC"), None]
    assert without_zero_dates(pd.Series([None, None])).tolist() == [None, None]
    assert without_zero_dates(pd.Series([], dtype=object)).tolist() == []
