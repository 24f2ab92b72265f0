"""Recipe steps: one class per op, the op registry and the transformers the ops compile to.

A recipe is a list of step dicts ``{"op": <name>, <param>: <value>, ...}``. Every op below
names the raw columns it works on (after ``rename``); ``required`` parameters have no default.

Ops
---
``impute``  columns (required), strategy="mean" (mean | median | most_frequent | constant),
    fill_value=None. ``SimpleImputer``; mean/median need numeric columns; constant fills 0 for
    numbers and ``"missing_value"`` for text when fill_value is None. None and NaN both count
    as missing.
``scale``  columns (required), method="standard" (standard | minmax | robust). Numeric only;
    NaN is ignored in fit and kept in transform.
``one_hot``  columns (required), max_categories=None, min_frequency=None. ``OneHotEncoder``
    with dense output; categories below min_frequency (a count >= 1 or a fraction < 1) or
    beyond max_categories share one ``<col>_infrequent_sklearn`` column. Missing values seen
    in training get their own column. Output names ``<col>_<category>``.
``ordinal``  columns (required). ``OrdinalEncoder``; codes 0..k-1 in sorted category order,
    missing values NaN.
``target_encode``  columns (required), smooth="auto", cv=5 (2..20; shuffled folds, seed 0).
    scikit-learn's ``TargetEncoder`` (needs ``recipe.target``; binary, multiclass - one column
    per class - or continuous target). Its fit_transform is cross-fitted:
    ``Recipe.fit_transform`` gives the training rows out-of-fold encodings;
    ``FittedRecipe.transform`` uses encodings learnt on all training rows. The target may not
    have missing values.
``bin``  columns (required), n_bins=5 (2..1000), strategy="quantile" (quantile | uniform |
    kmeans), encode="ordinal" (ordinal | onehot). Edges from ``KBinsDiscretizer`` per column
    on its non-missing values (quantile: ``averaged_inverted_cdf`` on at most 200,000 rows);
    constant columns get one bin. Names ``<col>`` (ordinal) or ``<col>_bin<k>`` (onehot).
``log``  columns (required). ``log1p``; values must be >= 0 (checked at validate on raw data,
    at fit when earlier steps change the values).
``power``  columns (required), method="yeo-johnson" (yeo-johnson | box-cox).
    ``PowerTransformer`` with standardisation; box-cox needs values > 0.
``date_parts``  columns (required), parts=["year", "month", "day", "dayofweek"] from year,
    month, day, dayofweek (Monday=0), dayofyear, hour, minute, is_weekend. datetime64
    columns (time-zone aware ones in their local time) or text parseable by
    ``pandas.to_datetime``. Names ``<col>_<part>``.
``tfidf``  column (required, one text column), max_features=None, ngram_range=[1, 1],
    min_df=1. ``TfidfVectorizer`` (lowercased, default token pattern); missing text is "".
    Names ``<col>_<term>``. Must be the last step on its column.
``hashing``  columns (required), n_features=256 (1..2**20). ``FeatureHasher`` over the
    strings ``"<position>=<value>"`` of all listed columns together (counts, no alternating
    sign; missing values hash as ""). Names ``<col>_hash<i>`` (one column) or
    ``<col1>_<col2>..._hash<i>``. Must be the last step on its columns.
``interactions``  columns (required, >= 2 numeric), degree=2 (2..4), interaction_only=True.
    The columns and their products (``PolynomialFeatures`` names: ``"a b"``, ``"a^2"``); a
    product with a missing factor is NaN. Output count grows as C(n, degree): keep n small.
    Must be the last step on its columns.
``drop``  columns (required). The columns are not read and produce nothing; no other
    step may use them (except ``function``, which reads raw columns).
``rename``  mapping (required, {old: new}). Applied to the input columns before every other
    step, whatever its position; all other steps use the new names. The target cannot be
    renamed.
``function``  name (required), columns=None. Calls a function registered with
    ``register_function(name, fn)``: ``fn(frame) -> DataFrame`` of numeric columns, one row
    per input row. ``frame`` holds the raw (renamed) ``columns``, or every input column
    except the target and dropped ones. The output column names (learnt from the first 100
    rows at compile time) are the feature names. Limit: registered functions are not
    serialised; a recipe using one loads only where the same name is registered.

Ordering
--------
``rename`` runs first. The steps that name a column form its chain, run in recipe order as a
``Pipeline`` inside one ``ColumnTransformer``: columns with the same chain share a branch;
column-wise steps listed over several columns are fitted per branch (so
``impute([a, b])`` then ``scale([a])`` gives branches ``a: impute -> scale`` and
``b: impute``). Each step checks the column's type at that point of its chain: encoders
(one_hot, ordinal, target_encode, bin, date_parts) turn any column numeric, so numeric
steps may follow them (``date_parts`` then ``scale``). tfidf, hashing and interactions
combine their columns and end their chains; when those columns went through different
earlier steps, each group is prepared in a nested ``ColumnTransformer`` first. Numeric columns
no step names pass through unchanged; any other column must be encoded or dropped. Output
order: passed-through columns in data order, then the branches in the order their first
column is first named by a step, then ``function`` outputs in step order.

Limits
------
The output is a dense float64 frame of rows x features x 8 bytes: tfidf (max_features) and
hashing (n_features) count in full, so keep them moderate on large data. Data column names
must be distinct strings, and output names distinct (a clash is a ValidationError at fit).

Prediction-time rules (never raise for these)
---------------------------------------------
* Unseen categories: one_hot -> all zeros; ordinal -> -1; target_encode -> the training
  target mean; hashing -> hashed like any value.
* A raw column missing at transform time is added as all-missing (NaN for numeric, NaT for
  datetime, None for text/categorical) with a ``UserWarning`` naming the columns; impute
  steps then fill it, other numeric outputs stay NaN (XGBoost handles them), one_hot rows
  are all zeros (or 1 in ``<col>_nan`` when training had missing values). Extra columns are
  ignored, column order does not matter. Output columns and their order never change.
* A numeric column that arrives as text is converted with ``pandas.to_numeric`` (unparseable
  values become NaN), a text column that arrives as numbers to strings, both with a
  ``UserWarning``; unparseable dates become NaN date parts (mixed UTC offsets are read as
  UTC); log of a
  negative value and box-cox of a non-positive value give NaN; bins of NaN are NaN (ordinal)
  or all zeros (onehot).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    PowerTransformer,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from ..exceptions import ValidationError

__all__ = [
    "OPS",
    "REQUIRED",
    "DateParts",
    "Prepare",
    "column_kind",
    "register_function",
]

REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()
DATE_PARTS = ("year", "month", "day", "dayofweek", "dayofyear", "hour", "minute", "is_weekend")
KIND_NAMES = {
    "numeric": "numeric",
    "datetime": "datetime",
    "category": "categorical",
    "string": "text/categorical",
    "other": "of an unsupported type",
}
_FUNCTIONS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {}


def register_function(name: str, fn: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Make ``fn`` usable as ``{"op": "function", "name": name}`` in this process.

    ``fn(frame)`` must return a DataFrame of numeric columns with one row per input row.
    Registering a name again replaces the function.

    Example
    -------
    >>> register_function("ratio", lambda df: (df["a"] / df["b"]).to_frame("a_per_b"))
    """
    if not isinstance(name, str) or not name:
        raise ValidationError("name", name, "a non-empty string")
    if not callable(fn):
        raise ValidationError("fn", fn, "a callable DataFrame -> DataFrame")
    _FUNCTIONS[name] = fn


