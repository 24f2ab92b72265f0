"""Reading training channels: label-first CSV, Parquet, LibSVM and workbench's NumPy frames.

Content types follow SageMaker: ``text/csv`` is label-first with no header; parameters
after ``;`` refine it (``label_size=0`` for no label, ``header=present;target=<column>``
for a CSV with a header row). ``application/x-npy`` is workbench's binary frame format for
DataFrames handed over in memory: ``data.npy`` (float64, target column first) plus
``schema.json`` (column names). ``application/x-parquet`` reads Parquet files, with the
target given by ``target=<column>`` or ``schema.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ValidationError

__all__ = [
    "FRAME_CONTENT_TYPE",
    "LabeledData",
    "parse_content_type",
    "read_channel",
    "channel_files",
]

FRAME_CONTENT_TYPE = "application/x-npy"
FRAME_DATA = "data.npy"
FRAME_SCHEMA = "schema.json"
_CSV = {"text/csv", "text/x-csv"}
_PARQUET = {"application/x-parquet", "application/parquet"}
_LIBSVM = {"text/libsvm", "text/x-libsvm", "libsvm"}


@dataclass
class LabeledData:
    """Features ``X`` (float64, 2-D), labels ``y`` (or None) and feature names."""

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])


def parse_content_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``"text/csv;label_size=1"`` -> ``("text/csv", {"label_size": "1"})``."""
    if not content_type:
        return "", {}
    parts = [p.strip() for p in content_type.split(";") if p.strip()]
    params: dict[str, str] = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        params[key.strip().lower()] = value.strip()
    return parts[0].lower(), params


def channel_files(channel_dir: Path) -> list[Path]:
    """Data files of a channel folder in sorted order (hidden files and schema excluded)."""
    if channel_dir.is_file():
        return [channel_dir]
    files = [
        p
        for p in sorted(channel_dir.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and p.name != FRAME_SCHEMA
    ]
    return files


def read_channel(
    channel_dir: str | Path,
    content_type: str | None,
    *,
    channel: str = "train",
    require_label: bool = True,
) -> LabeledData:
    """Read one channel folder into :class:`LabeledData`.

    Raises :class:`ValidationError` naming the channel and file when the data does not
    follow the content type's contract.
    """
    path = Path(channel_dir)
    base, params = parse_content_type(content_type)
    files = channel_files(path)
    if not files:
        raise ValidationError(f"channel {channel!r}", str(path), "a folder with at least one file")
    schema = _read_schema(path)
    if not base:
        base = FRAME_CONTENT_TYPE if (path / FRAME_DATA).exists() else "text/csv"
    if base == FRAME_CONTENT_TYPE:
        data = _read_frame(files, schema, channel)
    elif base in _CSV:
        data = _read_csv(files, params, channel)
    elif base in _PARQUET:
        data = _read_parquet(files, params, schema, channel)
    elif base in _LIBSVM:
        data = _read_libsvm(files, channel)
    else:
        raise ValidationError(
            f"channel {channel!r} ContentType",
            content_type,
            "one of text/csv, application/x-parquet, application/x-npy, text/libsvm",
        )
    if data.n_rows == 0:
        raise ValidationError(f"channel {channel!r}", str(path), "at least one data row")
    if require_label and data.y is None:
        raise ValidationError(
            f"channel {channel!r}",
            content_type,
            "labelled data (label-first CSV, or a target column)",
        )
    if data.y is not None and not np.all(np.isfinite(data.y)):
        raise ValidationError(
            f"channel {channel!r} labels", "missing or infinite values", "finite numeric labels"
        )
    return data


def _read_schema(path: Path) -> dict[str, Any]:
    schema_file = path / FRAME_SCHEMA if path.is_dir() else path.parent / FRAME_SCHEMA
    if schema_file.exists():
        return json.loads(schema_file.read_text())
    return {}


def _read_frame(files: list[Path], schema: dict[str, Any], channel: str) -> LabeledData:
    arrays = [np.load(f, allow_pickle=False) for f in files if f.suffix == ".npy"]
    if not arrays:
        raise ValidationError(
            f"channel {channel!r}", [f.name for f in files], "one or more .npy files"
        )
    for f, a in zip(files, arrays, strict=False):
        if a.ndim != 2:
            raise ValidationError(f"channel {channel!r} file {f.name}", a.shape, "a 2-D array")
    matrix = arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=0)
    matrix = np.asarray(matrix, dtype=np.float64)
    columns = list(schema.get("columns") or [])
    has_label = schema.get("target") is not None or not schema
    if has_label:
        names = columns[1:] if columns else _default_names(matrix.shape[1] - 1)
        return LabeledData(matrix[:, 1:], matrix[:, 0], names)
    return LabeledData(matrix, None, columns or _default_names(matrix.shape[1]))


