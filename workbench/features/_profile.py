"""Data profiling: column kinds and statistics, target summary, correlations and data checks.

``profile(df, target=None)`` looks at a DataFrame once and returns a :class:`Profile` with
four tables (``columns``, ``target``, ``correlations``, ``warnings``) and plots.

Sampling
--------
Cheap vectorised statistics (missing shares, distinct counts, moments, quantiles,
correlations, duplicate rows, date ranges) use every row. Checks that cost more per value
use deterministic samples (seed 0): string columns are classified (date-like, word counts,
digits) on up to ``STRING_SAMPLE`` = 1,000 present values, the leakage check scores up to
``LEAKAGE_SAMPLE`` = 50,000 rows, and plots draw up to ``PLOT_SAMPLE`` = 20,000 rows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ValidationError
from ._checks import check_frame, parse_dates

__all__ = ["CHECKS", "KINDS", "Profile", "profile"]

KINDS = ("numeric", "boolean", "categorical", "datetime", "text", "id")
CHECKS = (
    "id_like", "constant", "high_missing", "target_leakage", "future_dates", "duplicated_rows",
    "high_cardinality", "imbalanced_target",
)  # fmt: skip
SEVERITIES = ("error", "warning", "info")

STRING_SAMPLE = 1_000
LEAKAGE_SAMPLE = 50_000
PLOT_SAMPLE = 20_000
MIN_ROWS_FOR_UNIQUENESS = 10  # "unique per row" means little in a handful of rows
ID_UNIQUE_SHARE = 0.99
TEXT_MIN_WORDS = 3.0
TEXT_MIN_UNIQUE_SHARE = 0.5
DATE_MIN_SHARE = 0.95
HIGH_MISSING = 0.5
LEAKAGE_AUC = 0.98
LEAKAGE_CORR = 0.98
HIGH_CARDINALITY_LEVELS = 50
HIGH_CARDINALITY_SHARE = 0.5
HIGH_CARDINALITY_MIN_LEVELS = 10
IMBALANCE_SHARE = 0.05
MAX_CLASSES = 20  # integer targets with at most this many values are treated as classes

COLUMN_FIELDS = [
    "column", "dtype", "kind", "missing_share", "n_unique", "unique_share", "mean", "std",
    "min", "p25", "median", "p75", "max", "top_values", "min_date", "max_date",
]  # fmt: skip
WARNING_FIELDS = ["column", "check", "severity", "message"]
PLOT_KINDS = ("distributions", "target", "correlations", "missing")

_ID_NAME = re.compile(r"(?:^|[_\W])(?:id|uuid|guid|key|pk)$|^(?:id|uuid|guid)(?:[_\W]|$)", re.I)
_CAMEL_ID = re.compile(r"[a-z0-9](?:Id|ID)$")
_DATE_LIKE = re.compile(
    r"^\s*(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?\s*$"
)


@dataclass(frozen=True, eq=False, repr=False)
class Profile:
    """What :func:`profile` found in a DataFrame.

    Attributes
    ----------
    columns : DataFrame
        One row per column: ``column, dtype, kind, missing_share, n_unique, unique_share``,
        numeric statistics ``mean, std, min, p25, median, p75, max`` (numeric and boolean
        columns; NaN otherwise), ``top_values`` (categorical, text, boolean) and
        ``min_date, max_date`` (datetime).
    target : DataFrame
        ``class, count, share`` for a classification target, ``statistic, value`` (from
        ``describe()``) otherwise; empty without a target.
    correlations : DataFrame
        Pearson correlations between numeric and boolean columns, the target included when
        it is numeric.
    warnings : DataFrame
        ``column, check, severity, message``, errors first; frame-level checks
        (``duplicated_rows``) have an empty ``column``.
    n_rows : int
    target_name : str or None
    task : {"classification", "regression"} or None

    Example
    -------
    >>> import workbench.datasets as ds
    >>> p = profile(ds.load("fraud"), target="is_fraud")
    >>> p.warnings["check"].tolist()
    ['imbalanced_target']
    >>> fig = p.plot("distributions")
    """

    columns: pd.DataFrame
    target: pd.DataFrame
    correlations: pd.DataFrame
    warnings: pd.DataFrame
    n_rows: int
    target_name: Any = None
    task: str | None = None
    _sample: pd.DataFrame | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        counts = self.warnings["severity"].value_counts().to_dict()
        found = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if s in counts) or "none"
        return (
            f"Profile(rows={self.n_rows}, columns={len(self.columns)}, "
            f"target={self.target_name!r}, warnings: {found})"
        )

    # -- plots --------------------------------------------------------------------------

    def plot(self, kind: str = "distributions", **kwargs: Any) -> Any:
        """One of the plots by name: ``distributions``, ``target``, ``correlations``, ``missing``.

        Example
        -------
        >>> fig = p.plot("missing")  # doctest: +SKIP
        """
        if kind not in PLOT_KINDS:
            raise ValidationError("kind", kind, f"one of {', '.join(PLOT_KINDS)}")
        return getattr(self, f"plot_{kind}")(**kwargs)

    def plot_distributions(self, max_columns: int = 12) -> Any:
        """Histograms (numeric, datetime, text word counts) and bar charts (categorical).

        Coloured by the target when it is a classification target with at most 10 classes;
        identifier columns and the target are left out. Returns a matplotlib ``Figure``.
        """
        if not isinstance(max_columns, int) or isinstance(max_columns, bool) or max_columns < 1:
            raise ValidationError("max_columns", max_columns, "a positive integer")
        kinds = dict(zip(self.columns["column"], self.columns["kind"]))
        names = [c for c, k in kinds.items() if k != "id" and c != self.target_name]
        names = names[:max_columns]
        data = self._sample if self._sample is not None else pd.DataFrame()
        classes = self._plot_classes(data)
        ncols = min(3, max(1, len(names)))
        nrows = max(1, math.ceil(len(names) / ncols))
        fig = _figure(figsize=(4.2 * ncols, 3.0 * nrows))
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        if not names:
            _note(axes[0], "no columns to plot")
        for ax, name in zip(axes, names):
            _plot_column(ax, data[name], kinds[name], classes)
            ax.set_title(f"{name} ({kinds[name]})", fontsize=9)
        for ax in axes[len(names) :]:
            ax.set_visible(False)
        if classes is not None and names:
            legends = [ax.get_legend_handles_labels() for ax in axes]
            handles, labels = next((pair for pair in legends if pair[0]), ([], []))
            if handles:
                fig.legend(handles, labels, title=str(self.target_name), loc="outside right upper")
        return fig

    def plot_target(self) -> Any:
        """Class counts (classification) or a histogram (regression) of the target."""
        if self.target_name is None:
            raise ValidationError(
                "target", None, "a target", hint="Call profile(df, target=...) to plot it."
            )
        fig = _figure(figsize=(6, 3.5))
        ax = fig.subplots()
        y = self._sample[self.target_name] if self._sample is not None else pd.Series()
        if self.task == "classification":
            labels = [_short(v, 20) for v in self.target["class"]]
            ax.bar(labels, self.target["count"], color="C0")
            ax.set_ylabel("rows")
            for i, share in enumerate(self.target["share"]):
                ax.annotate(f"{share:.1%}", (i, self.target["count"].iloc[i]), ha="center",
                            va="bottom", fontsize=8)  # fmt: skip
            ax.tick_params(axis="x", labelrotation=30)
        else:
            values = y.dropna()
            if pd.api.types.is_datetime64_any_dtype(values):
                _hist_dates(ax, values)
            else:
                ax.hist(values.astype(float), bins=40, color="C0")
            ax.set_ylabel("rows")
        ax.set_title(f"target: {self.target_name}")
        return fig

    def plot_correlations(self) -> Any:
        """Heatmap of the Pearson correlation matrix."""
        corr = self.correlations
        k = len(corr)
        fig = _figure(figsize=(max(4.0, 0.55 * k + 2.5), max(3.5, 0.55 * k + 1.5)))
        ax = fig.subplots()
        if k == 0:
            _note(ax, "no numeric columns")
            return fig
        image = ax.imshow(corr.to_numpy(dtype=float), vmin=-1, vmax=1, cmap="RdBu_r")
        labels = [_short(c, 18) for c in corr.columns]
        ax.set_xticks(range(k), labels, rotation=90, fontsize=8)
        ax.set_yticks(range(k), labels, fontsize=8)
        if k <= 12:
            for i in range(k):
                for j in range(k):
                    value = corr.iat[i, j]
                    if not np.isnan(value):
                        colour = "white" if abs(value) > 0.6 else "black"
                        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                                color=colour)  # fmt: skip
        fig.colorbar(image, ax=ax, shrink=0.8)
        ax.set_title("Pearson correlation")
        return fig

    def plot_missing(self) -> Any:
        """Horizontal bars: share of missing values per column."""
        cols = self.columns.sort_values("missing_share", kind="stable")
        fig = _figure(figsize=(6, max(2.5, 0.3 * len(cols) + 1)))
        ax = fig.subplots()
        ax.barh([_short(c, 24) for c in cols["column"]], cols["missing_share"], color="C3")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share missing")
        ax.set_title("missing values")
        return fig

    # -- notebook display and export ----------------------------------------------------

    def _repr_html_(self) -> str:
        target = "" if self.target_name is None else f", target <code>{self.target_name}</code>"
        head = f"<h4>Profile: {self.n_rows:,} rows &times; {len(self.columns)} columns{target}</h4>"
        if self.warnings.empty:
            warnings = "<p>No warnings.</p>"
        else:
            warnings = self.warnings.to_html(index=False)
        columns = self.columns.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="")
        return f"{head}<h5>Warnings</h5>{warnings}<h5>Columns</h5>{columns}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: NaN and NaT become ``None``, timestamps ISO 8601 strings."""
        corr = {
            str(row): {str(col): _plain(v) for col, v in values.items()}
            for row, values in self.correlations.to_dict(orient="index").items()
        }
        return {
            "n_rows": int(self.n_rows),
            "n_columns": len(self.columns),
            "target": _plain(self.target_name),
            "task": self.task,
            "columns": _records(self.columns),
            "target_summary": _records(self.target),
            "correlations": corr,
            "warnings": _records(self.warnings),
        }

    def _plot_classes(self, data: pd.DataFrame) -> pd.Series | None:
        if self.task != "classification" or self.target_name not in data:
            return None
        y = data[self.target_name]
        return y if y.nunique() <= 10 else None