def registered_function(name: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    try:
        return _FUNCTIONS[name]
    except KeyError:
        raise ValidationError(
            "function",
            name,
            "a function registered with register_function(name, fn)",
            f"Registered: {sorted(_FUNCTIONS) or 'none'}. Registered functions are not saved "
            "with a recipe; register it again in this process.",
        ) from None


def column_kind(series: pd.Series) -> str:
    """numeric | datetime | category | string | other, from the dtype alone."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    ):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return "string"
    return "other"


def _sample(series: pd.Series, n: int = 1000) -> pd.Series:
    return series.dropna().head(n) if len(series) > n else series.dropna()


# --------------------------------------------------------------------------- transformers


class Prepare(TransformerMixin, BaseEstimator):
    """First pipeline step: fills missing input columns, normalises dtypes, applies renames.

    Parameters are set by ``Recipe.compile``: ``columns`` are the raw input columns,
    ``kinds`` their kinds at fit time, ``rename`` the composed {old: new} mapping. Returns the
    frame itself when nothing needs changing (no copy).
    """

    def __init__(self, columns=(), kinds=None, rename=None):
        self.columns = columns
        self.kinds = kinds
        self.rename = rename

    def fit(self, X, y=None):
        if not isinstance(X, pd.DataFrame):
            raise ValidationError("X", type(X).__name__, "a pandas DataFrame")
        rename = self.rename or {}
        columns = [*X.columns, *(c for c in self.columns if c not in X.columns)]
        self.feature_names_out_ = np.asarray([rename.get(c, c) for c in columns], dtype=object)
        return self

    def transform(self, X):
        if not isinstance(X, pd.DataFrame):
            raise ValidationError("X", type(X).__name__, "a pandas DataFrame")
        kinds = self.kinds or {}
        changed: dict[str, Any] = {}
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            warnings.warn(
                f"Columns missing from the data were added as all-missing: {missing}. "
                "Impute steps fill them; other numeric features stay NaN.",
                UserWarning,
                stacklevel=3,
            )
            for c in missing:
                kind = kinds.get(c, "numeric")
                if kind == "datetime":
                    changed[c] = pd.Series(pd.NaT, index=X.index, dtype="datetime64[ns]")
                elif kind == "numeric":
                    changed[c] = pd.Series(np.nan, index=X.index, dtype="float64")
                else:
                    changed[c] = pd.Series(None, index=X.index, dtype=object)
        coerced = []
        for c in self.columns:
            series = changed.get(c, X[c] if c in X.columns else None)
            kind = kinds.get(c, "numeric")
            new = _normalise(series, kind)
            if new is not None:
                changed[c] = new
                numeric = pd.api.types.is_numeric_dtype(series.dtype)
                if (kind == "numeric" and not numeric) or (kind == "string" and numeric):
                    coerced.append(f"{c} ({series.dtype})")
        if coerced:
            warnings.warn(
                f"Columns arrived with another type: {coerced}; numeric ones were converted "
                "with pandas.to_numeric (unparseable values are NaN), text ones to strings.",
                UserWarning,
                stacklevel=3,
            )
        if not changed and not self.rename:
            return X
        out = X.copy(deep=False)
        for c, series in changed.items():
            out[c] = series
        if self.rename:
            out.columns = [self.rename.get(c, c) for c in out.columns]
        return out

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_


def _normalise(series: pd.Series, kind: str) -> pd.Series | None:
    """The column in the form the transformers expect, or None when it already is."""
    dtype = series.dtype
    if kind == "numeric":
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            return None
        if pd.api.types.is_numeric_dtype(dtype):  # Int64, Float64, boolean: NA -> NaN
            return series.astype("float64")
        return pd.to_numeric(series, errors="coerce").astype("float64")
    if kind == "string":
        if pd.api.types.is_numeric_dtype(dtype):  # numbers where text was trained: match as text
            return series.astype(str).astype(object).where(series.notna(), np.nan)
        if not isinstance(dtype, np.dtype):  # StringDtype, ArrowDtype: sklearn needs objects
            return series.astype(object).where(series.notna(), np.nan)
        if series.hasnans:  # None and NaN must look alike to the imputer and the encoders
            return series.where(series.notna(), np.nan)
    return None


class DateParts(TransformerMixin, BaseEstimator):
    """Calendar parts of datetime (or date-string) columns as float64; NaT gives NaN.

    Example
    -------
    >>> frame = pd.DataFrame({"d": pd.to_datetime(["2024-03-02", "2024-03-04"])})
    >>> DateParts(parts=["month", "is_weekend"]).fit_transform(frame)
    array([[3., 1.],
           [3., 0.]])
    """

    def __init__(self, parts=("year", "month", "day", "dayofweek")):
        self.parts = parts

    def fit(self, X, y=None):
        frame = _as_frame(X)
        self.n_features_in_ = frame.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        frame = _as_frame(X)
        parts = list(self.parts)
        out = np.empty((len(frame), frame.shape[1] * len(parts)), dtype=np.float64)
        for j in range(frame.shape[1]):
            col = frame.iloc[:, j]
            if not pd.api.types.is_datetime64_any_dtype(col.dtype):
                col = _to_datetime(col)
            dt = col.dt
            for k, part in enumerate(parts):
                values = dt.dayofweek >= 5 if part == "is_weekend" else getattr(dt, part)
                out[:, j * len(parts) + k] = values
                if part == "is_weekend" and col.hasnans:
                    out[col.isna().to_numpy(), j * len(parts) + k] = np.nan
        return out

    def get_feature_names_out(self, input_features=None):
        names = _names_in(self, input_features)
        return np.asarray([f"{c}_{p}" for c in names for p in self.parts], dtype=object)


def _to_datetime(values: pd.Series) -> pd.Series:
    """Parse dates, unparseable -> NaT; mixed UTC offsets are converted to UTC."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
        warnings.simplefilter("ignore", FutureWarning)  # mixed time zones
        try:
            parsed = pd.to_datetime(values, errors="coerce")
        except (TypeError, ValueError, OverflowError):
            parsed = None
        if parsed is None or not pd.api.types.is_datetime64_any_dtype(parsed.dtype):
            try:
                parsed = pd.to_datetime(values, errors="coerce", utc=True)
            except (TypeError, ValueError, OverflowError):
                parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    return parsed


class Log1p(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """``log1p`` of values >= 0 (checked in fit); negative values give NaN in transform."""

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low = np.nanmin(X, axis=0) if len(X) else np.zeros(X.shape[1])
        bad = np.flatnonzero(low < 0)
        if bad.size:
            names = _names_in(self, None)
            raise ValueError(
                f"log needs values >= 0; {[names[i] for i in bad]} have minimum "
                f"{[float(low[i]) for i in bad]} at this point of their chain"
            )
        return self

    def transform(self, X):
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        with np.errstate(invalid="ignore"):
            return np.log1p(np.where(X >= 0, X, np.nan))


class Power(PowerTransformer):
    """``PowerTransformer`` whose box-cox transform gives NaN for values <= 0 instead of failing."""

    def transform(self, X):
        if self.method == "box-cox":
            if isinstance(X, pd.DataFrame):
                X = X.astype(np.float64)
                X = X.where(X > 0)
            else:
                X = np.array(X, dtype=np.float64)
                X[X <= 0] = np.nan
        return super().transform(X)


class Binner(TransformerMixin, BaseEstimator):
    """KBinsDiscretizer edges per column on its non-missing values; NaN-tolerant transform."""

    def __init__(self, n_bins=5, strategy="quantile", encode="ordinal", random_state=0):
        self.n_bins = n_bins
        self.strategy = strategy
        self.encode = encode
        self.random_state = random_state

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        self.bin_edges_, self.n_bins_ = [], []
        for j in range(X.shape[1]):
            values = X[:, j][~np.isnan(X[:, j])]
            extra = (
                {"quantile_method": "averaged_inverted_cdf"} if self.strategy == "quantile" else {}
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # constant column / narrow bins
                kb = KBinsDiscretizer(
                    n_bins=self.n_bins,
                    encode="ordinal",
                    strategy=self.strategy,
                    random_state=self.random_state,
                    **extra,
                ).fit(values.reshape(-1, 1))
            self.bin_edges_.append(kb.bin_edges_[0])
            self.n_bins_.append(int(kb.n_bins_[0]))
        return self

    def transform(self, X):
        check_is_fitted(self, "bin_edges_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        codes = np.empty_like(X)
        for j, edges in enumerate(self.bin_edges_):
            codes[:, j] = np.searchsorted(edges[1:-1], X[:, j], side="right")
        codes[np.isnan(X)] = np.nan
        if self.encode == "ordinal":
            return codes
        blocks = [
            (codes[:, [j]] == np.arange(n)).astype(np.float64) for j, n in enumerate(self.n_bins_)
        ]
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features=None):
        names = _names_in(self, input_features)
        if self.encode == "ordinal":
            return np.asarray(names, dtype=object)
        return np.asarray(
            [f"{c}_bin{k}" for c, n in zip(names, self.n_bins_) for k in range(n)], dtype=object
        )


class TextTfidf(TfidfVectorizer):
    """``TfidfVectorizer`` over one column (Series, one-column frame or array); NaN -> ""."""

    def fit(self, X, y=None):
        self._remember_column(X)
        return super().fit(_documents(X))

    def fit_transform(self, X, y=None):
        self._remember_column(X)
        return super().fit_transform(_documents(X))

    def transform(self, X):
        return super().transform(_documents(X))

    def _remember_column(self, X):
        if isinstance(X, pd.Series):
            self.column_ = str(X.name)
        elif isinstance(X, pd.DataFrame):
            self.column_ = str(X.columns[0])
        else:
            self.column_ = "text"

    def get_feature_names_out(self, input_features=None):
        column = str(input_features[0]) if input_features is not None else self.column_
        terms = super().get_feature_names_out()
        return np.asarray([f"{column}_{t}" for t in terms], dtype=object)


def _documents(X):
    if isinstance(X, pd.DataFrame):
        X = X.iloc[:, 0]
    elif not isinstance(X, pd.Series):
        X = pd.Series(np.asarray(X, dtype=object).reshape(len(X), -1)[:, 0])
    return X.fillna("") if X.hasnans else X


class Hasher(TransformerMixin, BaseEstimator):
    """``FeatureHasher`` over ``"<position>=<value>"`` strings of all columns together."""

    def __init__(self, n_features=256, prefix="hash"):
        self.n_features = n_features
        self.prefix = prefix

    def fit(self, X, y=None):
        self.n_features_in_ = _as_frame(X).shape[1]
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        frame = _as_frame(X)
        tokens = np.empty(frame.shape, dtype=object)
        for j in range(frame.shape[1]):
            values = frame.iloc[:, j].astype(object)
            values = values.where(values.notna(), "").astype(str)
            tokens[:, j] = (f"{j}=" + values).to_numpy(dtype=object)
        hasher = FeatureHasher(self.n_features, input_type="string", alternate_sign=False)
        return hasher.transform(tokens)

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"{self.prefix}_hash{i}" for i in range(self.n_features)], dtype=object)


class Interactions(TransformerMixin, BaseEstimator):
    """``PolynomialFeatures`` without bias whose products with a NaN factor are NaN."""

    def __init__(self, degree=2, interaction_only=True):
        self.degree = degree
        self.interaction_only = interaction_only

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        self.poly_ = PolynomialFeatures(
            self.degree, interaction_only=self.interaction_only, include_bias=False
        ).fit(np.zeros((1, X.shape[1])))
        return self

    def transform(self, X):
        check_is_fitted(self, "poly_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        mask = np.isnan(X)
        out = self.poly_.transform(np.where(mask, 0.0, X))
        if mask.any():
            uses = (self.poly_.powers_ > 0).T.astype(np.float64)
            out[(mask.astype(np.float64) @ uses) > 0] = np.nan
        return out

    def get_feature_names_out(self, input_features=None):
        return self.poly_.get_feature_names_out(_names_in(self, input_features))


def apply_function(X, name, outputs):
    """FunctionTransformer body of a ``function`` step: the registered function, columns fixed."""
    result = registered_function(name)(X)
    if not isinstance(result, pd.DataFrame) or len(result) != len(X):
        raise ValidationError(
            "function", name, "a function returning a DataFrame with one row per input row"
        )
    return result.reindex(columns=list(outputs)).to_numpy(dtype=np.float64, na_value=np.nan)


def function_names(transformer, input_features):
    return np.asarray(transformer.kw_args["outputs"], dtype=object)


def _as_frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pd.Series):
        return X.to_frame()
    array = np.asarray(X, dtype=object)
    return pd.DataFrame(array.reshape(len(array), -1))


def _names_in(est, input_features) -> list[str]:
    if input_features is not None:
        return [str(c) for c in input_features]
    if hasattr(est, "feature_names_in_"):
        return [str(c) for c in est.feature_names_in_]
    return [f"x{i}" for i in range(est.n_features_in_)]


# --------------------------------------------------------------------------- ops


class Op:
    """One op: its parameters (defaults or REQUIRED), checks and the transformer it builds.

    ``role`` is ``column`` (one output per column, keeps its kind), ``encode`` (makes the
    column numeric), ``combine`` (columns together, ends their chains) or ``special``.
    """

    name: ClassVar[str]
    params: ClassVar[dict[str, Any]]
    role: ClassVar[str] = "column"
    accepts: ClassVar[frozenset[str]] = frozenset({"numeric"})

    def check(self, step: dict[str, Any], where: str) -> None:
        """Value checks of the parameters (types, choices, ranges)."""

    def columns(self, step: dict[str, Any]) -> list[str]:
        return list(step["columns"])

    def check_kind(self, step: dict[str, Any], column: str, kind: str, where: str) -> None:
        if kind not in self.accepts:
            wanted = " or ".join(sorted({KIND_NAMES[k] for k in self.accepts}))
            raise ValidationError(
                f"{where}.columns",
                column,
                f"a {wanted} column for {self.name}",
                f"Column {column!r} is {KIND_NAMES[kind]} at this point.",
            )

    def check_values(
        self, series: pd.Series, column: str, step: dict[str, Any], where: str
    ) -> None:
        """Checks on the raw values, run when nothing before this step changed them."""

    def build(self, step: dict[str, Any], columns: list[str]) -> Any:
        raise NotImplementedError


def choice(step: dict[str, Any], key: str, options: tuple, where: str) -> None:
    if step[key] not in options:
        raise ValidationError(f"{where}.{key}", step[key], "one of " + ", ".join(map(str, options)))


def integer(step: dict[str, Any], key: str, low: int, high: int, where: str) -> None:
    value = step[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not low <= value <= high
    ):
        raise ValidationError(f"{where}.{key}", value, f"an integer from {low} to {high}")


class Impute(Op):
    name = "impute"
    params = {"columns": REQUIRED, "strategy": "mean", "fill_value": None}
    accepts = frozenset({"numeric", "string", "category"})

    def check(self, step, where):
        choice(step, "strategy", ("mean", "median", "most_frequent", "constant"), where)
        fill = step["fill_value"]
        if fill is not None and not isinstance(fill, (str, int, float)):
            raise ValidationError(f"{where}.fill_value", fill, "a number, a string or null")

    def check_kind(self, step, column, kind, where):
        super().check_kind(step, column, kind, where)
        if kind != "numeric" and step["strategy"] in ("mean", "median"):
            raise ValidationError(
                f"{where}.strategy",
                step["strategy"],
                "most_frequent or constant for a text/categorical column",
                f"Column {column!r} is {KIND_NAMES[kind]}.",
            )
        fill = step["fill_value"]
        if step["strategy"] == "constant" and fill is not None:
            numeric_fill = isinstance(fill, (int, float)) and not isinstance(fill, bool)
            if numeric_fill != (kind == "numeric"):
                raise ValidationError(
                    f"{where}.fill_value",
                    fill,
                    f"a {'number' if kind == 'numeric' else 'string'} for column {column!r}",
                )

    def build(self, step, columns):
        return SimpleImputer(
            strategy=step["strategy"], fill_value=step["fill_value"], keep_empty_features=True
        )


class Scale(Op):
    name = "scale"
    params = {"columns": REQUIRED, "method": "standard"}
    _METHODS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}

    def check(self, step, where):
        choice(step, "method", tuple(self._METHODS), where)

    def build(self, step, columns):
        return self._METHODS[step["method"]]()


