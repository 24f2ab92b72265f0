"""SageMaker's built-in DeepAR forecasting algorithm (``forecasting-deepar``), on MXNet Gluon.

DeepAR (Salinas et al., 2020) trains one autoregressive recurrent network over many related
series. Training samples windows of ``context_length + prediction_length`` steps from the
series. At each step the network sees the series' lagged values (lags chosen from
``time_freq``: for daily data 1-7 days, 1-4 weeks, a month and a year) divided by the mean
absolute value of the window's context (mean scaling), calendar features of the step (day
of week, day of month, ...), the step's ``dynamic_feat`` values, the log of the scale and an
embedding of each ``cat`` feature; it outputs the parameters of the likelihood of the
step's value (student-T by default) and is trained by negative log-likelihood. A forecast
runs the network over the last ``context_length`` observations, then draws ``num_samples``
paths step by step, feeding each sampled value back in (ancestral sampling); the mean and
quantiles are taken over the paths. All series and paths of a request are one batch.

Data is SageMaker's JSON Lines series format, one series per line::

    {"start": "2022-01-01 00:00:00", "target": [5.0, "NaN", 7.5], "cat": [0],
     "dynamic_feat": [[0, 1, 0]]}

:func:`to_series` and :func:`write_series` turn a long DataFrame into that format. A
``test`` channel holds series that extend the training series by ``prediction_length``;
the job forecasts their last ``prediction_length`` points and prints ``test:RMSE``,
``test:mean_wQuantileLoss`` and ``test:wQuantileLoss[0.1]`` ... (SageMaker's names).
Endpoints take SageMaker's request ``{"instances": [...], "configuration": {...}}`` and
answer ``{"predictions": [{"quantiles": {"0.5": [...]}, "samples": [...], "mean": [...]}]}``.

Where workbench differs from SageMaker, and why:

- the ``beta`` likelihood is refused (not implemented); gaussian, student-T,
  negative-binomial and deterministic-L1 are;
- dropout between recurrent layers replaces zoneout (MXNet's fused RNN layers have it);
- ``cell_type`` (lstm / gru) is a workbench addition, as in GluonTS;
- an epoch is ``ceil(points / (context_length + prediction_length) / mini_batch_size)``
  mini-batches of random windows, so ``epochs`` scales with the data like a pass over it;
- lags longer than any training window can see are dropped (the yearly lag of series
  shorter than a year plus a window would only ever see padding);
- forecasts are seeded, so the same request gets the same answer;
- MXNet runs its operators on one OpenMP thread unless ``OMP_NUM_THREADS`` is set: on a
  shared CPU, waiting OpenMP threads made a training step 30 times slower (measured 3 s
  instead of 0.1 s with 2 threads on 2 busy cores).

The model is ``net.save_parameters`` plus a JSON description, never a pickle.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import ValidationError
from ._base import Algorithm, quality_metric_line, quality_metric_regex
from ._data import channel_files, parse_content_type
from ._mxnet import device, import_mxnet
from ._schema import Hyperparameter, HyperparameterSchema

if TYPE_CHECKING:
    import pandas as pd

    from ..training._environment import TrainingEnvironment

__all__ = [
    "DeepAR",
    "DeepARModel",
    "ForecastRequest",
    "read_series",
    "to_series",
    "weighted_quantile_loss",
    "write_series",
]

PARAMS_FILE = "deepar-model.params"
META_FILE = "deepar-model.json"
MODEL_FORMAT = "workbench-deepar"
MODEL_FORMAT_VERSION = 1

LIKELIHOODS = ("gaussian", "beta", "negative-binomial", "student-T", "deterministic-L1")
SUPPORTED_LIKELIHOODS = ("gaussian", "student-T", "negative-binomial", "deterministic-L1")
DEFAULT_QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
OUTPUT_TYPES = ("mean", "quantiles", "samples")
JSONLINES_TYPES = (
    "application/jsonlines",
    "application/x-jsonlines",
    "application/jsonl",
    "application/json",
    "json",
)
_JSON = "application/json"
_FREQ_RE = re.compile(r"^\s*(\d*)\s*(min|M|W|D|H)\s*$")
_START_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_SEED = 0
_MAX_LAG = 1200
_MAX_SAMPLES = 1000
_BATCH_PATHS = 20_000  # series x samples drawn at once (memory ~ paths x history)
_CLIP_GRADIENT = 10.0
_LOG = "[deepar]"
_TIME_FEATURES = {
    "min": ("minute_of_hour", "hour_of_day", "day_of_week", "day_of_month", "day_of_year"),
    "H": ("hour_of_day", "day_of_week", "day_of_month", "day_of_year"),
    "D": ("day_of_week", "day_of_month", "day_of_year"),
    "W": ("day_of_month", "week_of_year"),
    "M": ("month_of_year",),
}
# Seasonal periods in base units whose lags (and their neighbours) the model sees.
_LAG_PERIODS = {
    "min": (60, 120, 180, 240, 1440, 10080),
    "H": (24, 48, 72, 96, 120, 144, 168, 336),
    "D": (7, 14, 21, 28, 30, 365),
    "W": (4, 8, 12, 52),
    "M": (12, 24),
}


def _h(name: str, kind: str, default: Any, doc: str, **options: Any) -> Hyperparameter:
    """A hyperparameter; only those SageMaker lets automatic model tuning change are tunable."""
    options.setdefault("tunable", False)
    return Hyperparameter(name, kind, default, doc, **options)


# fmt: off
SCHEMA = HyperparameterSchema((
    _h("time_freq", "str", None, "Granularity of the series: M, W, D, H or min, optionally with "
       "a multiple such as 15min or 2H.", required=True),
    _h("context_length", "int", None, "Time points the model sees before forecasting (about "
       "prediction_length; lags reach further back).", required=True, low=1, tunable=True),
    _h("prediction_length", "int", None, "Forecast horizon in time steps; fixed once trained.",
       required=True, low=1),
    _h("epochs", "int", None, "Maximum number of passes over the training data.", required=True,
       low=1, tunable=True),
    _h("cardinality", "str", "auto", "Categories of each cat feature: auto (from the data), "
       "ignore, or a list such as [2, 3]."),
    _h("dropout_rate", "float", 0.1, "Dropout rate between recurrent layers during training.",
       low=0, high=1, high_open=True, tunable=True),
    _h("early_stopping_patience", "int", None, "Stop after this many epochs without a lower "
       "training loss and keep the best epoch.", low=1),
    _h("embedding_dimension", "int", 10, "Size of the embedding of each cat feature.", low=1,
       tunable=True),
    _h("learning_rate", "float", 0.001, "Learning rate of the Adam optimiser.", low=0,
       low_open=True, tunable=True),
    _h("likelihood", "str", "student-T", "Noise model of the forecasts (beta is not implemented "
       "in workbench).", choices=LIKELIHOODS),
    _h("mini_batch_size", "int", 128, "Windows per mini-batch.", low=1, tunable=True),
    _h("num_cells", "int", 40, "Cells in each recurrent layer.", low=1, tunable=True),
    _h("num_dynamic_feat", "str", "auto", "Dynamic features: auto (from the data), ignore, or "
       "their number."),
    _h("num_eval_samples", "int", 100, "Sample paths per series for the test metrics.", low=1,
       high=_MAX_SAMPLES),
    _h("num_layers", "int", 2, "Number of recurrent layers.", low=1, tunable=True),
    _h("test_quantiles", "str", "[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]",
       "Quantiles of the test:wQuantileLoss metrics, a list such as [0.1, 0.5, 0.9]."),
    _h("cell_type", "str", "lstm", "Recurrent cell (a workbench addition; SageMaker uses LSTM).",
       choices=("lstm", "gru")),
))
# fmt: on


# -- public helpers: DataFrame <-> JSON Lines -------------------------------------------------
def to_series(
    df: pd.DataFrame,
    id_col: str | None,
    time_col: str,
    target_col: str,
    dynamic_feat_cols: Sequence[str] = (),
    cat_cols: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Turn a long DataFrame (one row per series and time step) into DeepAR series dicts.

    One dict per series, in sorted order of ``id_col`` (``None``: the frame is one series),
    rows sorted by ``time_col``: ``{"start": "2022-01-01 00:00:00", "target": [...]}`` plus
    ``"cat"`` (one int per column of ``cat_cols``, constant within a series) and
    ``"dynamic_feat"`` (one list per column of ``dynamic_feat_cols``) when given. Missing
    target values become ``"NaN"``; dynamic features must be complete.

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": ["a", "a", "b"], "t": pd.to_datetime(["2022-01-01",
    ...     "2022-01-02", "2022-01-01"]), "y": [1.0, None, 3.0]})
    >>> to_series(df, "id", "t", "y")[0]
    {'start': '2022-01-01 00:00:00', 'target': [1.0, 'NaN']}
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise ValidationError("df", type(df).__name__, "a pandas DataFrame in long format")
    named = {"time_col": time_col, "target_col": target_col}
    if id_col is not None:
        named["id_col"] = id_col
    for j, col in enumerate(dynamic_feat_cols):
        named[f"dynamic_feat_cols[{j}]"] = col
    for j, col in enumerate(cat_cols):
        named[f"cat_cols[{j}]"] = col
    for field_name, col in named.items():
        if col not in df.columns:
            raise ValidationError(
                field_name, col, f"a column of the DataFrame: {', '.join(map(str, df.columns))}"
            )
    times = pd.to_datetime(df[time_col], errors="coerce")
    if times.isna().any():
        raise ValidationError(time_col, "values that are not timestamps", "timestamps")
    frame = df.assign(**{time_col: times})
    keys = [id_col, time_col] if id_col is not None else [time_col]
    frame = frame.sort_values(keys, kind="stable")
    groups = frame.groupby(id_col, sort=True) if id_col is not None else [(None, frame)]
    return [
        _series_record(key, part, time_col, target_col, dynamic_feat_cols, cat_cols)
        for key, part in groups
    ]


def _series_record(
    key: Any,
    part: pd.DataFrame,
    time_col: str,
    target_col: str,
    dynamic_feat_cols: Sequence[str],
    cat_cols: Sequence[str],
) -> dict[str, Any]:
    where = "series" if key is None else f"series {key!r}"
    if part[time_col].duplicated().any():
        raise ValidationError(
            f"{where} {time_col}", "duplicate timestamps", "one row per time step"
        )
    target = part[target_col].to_numpy(dtype=np.float64, na_value=np.nan)
    record: dict[str, Any] = {
        "start": part[time_col].iloc[0].strftime("%Y-%m-%d %H:%M:%S"),
        "target": [v if math.isfinite(v) else "NaN" for v in target.tolist()],
    }
    if cat_cols:
        cats = []
        for col in cat_cols:
            values = part[col].unique()
            if len(values) != 1 or not _is_category(values[0]):
                raise ValidationError(
                    f"{where} {col}", list(values[:5]), "one non-negative integer per series"
                )
            cats.append(int(values[0]))
        record["cat"] = cats
    if dynamic_feat_cols:
        feats = part[list(dynamic_feat_cols)].to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.all(np.isfinite(feats)):
            raise ValidationError(
                f"{where} dynamic_feat_cols",
                "missing values",
                "complete dynamic features (DeepAR does not impute them)",
            )
        record["dynamic_feat"] = feats.T.tolist()
    return record


def write_series(records: Iterable[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write series dicts as JSON Lines (SageMaker DeepAR's ``application/jsonlines``).

    NaN in a target is written as ``"NaN"``. Returns the path.

    Example
    -------
    >>> write_series(to_series(df, "series_id", "timestamp", "value"), "data/train.json")  # doctest: +SKIP
    PosixPath('data/train.json')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            clean = dict(record)
            if "target" in clean:
                clean["target"] = [_json_value(v) for v in clean["target"]]
            handle.write(json.dumps(clean, allow_nan=False) + "\n")
    return path


def read_series(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The series dicts of a JSON Lines file, or of every file of a folder (sorted).

    Example
    -------
    >>> read_series("data/train.json")[0]["start"]  # doctest: +SKIP
    '2022-01-01 00:00:00'
    """
    files = channel_files(Path(path))
    return [obj for f in files for _, obj in _json_lines(f, "path")]


