"""Leakage-safe train / validation / test splits: random, stratified, time and group.

Every method is deterministic for a seed and keeps the frame's index (no reset), so a row
in any part can be traced back to the source. Rows keep their original order inside a part
(time splits: time order); shuffle afterwards if a learner is sensitive to order.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..exceptions import ValidationError
from ._checks import check_frame, parse_dates

__all__ = ["METHODS", "Split", "split"]

METHODS = ("random", "stratified", "time", "group")
PARTS = ("train", "validation", "test")
MAX_CLASS_COLUMNS = 10  # describe() shows per-class shares up to this many classes


class _Parts(NamedTuple):
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


class Split(_Parts):
    """The three parts of a split, a NamedTuple ``(train, validation, test)``.

    It unpacks like a tuple and remembers how it was made (``method``, ``target``,
    ``time_column``, ``group_column``) so that :meth:`describe` can report target rates,
    time ranges and group counts per part.

    Example
    -------
    >>> import workbench.datasets as ds
    >>> train, validation, test = split(ds.load("fraud"), "stratified", target="is_fraud")
    >>> split(ds.load("fraud"), "random").sizes()
    {'train': 3500, 'validation': 500, 'test': 1000}
    """

    # No __slots__: instances carry the settings below in a __dict__.
    method: str
    target: Any
    time_column: Any
    group_column: Any

    def __new__(
        cls,
        train: pd.DataFrame,
        validation: pd.DataFrame,
        test: pd.DataFrame,
        *,
        method: str = "random",
        target: Any = None,
        time_column: Any = None,
        group_column: Any = None,
    ) -> Split:
        self = super().__new__(cls, train, validation, test)
        self.method = method
        self.target = target
        self.time_column = time_column
        self.group_column = group_column
        return self

    def __repr__(self) -> str:
        sizes = ", ".join(f"{part}={n:,} rows" for part, n in self.sizes().items())
        return f"Split(method={getattr(self, 'method', None)!r}, {sizes})"

    def sizes(self) -> dict[str, int]:
        """Rows per part: ``{"train": n, "validation": n, "test": n}``."""
        return {part: len(frame) for part, frame in zip(PARTS, self)}

    def describe(self) -> pd.DataFrame:
        """One row per part: ``rows``, ``share`` and, when known, the target per part.

        Target columns: ``target_rate`` (share of the larger label, e.g. 1 or True) for a
        binary target, ``target_mean`` for other numeric targets, one ``target=<class>``
        share per class otherwise (up to 10 classes). Time splits add ``time_min`` and
        ``time_max``; group splits add ``groups``.

        Example
        -------
        >>> s = split(ds.load("maintenance"), "time", time_column="timestamp")  # doctest: +SKIP
        >>> s.describe()[["rows", "time_min", "time_max"]]                       # doctest: +SKIP
        """
        target = getattr(self, "target", None)
        time_column = getattr(self, "time_column", None)
        group_column = getattr(self, "group_column", None)
        total = sum(len(frame) for frame in self) or 1
        rows = []
        labels = _target_labels(self, target)
        for part, frame in zip(PARTS, self):
            row: dict[str, Any] = {"part": part, "rows": len(frame), "share": len(frame) / total}
            if labels is not None and target in frame:
                row.update(_target_columns(frame[target], labels))
            if time_column is not None and time_column in frame:
                times = _to_datetime(frame[time_column]) if len(frame) else None
                row["time_min"] = times.min() if times is not None else pd.NaT
                row["time_max"] = times.max() if times is not None else pd.NaT
            if group_column is not None and group_column in frame:
                row["groups"] = int(frame[group_column].nunique(dropna=False))
            rows.append(row)
        return pd.DataFrame(rows).set_index("part")


def split(
    df: pd.DataFrame,
    method: str = "random",
    *,
    test_size: float = 0.2,
    validation_size: float = 0.1,
    target: Any = None,
    time_column: Any = None,
    group_column: Any = None,
    seed: int = 0,
) -> Split:
    """Split a frame into train, validation and test parts without leaking across them.

    Parameters
    ----------
    df : DataFrame
    method : {"random", "stratified", "time", "group"}
        ``random``: rows drawn at random. ``stratified``: every class of ``target`` keeps
        its share in every part (within one row, largest-remainder rounding) and keeps at
        least one row in train. ``time``: sorted by ``time_column``; train is the earliest
        stretch, then validation, then test, and rows sharing a timestamp never straddle two
        parts (cuts fall on the timestamp boundary nearest the requested size). ``group``:
        whole groups of ``group_column`` (e.g. ``machine_id``) go to one part.
    test_size, validation_size : float in [0, 1), summing to less than 1
        Fractions of rows; for group splits, fractions of *groups* (row shares then vary
        with group sizes). A size of 0 leaves that part empty; a positive size gets at
        least one row (or group).
    target : column name
        Required for ``stratified``; otherwise optional, used by :meth:`Split.describe`.
    time_column : column name
        Required for ``time``: datetime dtype, or strings that all parse as dates.
    group_column : column name
        Required for ``group``. Missing values form one group.
    seed : int
        Same seed, same split.

    Returns
    -------
    Split
        ``(train, validation, test)`` with the original index.

    Example
    -------
    >>> import workbench.datasets as ds
    >>> df = ds.load("maintenance")
    >>> s = split(df, "group", group_column="machine_id")
    >>> set(s.train["machine_id"]) & set(s.test["machine_id"])
    set()
    """
    check_frame(df)
    if not isinstance(method, str) or method not in METHODS:
        raise ValidationError("method", method, f"one of {', '.join(METHODS)}")
    test_size = _check_size("test_size", test_size)
    validation_size = _check_size("validation_size", validation_size)
    if test_size + validation_size >= 1:
        raise ValidationError(
            "test_size + validation_size",
            test_size + validation_size,
            "a sum below 1, so that the train part keeps rows",
        )
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise ValidationError("seed", seed, "an integer")
    for name, column in (
        ("target", target),
        ("time_column", time_column),
        ("group_column", group_column),
    ):
        if column is not None and column not in df.columns:
            raise ValidationError(name, column, f"one of the columns {list(df.columns)}")
    required = {"stratified": ("target", target), "time": ("time_column", time_column),
                "group": ("group_column", group_column)}  # fmt: skip
    if method in required and required[method][1] is None:
        name = required[method][0]
        raise ValidationError(
            name, None, f"a column name for method={method!r}", hint=f"Pass {name}=..."
        )

    rng = np.random.default_rng(int(seed))
    if method == "random":
        parts = _random_positions(len(df), test_size, validation_size, rng)
    elif method == "stratified":
        parts = _stratified_positions(df[target], target, test_size, validation_size, rng)
    elif method == "time":
        times = _time_values(df, time_column)
        parts = _time_positions(times, time_column, test_size, validation_size)
    else:
        parts = _group_positions(df[group_column], group_column, test_size, validation_size, rng)
    train, validation, test = (df.iloc[positions] for positions in parts)
    return Split(
        train,
        validation,
        test,
        method=method,
        target=target,
        time_column=time_column,
        group_column=group_column,
    )


# -- input checks -------------------------------------------------------------------------


def _check_size(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(name, value, "a fraction in [0, 1)")
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value < 1.0:
        raise ValidationError(name, value, "a fraction in [0, 1)", hint="0 leaves that part empty.")
    return value


def _count(n: int, fraction: float) -> int:
    """Rows (or groups) for a fraction: rounded half up, at least 1 when the fraction is > 0."""
    return 0 if fraction == 0 else max(1, math.floor(fraction * n + 0.5))


def _too_few(field: str, value: Any, n: int, unit: str, n_test: int, n_val: int) -> None:
    if n - n_test - n_val < 1:
        raise ValidationError(
            field,
            value,
            f"enough {unit} for a non-empty train part",
            hint=f"{n} {unit}: test takes {n_test}, validation {n_val}; lower the sizes.",
        )


# -- methods ------------------------------------------------------------------------------


def _random_positions(
    n: int, test_size: float, validation_size: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_test, n_val = _count(n, test_size), _count(n, validation_size)
    _too_few("df", f"{n} rows", n, "rows", n_test, n_val)
    order = rng.permutation(n)
    test, validation, train = np.split(order, [n_test, n_test + n_val])
    return np.sort(train), np.sort(validation), np.sort(test)


def _stratified_positions(
    y: pd.Series, target: Any, test_size: float, validation_size: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(y)
    n_test, n_val = _count(n, test_size), _count(n, validation_size)
    _too_few("df", f"{n} rows", n, "rows", n_test, n_val)
    codes, classes = pd.factorize(y, use_na_sentinel=False)  # missing labels form a class
    counts = np.bincount(codes, minlength=len(classes))
    if counts.min() < 2:
        rare = [(classes[k], int(counts[k])) for k in np.flatnonzero(counts < 2)]
        raise ValidationError(
            "target",
            target,
            "a column whose every class has at least 2 rows",
            hint=(
                f"Classes with a single row: {rare[:5]}. A stratified split keeps every class "
                "in train and in the held-out parts, which needs at least 2 rows per class; "
                "merge or drop rare classes, or use method='random'."
            ),
        )
    # Every class keeps at least one row in train; validation's floor is reserved first.
    val_floor = np.floor(counts * n_val / n).astype(int)
    test_counts = _apportion(counts, n_test, caps=counts - 1 - val_floor)
    val_counts = _apportion(counts, n_val, caps=counts - 1 - test_counts)
    parts: list[list[np.ndarray]] = [[], [], []]
    for k in range(len(classes)):
        members = rng.permutation(np.flatnonzero(codes == k))
        test, validation, train = np.split(
            members, [test_counts[k], test_counts[k] + val_counts[k]]
        )
        parts[0].append(train)
        parts[1].append(validation)
        parts[2].append(test)
    return tuple(np.sort(np.concatenate(p)) for p in parts)  # type: ignore[return-value]


def _apportion(counts: np.ndarray, total: int, caps: np.ndarray) -> np.ndarray:
    """Share ``total`` among classes in proportion to ``counts`` (largest remainder), <= caps."""
    quota = counts * total / counts.sum()
    given = np.minimum(np.floor(quota).astype(int), caps)
    order = np.argsort(-(quota - np.floor(quota)), kind="stable")
    remaining = total - int(given.sum())
    while remaining > 0:
        progressed = False
        for k in order:
            if remaining == 0:
                break
            if given[k] < caps[k]:
                given[k] += 1
                remaining -= 1
                progressed = True
        if not progressed:
            break  # caps bind: the part ends slightly smaller than asked
    return given


def _time_values(df: pd.DataFrame, column: Any) -> pd.Series:
    s = df[column]
    times = _to_datetime(s)
    if times is None:
        example = s.dropna().iloc[0] if s.notna().any() else None
        raise ValidationError(
            "time_column",
            column,
            "a datetime column (datetime64 dtype, or strings that all parse as dates)",
            hint=(
                f"Time split on a non-date column: {column!r} has dtype {s.dtype} "
                f"(e.g. {example!r}). Convert it with pandas.to_datetime, or pick another "
                "method."
            ),
        )
    missing = int(times.isna().sum())
    if missing:
        raise ValidationError(
            "time_column",
            column,
            "a column with a time on every row",
            hint=f"{missing} rows have no time; drop or fill them before a time split.",
        )
    return times


def _to_datetime(s: pd.Series) -> pd.Series | None:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return None
    present = s.dropna()
    if present.empty or pd.api.types.infer_dtype(present, skipna=True) != "string":
        return None
    parsed = parse_dates(s, min_share=1.0)
    if parsed is not None and pd.api.types.is_datetime64_any_dtype(parsed):
        return parsed
    return None


def _time_positions(
    times: pd.Series, column: Any, test_size: float, validation_size: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(times)
    n_test, n_val = _count(n, test_size), _count(n, validation_size)
    _too_few("df", f"{n} rows", n, "rows", n_test, n_val)
    values = times.to_numpy()
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    # Possible cut points: row counts at which the timestamp changes (plus the end).
    cuts = np.r_[np.flatnonzero(ordered[1:] != ordered[:-1]) + 1, n]
    distinct = cuts.size

    def fail() -> None:
        parts = 1 + (n_test > 0) + (n_val > 0)
        raise ValidationError(
            "time_column",
            column,
            "enough distinct timestamps to cut the frame into its parts",
            hint=f"{distinct} distinct timestamps for {parts} parts; rows sharing a timestamp "
            "stay in one part.",
        )

    test_start = n
    if n_test:
        candidates = cuts[cuts < n]
        if n_val:
            candidates = candidates[candidates > cuts[0]]  # leave room for train and validation
        if candidates.size == 0:
            fail()
        test_start = int(candidates[np.argmin(np.abs(candidates - (n - n_test)))])
    val_start = test_start
    if n_val:
        candidates = cuts[cuts < test_start]
        if candidates.size == 0:
            fail()
        val_start = int(candidates[np.argmin(np.abs(candidates - (test_start - n_val)))])
    return order[:val_start], order[val_start:test_start], order[test_start:]


def _group_positions(
    groups: pd.Series,
    column: Any,
    test_size: float,
    validation_size: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(groups, use_na_sentinel=False)
    n_groups = len(uniques)
    g_test, g_val = _count(n_groups, test_size), _count(n_groups, validation_size)
    _too_few("group_column", column, n_groups, "groups", g_test, g_val)
    order = rng.permutation(n_groups)
    part_of_group = np.zeros(n_groups, dtype=int)  # 0 train, 1 validation, 2 test
    part_of_group[order[:g_test]] = 2
    part_of_group[order[g_test : g_test + g_val]] = 1
    part = part_of_group[codes]
    return np.flatnonzero(part == 0), np.flatnonzero(part == 1), np.flatnonzero(part == 2)


# -- describe helpers ---------------------------------------------------------------------


def _target_labels(parts: Split, target: Any) -> list[Any] | None:
    if target is None or any(target not in frame for frame in parts):
        return None
    labels = pd.concat([frame[target] for frame in parts]).dropna().unique().tolist()
    try:
        return sorted(labels)
    except TypeError:
        return labels


def _target_columns(y: pd.Series, labels: list[Any]) -> dict[str, Any]:
    present = y.dropna()
    numeric = pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y)
    if len(labels) == 2:
        return {"target_rate": float((present == labels[-1]).mean()) if len(present) else np.nan}
    if numeric:
        return {"target_mean": float(present.astype(float).mean()) if len(present) else np.nan}
    if len(labels) > MAX_CLASS_COLUMNS:
        return {}
    return {
        f"target={label}": float((present == label).mean()) if len(present) else np.nan
        for label in labels
    }