class Log(Op):
    name = "log"
    params = {"columns": REQUIRED}

    def check_values(self, series, column, step, where):
        low = series.min()
        if pd.notna(low) and low < 0:
            raise ValidationError(
                f"{where}.columns",
                column,
                "a column with values >= 0 for log (log1p)",
                f"Its minimum is {low}; use power (yeo-johnson) for signed values.",
            )

    def build(self, step, columns):
        return Log1p()


class PowerOp(Op):
    name = "power"
    params = {"columns": REQUIRED, "method": "yeo-johnson"}

    def check(self, step, where):
        choice(step, "method", ("yeo-johnson", "box-cox"), where)

    def check_values(self, series, column, step, where):
        low = series.min()
        if step["method"] == "box-cox" and pd.notna(low) and low <= 0:
            raise ValidationError(
                f"{where}.columns",
                column,
                "a column with values > 0 for box-cox",
                f"Its minimum is {low}; use method yeo-johnson.",
            )

    def build(self, step, columns):
        return Power(method=step["method"])


class OneHot(Op):
    name = "one_hot"
    params = {"columns": REQUIRED, "max_categories": None, "min_frequency": None}
    role = "encode"
    accepts = frozenset({"numeric", "string", "category"})

    def check(self, step, where):
        if step["max_categories"] is not None:
            integer(step, "max_categories", 1, 100_000, where)
        freq = step["min_frequency"]
        if freq is not None and (
            isinstance(freq, bool)
            or not isinstance(freq, (int, float))
            or freq <= 0
            or (isinstance(freq, float) and freq >= 1)
        ):
            raise ValidationError(
                f"{where}.min_frequency", freq, "a count >= 1 or a fraction between 0 and 1"
            )

    def build(self, step, columns):
        return OneHotEncoder(
            handle_unknown="ignore",
            sparse_output=False,
            dtype=np.float64,
            max_categories=step["max_categories"],
            min_frequency=step["min_frequency"],
        )