def profile(df: pd.DataFrame, target: Any = None) -> Profile:
    """Profile a DataFrame: column kinds and statistics, target summary, correlations, checks.

    Parameters
    ----------
    df : DataFrame
        At least one row and one column, unique column names.
    target : column name, optional
        The label column: adds a target summary, its correlations, and the
        ``target_leakage`` and ``imbalanced_target`` checks.

    Returns
    -------
    Profile

    Notes
    -----
    Kinds: ``datetime`` (datetime dtype, or strings that parse as dates in a sample);
    ``boolean`` (bool dtype, Python bools, or numbers whose values are exactly 0 and 1);
    ``id`` (integers unique in >= 99% of present rows with an id-like name such as
    ``user_id`` / ``customerId`` or a monotonic sequence of at least 10 rows; strings unique
    per row, without spaces, with an id-like name or a digit in every value); ``text``
    (strings >= 50% unique with >= 3 words on average); ``categorical`` (other strings,
    pandas categoricals, and repeated integers with an id-like name, i.e. group keys such
    as ``machine_id``); ``numeric`` otherwise.

    Example
    -------
    >>> import workbench.datasets as ds
    >>> p = profile(ds.load("maintenance"), target="failure_within_7d")
    >>> p.columns.set_index("column").loc["timestamp", "kind"]
    'datetime'
    """
    check_frame(df)
    if target is not None and target not in df.columns:
        raise ValidationError("target", target, f"one of the columns {list(df.columns)}")
    n_rows = len(df)
    infos: list[dict[str, Any]] = []
    dates: dict[Any, pd.Series] = {}
    for name in df.columns:
        info, parsed = _analyse_column(name, df[name])
        infos.append(info)
        if parsed is not None:
            dates[name] = parsed
    columns = pd.DataFrame(infos, columns=COLUMN_FIELDS)
    kinds = dict(zip(columns["column"], columns["kind"]))
    columns = _add_numeric_stats(columns, df, kinds)
    correlations = _correlations(df, kinds, target)

    task = None
    summary = pd.DataFrame()
    if target is not None:
        task = _task(df[target], kinds[target])
        summary = _target_summary(df[target], task)

    checks = _column_checks(columns, dates, target, n_rows)
    checks += _duplicate_check(df, columns)
    if target is not None:
        checks += _target_checks(df, kinds, target, task, summary, correlations)
    warnings = pd.DataFrame(checks, columns=WARNING_FIELDS)
    rank = warnings["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    warnings = warnings.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)

    positions = np.arange(n_rows)
    if n_rows > PLOT_SAMPLE:
        positions = np.sort(np.random.default_rng(0).choice(n_rows, PLOT_SAMPLE, replace=False))
    sample = df.iloc[positions].reset_index(drop=True)  # plots align on a clean index
    for name, parsed in dates.items():
        if not pd.api.types.is_datetime64_any_dtype(df[name]):
            sample[name] = parsed.iloc[positions].array
    return Profile(
        columns=columns,
        target=summary,
        correlations=correlations,
        warnings=warnings,
        n_rows=n_rows,
        target_name=target,
        task=task,
        _sample=sample,
    )


# -- input checks -------------------------------------------------------------------------


# -- per-column analysis ------------------------------------------------------------------


def _analyse_column(name: Any, s: pd.Series) -> tuple[dict[str, Any], pd.Series | None]:
    # One factorize pass gives distinct count, value counts and (for strings) the distinct
    # values to parse as dates; hashing is the dominant cost on wide string columns.
    codes, uniques = _factorize(s)
    mask = codes >= 0
    n_present = int(mask.sum())
    n_unique = len(uniques)
    present = s[mask]
    kind, parsed = _infer_kind(name, s, present, n_unique, codes, uniques)
    top = ""
    if kind in ("categorical", "text", "boolean") and n_present:
        counts = np.bincount(codes[mask], minlength=n_unique)
        order = np.argsort(-counts, kind="stable")[:3]
        top = ", ".join(f"{_short(uniques[i])} ({counts[i] / n_present:.1%})" for i in order)
    info: dict[str, Any] = {
        "column": name,
        "dtype": str(s.dtype),
        "kind": kind,
        "missing_share": 1.0 - n_present / len(s),
        "n_unique": n_unique,
        "unique_share": n_unique / n_present if n_present else np.nan,
        "top_values": top,
        "min_date": pd.NaT,
        "max_date": pd.NaT,
    }
    if parsed is not None and parsed.notna().any():
        info["min_date"], info["max_date"] = parsed.min(), parsed.max()
    return info, parsed


def _factorize(s: pd.Series) -> tuple[np.ndarray, Any]:
    try:
        codes, uniques = pd.factorize(s)
    except TypeError:  # unhashable cells (lists, dicts): count their text
        codes, uniques = pd.factorize(s.map(str).where(s.notna()))
    return np.asarray(codes), uniques


def _infer_kind(
    name: Any, s: pd.Series, present: pd.Series, n_unique: int, codes: np.ndarray, uniques: Any
) -> tuple[str, pd.Series | None]:
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return "boolean", None
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime", s
    if isinstance(dtype, pd.CategoricalDtype):
        is_bool = pd.api.types.infer_dtype(dtype.categories, skipna=True) == "boolean"
        return ("boolean" if is_bool else "categorical"), None
    if pd.api.types.is_numeric_dtype(dtype):
        return _numeric_kind(name, present, n_unique), None
    if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
        return "categorical", None  # timedelta, period, interval ...
    return _string_kind(name, s, present, n_unique, codes, uniques)


def _numeric_kind(name: Any, present: pd.Series, n_unique: int) -> str:
    n = len(present)
    if n_unique == 2 and present.isin([0, 1]).all():
        return "boolean"
    if not _integral(present):
        return "numeric"
    if n >= 2 and n_unique >= ID_UNIQUE_SHARE * n:
        monotonic = present.is_monotonic_increasing or present.is_monotonic_decreasing
        if _id_like_name(name) or (n >= MIN_ROWS_FOR_UNIQUENESS and monotonic):
            return "id"
    if _id_like_name(name) and n_unique < n:
        return "categorical"  # a repeated key (machine_id, store_id): groups, not magnitudes
    return "numeric"


def _string_kind(
    name: Any, s: pd.Series, present: pd.Series, n_unique: int, codes: np.ndarray, uniques: Any
) -> tuple[str, pd.Series | None]:
    n = len(present)
    if n == 0:
        return "categorical", None
    sample = _sample_values(present, STRING_SAMPLE)
    inferred = pd.api.types.infer_dtype(sample, skipna=True)
    if inferred == "boolean":
        return "boolean", None
    if inferred != "string":
        return "categorical", None  # numbers or mixed objects kept as labels
    text = sample.astype(str)
    if text.str.match(_DATE_LIKE).mean() >= DATE_MIN_SHARE:
        parsed = parse_dates(pd.Series(np.asarray(uniques, dtype=object)), DATE_MIN_SHARE)
        if parsed is not None:
            # parse each distinct string once, then spread to the rows (NaT for missing)
            values = np.append(parsed.to_numpy(), np.datetime64("NaT"))
            if parsed.dt.tz is not None:
                values = pd.array(np.append(parsed.array, pd.NaT), dtype=parsed.dtype)
            parsed = pd.Series(values[codes], index=s.index, name=s.name)
            if parsed.notna().sum() >= DATE_MIN_SHARE * n:
                return "datetime", parsed
    words = text.str.split().str.len()
    if n_unique == n and words.max() <= 1:
        digits = n >= MIN_ROWS_FOR_UNIQUENESS and text.str.contains(r"\d").all()
        if _id_like_name(name) or digits:
            return "id", None
    if n_unique >= TEXT_MIN_UNIQUE_SHARE * n and words.mean() >= TEXT_MIN_WORDS:
        return "text", None
    return "categorical", None


def _add_numeric_stats(columns: pd.DataFrame, df: pd.DataFrame, kinds: dict) -> pd.DataFrame:
    names = [
        c
        for c, k in kinds.items()
        if k in ("numeric", "boolean")
        and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
        and not isinstance(df[c].dtype, pd.CategoricalDtype)
    ]
    if not names:
        return columns
    num = _as_float_frame(df[names])
    quantiles = num.quantile([0.25, 0.5, 0.75])
    stats = pd.DataFrame(
        {
            "mean": num.mean(),
            "std": num.std(),
            "min": num.min(),
            "p25": quantiles.loc[0.25],
            "median": quantiles.loc[0.5],
            "p75": quantiles.loc[0.75],
            "max": num.max(),
        }
    )
    columns = columns.set_index("column")
    columns.loc[stats.index, stats.columns] = stats
    return columns.reset_index()[COLUMN_FIELDS]


def _correlations(df: pd.DataFrame, kinds: dict, target: Any) -> pd.DataFrame:
    names = [
        c
        for c, k in kinds.items()
        if (k in ("numeric", "boolean") or c == target)
        and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
        and not isinstance(df[c].dtype, pd.CategoricalDtype)
    ]
    if not names:
        return pd.DataFrame()
    return _as_float_frame(df[names]).corr()


# -- checks -------------------------------------------------------------------------------


def _warning(column: Any, check: str, severity: str, message: str) -> dict[str, Any]:
    return {"column": column, "check": check, "severity": severity, "message": message}


def _column_checks(
    columns: pd.DataFrame, dates: dict[Any, pd.Series], target: Any, n_rows: int
) -> list[dict[str, Any]]:
    found = []
    for row in columns.itertuples(index=False):
        name, kind, n_unique = row.column, row.kind, row.n_unique
        n_present = round((1.0 - row.missing_share) * n_rows)
        if name != target and _is_id_like(row, n_rows):
            found.append(_warning(name, "id_like", "warning",
                f"{n_unique:,} distinct values in {n_present:,} rows: an identifier, not a "
                "feature; drop it before training (it can still key group splits or joins)"))  # fmt: skip
        if n_unique == 1:
            found.append(_warning(name, "constant", "warning",
                f"one distinct value{_constant_value(row)}; it carries no information"))  # fmt: skip
        if row.missing_share > HIGH_MISSING:
            severity = "error" if row.missing_share >= 1.0 else "warning"
            found.append(_warning(name, "high_missing", severity,
                f"{row.missing_share:.1%} of values are missing"))  # fmt: skip
        if name in dates:
            future = _future_count(dates[name])
            if future:
                found.append(_warning(name, "future_dates", "warning",
                    f"{future:,} values are after today (latest {row.max_date}); check the "
                    "clock or time zone of the source"))  # fmt: skip
        if name != target and kind == "categorical" and _high_cardinality(row):
            found.append(_warning(name, "high_cardinality", "warning",
                f"{n_unique:,} levels ({row.unique_share:.1%} of present values are distinct); "
                "one-hot encoding would explode: group rare levels or use target/frequency encoding"))  # fmt: skip
    return found


def _constant_value(row: Any) -> str:
    if row.top_values:
        return f" ({row.top_values.rsplit(' (', 1)[0]})"
    if not pd.isna(row.min):
        return f" ({row.min:g})"
    if not pd.isna(row.min_date):
        return f" ({row.min_date})"
    return ""


def _is_id_like(row: Any, n_rows: int) -> bool:
    if row.kind == "id":
        return True
    if row.kind in ("text", "datetime") or n_rows < MIN_ROWS_FOR_UNIQUENESS:
        return False
    if row.n_unique != n_rows:
        return False
    dtype = row.dtype
    return dtype.startswith(("int", "uint", "Int", "UInt")) or dtype in ("object", "string", "str")


def _high_cardinality(row: Any) -> bool:
    if row.n_unique > HIGH_CARDINALITY_LEVELS:
        return True
    return row.n_unique >= HIGH_CARDINALITY_MIN_LEVELS and row.unique_share > HIGH_CARDINALITY_SHARE


def _future_count(dates: pd.Series) -> int:
    tz = getattr(dates.dt, "tz", None)
    cutoff = pd.Timestamp.now(tz=tz).normalize() + pd.Timedelta(days=1)
    return int((dates >= cutoff).sum())


def _duplicate_check(df: pd.DataFrame, columns: pd.DataFrame) -> list[dict[str, Any]]:
    if (columns["n_unique"] == len(df)).any():
        return []  # a column unique per row makes every row distinct: skip the hashing
    try:
        n_dup = int(df.duplicated().sum())
    except TypeError:  # unhashable cells (lists, dicts)
        n_dup = int(df.astype(str).duplicated().sum())
    if not n_dup:
        return []
    share = n_dup / len(df)
    return [_warning("", "duplicated_rows", "warning",
        f"{n_dup:,} rows ({share:.1%}) repeat an earlier row exactly; duplicates can land in "
        "both train and test and inflate scores")]  # fmt: skip


def _target_checks(
    df: pd.DataFrame,
    kinds: dict,
    target: Any,
    task: str | None,
    summary: pd.DataFrame,
    correlations: pd.DataFrame,
) -> list[dict[str, Any]]:
    found = []
    if task == "classification" and len(summary) >= 2:
        minority_class, minority_share = summary["class"].iloc[-1], summary["share"].iloc[-1]
        if minority_share < IMBALANCE_SHARE:
            found.append(_warning(target, "imbalanced_target", "warning",
                f"minority class {minority_class!r} is {minority_share:.2%} of labelled rows; "
                "use a stratified split, class weights and AUC/PR metrics rather than accuracy"))  # fmt: skip
    for name, metric, score in _leakage(df, kinds, target, task, correlations):
        found.append(_warning(name, "target_leakage", "error",
            f"predicts {target!r} almost perfectly on its own ({metric} = {score:.3f}); it is "
            "probably derived from the target or recorded after it"))  # fmt: skip
    return found


def _leakage(
    df: pd.DataFrame, kinds: dict, target: Any, task: str | None, correlations: pd.DataFrame
) -> list[tuple[Any, str, float]]:
    """Columns that alone predict the target: (name, metric, score).

    Binary and multi-class targets: rank ROC AUC (one-vs-rest, macro-averaged, taking
    max(AUC, 1 - AUC)) of the raw values for numeric columns, and of out-of-fold per-category
    target means (2-fold cross-fitting, so that many-level columns cannot memorise the
    target) for categorical ones. Regression: |Pearson r| on the same scores.
    """
    if task is None:
        return []
    y_all = df[target]
    labelled = np.flatnonzero(y_all.notna().to_numpy())
    rng = np.random.default_rng(0)
    if labelled.size > LEAKAGE_SAMPLE:
        labelled = np.sort(rng.choice(labelled, LEAKAGE_SAMPLE, replace=False))
    if labelled.size < MIN_ROWS_FOR_UNIQUENESS:
        return []
    y = y_all.iloc[labelled]
    folds = rng.permutation(labelled.size) % 2
    candidates = [
        c for c, k in kinds.items() if c != target and k in ("numeric", "boolean", "categorical")
    ]
    found = []
    if task == "classification":
        codes, classes = pd.factorize(y)
        if not 2 <= len(classes) <= MAX_CLASSES:
            return []
        onehot = codes[:, None] == np.arange(len(classes))[None, :]
        if len(classes) == 2:
            onehot = onehot[:, 1:]
        for name in candidates:
            x = df[name].iloc[labelled]
            if _raw_scores(x, kinds[name]):
                values = _as_float_frame(x.to_frame()).iloc[:, 0].to_numpy()
                ok = np.isfinite(values)
                aucs = [_auc(values[ok], onehot[ok, j]) for j in range(onehot.shape[1])]
            else:
                aucs = [
                    _auc(_crossfit_means(x, onehot[:, j].astype(float), folds), onehot[:, j])
                    for j in range(onehot.shape[1])
                ]
            score = float(np.mean(aucs)) if aucs and not np.isnan(aucs).any() else np.nan
            if score >= LEAKAGE_AUC:
                found.append((name, "ROC AUC", score))
    else:
        yv = _as_float_frame(y.to_frame()).iloc[:, 0].to_numpy()
        for name in candidates:
            x = df[name].iloc[labelled]
            if not _raw_scores(x, kinds[name]):
                r = _corr(_crossfit_means(x, yv, folds), yv)
            elif name in correlations.columns and target in correlations.columns:
                r = correlations.loc[name, target]
            else:
                r = _corr(_as_float_frame(x.to_frame()).iloc[:, 0].to_numpy(), yv)
            if abs(r) >= LEAKAGE_CORR:
                found.append((name, "|Pearson r|", float(abs(r))))
    return found


def _raw_scores(x: pd.Series, kind: str) -> bool:
    """Score a column by its own values (numbers) or by out-of-fold category means (labels)."""
    if kind == "categorical" or isinstance(x.dtype, pd.CategoricalDtype):
        return False
    return pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x)