def weighted_quantile_loss(actual: Any, forecast: Any, quantile: float) -> float:
    """SageMaker's ``wQuantileLoss[tau]``: ``2 sum(tau (y-q)+ + (1-tau) (q-y)+) / sum |y|``.

    Sums run over every series and time step where ``actual`` is not NaN.

    Example
    -------
    >>> round(weighted_quantile_loss([10.0, 20.0], [12.0, 18.0], 0.5), 4)
    0.1333
    """
    y = np.asarray(actual, dtype=np.float64)
    q = np.broadcast_to(np.asarray(forecast, dtype=np.float64), y.shape)
    seen = np.isfinite(y)
    y, q = y[seen], q[seen]
    denominator = np.abs(y).sum()
    if denominator == 0:
        return float("nan")
    diff = y - q
    loss = np.maximum(quantile * diff, (quantile - 1.0) * diff).sum()
    return float(2.0 * loss / denominator)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    number = float(value)
    return number if math.isfinite(number) else "NaN"


def _is_category(value: Any) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number >= 0 and number == int(number)


# -- frequencies, calendar features and lags --------------------------------------------------
@dataclass(frozen=True)
class _Freq:
    """A ``time_freq``: a multiple of M, W, D, H or min."""

    multiple: int
    unit: str

    @classmethod
    def parse(cls, text: Any, field_name: str = "hyperparameters['time_freq']") -> _Freq:
        match = _FREQ_RE.match(str(text))
        if not match or (match.group(1) and int(match.group(1)) < 1):
            raise ValidationError(
                field_name,
                text,
                "M, W, D, H or min, optionally after a positive multiple (e.g. 15min, 2H)",
            )
        return cls(int(match.group(1) or 1), match.group(2))

    @property
    def name(self) -> str:
        return f"{self.multiple}{self.unit}" if self.multiple > 1 else self.unit

    def dates(self, start: Any, n: int, first: int = 0) -> pd.DatetimeIndex:
        """Timestamps of positions ``first .. first + n - 1`` of a series starting at ``start``."""
        import pandas as pd

        steps = np.arange(first, first + n)
        if self.unit == "M":
            return pd.DatetimeIndex(
                [start + pd.DateOffset(months=int(k) * self.multiple) for k in steps]
            )
        unit = {"W": "W", "D": "D", "H": "h", "min": "min"}[self.unit]
        return pd.DatetimeIndex(start + pd.to_timedelta(steps * self.multiple, unit=unit))

    def time_features(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """``(len(dates), k)`` float32 calendar features in [-0.5, 0.5]."""
        columns = [_time_feature(name, dates) for name in _TIME_FEATURES[self.unit]]
        return np.column_stack(columns).astype(np.float32)

    @property
    def n_time_features(self) -> int:
        return len(_TIME_FEATURES[self.unit])

    def lags(self) -> list[int]:
        """Lags 1-7 plus each seasonal period of this frequency and its two neighbours."""
        lags = set(range(1, 8))
        for period in _LAG_PERIODS[self.unit]:
            centre = int(round(period / self.multiple))
            if centre >= 1:
                lags.update({centre - 1, centre, centre + 1} if centre > 1 else {centre})
        return sorted(lag for lag in lags if 1 <= lag <= _MAX_LAG)


def _time_feature(name: str, dates: pd.DatetimeIndex) -> np.ndarray:
    if name == "minute_of_hour":
        return dates.minute.to_numpy() / 59.0 - 0.5
    if name == "hour_of_day":
        return dates.hour.to_numpy() / 23.0 - 0.5
    if name == "day_of_week":
        return dates.dayofweek.to_numpy() / 6.0 - 0.5
    if name == "day_of_month":
        return (dates.day.to_numpy() - 1) / 30.0 - 0.5
    if name == "day_of_year":
        return (dates.dayofyear.to_numpy() - 1) / 365.0 - 0.5
    if name == "week_of_year":
        return (dates.isocalendar().week.to_numpy(dtype=np.float64) - 1) / 52.0 - 0.5
    return (dates.month.to_numpy() - 1) / 11.0 - 0.5  # month_of_year


# -- series parsing --------------------------------------------------------------------------
@dataclass
class _Series:
    """One parsed series: start, target (NaN = missing), cat and dynamic features."""

    start: Any  # pandas.Timestamp
    target: np.ndarray
    cat: list[int]
    dynamic_feat: np.ndarray | None  # (num_dynamic_feat, length)
    where: str
    item_id: Any = None


def _parse_series(obj: Any, where: str) -> _Series:
    if not isinstance(obj, dict):
        raise ValidationError(
            where, type(obj).__name__, "a JSON object with 'start' and 'target' fields"
        )
    for key in ("start", "target"):
        if key not in obj:
            raise ValidationError(f"{where} {key}", None, f"a {key!r} field")
    start = _parse_start(obj["start"], f"{where} start")
    target = _parse_values(obj["target"], f"{where} target", allow_nan=True)
    if target.size == 0:
        raise ValidationError(f"{where} target", [], "at least one value")
    cat_raw = obj.get("cat")
    if cat_raw is None:
        cat: list[int] = []
    else:
        items = cat_raw if isinstance(cat_raw, list) else [cat_raw]
        if not all(_is_category(c) and not isinstance(c, bool) for c in items):
            raise ValidationError(f"{where} cat", cat_raw, "a list of non-negative integers")
        cat = [int(c) for c in items]
    dyn_raw = obj.get("dynamic_feat")
    dynamic = None
    if dyn_raw is not None:
        if not isinstance(dyn_raw, list) or not all(isinstance(d, list) for d in dyn_raw):
            raise ValidationError(
                f"{where} dynamic_feat", type(dyn_raw).__name__, "a list of lists of numbers"
            )
        rows = [
            _parse_values(d, f"{where} dynamic_feat[{j}]", allow_nan=False)
            for j, d in enumerate(dyn_raw)
        ]
        if len({len(r) for r in rows}) > 1:
            raise ValidationError(
                f"{where} dynamic_feat", [len(r) for r in rows], "features of one length"
            )
        dynamic = np.vstack(rows) if rows else None
    item_id = obj.get("item_id", obj.get("id"))
    return _Series(start, target, cat, dynamic, where, item_id)


def _parse_start(value: Any, field_name: str) -> Any:
    import pandas as pd

    if not isinstance(value, str) or not _START_RE.match(value.strip()):
        raise ValidationError(
            field_name, value, "a timestamp 'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DD'"
        )
    try:
        return pd.Timestamp(value.strip())
    except (ValueError, OverflowError):
        raise ValidationError(field_name, value, "a valid date and time") from None


def _parse_values(values: Any, field_name: str, *, allow_nan: bool) -> np.ndarray:
    if not isinstance(values, list):
        raise ValidationError(field_name, type(values).__name__, "a list of numbers")
    bad = next((v for v in values if isinstance(v, (bool, list, dict)) or _bad_string(v)), _MISSING)
    if bad is not _MISSING:
        raise ValidationError(field_name, bad, "numbers (missing values as 'NaN' or null)")
    array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if np.isinf(array).any():
        raise ValidationError(field_name, "infinite values", "finite numbers")
    if not allow_nan and np.isnan(array).any():
        raise ValidationError(field_name, "missing values", "complete values (no NaN or null)")
    return array


_MISSING = object()


def _bad_string(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() != "nan"


def _json_lines(path: Path, channel: str) -> Iterable[tuple[str, Any]]:
    """``(where, object)`` for every non-blank line of a (optionally gzipped) JSON Lines file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"channel {channel!r} file {path.name} line {number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    where, line.strip()[:80], f"one JSON object per line (JSON Lines): {exc.msg}"
                ) from None
            yield where, obj


def _read_channel(files: Iterable[Path], channel: str) -> list[_Series]:
    series = [_parse_series(obj, where) for f in files for where, obj in _json_lines(f, channel)]
    if not series:
        raise ValidationError(f"channel {channel!r}", "no series", "at least one JSON Lines series")
    return series


# -- what the data and the hyperparameters make of the model ---------------------------------
@dataclass
class _Plan:
    """The model's shape: frequency, lengths, lags, categories, dynamic features."""

    freq: _Freq
    context_length: int
    prediction_length: int
    lags: list[int]
    cardinality: list[int]
    num_dynamic_feat: int
    dyn_mean: list[float]
    dyn_std: list[float]

    @property
    def input_size(self) -> int:
        return len(self.lags) + self.freq.n_time_features + self.num_dynamic_feat + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "time_freq": self.freq.name,
            "context_length": self.context_length,
            "prediction_length": self.prediction_length,
            "lags": self.lags,
            "cardinality": self.cardinality,
            "num_dynamic_feat": self.num_dynamic_feat,
            "dyn_mean": self.dyn_mean,
            "dyn_std": self.dyn_std,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Plan:
        return cls(
            _Freq.parse(data["time_freq"]),
            int(data["context_length"]),
            int(data["prediction_length"]),
            [int(v) for v in data["lags"]],
            [int(v) for v in data["cardinality"]],
            int(data["num_dynamic_feat"]),
            [float(v) for v in data["dyn_mean"]],
            [float(v) for v in data["dyn_std"]],
        )


def _parse_list(text: Any, field_name: str, expected: str) -> list[str]:
    raw = str(text).strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1]
    items = [item.strip().strip("'\"") for item in raw.split(",")]
    items = [item for item in items if item]
    if not items:
        raise ValidationError(field_name, text, expected)
    return items


def _quantiles(hps: dict[str, Any]) -> list[float]:
    field_name = "hyperparameters['test_quantiles']"
    expected = "a list of numbers strictly between 0 and 1, e.g. [0.1, 0.5, 0.9]"
    out = []
    given = hps.get("test_quantiles") or json.dumps(list(DEFAULT_QUANTILES))
    for item in _parse_list(given, field_name, expected):
        try:
            q = float(item)
        except ValueError:
            raise ValidationError(field_name, hps.get("test_quantiles"), expected) from None
        if not 0 < q < 1:
            raise ValidationError(field_name, hps.get("test_quantiles"), expected)
        out.append(q)
    return out


def _cardinality_setting(hps: dict[str, Any]) -> str | list[int]:
    value = str(hps.get("cardinality", "auto")).strip()
    if value.lower() in ("auto", "", "ignore"):
        return value.lower() or "auto"
    field_name = "hyperparameters['cardinality']"
    expected = "auto, ignore, or a list of positive integers such as [2, 3]"
    items = _parse_list(value, field_name, expected)
    try:
        cards = [int(item) for item in items]
    except ValueError:
        raise ValidationError(field_name, value, expected) from None
    if any(c < 1 for c in cards):
        raise ValidationError(field_name, value, expected)
    return cards


def _dynamic_setting(hps: dict[str, Any]) -> str | int:
    value = str(hps.get("num_dynamic_feat", "auto")).strip().lower()
    if value in ("auto", "ignore"):
        return value
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ValidationError(
            "hyperparameters['num_dynamic_feat']", value, "auto, ignore, or a non-negative integer"
        )
    return number


def _quantile_name(q: float) -> str:
    return repr(float(q))


def _plan(hps: dict[str, Any], data: dict[str, list[_Series]]) -> _Plan:
    """Check the series against the hyperparameters; raise ValidationError naming the field."""
    freq = _Freq.parse(hps["time_freq"])
    context, horizon = int(hps["context_length"]), int(hps["prediction_length"])
    train = data["train"]
    cardinality = _resolve_cardinality(hps, data)
    num_dyn = _resolve_dynamic(hps, data)
    longest = max(len(s.target) for s in train)
    if context + horizon > longest:
        raise ValidationError(
            "hyperparameters['prediction_length']",
            horizon,
            f"at most {max(longest - context, 0)}: context_length ({context}) + "
            f"prediction_length must fit in the longest training series ({longest} points)",
            hint="Shorten prediction_length or context_length, or train on longer series.",
        )
    for s in data.get("test", []):
        if len(s.target) <= horizon:
            raise ValidationError(
                "hyperparameters['prediction_length']",
                horizon,
                f"shorter than every test series; {s.where} has {len(s.target)} points",
                hint="Each test series extends a training series by prediction_length.",
            )
    lags = [lag for lag in freq.lags() if lag == 1 or lag + context + horizon <= longest]
    mean, std = [], []
    if num_dyn:
        values = np.concatenate([s.dynamic_feat[:num_dyn] for s in train], axis=1)  # type: ignore[index]
        mean = values.mean(axis=1).tolist()
        std = [v if v > 0 else 1.0 for v in values.std(axis=1).tolist()]
    return _Plan(freq, context, horizon, lags, cardinality, num_dyn, mean, std)


def _resolve_cardinality(hps: dict[str, Any], data: dict[str, list[_Series]]) -> list[int]:
    setting = _cardinality_setting(hps)
    if setting == "ignore":
        return []
    counts = {len(s.cat) for series in data.values() for s in series}
    if len(counts) > 1:
        first = next(
            s for series in data.values() for s in series if len(s.cat) != len(data["train"][0].cat)
        )
        raise ValidationError(
            f"{first.where} cat",
            first.cat,
            f"{len(data['train'][0].cat)} values like the first training series",
        )
    n_cat = counts.pop()
    if setting == "auto":
        if not n_cat:
            return []
        cats = np.array([s.cat for s in data["train"]])
        cards = (cats.max(axis=0) + 1).tolist()
    else:
        cards = list(setting)  # type: ignore[arg-type]
        if len(cards) != n_cat:
            raise ValidationError(
                "hyperparameters['cardinality']",
                hps.get("cardinality"),
                f"{n_cat} values, one per cat feature of the data",
            )
    for series in data.values():
        for s in series:
            _check_cat(s.cat, cards, f"{s.where} cat")
    return [int(c) for c in cards]


def _check_cat(cat: list[int], cardinality: list[int], field_name: str) -> None:
    for value, card in zip(cat, cardinality):
        if value >= card:
            raise ValidationError(field_name, cat, f"values below the cardinality {cardinality}")


def _resolve_dynamic(hps: dict[str, Any], data: dict[str, list[_Series]]) -> int:
    setting = _dynamic_setting(hps)
    if setting == "ignore" or setting == 0:
        return 0
    counts = {
        0 if s.dynamic_feat is None else len(s.dynamic_feat) for v in data.values() for s in v
    }
    if len(counts) > 1:
        raise ValidationError(
            "dynamic_feat",
            sorted(counts),
            "the same number of dynamic features in every series",
        )
    n_dyn = counts.pop()
    if setting != "auto" and setting != n_dyn:
        raise ValidationError(
            "hyperparameters['num_dynamic_feat']",
            setting,
            f"{n_dyn}, the number of dynamic_feat of the data (or auto / ignore)",
        )
    for series in data.values():
        for s in series:
            if n_dyn and s.dynamic_feat.shape[1] != len(s.target):  # type: ignore[union-attr]
                raise ValidationError(
                    f"{s.where} dynamic_feat",
                    f"length {s.dynamic_feat.shape[1]}",  # type: ignore[union-attr]
                    f"length {len(s.target)}, the length of the target",
                )
    return n_dyn


# -- likelihoods -----------------------------------------------------------------------------
class _Likelihood:
    """Maps the network's outputs to a distribution: loss (MXNet) and sampling (NumPy).

    Gaussian, student-T and deterministic-L1 work on scaled values (y / scale) and are
    rescaled; negative-binomial works on the raw counts with ``mu * scale`` and
    ``alpha / sqrt(scale)`` (as GluonTS does).
    """

    name = ""
    num_params = 2

    def loss(self, nd: Any, out: Any, y: Any, scale: Any) -> tuple[Any, Any]:
        """(loss to minimise, loss to report in the target's units), element-wise."""
        raise NotImplementedError

    def sample(self, out: np.ndarray, scale: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


def _softplus_nd(nd: Any, x: Any) -> Any:
    return nd.Activation(x, act_type="softrelu")


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


class _Gaussian(_Likelihood):
    name = "gaussian"

    def loss(self, nd: Any, out: Any, y: Any, scale: Any) -> tuple[Any, Any]:
        mu = out.slice_axis(axis=2, begin=0, end=1).squeeze(axis=2)
        sigma = _softplus_nd(nd, out.slice_axis(axis=2, begin=1, end=2).squeeze(axis=2)) + 1e-4
        z = (y / scale - mu) / sigma
        nll = 0.5 * math.log(2 * math.pi) + nd.log(sigma) + 0.5 * z * z
        return nll, nll + nd.log(scale)

    def sample(self, out: np.ndarray, scale: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sigma = _softplus(out[:, 1]) + 1e-4
        return (out[:, 0] + sigma * rng.standard_normal(len(out))) * scale


class _StudentT(_Likelihood):
    name = "student-T"
    num_params = 3

    def loss(self, nd: Any, out: Any, y: Any, scale: Any) -> tuple[Any, Any]:
        mu = out.slice_axis(axis=2, begin=0, end=1).squeeze(axis=2)
        sigma = _softplus_nd(nd, out.slice_axis(axis=2, begin=1, end=2).squeeze(axis=2)) + 1e-4
        nu = 2.0 + _softplus_nd(nd, out.slice_axis(axis=2, begin=2, end=3).squeeze(axis=2))
        z = (y / scale - mu) / sigma
        nll = (
            nd.gammaln(nu / 2)
            - nd.gammaln((nu + 1) / 2)
            + 0.5 * nd.log(math.pi * nu)
            + nd.log(sigma)
            + (nu + 1) / 2 * nd.log1p(z * z / nu)
        )
        return nll, nll + nd.log(scale)

    def sample(self, out: np.ndarray, scale: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sigma = _softplus(out[:, 1]) + 1e-4
        nu = 2.0 + _softplus(out[:, 2])
        return (out[:, 0] + sigma * rng.standard_t(nu)) * scale


class _NegativeBinomial(_Likelihood):
    name = "negative-binomial"

    def loss(self, nd: Any, out: Any, y: Any, scale: Any) -> tuple[Any, Any]:
        mu = _softplus_nd(nd, out.slice_axis(axis=2, begin=0, end=1).squeeze(axis=2)) * scale
        alpha = _softplus_nd(nd, out.slice_axis(axis=2, begin=1, end=2).squeeze(axis=2))
        alpha = alpha / nd.sqrt(scale) + 1e-6
        mu = mu + 1e-6
        r = 1.0 / alpha
        log_ratio = nd.log1p(alpha * mu)
        logp = (
            nd.gammaln(y + r)
            - nd.gammaln(y + 1.0)
            - nd.gammaln(r)
            - r * log_ratio
            + y * (nd.log(alpha * mu) - log_ratio)
        )
        return -logp, -logp

    def sample(self, out: np.ndarray, scale: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mu = _softplus(out[:, 0]) * scale + 1e-6
        alpha = _softplus(out[:, 1]) / np.sqrt(scale) + 1e-6
        rate = rng.gamma(1.0 / alpha, mu * alpha)
        return rng.poisson(np.minimum(rate, 1e15)).astype(np.float64)


class _DeterministicL1(_Likelihood):
    name = "deterministic-L1"
    num_params = 1

    def loss(self, nd: Any, out: Any, y: Any, scale: Any) -> tuple[Any, Any]:
        error = nd.abs(y / scale - out.squeeze(axis=2))
        return error, error * scale

    def sample(self, out: np.ndarray, scale: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return out[:, 0] * scale


_LIKELIHOODS: dict[str, type[_Likelihood]] = {
    cls.name: cls for cls in (_Gaussian, _StudentT, _NegativeBinomial, _DeterministicL1)
}


# -- MXNet: the network --------------------------------------------------------
def _network(mx: Any, arch: dict[str, Any]) -> Any:
    """The DeepAR network: cat embeddings, a stacked LSTM/GRU, and a dense likelihood head."""
    from mxnet import gluon, nd

    class DeepARNetwork(gluon.Block):
        def __init__(self) -> None:
            super().__init__()
            self.n_cat = len(arch["cardinality"])
            emb_dim = arch["embedding_dimension"]
            input_size = arch["input_size"] + self.n_cat * emb_dim
            layer = gluon.rnn.LSTM if arch["cell_type"] == "lstm" else gluon.rnn.GRU
            with self.name_scope():
                for j, card in enumerate(arch["cardinality"]):
                    setattr(self, f"embedding{j}", gluon.nn.Embedding(card, emb_dim))
                self.rnn = layer(
                    arch["num_cells"],
                    num_layers=arch["num_layers"],
                    layout="NTC",
                    dropout=arch["dropout_rate"],
                    input_size=input_size,
                )
                self.head = gluon.nn.Dense(
                    arch["num_params"], flatten=False, in_units=arch["num_cells"]
                )

        def forward(self, x: Any, static: Any, cat: Any, states: Any = None) -> Any:
            parts = [static]
            for j in range(self.n_cat):
                parts.append(getattr(self, f"embedding{j}")(cat[:, j]))
            stat = nd.concat(*parts, dim=1) if len(parts) > 1 else static
            batch, steps = x.shape[0], x.shape[1]
            stat = nd.broadcast_to(stat.expand_dims(axis=1), (batch, steps, stat.shape[1]))
            if states is None:
                states = self.rnn.begin_state(batch_size=batch, ctx=x.context)
            out, states = self.rnn(nd.concat(x, stat, dim=2), states)
            return self.head(out), states

    return DeepARNetwork()


def _architecture(hps: dict[str, Any], plan: _Plan) -> dict[str, Any]:
    likelihood = _LIKELIHOODS[hps["likelihood"]]
    return {
        "cell_type": hps["cell_type"],
        "num_cells": int(hps["num_cells"]),
        "num_layers": int(hps["num_layers"]),
        "dropout_rate": float(hps["dropout_rate"]),
        "embedding_dimension": int(hps["embedding_dimension"]),
        "cardinality": plan.cardinality,
        "input_size": plan.input_size,
        "num_params": likelihood.num_params,
        "likelihood": likelihood.name,
    }


# -- features --------------------------------------------------------------------------------
def _scale(context: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Mean absolute value of each row's observed context; ``fallback`` where there is none."""
    seen = np.isfinite(context)
    count = seen.sum(axis=1)
    total = np.where(seen, np.abs(context), 0.0).sum(axis=1)
    scale = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return np.where(scale > 0, scale, fallback)


def _fallback_scale(series: Sequence[_Series]) -> np.ndarray:
    out = np.ones(len(series))
    for i, s in enumerate(series):
        seen = np.abs(s.target[np.isfinite(s.target)])
        if seen.size and seen.mean() > 0:
            out[i] = seen.mean()
    return out


def _dyn_block(s: _Series, plan: _Plan, length: int) -> np.ndarray:
    """``(length, num_dynamic_feat)`` normalised dynamic features of a series (first ``length``)."""
    if not plan.num_dynamic_feat:
        return np.zeros((length, 0), dtype=np.float32)
    values = s.dynamic_feat[: plan.num_dynamic_feat, :length].T  # type: ignore[index]
    return ((values - np.array(plan.dyn_mean)) / np.array(plan.dyn_std)).astype(np.float32)


class _TrainingWindows:
    """Padded arrays of the training series and random windows drawn from them."""

    def __init__(self, series: list[_Series], plan: _Plan) -> None:
        self.plan = plan
        self.pad = max(plan.lags) + plan.context_length
        lengths = np.array([len(s.target) for s in series])
        width = self.pad + int(lengths.max())
        n = len(series)
        self.values = np.full((n, width), np.nan)
        self.calendar = np.zeros((n, width, plan.freq.n_time_features), dtype=np.float32)
        self.dynamic = np.zeros((n, width, plan.num_dynamic_feat), dtype=np.float32)
        cache: dict[Any, np.ndarray] = {}
        for i, s in enumerate(series):
            size = len(s.target)
            self.values[i, self.pad : self.pad + size] = s.target
            if s.start not in cache:
                dates = plan.freq.dates(s.start, width, first=-self.pad)
                cache[s.start] = plan.freq.time_features(dates)
            self.calendar[i] = cache[s.start]
            self.dynamic[i, self.pad : self.pad + size] = _dyn_block(s, plan, size)
        n_cat = len(plan.cardinality)
        self.cat = np.array([s.cat[:n_cat] for s in series], dtype=np.float32).reshape(n, n_cat)
        self.fallback = _fallback_scale(series)
        # forecast start s (first future step) ranges over 1 .. length - prediction_length
        self.starts = np.maximum(lengths - plan.prediction_length, 0)
        self.weights = self.starts / self.starts.sum()
        self.lags = np.array(plan.lags)

    def sample(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        plan = self.plan
        which = rng.choice(len(self.starts), size=size, p=self.weights)
        start = 1 + np.floor(rng.random(size) * self.starts[which]).astype(np.int64)
        steps = plan.context_length + plan.prediction_length
        pos = self.pad + start[:, None] - plan.context_length + np.arange(steps)  # (B, T)
        y = self.values[which[:, None], pos]
        scale = _scale(y[:, : plan.context_length], self.fallback[which])
        lagged = (
            self.values[which[:, None, None], pos[:, :, None] - self.lags] / scale[:, None, None]
        )
        x = np.concatenate(
            [
                np.nan_to_num(lagged, nan=0.0).astype(np.float32),
                self.calendar[which[:, None], pos],
                self.dynamic[which[:, None], pos],
            ],
            axis=2,
        )
        return x, np.log(scale)[:, None], self.cat[which], y, scale


# -- forecasting (ancestral sampling, vectorised over series x samples) ------------------------
def _sample_paths(
    net: Any,
    mx: Any,
    plan: _Plan,
    likelihood: _Likelihood,
    series: Sequence[_Series],
    num_samples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``(n_series, num_samples, prediction_length)`` sample paths after each series' target."""
    per_chunk = max(1, _BATCH_PATHS // num_samples)
    parts = [
        _sample_chunk(net, mx, plan, likelihood, series[i : i + per_chunk], num_samples, rng)
        for i in range(0, len(series), per_chunk)
    ]
    return np.concatenate(parts, axis=0)


def _sample_chunk(
    net: Any,
    mx: Any,
    plan: _Plan,
    likelihood: _Likelihood,
    series: Sequence[_Series],
    num_samples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    nd = mx.nd
    ctx = device(mx)
    n, context, horizon = len(series), plan.context_length, plan.prediction_length
    lags = np.array(plan.lags)
    history = int(lags.max()) + context
    values = np.full((n, history + horizon), np.nan)
    calendar = np.zeros((n, context + horizon, plan.freq.n_time_features), dtype=np.float32)
    dynamic = np.zeros((n, context + horizon, plan.num_dynamic_feat), dtype=np.float32)
    for i, s in enumerate(series):
        size = len(s.target)
        tail = s.target[-history:]
        values[i, history - len(tail) : history] = tail
        dates = plan.freq.dates(s.start, context + horizon, first=size - context)
        calendar[i] = plan.freq.time_features(dates)
        if plan.num_dynamic_feat:
            block = _dyn_block(s, plan, size + horizon)
            first = size - context
            rows = np.arange(first, size + horizon)
            keep = rows >= 0
            dynamic[i, keep] = block[rows[keep]]
    scale = _scale(values[:, history - context : history], _fallback_scale(series))
    n_cat = len(plan.cardinality)
    cat = np.array([s.cat[:n_cat] for s in series], dtype=np.float32).reshape(n, n_cat)
    static = np.log(scale)[:, None].astype(np.float32)

    # the context, teacher-forced, for every series once
    steps = np.arange(history - context, history)
    lagged = values[:, steps[:, None] - lags] / scale[:, None, None]
    x = np.concatenate(
        [np.nan_to_num(lagged, nan=0.0), calendar[:, :context], dynamic[:, :context]], axis=2
    )
    _, states = net(nd.array(x, ctx=ctx), nd.array(static, ctx=ctx), nd.array(cat, ctx=ctx))
    # then num_samples paths per series, one step at a time
    states = [nd.repeat(s, repeats=num_samples, axis=1) for s in states]
    values = np.repeat(values, num_samples, axis=0)
    scale = np.repeat(scale, num_samples)
    static_nd = nd.array(np.repeat(static, num_samples, axis=0), ctx=ctx)
    cat_nd = nd.array(np.repeat(cat, num_samples, axis=0), ctx=ctx)
    calendar = np.repeat(calendar, num_samples, axis=0)
    dynamic = np.repeat(dynamic, num_samples, axis=0)
    for j in range(horizon):
        at = history + j
        lagged = np.nan_to_num(values[:, at - lags] / scale[:, None], nan=0.0)
        x = np.concatenate([lagged, calendar[:, context + j], dynamic[:, context + j]], axis=1)
        out, states = net(nd.array(x[:, None, :], ctx=ctx), static_nd, cat_nd, states)
        params = out[:, 0, :].asnumpy().astype(np.float64)
        values[:, at] = likelihood.sample(params, scale, rng)
    return values[:, history:].reshape(n, num_samples, horizon)


# -- the algorithm ---------------------------------------------------------------------------
class DeepAR(Algorithm):
    """SageMaker's DeepAR forecasting (``algorithm="forecasting-deepar"``), on MXNet Gluon."""

    name = "forecasting-deepar"
    title = "DeepAR Forecasting"
    description = (
        "Probabilistic forecasts of related time series with an autoregressive recurrent "
        "network trained on all of them (SageMaker's DeepAR)."
    )
    hyperparameters = SCHEMA
    channels = ("train", "test")
    required_channels = ("train",)
    content_types = JSONLINES_TYPES
    engine = "mxnet"
    preload = ("numpy", "pandas")
    supervised = False

    def validate_hyperparameters(self, values: dict[str, Any]) -> dict[str, Any]:
        """As the base class; lists given for ``cardinality`` / ``test_quantiles`` are accepted."""
        values = dict(values)
        for key in ("cardinality", "test_quantiles"):
            if isinstance(values.get(key), (list, tuple)):
                values[key] = json.dumps(list(values[key]))
        return super().validate_hyperparameters(values)

    def check_hyperparameters(self, hps: dict[str, Any]) -> None:
        _Freq.parse(hps["time_freq"])
        if hps["likelihood"] not in SUPPORTED_LIKELIHOODS:
            raise ValidationError(
                "hyperparameters['likelihood']",
                hps["likelihood"],
                "one of " + ", ".join(SUPPORTED_LIKELIHOODS),
                hint="workbench does not implement SageMaker's beta likelihood.",
            )
        _cardinality_setting(hps)
        _dynamic_setting(hps)
        _quantiles(hps)

    def problem_type(self, hps: dict[str, Any]) -> str:
        return "forecasting"

    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        try:
            quantiles = _quantiles(hps)
        except ValidationError:
            quantiles = list(DEFAULT_QUANTILES)
        names = [("train", "final_loss"), ("train", "loss"), ("test", "RMSE")]
        names.append(("test", "mean_wQuantileLoss"))
        names += [("test", f"wQuantileLoss[{_quantile_name(q)}]") for q in quantiles]
        return [{"Name": f"{c}:{m}", "Regex": quality_metric_regex(c, m)} for c, m in names]

    def check_data(self, hps: dict[str, Any], channels: list[Any]) -> None:
        """Read the JSON Lines channels and check them against the hyperparameters."""
        data = {}
        for chan in channels:
            if chan.frame is not None or chan.matrix is not None:
                raise ValidationError(
                    f"inputs[{chan.name!r}]",
                    "a DataFrame",
                    "a JSON Lines file or folder of series",
                    hint="Convert a long DataFrame with write_series(to_series(df, ...), path) "
                    "and pass TrainingInput(path, content_type='application/jsonlines').",
                )
            files = [Path(f) for f in chan.files if Path(f).name != "schema.json"]
            data[chan.name] = _read_channel(files, chan.name)
        if "train" in data:
            _plan(hps, data)

    def train(self, env: TrainingEnvironment, hps: dict[str, Any]) -> None:
        started = time.perf_counter()
        data = self._read(env)
        plan = _plan(hps, data)
        likelihood = _LIKELIHOODS[hps["likelihood"]]()
        if likelihood.name == "negative-binomial" and any(
            np.nanmin(s.target) < 0 for s in data["train"] if np.isfinite(s.target).any()
        ):
            raise ValidationError(
                "hyperparameters['likelihood']",
                "negative-binomial",
                "non-negative targets for the negative-binomial likelihood",
                hint="Use gaussian or student-T for data with negative values.",
            )
        mx = import_mxnet()
        mx.random.seed(_SEED)
        arch = _architecture(hps, plan)
        net = _network(mx, arch)
        net.initialize(mx.init.Xavier(), ctx=device(mx))
        train = data["train"]
        print(
            f"{_LOG} {len(train)} series, {sum(len(s.target) for s in train)} points, "
            f"time_freq={plan.freq.name}, context_length={plan.context_length}, "
            f"prediction_length={plan.prediction_length}, lags={plan.lags}, "
            f"cardinality={plan.cardinality}, num_dynamic_feat={plan.num_dynamic_feat}, "
            f"likelihood={likelihood.name}, {arch['num_layers']}x{arch['num_cells']} "
            f"{arch['cell_type']} cells",
            flush=True,
        )
        final_loss = _fit(net, mx, plan, likelihood, train, hps)
        print(quality_metric_line("train", "final_loss", final_loss), flush=True)
        meta = {
            "format": MODEL_FORMAT,
            "version": MODEL_FORMAT_VERSION,
            "plan": plan.to_json(),
            "architecture": arch,
            "num_eval_samples": int(hps["num_eval_samples"]),
            "test_quantiles": _quantiles(hps),
        }
        model = DeepARModel(net, mx, meta)
        model.save(env.model_dir)
        if "test" in data:
            metrics = model.evaluate(data["test"])
            for name, value in metrics.items():
                print(quality_metric_line("test", name, value), flush=True)
        print(f"{_LOG} done in {time.perf_counter() - started:.1f}s", flush=True)

    def load(self, model_dir: Path) -> DeepARModel:
        return DeepARModel.load(Path(model_dir))

    def _read(self, env: TrainingEnvironment) -> dict[str, list[_Series]]:
        data = {}
        for channel in self.channels:
            if channel not in env.input_data_config:
                continue
            base, _ = parse_content_type(env.content_type(channel))
            if base and base not in JSONLINES_TYPES:
                raise ValidationError(
                    f"channel {channel!r} ContentType",
                    env.content_type(channel),
                    "application/jsonlines (SageMaker DeepAR's JSON Lines series)",
                )
            files = channel_files(env.channel_dir(channel))
            if not files:
                raise ValidationError(f"channel {channel!r}", "no files", "JSON Lines files")
            data[channel] = _read_channel(files, channel)
        return data


def _fit(
    net: Any,
    mx: Any,
    plan: _Plan,
    likelihood: _Likelihood,
    series: list[_Series],
    hps: dict[str, Any],
) -> float:
    """Train by negative log-likelihood on random windows; return the kept epoch's loss."""
    from mxnet import autograd, gluon

    nd, ctx = mx.nd, device(mx)
    windows = _TrainingWindows(series, plan)
    rng = np.random.default_rng(_SEED)
    batch = int(hps["mini_batch_size"])
    steps = plan.context_length + plan.prediction_length
    points = sum(len(s.target) for s in series)
    per_epoch = max(1, math.ceil(points / steps / batch))
    trainer = gluon.Trainer(
        net.collect_params(),
        "adam",
        {"learning_rate": float(hps["learning_rate"]), "clip_gradient": _CLIP_GRADIENT},
    )
    patience = hps.get("early_stopping_patience")
    best_loss, best_epoch, best_params = math.inf, -1, None
    epoch_loss = math.nan
    for epoch in range(int(hps["epochs"])):
        total, count = 0.0, 0.0
        for _ in range(per_epoch):
            x, static, cat, y, scale = windows.sample(batch, rng)
            seen = np.isfinite(y)
            y_nd = nd.array(np.where(seen, y, 0.0), ctx=ctx)
            mask = nd.array(seen, ctx=ctx)
            scale_nd = nd.array(scale[:, None], ctx=ctx)
            with autograd.record():
                out, _ = net(
                    nd.array(x, ctx=ctx), nd.array(static, ctx=ctx), nd.array(cat, ctx=ctx)
                )
                loss, report = likelihood.loss(nd, out, y_nd, scale_nd)
                n_seen = max(float(seen.sum()), 1.0)
                objective = (loss * mask).sum() / n_seen
            objective.backward()
            trainer.step(1)
            total += float((report * mask).sum().asscalar())
            count += n_seen
        epoch_loss = total / count
        if not math.isfinite(epoch_loss):
            raise ValidationError(
                "hyperparameters['learning_rate']",
                hps["learning_rate"],
                "a smaller value: the training loss is not finite",
            )
        print(quality_metric_line("train", "loss", epoch_loss, epoch=epoch), flush=True)
        if epoch_loss < best_loss:
            best_loss, best_epoch = epoch_loss, epoch
            if patience:
                best_params = {k: p.data().copy() for k, p in net.collect_params().items()}
        elif patience and epoch - best_epoch >= patience:
            print(f"{_LOG} early stopping at epoch {epoch}; best epoch {best_epoch}", flush=True)
            for key, param in net.collect_params().items():
                param.set_data(best_params[key])  # type: ignore[index]
            return best_loss
    return epoch_loss


# -- the trained model -----------------------------------------------------------------------
@dataclass
class ForecastRequest:
    """A decoded endpoint request: series to forecast and SageMaker's ``configuration``."""

    series: list[_Series]
    num_samples: int
    output_types: list[str]
    quantiles: list[str]

    def __len__(self) -> int:
        return len(self.series)


class DeepARModel:
    """A trained DeepAR network with SageMaker's request and response formats.

    Example
    -------
    >>> model = job.model()  # doctest: +SKIP
    >>> model.predict(records)  # one row per series and forecast step  # doctest: +SKIP
    """

    problem_type = "forecasting"
    feature_names: list[str] | None = None
    tabular = False  # Model.predict hands over the user's series / frame unchanged
    request_content_types = ("application/json", "application/jsonlines")

    def __init__(self, net: Any, mx: Any, meta: dict[str, Any]) -> None:
        self.net = net
        self.mx = mx
        self.meta = meta
        self.plan = _Plan.from_json(meta["plan"])
        self.likelihood = _LIKELIHOODS[meta["architecture"]["likelihood"]]()
        self.num_eval_samples = int(meta["num_eval_samples"])
        self.quantiles = [float(q) for q in meta["test_quantiles"]]

    @property
    def prediction_length(self) -> int:
        return self.plan.prediction_length

    @classmethod
    def load(cls, model_dir: Path) -> DeepARModel:
        meta = json.loads((Path(model_dir) / META_FILE).read_text())
        if meta.get("format") != MODEL_FORMAT:
            raise ValidationError(
                f"model {META_FILE}", meta.get("format"), f"format {MODEL_FORMAT!r}"
            )
        mx = import_mxnet()
        net = _network(mx, meta["architecture"])
        net.load_parameters(str(Path(model_dir) / PARAMS_FILE), ctx=device(mx))
        return cls(net, mx, meta)

    def save(self, model_dir: Path) -> None:
        """Write ``deepar-model.params`` (Gluon parameters) and ``deepar-model.json``."""
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        self.net.save_parameters(str(model_dir / PARAMS_FILE))
        (model_dir / META_FILE).write_text(json.dumps(self.meta, indent=2))

    # -- forecasting -------------------------------------------------------------------------
    def sample_paths(self, series: Any, num_samples: int | None = None) -> np.ndarray:
        """``(n_series, num_samples, prediction_length)`` paths after each series' target.

        ``series`` are dicts in DeepAR's format (``start``, ``target``, ``cat``,
        ``dynamic_feat`` covering target + prediction_length), or a :class:`ForecastRequest`.
        Seeded: the same call gives the same paths.
        """
        parsed = self._series(series)
        n = num_samples or self.num_eval_samples
        rng = np.random.default_rng(_SEED)
        return _sample_paths(self.net, self.mx, self.plan, self.likelihood, parsed, n, rng)

    def evaluate(self, test: Sequence[_Series]) -> dict[str, float]:
        """SageMaker's test metrics on series whose last prediction_length points are held out."""
        horizon = self.prediction_length
        history = [
            _Series(s.start, s.target[:-horizon], s.cat, s.dynamic_feat, s.where) for s in test
        ]
        paths = _sample_paths(
            self.net,
            self.mx,
            self.plan,
            self.likelihood,
            history,
            self.num_eval_samples,
            np.random.default_rng(_SEED),
        )
        actual = np.vstack([s.target[-horizon:] for s in test])
        seen = np.isfinite(actual)
        error = paths.mean(axis=1) - actual
        metrics = {"RMSE": float(np.sqrt(np.mean(error[seen] ** 2)))}
        losses = {
            q: weighted_quantile_loss(actual, np.quantile(paths, q, axis=1), q)
            for q in self.quantiles
        }
        metrics["mean_wQuantileLoss"] = float(np.mean(list(losses.values())))
        for q, value in losses.items():
            metrics[f"wQuantileLoss[{_quantile_name(q)}]"] = value
        return metrics

    # -- endpoints ---------------------------------------------------------------------------
    def decode_request(self, body: bytes, content_type: str) -> ForecastRequest:
        """SageMaker DeepAR's request: JSON ``{"instances": [...], "configuration": {...}}``,
        or JSON Lines with one instance per line (configuration from the
        ``DEEPAR_INFERENCE_CONFIG`` environment variable, as in batch transform)."""
        base, _ = parse_content_type(content_type)
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError("body", "bytes that are not UTF-8", "UTF-8 JSON") from None
        if base in ("application/jsonlines", "application/x-jsonlines", "application/jsonl"):
            instances = []
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    instances.append(_load_json(line, f"line {number}"))
            config = _load_json(os.environ.get("DEEPAR_INFERENCE_CONFIG") or "{}", "configuration")
        elif base == _JSON:
            payload = _load_json(text, "body")
            if isinstance(payload, list):
                payload = {"instances": payload}
            if not isinstance(payload, dict) or not isinstance(payload.get("instances"), list):
                raise ValidationError(
                    "body",
                    type(payload).__name__,
                    'an object {"instances": [...], "configuration": {...}}',
                )
            instances, config = payload["instances"], payload.get("configuration") or {}
        else:
            raise ValidationError(
                "Content-Type", content_type, "application/json or application/jsonlines"
            )
        if not instances:
            raise ValidationError("instances", [], "at least one series")
        series = [
            self._check_instance(_parse_series(obj, f"instances[{i}]"))
            for i, obj in enumerate(instances)
        ]
        return ForecastRequest(series, *self._configuration(config))

    def response_columns(self, inputs: Any) -> dict[str, np.ndarray]:
        """One entry per series: ``mean`` (list), ``quantiles`` (dict of lists), ``samples``."""
        request = inputs if isinstance(inputs, ForecastRequest) else self._as_request(inputs)
        paths = self.sample_paths(request.series, request.num_samples)
        columns: dict[str, np.ndarray] = {}
        for kind in request.output_types:
            if kind == "mean":
                values: list[Any] = paths.mean(axis=1).tolist()
            elif kind == "quantiles":
                levels = [float(q) for q in request.quantiles]
                table = np.quantile(paths, levels, axis=1)  # (n_quantiles, n_series, horizon)
                values = [
                    {name: table[k, i].tolist() for k, name in enumerate(request.quantiles)}
                    for i in range(len(paths))
                ]
            else:
                values = paths.tolist()
            column = np.empty(len(values), dtype=object)
            for i, value in enumerate(values):
                column[i] = value
            columns[kind] = column
        return columns

    def predict_frame(
        self,
        inputs: Any,
        *,
        id_col: str | None = None,
        time_col: str | None = None,
        target_col: str | None = None,
        dynamic_feat_cols: Sequence[str] | None = None,
        cat_cols: Sequence[str] = (),
        num_samples: int | None = None,
        quantiles: Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """Forecasts as a long DataFrame: series id, timestamp, ``mean`` and quantile columns.

        ``inputs`` is a list of series dicts (as :func:`to_series` makes) or a long DataFrame.
        In a DataFrame, a series' history runs to its last non-missing target; the rows
        after it (target NaN) are the future, used for their dynamic features (a model with
        dynamic features needs prediction_length of them). Columns default to
        ``series_id`` / ``timestamp`` / ``value``; the dynamic features to the remaining
        numeric columns. Quantile columns are named ``"0.1"``, ``"0.5"``, ...

        Example
        -------
        >>> model.predict_frame(frame[["series_id", "timestamp", "value", "promo"]])  # doctest: +SKIP
        """
        import pandas as pd

        if isinstance(inputs, pd.DataFrame):
            series, ids, id_name, time_name = self._from_frame(
                inputs, id_col, time_col, target_col, dynamic_feat_cols, cat_cols
            )
        else:
            series = self._series(inputs)
            ids = [s.item_id if s.item_id is not None else i for i, s in enumerate(series)]
            id_name, time_name = id_col or "series_id", time_col or "timestamp"
        levels = [float(q) for q in (quantiles if quantiles is not None else self.quantiles)]
        paths = self.sample_paths(series, num_samples)
        horizon = self.prediction_length
        frame = {
            id_name: np.repeat(np.array(ids, dtype=object), horizon),
            time_name: np.concatenate(
                [self.plan.freq.dates(s.start, horizon, first=len(s.target)) for s in series]
            ),
            "mean": paths.mean(axis=1).reshape(-1),
        }
        for q in levels:
            frame[_quantile_name(q)] = np.quantile(paths, q, axis=1).reshape(-1)
        return pd.DataFrame(frame)

    # -- helpers -----------------------------------------------------------------------------
    def _series(self, inputs: Any) -> list[_Series]:
        if isinstance(inputs, ForecastRequest):
            return inputs.series
        if isinstance(inputs, dict):
            inputs = inputs.get("instances", [inputs])
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise ValidationError(
                "series", type(inputs).__name__, "a non-empty list of series dicts or a DataFrame"
            )
        out = []
        for i, obj in enumerate(inputs):
            s = obj if isinstance(obj, _Series) else _parse_series(obj, f"series[{i}]")
            out.append(self._check_instance(s))
        return out

    def _as_request(self, inputs: Any) -> ForecastRequest:
        config = inputs.get("configuration", {}) if isinstance(inputs, dict) else {}
        return ForecastRequest(self._series(inputs), *self._configuration(config))

    def _check_instance(self, s: _Series) -> _Series:
        plan = self.plan
        n_cat = len(plan.cardinality)
        if n_cat:
            if len(s.cat) != n_cat:
                raise ValidationError(
                    f"{s.where} cat", s.cat, f"{n_cat} categories (the model was trained with cat)"
                )
            _check_cat(s.cat, plan.cardinality, f"{s.where} cat")
        if plan.num_dynamic_feat:
            need = len(s.target) + plan.prediction_length
            dyn = s.dynamic_feat
            if dyn is None or len(dyn) < plan.num_dynamic_feat:
                raise ValidationError(
                    f"{s.where} dynamic_feat",
                    0 if dyn is None else len(dyn),
                    f"{plan.num_dynamic_feat} dynamic features (the model was trained with them)",
                )
            if dyn.shape[1] != need:
                raise ValidationError(
                    f"{s.where} dynamic_feat",
                    f"length {dyn.shape[1]}",
                    f"length {need}: len(target) + prediction_length ({plan.prediction_length})",
                )
        return s

    def _configuration(self, config: Any) -> tuple[int, list[str], list[str]]:
        if not isinstance(config, dict):
            raise ValidationError("configuration", type(config).__name__, "a JSON object")
        num = config.get("num_samples", self.num_eval_samples)
        if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= _MAX_SAMPLES:
            raise ValidationError(
                "configuration.num_samples", num, f"an integer from 1 to {_MAX_SAMPLES}"
            )
        types = config.get("output_types", ["mean", "quantiles"])
        if not isinstance(types, list) or not types or any(t not in OUTPUT_TYPES for t in types):
            raise ValidationError(
                "configuration.output_types", types, "a list of mean, quantiles, samples"
            )
        names = config.get("quantiles", [_quantile_name(q) for q in self.quantiles])
        if not isinstance(names, list) or not names:
            raise ValidationError("configuration.quantiles", names, 'a list such as ["0.1", "0.9"]')
        for name in names:
            try:
                ok = 0 < float(name) < 1
            except (TypeError, ValueError):
                ok = False
            if not ok or isinstance(name, bool):
                raise ValidationError(
                    "configuration.quantiles", names, "quantiles strictly between 0 and 1"
                )
        return num, list(dict.fromkeys(types)), [str(q) for q in names]

    def _from_frame(
        self,
        df: pd.DataFrame,
        id_col: str | None,
        time_col: str | None,
        target_col: str | None,
        dynamic_feat_cols: Sequence[str] | None,
        cat_cols: Sequence[str],
    ) -> tuple[list[_Series], list[Any], str, str]:
        import pandas as pd

        columns = list(df.columns)
        id_col = id_col if id_col is not None else _first(columns, ("series_id", "item_id", "id"))
        time_col = time_col or _first(columns, ("timestamp", "time", "date"))
        if time_col is None:
            time_col = next(
                (c for c in columns if pd.api.types.is_datetime64_any_dtype(df[c])), None
            )
        target_col = target_col or _first(columns, ("value", "target"))
        for name, col in (("time_col", time_col), ("target_col", target_col)):
            if col is None or col not in columns:
                raise ValidationError(
                    name, col, f"a column of the DataFrame: {', '.join(map(str, columns))}"
                )
        if dynamic_feat_cols is None:
            used = {id_col, time_col, target_col, *cat_cols}
            rest = [c for c in columns if c not in used and pd.api.types.is_numeric_dtype(df[c])]
            if len(rest) < self.plan.num_dynamic_feat or (
                self.plan.num_dynamic_feat and len(rest) != self.plan.num_dynamic_feat
            ):
                raise ValidationError(
                    "dynamic_feat_cols",
                    rest,
                    f"{self.plan.num_dynamic_feat} dynamic feature columns",
                    hint="Pass predict_frame(df, dynamic_feat_cols=[...]) or select the columns.",
                )
            dynamic_feat_cols = rest[: self.plan.num_dynamic_feat]
        records = to_series(df, id_col, time_col, target_col, dynamic_feat_cols, cat_cols)
        ids = sorted(df[id_col].unique()) if id_col is not None else [0]
        series = []
        for key, record in zip(ids, records):
            target = np.array([np.nan if v == "NaN" else v for v in record["target"]], dtype=float)
            seen = np.flatnonzero(np.isfinite(target))
            if not seen.size:
                raise ValidationError(f"series {key!r} {target_col}", "no values", "a history")
            record["target"] = target[: seen[-1] + 1].tolist()
            if "dynamic_feat" in record:
                need = len(record["target"]) + self.prediction_length
                record["dynamic_feat"] = [row[:need] for row in record["dynamic_feat"]]
            s = _parse_series(record, f"series {key!r}")
            s.item_id = key
            series.append(self._check_instance(s))
        return series, ids, id_col or "series_id", time_col


def _first(columns: list[Any], names: Sequence[str]) -> str | None:
    return next((n for n in names if n in columns), None)


def _load_json(text: str, field_name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(field_name, text[:80], f"valid JSON ({exc.msg})") from None