class Ordinal(Op):
    name = "ordinal"
    params = {"columns": REQUIRED}
    role = "encode"
    accepts = frozenset({"numeric", "string", "category"})

    def build(self, step, columns):
        return OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64
        )


class TargetEncode(Op):
    name = "target_encode"
    params = {"columns": REQUIRED, "smooth": "auto", "cv": 5}
    role = "encode"
    accepts = frozenset({"numeric", "string", "category"})

    def check(self, step, where):
        smooth = step["smooth"]
        if smooth != "auto" and (
            isinstance(smooth, bool) or not isinstance(smooth, (int, float)) or smooth < 0
        ):
            raise ValidationError(f"{where}.smooth", smooth, '"auto" or a number >= 0')
        integer(step, "cv", 2, 20, where)

    def build(self, step, columns):
        return TargetEncoder(smooth=step["smooth"], cv=step["cv"], shuffle=True, random_state=0)


class Bin(Op):
    name = "bin"
    params = {"columns": REQUIRED, "n_bins": 5, "strategy": "quantile", "encode": "ordinal"}
    role = "encode"

    def check(self, step, where):
        integer(step, "n_bins", 2, 1000, where)
        choice(step, "strategy", ("quantile", "uniform", "kmeans"), where)
        choice(step, "encode", ("ordinal", "onehot"), where)

    def build(self, step, columns):
        return Binner(n_bins=step["n_bins"], strategy=step["strategy"], encode=step["encode"])


