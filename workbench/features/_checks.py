"""Input checks shared by the features modules."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..exceptions import ValidationError

__all__ = ["check_frame"]


def check_frame(df: Any) -> None:
    """A non-empty DataFrame with unique column names, or a ValidationError."""
    if not isinstance(df, pd.DataFrame):
        raise ValidationError("df", type(df).__name__, "a pandas DataFrame")
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise ValidationError("df", df.shape, "a DataFrame with at least one row and one column")
    dupes = df.columns[df.columns.duplicated()].unique().tolist()
    if dupes:
        raise ValidationError("df.columns", dupes, "unique column names")
