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