class DatePartsOp(Op):
    name = "date_parts"
    params = {"columns": REQUIRED, "parts": ["year", "month", "day", "dayofweek"]}
    role = "encode"
    accepts = frozenset({"datetime", "string"})

    def check(self, step, where):
        parts = step["parts"]
        if (
            not isinstance(parts, list)
            or not parts
            or any(p not in DATE_PARTS for p in parts)
            or len(set(parts)) != len(parts)
        ):
            raise ValidationError(
                f"{where}.parts",
                parts,
                "a non-empty list of distinct parts from " + ", ".join(DATE_PARTS),
            )

    def check_values(self, series, column, step, where):
        if column_kind(series) == "datetime":
            return
        sample = _sample(series)
        bad = sample[_to_datetime(sample.astype(str)).isna().to_numpy()]
        if len(bad):
            raise ValidationError(
                f"{where}.columns",
                column,
                "a datetime column or text parseable as dates for date_parts",
                f"Unparseable values such as {bad.iloc[0]!r}.",
            )

    def build(self, step, columns):
        return DateParts(parts=tuple(step["parts"]))


class Tfidf(Op):
    name = "tfidf"
    params = {"column": REQUIRED, "max_features": None, "ngram_range": [1, 1], "min_df": 1}
    role = "combine"
    accepts = frozenset({"string"})

    def columns(self, step):
        return [step["column"]]

    def check(self, step, where):
        if not isinstance(step["column"], str):
            raise ValidationError(f"{where}.column", step["column"], "one column name (a string)")
        if step["max_features"] is not None:
            integer(step, "max_features", 1, 10_000_000, where)
        ngram = step["ngram_range"]
        if (
            not isinstance(ngram, (list, tuple))
            or len(ngram) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in ngram)
            or not 1 <= ngram[0] <= ngram[1] <= 5
        ):
            raise ValidationError(
                f"{where}.ngram_range", ngram, "[low, high] with 1 <= low <= high <= 5"
            )
        min_df = step["min_df"]
        if isinstance(min_df, bool) or not isinstance(min_df, (int, float)) or min_df <= 0:
            raise ValidationError(f"{where}.min_df", min_df, "a count >= 1 or a fraction in (0, 1]")

    def check_kind(self, step, column, kind, where):
        if kind not in self.accepts:
            raise ValidationError(
                f"{where}.column",
                column,
                "a text column for tfidf",
                f"Column {column!r} is {KIND_NAMES[kind]}.",
            )

    def check_values(self, series, column, step, where):
        sample = _sample(series)
        if len(sample) and not sample.map(type).eq(str).all():
            raise ValidationError(
                f"{where}.column", column, "a text column (string values) for tfidf"
            )

    def build(self, step, columns):
        return TextTfidf(
            max_features=step["max_features"],
            ngram_range=tuple(step["ngram_range"]),
            min_df=step["min_df"],
            dtype=np.float64,
        )


