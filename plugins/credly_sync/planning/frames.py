"""Small helpers for building DataFrames with a fixed set of columns, even when empty."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd


def frame(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame of ``records`` with exactly ``columns`` (missing keys become NaN/None)."""
    return pd.DataFrame.from_records(list(records), columns=list(columns))


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with ``None`` for missing values (JSON- and SQL-friendly)."""
    columns = [_plain_values(df.iloc[:, position]) for position in range(df.shape[1])]
    names = list(df.columns)
    if not names:
        return [{} for _ in range(len(df))]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _plain_values(column: pd.Series) -> list[Any]:
    """A column as Python values: numpy scalars unboxed, ``None`` where missing (lists, dicts and
    text are never missing)."""
    values = column.astype(object).where(column.notna(), None).tolist()
    if column.dtype == object:  # an object column may hold numpy scalars: unbox those
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
    return values


ZERO_DATE = "0000-00-00"  # Docebo's empty date (and "0000-00-00 00:00:00"): no date at all
_DATE_ONLY = r"^\d{4}-\d{2}-\d{2}$"


def without_zero_dates(values: pd.Series) -> pd.Series:
    """``values`` with the LMS's zero dates (and blanks) as missing."""
    text = values.astype(object).where(values.notna(), None)
    if pd.api.types.infer_dtype(text, skipna=True) not in ("string", "mixed", "mixed-integer"):
        return text  # no text at all (datetimes, numbers, nothing): no zero date either
    stripped = text.str.strip()  # values other than text become missing here
    zero = stripped.eq("") | stripped.str.startswith(ZERO_DATE)
    return text.mask(zero.fillna(False).astype(bool), None)


def utc_times(values: pd.Series) -> pd.Series:
    """Timestamps in UTC from ISO 8601 text, datetimes or dates; zero dates and blanks are NaT."""
    return pd.to_datetime(without_zero_dates(values), utc=True, format="ISO8601")


def date_only(values: pd.Series) -> pd.Series:
    """Whether each value is a bare calendar date (``YYYY-MM-DD``) rather than a moment."""
    return without_zero_dates(values).astype(str).str.strip().str.match(_DATE_ONLY).fillna(False).astype(bool)
