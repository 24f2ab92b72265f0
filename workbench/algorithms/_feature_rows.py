"""Feature rows for the numpy algorithms (k-NN, K-Means, PCA): reading, shapes, checks.

Channels are read with :func:`read_features` (unsupervised channels have no label unless
the content type declares one); :func:`channel_shape` tells a prepared channel's columns
and rows cheaply, for the kernel-side ``feature_dim`` and ``k`` checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import ValidationError
from ._data import (
    FRAME_CONTENT_TYPE,
    FRAME_DATA,
    FRAME_SCHEMA,
    LabeledData,
    parse_content_type,
    read_channel,
)

if TYPE_CHECKING:
    from ..training._environment import TrainingEnvironment

__all__ = [
    "channel_shape",
    "check_feature_dim",
    "check_finite",
    "feature_matrix",
    "read_features",
    "unsupervised_content_type",
]

_CSV = ("text/csv", "text/x-csv")
_PARQUET = ("application/x-parquet", "application/parquet")


def feature_matrix(X: Any, n_features: int, field: str = "X") -> np.ndarray:
    """``X`` as a 2-D float64 matrix with ``n_features`` columns, else ValidationError."""
    matrix = np.asarray(X, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[1] != n_features:
        raise ValidationError(field, f"shape {matrix.shape}", f"{n_features} feature columns")
    return matrix


def check_finite(X: np.ndarray, channel: str, title: str) -> None:
    """Refuse missing or infinite feature values (none of these algorithms imputes)."""
    if not np.all(np.isfinite(X)):
        raise ValidationError(
            f"channel {channel!r} features",
            "missing or infinite values",
            f"finite numeric features ({title} does not impute)",
        )


def check_feature_dim(
    hps: dict[str, Any], n_features: int, channel: str, *, supervised: bool
) -> None:
    """``feature_dim`` must equal the number of feature columns of every channel."""
    if hps.get("feature_dim") in (None, n_features):
        return
    if supervised:
        hint = "text/csv is label-first: the first column is the label, not a feature."
    else:
        hint = (
            "Without a declared label every column is a feature; declare a label column "
            "with content_type='text/csv;label_size=1' (first column) or "
            "TrainingInput(..., target='<column>')."
        )
    raise ValidationError(
        "hyperparameters['feature_dim']",
        hps["feature_dim"],
        f"{n_features}, the number of feature columns of channel {channel!r}",
        hint=hint,
    )


def unsupervised_content_type(content_type: str) -> str:
    """A CSV or Parquet content type without a declared label gets ``label_size=0``."""
    base, params = parse_content_type(content_type)
    if base in _CSV + _PARQUET and "label_size" not in params and "target" not in params:
        return f"{content_type};label_size=0"
    return content_type


def read_features(env: TrainingEnvironment, channel: str, *, supervised: bool) -> LabeledData:
    """Read a channel; unsupervised channels have no label unless the content type says so."""
    folder = env.channel_dir(channel)
    content_type = env.content_type(channel)
    if supervised:
        return read_channel(folder, content_type, channel=channel)
    data = read_channel(
        folder, unsupervised_content_type(content_type), channel=channel, require_label=False
    )
    base, _ = parse_content_type(content_type)
    frame = base == FRAME_CONTENT_TYPE or (not base and (folder / FRAME_DATA).exists())
    if frame and data.y is not None and not (folder / FRAME_SCHEMA).exists():
        # a frame without schema.json is read label-first; with no label declared, the
        # first column is a feature like the others
        names = [f"f{i}" for i in range(data.X.shape[1] + 1)]
        return LabeledData(np.column_stack([data.y, data.X]), None, names)
    return data


def channel_shape(chan: Any, *, supervised: bool) -> tuple[int | None, int | None]:
    """(feature columns, rows) of a ``PreparedChannel``, each None when cheap reading can't tell.

    DataFrames carry their matrix; for paths this reads a CSV's first line (and counts the
    lines of files up to 64 MB), a Parquet file's metadata or a frame's array header.
    """
    if getattr(chan, "matrix", None) is not None:
        label = 1 if chan.target else 0
        return chan.matrix.shape[1] - label, chan.n_rows
    files = [Path(f) for f in (chan.files or []) if Path(f).name != FRAME_SCHEMA]
    if not files:
        return None, None
    base, params = parse_content_type(chan.content_type)
    default_label = "1" if supervised else "0"
    try:
        if base in _CSV:
            return _csv_shape(files, params, default_label)
        if base in _PARQUET:
            return _parquet_shape(files, chan.columns, params, default_label)
        if base == FRAME_CONTENT_TYPE:
            return _frame_shape(files, chan.source, supervised)
    except (OSError, ValueError):
        return None, None
    return None, None


def _label_columns(params: dict[str, str], default: str) -> int:
    if params.get("target"):
        return 1
    return int(params.get("label_size", default))


def _csv_shape(
    files: list[Path], params: dict[str, str], default_label: str
) -> tuple[int | None, int | None]:
    header = params.get("header", "absent").lower() == "present"
    with open(files[0], encoding="utf-8", errors="replace") as handle:
        first = handle.readline().rstrip("\r\n")
    if not first:
        return None, None
    label = _label_columns(params, "0" if header else default_label)
    n_features = len(first.split(",")) - label
    if sum(f.stat().st_size for f in files) > 64 * 2**20:
        return n_features, None
    rows = 0
    for f in files:
        with open(f, "rb") as handle:
            text = handle.read()
        lines = text.count(b"\n") + (1 if text and not text.endswith(b"\n") else 0)
        rows += lines - (1 if header and lines else 0)
    return n_features, rows


def _parquet_shape(
    files: list[Path], columns: list[str] | None, params: dict[str, str], default_label: str
) -> tuple[int | None, int | None]:
    import pyarrow.parquet as pq

    names = columns or [n for n in pq.read_schema(files[0]).names if not n.startswith("__index")]
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return len(names) - _label_columns(params, default_label), rows


def _frame_shape(
    files: list[Path], source: Path | None, supervised: bool
) -> tuple[int | None, int | None]:
    arrays = [np.load(f, mmap_mode="r", allow_pickle=False) for f in files if f.suffix == ".npy"]
    if not arrays or any(a.ndim != 2 for a in arrays):
        return None, None
    schema_file = None
    if source is not None:
        schema_file = (source if source.is_dir() else source.parent) / FRAME_SCHEMA
    schema = json.loads(schema_file.read_text()) if schema_file and schema_file.exists() else {}
    label = 1 if schema.get("target") is not None or (not schema and supervised) else 0
    return arrays[0].shape[1] - label, sum(a.shape[0] for a in arrays)