class Hashing(Op):
    name = "hashing"
    params = {"columns": REQUIRED, "n_features": 256}
    role = "combine"
    accepts = frozenset({"numeric", "string", "category"})

    def check(self, step, where):
        integer(step, "n_features", 1, 2**20, where)

    def build(self, step, columns):
        return Hasher(n_features=step["n_features"], prefix="_".join(step["columns"]))


class InteractionsOp(Op):
    name = "interactions"
    params = {"columns": REQUIRED, "degree": 2, "interaction_only": True}
    role = "combine"

    def check(self, step, where):
        if len(step["columns"]) < 2:
            raise ValidationError(f"{where}.columns", step["columns"], "at least two columns")
        integer(step, "degree", 2, 4, where)
        if not isinstance(step["interaction_only"], bool):
            raise ValidationError(
                f"{where}.interaction_only", step["interaction_only"], "true or false"
            )

    def build(self, step, columns):
        return Interactions(degree=step["degree"], interaction_only=step["interaction_only"])


class Drop(Op):
    name = "drop"
    params = {"columns": REQUIRED}
    role = "special"
    accepts = frozenset(KIND_NAMES)


class Rename(Op):
    name = "rename"
    params = {"mapping": REQUIRED}
    role = "special"
    accepts = frozenset(KIND_NAMES)

    def check(self, step, where):
        mapping = step["mapping"]
        if (
            not isinstance(mapping, dict)
            or not mapping
            or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in mapping.items())
        ):
            raise ValidationError(
                f"{where}.mapping", mapping, "a non-empty {old: new} mapping of names"
            )
        if len(set(mapping.values())) != len(mapping):
            raise ValidationError(f"{where}.mapping", mapping, "distinct new names")

    def columns(self, step):
        return list(step["mapping"])


