"""Input checks shared by the features modules."""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from ..exceptions import ValidationError

__all__ = ["check_frame", "parse_dates"]


def check_frame(df: Any) -> None:
    """A non-empty DataFrame with unique column names, or a ValidationError."""
    if not isinstance(df, pd.DataFrame):
        raise ValidationError("df", type(df).__name__, "a pandas DataFrame")
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise ValidationError("df", df.shape, "a DataFrame with at least one row and one column")
    dupes = df.columns[df.columns.duplicated()].unique().tolist()
    if dupes:
        raise ValidationError("df.columns", dupes, "unique column names")


def parse_dates(s: pd.Series, min_share: float = 1.0) -> pd.Series | None:
    """``s`` parsed as dates (ISO 8601, then mixed formats), or None.

    The parse counts when at least ``min_share`` of the non-missing values are dates;
    values with mixed time zones come back in UTC.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in ("ISO8601", "mixed"):
            try:
                parsed = pd.to_datetime(s, errors="coerce", format=fmt)
            except (ValueError, TypeError, OverflowError):
                continue
            if not pd.api.types.is_datetime64_any_dtype(parsed):
                parsed = pd.to_datetime(s, errors="coerce", format=fmt, utc=True)
            if parsed.notna().sum() >= min_share * s.notna().sum():
                return parsed
    return None