def _crossfit_means(x: pd.Series, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each row scored by its category's mean target on the other fold (unseen: global mean)."""
    try:
        codes, _ = pd.factorize(x, use_na_sentinel=False)  # missing is a category of its own
    except TypeError:  # unhashable cells
        codes, _ = pd.factorize(x.map(str), use_na_sentinel=False)
    k = int(codes.max()) + 1 if codes.size else 0
    out = np.empty(len(y), dtype=float)
    for fold in (0, 1):
        train, score = folds != fold, folds == fold
        sums = np.bincount(codes[train], weights=y[train], minlength=k)
        counts = np.bincount(codes[train], minlength=k)
        fallback = y[train].mean() if train.any() else 0.0
        means = np.divide(sums, counts, out=np.full(k, fallback), where=counts > 0)
        out[score] = means[codes[score]]
    return out


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Rank (Mann-Whitney) ROC AUC with average ranks for ties; max(AUC, 1 - AUC)."""
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.nan
    ranks = _average_ranks(score)
    auc = (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return float(max(auc, 1.0 - auc))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], x.size]
    group = np.repeat(np.arange(starts.size), ends - starts)
    ranks = np.empty(x.size, dtype=float)
    ranks[order] = ((starts + ends + 1) / 2.0)[group]  # mean of 1-based ranks start+1 .. end
    return ranks


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return 0.0
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


# -- target -------------------------------------------------------------------------------


def _task(y: pd.Series, kind: str) -> str | None:
    if kind in ("boolean", "categorical", "text"):
        return "classification"
    if kind == "numeric":
        present = y.dropna()
        if _integral(present) and present.nunique() <= MAX_CLASSES:
            return "classification"
        return "regression"
    return None


def _target_summary(y: pd.Series, task: str | None) -> pd.DataFrame:
    if task == "classification":
        counts = y.value_counts(dropna=True)
        return pd.DataFrame(
            {
                "class": counts.index.to_list(),
                "count": counts.to_numpy(),
                "share": (counts / counts.sum()).to_numpy(),
            }
        )
    described = y.describe()
    return pd.DataFrame({"statistic": described.index, "value": described.to_numpy()})


# -- small helpers ------------------------------------------------------------------------


def _id_like_name(name: Any) -> bool:
    text = str(name)
    return bool(_ID_NAME.search(text) or _CAMEL_ID.search(text))


def _integral(present: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(present.dtype):
        return True
    if not pd.api.types.is_float_dtype(present.dtype):
        return False
    values = present.to_numpy(dtype=float)
    return bool(values.size) and bool(np.all(np.isfinite(values) & (values == np.floor(values))))


def _sample_values(present: pd.Series, n: int) -> pd.Series:
    return present if len(present) <= n else present.sample(n, random_state=0)


def _short(value: Any, width: int = 24) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _as_float_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {c: frame[c].to_numpy(dtype=float, na_value=np.nan) for c in frame.columns},
        index=frame.index,
    )


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, (str, int, bool)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


# -- plotting helpers ---------------------------------------------------------------------


def _figure(figsize: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure  # matplotlib loads only when a plot is asked for

    return Figure(figsize=figsize, layout="constrained")


def _note(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _plot_column(ax: Any, s: pd.Series, kind: str, classes: pd.Series | None) -> None:
    if kind == "datetime":
        _hist_dates(ax, s.dropna())
        return
    if kind == "text":
        s = s.dropna().astype(str).str.split().str.len()
        ax.set_xlabel("words")
        kind = "numeric"
    if kind == "numeric" and (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        values = pd.Series(s.to_numpy(dtype=float, na_value=np.nan), index=s.index)
        values = values[np.isfinite(values)]
        if values.empty:
            _note(ax, "no values")
        elif classes is None:
            ax.hist(values, bins=30, color="C0")
        else:
            groups = [(c, values[classes.loc[values.index] == c]) for c in _ordered(classes)]
            groups = [(c, g) for c, g in groups if len(g)]
            ax.hist([g for _, g in groups], bins=30, density=True, histtype="stepfilled",
                    alpha=0.45, label=[_short(c, 16) for c, _ in groups],
                    color=[f"C{i}" for i in range(len(groups))])  # fmt: skip
            ax.set_ylabel("density")
        return
    labels = s.astype(object).where(s.notna(), "(missing)").astype(str)
    top = labels.value_counts().head(10).index
    labels = labels[labels.isin(top)]
    if classes is None:
        counts = labels.value_counts().reindex(top)
        ax.bar([_short(v, 14) for v in counts.index], counts.to_numpy(), color="C0")
    else:
        table = pd.crosstab(labels, classes.loc[labels.index]).reindex(top).fillna(0)
        bottom = np.zeros(len(table))
        for i, cls in enumerate(_ordered(classes)):
            if cls not in table.columns:
                continue
            heights = table[cls].to_numpy(dtype=float)
            ax.bar([_short(v, 14) for v in table.index], heights, bottom=bottom,
                   label=_short(cls, 16), color=f"C{i}")  # fmt: skip
            bottom += heights
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)


def _hist_dates(ax: Any, dates: pd.Series) -> None:
    from matplotlib import dates as mdates

    if dates.empty:
        _note(ax, "no values")
        return
    index = pd.DatetimeIndex(dates)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    ax.hist(mdates.date2num(index.to_pydatetime()), bins=30, color="C0")
    ax.xaxis_date()
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)


def _ordered(classes: pd.Series) -> list[Any]:
    values = classes.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return values