class Function(Op):
    name = "function"
    params = {"name": REQUIRED, "columns": None}
    role = "special"
    accepts = frozenset(KIND_NAMES)

    def check(self, step, where):
        if not isinstance(step["name"], str) or step["name"] not in _FUNCTIONS:
            raise ValidationError(
                f"{where}.name",
                step["name"],
                "the name of a function registered with register_function(name, fn)",
                f"Registered: {sorted(_FUNCTIONS) or 'none'}. Registered functions are not "
                "saved with a recipe: register it in this process first.",
            )

    def columns(self, step):
        return list(step["columns"] or [])

    def build(self, step, columns, outputs=()):
        return FunctionTransformer(
            func=apply_function,
            kw_args={"name": step["name"], "outputs": list(outputs)},
            feature_names_out=function_names,
        )


OPS: dict[str, Op] = {
    "impute": Impute(),
    "scale": Scale(),
    "one_hot": OneHot(),
    "ordinal": Ordinal(),
    "target_encode": TargetEncode(),
    "bin": Bin(),
    "log": Log(),
    "power": PowerOp(),
    "date_parts": DatePartsOp(),
    "tfidf": Tfidf(),
    "hashing": Hashing(),
    "interactions": InteractionsOp(),
    "drop": Drop(),
    "rename": Rename(),
    "function": Function(),
}


def chain(transformers: list[tuple[str, Any]]) -> Any:
    """One transformer, or a Pipeline of several, for a ColumnTransformer branch."""
    return transformers[0][1] if len(transformers) == 1 else Pipeline(transformers)
