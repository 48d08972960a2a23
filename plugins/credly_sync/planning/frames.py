"""Small helpers for building DataFrames with a fixed set of columns, even when empty."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd


def frame(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame of ``records`` with exactly ``columns`` (missing keys become NaN/None)."""
    return pd.DataFrame.from_records(list(records), columns=list(columns))


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with ``None`` for missing values (JSON- and SQL-friendly)."""
    return [
        {key: (None if _missing(value) else _plain(value)) for key, value in row.items()}
        for row in df.to_dict(orient="records")
    ]


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (list, dict, str)) and bool(pd.isna(value)))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


ZERO_DATE = "0000-00-00"  # Docebo's empty date (and "0000-00-00 00:00:00"): no date at all
_DATE_ONLY = r"^\d{4}-\d{2}-\d{2}$"


def without_zero_dates(values: pd.Series) -> pd.Series:
    """``values`` with the LMS's zero dates (and blanks) as missing."""
    text = values.astype(object).where(values.notna(), None)
    zero = text.map(lambda v: isinstance(v, str) and (v.strip() == "" or v.strip().startswith(ZERO_DATE)))
    return text.mask(zero.astype(bool), None)


def utc_times(values: pd.Series) -> pd.Series:
    """Timestamps in UTC from ISO 8601 text, datetimes or dates; zero dates and blanks are NaT."""
    return pd.to_datetime(without_zero_dates(values), utc=True, format="ISO8601")


def date_only(values: pd.Series) -> pd.Series:
    """Whether each value is a bare calendar date (``YYYY-MM-DD``) rather than a moment."""
    return without_zero_dates(values).astype(str).str.strip().str.match(_DATE_ONLY).fillna(False).astype(bool)
