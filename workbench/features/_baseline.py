"""Model Monitor baselines: ``statistics.json`` / ``constraints.json`` and constraint checks.

:func:`suggest_baseline` does locally what SageMaker's ``DefaultModelMonitor.suggest_baseline``
does with the ``sagemaker-model-monitor-analyzer`` container (Spark + Deequ): it writes the
same two files with the same field names. :func:`check_against_baseline` evaluates a frame
(e.g. captured endpoint traffic) against them and returns violations with SageMaker's check
names; :func:`write_violations` writes ``constraint_violations.json``.

Where this differs from the container
-------------------------------------
* Types come from pandas dtypes: integer columns (and float columns whose present values
  are all whole numbers, e.g. integers with missing values) are ``Integral``, other numbers
  ``Fractional``; strings that all parse as numbers are numeric too (as Deequ infers from
  text). Booleans, datetimes and pandas categoricals are reported as ``String`` (their text,
  e.g. ``"True"``, ``"2024-01-31"``). A column with no present value is ``Unknown``.
* Numeric ±inf counts as missing. ``std_dev`` is the population standard deviation (as
  Deequ's).
* ``distribution.kll.buckets`` are 10 equal-width buckets between min and max (one bucket
  when min == max). ``sketch.data`` is *not* a real KLL sketch: it is one level holding up
  to 2,048 sorted values at evenly spaced ranks of the data (all values when there are at
  most 2,048), a deterministic quantile summary with the same shape.
* ``categorical.buckets`` list at most 1,000 most frequent values; ``domains`` are written
  for strings with at most 100 distinct values.
* ``baseline_drift_check``: numeric features use the L-infinity distance between the
  cumulative distributions of the baseline (its quantile summary; for sketches written by
  SageMaker, level ``i`` weighs ``2**i``) and of the current values — the two-sample
  Kolmogorov-Smirnov statistic, which is what Deequ's ``linf_simple`` computes from KLL
  sketches. String features use the largest absolute difference between category
  frequencies (values outside a truncated baseline bucket list are pooled). With
  ``comparison_method`` ``"Robust"`` the distance is reduced by
  ``1.8 * sqrt((n + m) / (n * m))`` (Deequ's ``linf_robust``; n, m = present values), with
  ``"Simple"`` it is used as is. A violation is a distance above ``comparison_threshold``.
* ``monitoringConfigOverrides`` per feature are not read.
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core import atomic_write_json
from ..exceptions import ValidationError
from ._checks import check_frame

__all__ = [
    "CHECK_TYPES",
    "Baseline",
    "check_against_baseline",
    "suggest_baseline",
    "write_violations",
]

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
VIOLATIONS_FILE = "constraint_violations.json"
CHECK_TYPES = (
    "data_type_check", "completeness_check", "baseline_drift_check", "missing_column_check",
    "extra_column_check", "categorical_values_check",
)  # fmt: skip
VIOLATION_FIELDS = ["feature_name", "constraint_check_type", "description"]

N_BUCKETS = 10
SKETCH_SIZE = 2048
KLL_PARAMETERS = {"c": 0.64, "k": 2048.0}
MAX_CATEGORICAL_BUCKETS = 1_000
MAX_DOMAIN = 100
ROBUST_C_ALPHA = 1.8  # Deequ's default c(alpha), alpha = 0.003
MONITORING_CONFIG = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 0.1,
    "domain_content_threshold": 0.1,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
    },
}


@dataclass(frozen=True, eq=False)
class Baseline:
    """A Model Monitor baseline: ``statistics`` and ``constraints`` in SageMaker's formats.

    Example
    -------
    >>> import workbench.datasets as ds
    >>> baseline = suggest_baseline(ds.load("marketing"), exclude=["subscribed"])
    >>> baseline.statistics["dataset"]["item_count"]
    4000
    >>> paths = baseline.write("monitoring/baseline")            # doctest: +SKIP
    >>> Baseline.read("monitoring/baseline").constraints["version"]  # doctest: +SKIP
    0.0
    """

    statistics: dict[str, Any]
    constraints: dict[str, Any]

    def __repr__(self) -> str:
        features = self.constraints.get("features", [])
        count = self.statistics.get("dataset", {}).get("item_count")
        return f"Baseline(item_count={count}, features={len(features)})"

    def write(self, directory: str | os.PathLike[str]) -> dict[str, Path]:
        """Write ``statistics.json`` and ``constraints.json`` into ``directory`` atomically.

        Each file goes to a temporary file in the same folder and is renamed into place, so
        a reader (a monitoring job) never sees half a file. Returns the two paths.
        """
        folder = Path(directory)
        return {
            "statistics": atomic_write_json(folder / STATISTICS_FILE, self.statistics),
            "constraints": atomic_write_json(folder / CONSTRAINTS_FILE, self.constraints),
        }

    @classmethod
    def read(cls, directory: str | os.PathLike[str]) -> Baseline:
        """Load a baseline folder written by :meth:`write` (or by SageMaker)."""
        folder = Path(directory)
        loaded = []
        for name in (STATISTICS_FILE, CONSTRAINTS_FILE):
            path = folder / name
            if not path.is_file():
                expected = f"a folder holding {STATISTICS_FILE} and {CONSTRAINTS_FILE}"
                raise ValidationError(
                    "directory", str(folder), expected, hint=f"{name} is missing."
                )
            loaded.append(json.loads(path.read_text(encoding="utf-8")))
        return cls(statistics=loaded[0], constraints=loaded[1])

    def features(self) -> pd.DataFrame:
        """One row per feature: name, inferred type, completeness, non-negative, domain size."""
        rows = []
        for feature in self.constraints.get("features", []):
            domains = feature.get("string_constraints", {}).get("domains")
            rows.append(
                {
                    "name": feature["name"],
                    "inferred_type": feature.get("inferred_type"),
                    "completeness": feature.get("completeness"),
                    "is_non_negative": feature.get("num_constraints", {}).get("is_non_negative"),
                    "domain_size": None if domains is None else len(domains),
                }
            )
        return pd.DataFrame(rows)


def suggest_baseline(df: pd.DataFrame, *, exclude: Any = ()) -> Baseline:
    """Statistics and suggested constraints of a (training) frame, as Model Monitor writes them.

    Parameters
    ----------
    df : DataFrame
        The baseline data, typically the training features.
    exclude : column name or iterable of names
        Columns left out (e.g. the target, identifiers, timestamps).

    Returns
    -------
    Baseline

    Example
    -------
    >>> import workbench.datasets as ds
    >>> b = suggest_baseline(ds.load("maintenance"), exclude=["failure_within_7d"])
    >>> [f["inferred_type"] for f in b.constraints["features"]][:3]
    ['Integral', 'String', 'String']
    """
    check_frame(df)
    excluded = _check_exclude(df, exclude)
    names = [c for c in df.columns if c not in excluded]
    if not names:
        raise ValidationError("exclude", excluded, "to leave at least one column")
    n = len(df)
    stats_features, constraint_features = [], []
    for name in names:
        inferred, values = _typed_values(df[name])
        stats, constraint = _feature(str(name), inferred, values, n)
        stats_features.append(stats)
        constraint_features.append(constraint)
    statistics = {"version": 0.0, "dataset": {"item_count": n}, "features": stats_features}
    constraints = {
        "version": 0.0,
        "features": constraint_features,
        "monitoring_config": copy.deepcopy(MONITORING_CONFIG),
    }
    return Baseline(statistics=statistics, constraints=constraints)


def check_against_baseline(
    df: pd.DataFrame, baseline: Baseline | str | os.PathLike[str], *, exclude: Any = ()
) -> pd.DataFrame:
    """Evaluate a frame against a baseline's constraints; one row per violation.

    Parameters
    ----------
    df : DataFrame
        Current data (e.g. captured endpoint inputs), same column names as the baseline.
    baseline : Baseline or path of a folder with statistics.json and constraints.json
    exclude : column name or iterable of names
        Columns of ``df`` to ignore (e.g. those excluded from the baseline).

    Returns
    -------
    DataFrame
        ``feature_name, constraint_check_type, description``; empty when all is well.

    Notes
    -----
    ``missing_column_check`` / ``extra_column_check``: one row per baseline column absent
    from ``df`` / per column of ``df`` not in the baseline. Per feature, with
    ``evaluate_constraints`` enabled: ``data_type_check`` when the share of present values
    that are not of the baseline's numeric type (``Integral``: whole numbers, ``Fractional``:
    numbers) exceeds ``datatype_check_threshold``; ``completeness_check`` when the share of
    present values is below the baseline's ``completeness``; ``categorical_values_check``
    when the share of present values outside ``domains`` exceeds
    ``domain_content_threshold``; ``baseline_drift_check`` when ``perform_comparison`` is
    enabled and the distance (module docstring) exceeds ``comparison_threshold``.

    Example
    -------
    >>> import workbench.datasets as ds
    >>> df = ds.load("marketing")
    >>> b = suggest_baseline(df)
    >>> check_against_baseline(df, b).empty
    True
    >>> shifted = df.assign(balance=df["balance"] * 3)
    >>> check_against_baseline(shifted, b)["constraint_check_type"].tolist()
    ['baseline_drift_check']
    """
    check_frame(df)
    baseline = _coerce_baseline(baseline)
    excluded = _check_exclude(df, exclude)
    current = {str(c): c for c in df.columns if c not in excluded}
    constraints = {f["name"]: f for f in baseline.constraints["features"]}
    statistics = {f["name"]: f for f in baseline.statistics.get("features", [])}
    config = {**MONITORING_CONFIG, **baseline.constraints.get("monitoring_config", {})}
    n_baseline, n_current = len(constraints), len(current)

    violations: list[dict[str, str]] = []

    def add(name: str, check: str, description: str) -> None:
        violations.append(
            {"feature_name": name, "constraint_check_type": check, "description": description}
        )

    for name in constraints:
        if name not in current:
            add(name, "missing_column_check",
                f"There are missing columns in current dataset: {name!r} is in the baseline "
                f"but not in the data. Number of columns in current dataset: {n_current}, "
                f"number of columns in baseline constraints: {n_baseline}.")  # fmt: skip
    for name in current:
        if name not in constraints:
            add(name, "extra_column_check",
                f"There are extra columns in current dataset: {name!r} is not in the "
                f"baseline. Number of columns in current dataset: {n_current}, number of "
                f"columns in baseline constraints: {n_baseline}.")  # fmt: skip

    if config.get("evaluate_constraints", "Enabled") != "Enabled":
        return _violations_frame(violations)
    distribution = {**MONITORING_CONFIG["distribution_constraints"],
                    **config.get("distribution_constraints", {})}  # fmt: skip
    for name, constraint in constraints.items():
        if name not in current:
            continue
        for check, description in _check_feature(
            df[current[name]], constraint, statistics.get(name), config, distribution
        ):
            add(name, check, description)
    return _violations_frame(violations)


def write_violations(violations: Any, directory: str | os.PathLike[str]) -> Path:
    """Write ``constraint_violations.json`` (``{"violations": [...]}``) into ``directory``.

    ``violations`` is the frame from :func:`check_against_baseline` (or a list of dicts with
    ``feature_name``, ``constraint_check_type``, ``description``). Written atomically.

    Example
    -------
    >>> write_violations(check_against_baseline(df, b), "monitoring/2024-05-01")  # doctest: +SKIP
    """
    if isinstance(violations, pd.DataFrame):
        missing = [c for c in VIOLATION_FIELDS if c not in violations.columns]
        if missing:
            raise ValidationError(
                "violations", list(violations.columns), f"a frame with columns {VIOLATION_FIELDS}"
            )
        records = violations[VIOLATION_FIELDS].to_dict(orient="records")
    elif isinstance(violations, (list, tuple)) and all(isinstance(v, dict) for v in violations):
        records = list(violations)
        for record in records:
            if set(VIOLATION_FIELDS) - set(record):
                raise ValidationError("violations", record, f"dicts with keys {VIOLATION_FIELDS}")
    else:
        raise ValidationError(
            "violations", type(violations).__name__,
            "the DataFrame returned by check_against_baseline or a list of dicts",
        )  # fmt: skip
    body = {"violations": [{k: str(record[k]) for k in VIOLATION_FIELDS} for record in records]}
    return atomic_write_json(Path(directory) / VIOLATIONS_FILE, body)


# -- input checks -------------------------------------------------------------------------


def _check_exclude(df: pd.DataFrame, exclude: Any) -> list[Any]:
    if exclude is None:
        return []
    names = [exclude] if isinstance(exclude, str) or not _iterable(exclude) else list(exclude)
    absent = [c for c in names if c not in df.columns]
    if absent:
        raise ValidationError("exclude", absent, f"columns of the frame; it has {list(df.columns)}")
    return names


def _iterable(value: Any) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _coerce_baseline(baseline: Any) -> Baseline:
    if isinstance(baseline, (str, os.PathLike)):
        baseline = Baseline.read(baseline)
    if not isinstance(baseline, Baseline):
        raise ValidationError(
            "baseline", type(baseline).__name__, "a Baseline or the folder it was written to"
        )
    features = baseline.constraints.get("features")
    if not isinstance(features, list) or not all(
        isinstance(f, dict) and "name" in f for f in features
    ):
        raise ValidationError(
            "baseline.constraints", "features", "a 'features' list of dicts with a 'name'"
        )
    return baseline


# -- statistics ---------------------------------------------------------------------------


def _typed_values(s: pd.Series) -> tuple[str, Any]:
    """(inferred_type, present values): a float array for numbers, a str Series for strings."""
    if _numeric_dtype(s):
        values = s.to_numpy(dtype=float, na_value=np.nan)
        values = values[np.isfinite(values)]
        if values.size == 0:
            return "Unknown", None
        whole = pd.api.types.is_integer_dtype(s) or bool(np.all(values == np.floor(values)))
        return ("Integral" if whole else "Fractional"), values
    present = s.dropna()
    if present.empty:
        return "Unknown", None
    if _plain_strings(s):
        numbers = pd.to_numeric(present, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if np.isfinite(numbers).all():  # text that is all numbers, as Deequ infers from CSV
            whole = bool(np.all(numbers == np.floor(numbers)))
            return ("Integral" if whole else "Fractional"), numbers
    return "String", _as_strings(present)


def _numeric_dtype(s: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
        return False
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_complex_dtype(s)


def _plain_strings(s: pd.Series) -> bool:
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return False
    return pd.api.types.infer_dtype(s, skipna=True) in ("string", "mixed-integer-float", "integer",
                                                        "floating", "decimal")  # fmt: skip


def _as_strings(present: pd.Series) -> pd.Series:
    """Text of present values, the same way for the baseline and for checked data."""
    if pd.api.types.is_bool_dtype(present) or pd.api.types.infer_dtype(present) == "boolean":
        return present.map({True: "True", False: "False"}).astype(str)
    return present.astype(str)


def _feature(name: str, inferred: str, values: Any, n: int) -> tuple[dict, dict]:
    n_present = 0 if values is None else len(values)
    common = {"num_present": int(n_present), "num_missing": int(n - n_present)}
    constraint: dict[str, Any] = {
        "name": name,
        "inferred_type": inferred,
        "completeness": n_present / n,
    }
    if inferred in ("Integral", "Fractional"):
        stats = {
            "name": name,
            "inferred_type": inferred,
            "numerical_statistics": {
                "common": common,
                "mean": float(values.mean()),
                "sum": float(values.sum()),
                "std_dev": float(values.std()),
                "min": float(values.min()),
                "max": float(values.max()),
                "distribution": {"kll": _kll(values)},
            },
        }
        constraint["num_constraints"] = {"is_non_negative": bool(values.min() >= 0)}
        return stats, constraint
    string_stats: dict[str, Any] = {"common": common, "distinct_count": 0}
    if inferred == "String":
        counts = values.value_counts().sort_index()
        counts = counts.sort_values(ascending=False, kind="stable")
        string_stats["distinct_count"] = int(len(counts))
        string_stats["distribution"] = {
            "categorical": {
                "buckets": [
                    {"value": str(v), "count": int(c)}
                    for v, c in counts.head(MAX_CATEGORICAL_BUCKETS).items()
                ]
            }
        }
        if len(counts) <= MAX_DOMAIN:
            constraint["string_constraints"] = {"domains": sorted(str(v) for v in counts.index)}
    return {"name": name, "inferred_type": inferred, "string_statistics": string_stats}, constraint


def _kll(values: np.ndarray) -> dict[str, Any]:
    low, high = float(values.min()), float(values.max())
    if low == high:
        buckets = [{"lower_bound": low, "upper_bound": high, "count": float(values.size)}]
    else:
        counts, edges = np.histogram(values, bins=N_BUCKETS, range=(low, high))
        buckets = [
            {"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]),
             "count": float(counts[i])}
            for i in range(N_BUCKETS)
        ]  # fmt: skip
    ordered = np.sort(values)
    if ordered.size > SKETCH_SIZE:
        ordered = ordered[np.round(np.linspace(0, ordered.size - 1, SKETCH_SIZE)).astype(int)]
    return {
        "buckets": buckets,
        "sketch": {"parameters": dict(KLL_PARAMETERS), "data": [ordered.tolist()]},
    }


# -- checks -------------------------------------------------------------------------------


def _check_feature(
    s: pd.Series,
    constraint: dict[str, Any],
    stats: dict[str, Any] | None,
    config: dict[str, Any],
    distribution: dict[str, Any],
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    inferred = constraint.get("inferred_type", "Unknown")
    n = len(s)
    present = s.dropna()
    numbers = None
    if _numeric_dtype(s):
        all_numbers = present.to_numpy(dtype=float, na_value=np.nan)
        numbers = all_numbers[np.isfinite(all_numbers)]
        present_count = numbers.size  # ±inf counts as missing, as in the baseline
    else:
        present_count = len(present)

    if inferred in ("Integral", "Fractional") and present_count:
        if numbers is None:
            parsed = pd.to_numeric(present, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            numbers = parsed[np.isfinite(parsed)]
        matching = numbers if inferred == "Fractional" else numbers[numbers == np.floor(numbers)]
        match = matching.size / present_count
        threshold = float(config.get("datatype_check_threshold", 0.1))
        if 1.0 - match > threshold:
            found.append(("data_type_check",
                f"Data type match requirement is not met. Expected data type: {inferred}, "
                f"expected match: {1 - threshold:.1%}. Observed: only {match:.1%} of present "
                f"values are {inferred}."))  # fmt: skip

    completeness = present_count / n
    expected = constraint.get("completeness")
    if expected is not None and completeness < float(expected) - 1e-12:
        found.append(("completeness_check",
            f"Data completeness requirement is not met. Expected completeness: "
            f"{float(expected):.2%}. Observed completeness: {completeness:.2%}."))  # fmt: skip

    domains = constraint.get("string_constraints", {}).get("domains")
    strings = _as_strings(present) if inferred == "String" and len(present) else None
    if domains is not None and strings is not None:
        inside = strings.isin(set(domains))
        unknown = 1.0 - float(inside.mean())
        threshold = float(config.get("domain_content_threshold", 0.1))
        if unknown > threshold:
            examples = ", ".join(repr(v) for v in strings[~inside].value_counts().index[:5])
            found.append(("categorical_values_check",
                f"Data content match requirement is not met. Expected: at least "
                f"{1 - threshold:.1%} of values in the baseline domain. Observed: "
                f"{1 - unknown:.1%}; unknown values include {examples}."))  # fmt: skip

    if distribution.get("perform_comparison", "Enabled") == "Enabled" and stats is not None:
        distance, n_base, n_now = _drift(stats, numbers, strings)
        if distance is not None:
            method = distribution.get("comparison_method", "Robust")
            if method == "Robust" and n_base and n_now:
                margin = ROBUST_C_ALPHA * math.sqrt((n_base + n_now) / (n_base * n_now))
                distance = max(0.0, distance - margin)
            threshold = float(distribution.get("comparison_threshold", 0.1))
            if distance > threshold:
                found.append(("baseline_drift_check",
                    f"Baseline drift distance: {distance:.4f} exceeds threshold: {threshold} "
                    f"(comparison method: {method})."))  # fmt: skip
    return found


def _drift(
    stats: dict[str, Any], numbers: np.ndarray | None, strings: pd.Series | None
) -> tuple[float | None, int, int]:
    if "numerical_statistics" in stats:
        if numbers is None or numbers.size == 0:
            return None, 0, 0
        numerical = stats["numerical_statistics"]
        n_base = int(numerical.get("common", {}).get("num_present", 0))
        kll = numerical.get("distribution", {}).get("kll", {})
        return _numeric_distance(kll, numbers), n_base, int(numbers.size)
    if "string_statistics" in stats and strings is not None and len(strings):
        string_stats = stats["string_statistics"]
        n_base = int(string_stats.get("common", {}).get("num_present", 0))
        buckets = string_stats.get("distribution", {}).get("categorical", {}).get("buckets")
        if not buckets or not n_base:
            return None, 0, 0
        return _categorical_distance(buckets, n_base, strings), n_base, len(strings)
    return None, 0, 0


def _numeric_distance(kll: dict[str, Any], current: np.ndarray) -> float | None:
    """Largest gap between the baseline's and the current data's cumulative distributions."""
    levels = kll.get("sketch", {}).get("data") or []
    points = [np.asarray(level, dtype=float) for level in levels]
    weights = [np.full(level.size, 2.0**i) for i, level in enumerate(points)]
    if points and sum(p.size for p in points):
        base = np.concatenate(points)
        base_weights = np.concatenate(weights)
    else:  # no sketch: fall back to the bucket list, its mass at each upper bound
        buckets = kll.get("buckets") or []
        if not buckets:
            return None
        base = np.array([b["upper_bound"] for b in buckets], dtype=float)
        base_weights = np.array([b["count"] for b in buckets], dtype=float)
    order = np.argsort(base, kind="stable")
    base, base_weights = base[order], base_weights[order]
    base_cdf = np.cumsum(base_weights) / base_weights.sum()
    now = np.sort(current)
    grid = np.union1d(base, now)  # both step functions only jump at these points
    cdf_base = np.r_[0.0, base_cdf][np.searchsorted(base, grid, side="right")]
    cdf_now = np.searchsorted(now, grid, side="right") / now.size
    return float(np.max(np.abs(cdf_base - cdf_now)))


def _categorical_distance(buckets: list[dict[str, Any]], n_base: int, strings: pd.Series) -> float:
    """Largest absolute difference between category frequencies (L-infinity)."""
    base = {str(b["value"]): float(b["count"]) / n_base for b in buckets}
    now = (strings.value_counts() / len(strings)).to_dict()
    distance = max(abs(share - now.get(value, 0.0)) for value, share in base.items())
    unseen = {value: share for value, share in now.items() if value not in base}
    tail = max(0.0, 1.0 - sum(base.values()))
    if tail > 1e-12:  # baseline list truncated: compare the pooled rest
        distance = max(distance, abs(tail - sum(unseen.values())))
    elif unseen:
        distance = max(distance, max(unseen.values()))
    return float(distance)


def _violations_frame(violations: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(violations, columns=VIOLATION_FIELDS)