def _read_csv(files: list[Path], params: dict[str, str], channel: str) -> LabeledData:
    import pandas as pd

    header = params.get("header", "absent").lower() == "present"
    target = params.get("target")
    label_size = int(params.get("label_size", "0" if header and not target else "1"))
    frames = []
    for f in files:
        if not header:
            first = f.open().readline().strip()
            if first and not _numeric_row(first.split(",")):
                raise ValidationError(
                    f"channel {channel!r} file {f.name}",
                    first[:120],
                    "label-first CSV with no header row (SageMaker's text/csv contract)",
                    hint="For a CSV with a header, pass TrainingInput(path, target='<column>').",
                )
        try:
            frame = pd.read_csv(f, header=0 if header else None)
        except pd.errors.EmptyDataError:
            continue
        frames.append(frame)
    if not frames:
        raise ValidationError(
            f"channel {channel!r}", [f.name for f in files], "non-empty CSV files"
        )
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if header:
        return _split_frame(df, target, channel, label_first=label_size == 1 and not target)
    df.columns = (
        ["label"] + _default_names(df.shape[1] - 1) if label_size else _default_names(df.shape[1])
    )
    return _split_frame(df, "label" if label_size else None, channel, label_first=False)


def _read_parquet(
    files: list[Path], params: dict[str, str], schema: dict[str, Any], channel: str
) -> LabeledData:
    import pandas as pd

    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    target = params.get("target") or schema.get("target")
    label_first = not target and params.get("label_size", "1") == "1"
    return _split_frame(df, target, channel, label_first=label_first)


def _read_libsvm(files: list[Path], channel: str) -> LabeledData:
    from sklearn.datasets import load_svmlight_files

    parts = load_svmlight_files([str(f) for f in files])
    xs, ys = parts[0::2], parts[1::2]
    n_features = max(x.shape[1] for x in xs)
    dense = [np.pad(x.toarray(), ((0, 0), (0, n_features - x.shape[1]))) for x in xs]
    return LabeledData(np.vstack(dense), np.concatenate(ys), _default_names(n_features))


def _split_frame(df: Any, target: str | None, channel: str, *, label_first: bool) -> LabeledData:
    if target is not None and target not in df.columns:
        raise ValidationError(
            f"channel {channel!r} target",
            target,
            f"a column of the data; columns are {', '.join(map(str, df.columns[:30]))}",
        )
    if label_first and target is None:
        target = df.columns[0]
    y = None
    if target is not None:
        y = _numeric(df[target], f"channel {channel!r} target column {target!r}")
        df = df.drop(columns=[target])
    bad = [str(c) for c in df.columns if not _is_numeric_dtype(df[c])]
    if bad:
        raise ValidationError(
            f"channel {channel!r} columns",
            bad[:10],
            "numeric columns only (encode categories first, e.g. with a feature recipe)",
        )
    X = df.to_numpy(dtype=np.float64, na_value=np.nan)
    return LabeledData(X, y, [str(c) for c in df.columns])


def _is_numeric_dtype(series: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def _numeric(series: Any, field: str) -> np.ndarray:
    if not _is_numeric_dtype(series):
        raise ValidationError(
            field, list(series.unique()[:5]), "numeric labels (0, 1, ... or values)"
        )
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _numeric_row(fields: list[str]) -> bool:
    for value in fields:
        value = value.strip().strip('"')
        if value == "" or value.lower() in {"nan", "inf", "-inf"}:
            continue
        try:
            float(value)
        except ValueError:
            return False
    return True


def _default_names(n: int) -> list[str]:
    return [f"f{i}" for i in range(n)]
