"""Channel inputs: DataFrames, CSV/Parquet/NumPy paths and folders, checked before a job starts.

A DataFrame handed to a built-in algorithm travels in workbench's binary frame format
(``application/x-npy``: ``data.npy`` with the target first, plus ``schema.json``), which is
about 40x faster to write than CSV. For script mode a DataFrame becomes ``<channel>.csv``
with a header row, which unmodified SageMaker scripts read with ``pandas.read_csv``. Files
and folders are linked into the channel folder, never copied or changed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..algorithms._data import FRAME_CONTENT_TYPE, FRAME_DATA, FRAME_SCHEMA, parse_content_type
from ..core import fingerprint
from ..exceptions import ValidationError

__all__ = ["TrainingInput", "PreparedChannel", "prepare_channels", "write_channels"]

_SUFFIX_TYPES = {
    ".csv": "text/csv",
    ".parquet": "application/x-parquet",
    ".pq": "application/x-parquet",
    ".npy": FRAME_CONTENT_TYPE,
    ".libsvm": "text/libsvm",
    ".svm": "text/libsvm",
    ".json": "application/jsonlines",
    ".jsonl": "application/jsonlines",
    ".jsonlines": "application/jsonlines",
    ".txt": "text/plain",
    ".png": "application/x-image",
    ".jpg": "application/x-image",
    ".jpeg": "application/x-image",
    ".lst": "application/x-image",
}
_CHANNEL_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


class TrainingInput:
    """One channel's data, like ``sagemaker.inputs.TrainingInput``.

    ``s3_data`` may be a DataFrame, a local path or ``file://`` URI (file or folder).
    ``target`` names the label column of a DataFrame or of a CSV/Parquet file with a header.

    Example
    -------
    >>> TrainingInput("data/train.csv", content_type="text/csv")  # doctest: +SKIP
    """

    def __init__(
        self,
        s3_data: Any,
        distribution: str = "FullyReplicated",
        compression: str | None = None,
        content_type: str | None = None,
        record_wrapping: str | None = None,
        s3_data_type: str = "S3Prefix",
        input_mode: str | None = None,
        target: str | None = None,
        recipe_dir: str | None = None,
        origin: tuple[str, str] | None = None,
    ) -> None:
        self.data = s3_data
        self.distribution = distribution
        self.compression = compression
        self.content_type = content_type
        self.record_wrapping = record_wrapping
        self.s3_data_type = s3_data_type
        self.input_mode = input_mode
        self.target = target
        # Set by processing jobs: the fitted recipe that made this data, and the job itself.
        self.recipe_dir = recipe_dir
        self.origin = origin

    def __repr__(self) -> str:
        data = "DataFrame" if _is_frame(self.data) else repr(str(self.data))
        return f"TrainingInput({data}, content_type={self.content_type!r}, target={self.target!r})"


@dataclass
class PreparedChannel:
    """A checked channel, ready to be written into a job folder."""

    name: str
    content_type: str
    frame: Any = None
    target: str | None = None
    source: Path | None = None
    files: list[Path] = field(default_factory=list)
    n_rows: int | None = None
    columns: list[str] | None = None
    labels: np.ndarray | None = None
    matrix: np.ndarray | None = None
    as_csv: bool = False
    fingerprint: str | None = None
    recipe_dir: str | None = None
    origin: tuple[str, str] | None = None  # (kind, name) of the job that made the data

    def compute_fingerprint(self) -> str:
        """Content hash for lineage; computed once the job runs, off the start-up path."""
        if self.fingerprint is None:
            if self.matrix is not None:
                self.fingerprint = fingerprint(self.matrix, columns=self.columns)
            elif self.frame is not None:
                self.fingerprint = fingerprint(self.frame)
            else:
                assert self.source is not None
                self.fingerprint = fingerprint(self.source)
        return self.fingerprint

    def config(self, input_mode: str = "File") -> dict[str, str]:
        return {
            "ContentType": self.content_type,
            "TrainingInputMode": input_mode,
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }


def prepare_channels(
    inputs: Any, *, target: str | None = None, for_script: bool = False, supervised: bool = True
) -> list[PreparedChannel]:
    """Check every channel of ``fit(inputs)`` and return them prepared; write nothing.

    ``inputs`` is a dict channel -> data/TrainingInput, or one data item (channel
    ``training``, as in SageMaker). With ``supervised=False`` (K-Means, PCA, RCF, ...) a
    DataFrame needs no target; the estimator's ``target`` labels only the channels that
    have that column (an RCF ``test`` channel, say), a ``TrainingInput(target=...)`` must.
    """
    if inputs is None:
        raise ValidationError("inputs", None, "a dict of channels, e.g. {'train': df}")
    if not isinstance(inputs, dict):
        inputs = {"training": inputs}
    if not inputs:
        raise ValidationError("inputs", inputs, "at least one channel, e.g. {'train': df}")
    out = []
    for name, item in inputs.items():
        if not isinstance(name, str) or not name or set(name) - _CHANNEL_NAME_CHARS:
            raise ValidationError("inputs", name, "channel names of letters, digits, _ - .")
        spec = item if isinstance(item, TrainingInput) else TrainingInput(item)
        if spec.compression not in (None, "None"):
            raise ValidationError(f"inputs[{name!r}].compression", spec.compression, "None")
        chan_target = spec.target or target
        if (
            not supervised
            and not spec.target
            and _is_frame(spec.data)
            and chan_target not in spec.data.columns
        ):
            chan_target = None
        if _is_frame(spec.data):
            prepared = _prepare_frame(name, spec, chan_target, for_script, supervised)
        else:
            path_target = chan_target if supervised or spec.target else None
            prepared = _prepare_path(name, spec, path_target)
        prepared.recipe_dir, prepared.origin = spec.recipe_dir, spec.origin
        out.append(prepared)
    return out


def _prepare_frame(
    name: str, spec: TrainingInput, target: str | None, for_script: bool, supervised: bool = True
) -> PreparedChannel:

    df = spec.data
    field_name = f"inputs[{name!r}]"
    if len(df) == 0 or df.shape[1] == 0:
        raise ValidationError(field_name, f"DataFrame of shape {df.shape}", "a non-empty DataFrame")
    if for_script:
        return PreparedChannel(
            name=name,
            content_type="text/csv;header=present" + (f";target={target}" if target else ""),
            frame=df,
            target=target,
            n_rows=len(df),
            columns=[str(c) for c in df.columns],
            as_csv=True,
        )
    columns = [str(c) for c in df.columns]
    if target is None and not supervised:
        _check_numeric(df, field_name)
        matrix = df.to_numpy(dtype=np.float64, na_value=np.nan)
        return PreparedChannel(
            name=name,
            content_type=FRAME_CONTENT_TYPE,
            frame=df,
            n_rows=len(df),
            columns=columns,
            matrix=matrix,
        )
    if target is None:
        raise ValidationError(
            f"{field_name} target",
            None,
            f"the name of the label column, one of {', '.join(columns[:30])}",
            hint="Pass Estimator(target=...) or TrainingInput(df, target=...).",
        )
    if target not in df.columns:
        raise ValidationError(
            f"{field_name} target", target, f"a column of the DataFrame: {', '.join(columns[:30])}"
        )
    _check_numeric(df, field_name)
    ordered = [target] + [c for c in columns if c != target]
    matrix = _label_first_matrix(df, target)
    labels = matrix[:, 0]
    if not np.all(np.isfinite(labels)):
        raise ValidationError(
            f"{field_name} target {target!r}", "missing values", "no missing labels"
        )
    return PreparedChannel(
        name=name,
        content_type=FRAME_CONTENT_TYPE,
        frame=df,
        target=target,
        n_rows=len(df),
        columns=ordered,
        labels=labels,
        matrix=matrix,
    )


def _check_numeric(df: Any, field_name: str) -> None:
    import pandas as pd

    bad = [
        str(c)
        for c in df.columns
        if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
    ]
    if bad:
        raise ValidationError(
            f"{field_name} columns",
            bad[:10],
            "numeric columns only for built-in algorithms",
            hint="Drop or encode these columns first (a feature recipe does that).",
        )


def _label_first_matrix(df: Any, target: str) -> np.ndarray:
    """float64 matrix with the target first, filled in place (5x faster than reordering)."""
    features = [c for c in df.columns if c != target]
    out = np.empty((len(df), len(features) + 1), dtype=np.float64)
    out[:, 0] = df[target].to_numpy(dtype=np.float64, na_value=np.nan)
    out[:, 1:] = df[features].to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _prepare_path(name: str, spec: TrainingInput, target: str | None) -> PreparedChannel:
    field_name = f"inputs[{name!r}]"
    raw = spec.data
    if not isinstance(raw, (str, os.PathLike)):
        raise ValidationError(
            field_name, type(raw).__name__, "a pandas DataFrame, a path, or a file:// URI"
        )
    text = os.fspath(raw)
    if text.startswith("s3://"):
        raise ValidationError(
            field_name, text, "a local path or file:// URI (workbench is offline)"
        )
    if text.startswith("file://"):
        text = text[len("file://") :]
    source = Path(text).expanduser().resolve()
    if not source.exists():
        raise ValidationError(field_name, str(raw), "an existing file or folder")
    files = (
        [source]
        if source.is_file()
        else [p for p in sorted(source.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    )
    files = [f for f in files if f.stat().st_size > 0 or f.name == FRAME_SCHEMA]
    if not [f for f in files if f.name != FRAME_SCHEMA]:
        raise ValidationError(field_name, str(raw), "a non-empty file or a folder with data files")
    content_type = spec.content_type or _infer_type(files, field_name)
    base, params = parse_content_type(content_type)
    if target and "target" not in params:
        if base == "text/csv" and "header" not in params:
            content_type += ";header=present"
        content_type += f";target={target}"
    prepared = PreparedChannel(
        name=name,
        content_type=content_type,
        source=source,
        files=files,
        target=target,
    )
    if base == "text/csv":
        _check_csv_head(prepared, field_name)
    elif base == "application/x-parquet":
        _check_parquet_schema(prepared, field_name)
    return prepared


def _check_parquet_schema(prepared: PreparedChannel, field_name: str) -> None:
    """Read the Parquet schema (not the data): column names and the target."""
    import pyarrow.parquet as pq

    _, params = parse_content_type(prepared.content_type)
    data_files = [f for f in prepared.files if f.name != FRAME_SCHEMA]
    try:
        names = [n for n in pq.read_schema(data_files[0]).names if not n.startswith("__index")]
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise ValidationError(field_name, str(data_files[0]), f"a Parquet file ({exc})") from None
    if params.get("target") and params["target"] not in names:
        raise ValidationError(
            f"{field_name} target",
            params["target"],
            f"a column of the data: {', '.join(names[:30])}",
        )
    prepared.columns = names


def _infer_type(files: list[Path], field_name: str) -> str:
    types = {_SUFFIX_TYPES.get(f.suffix.lower()) for f in files if f.name != FRAME_SCHEMA}
    if len(types) == 1 and None not in types:
        return types.pop()  # type: ignore[return-value]
    if types == {None}:
        return "text/csv"
    raise ValidationError(
        f"{field_name} content_type",
        sorted(str(t) for t in types),
        "files of one type, or an explicit TrainingInput(content_type=...)",
    )


def _check_csv_head(prepared: PreparedChannel, field_name: str) -> None:
    """Read the first line of each CSV file: header, target and column count."""
    _, params = parse_content_type(prepared.content_type)
    header = params.get("header") == "present"
    widths = set()
    for f in prepared.files[:20]:
        with open(f, encoding="utf-8", errors="replace") as handle:
            first = handle.readline().rstrip("\r\n")
        cells = [c.strip().strip('"') for c in first.split(",")]
        widths.add(len(cells))
        if header:
            if params.get("target") and params["target"] not in cells:
                raise ValidationError(
                    f"{field_name} target",
                    params["target"],
                    f"a column of {f.name}: {', '.join(cells[:30])}",
                )
            prepared.columns = cells
        elif not all(_is_number(c) for c in cells):
            raise ValidationError(
                f"{field_name} file {f.name}",
                first[:120],
                "label-first CSV with no header row (SageMaker's text/csv contract)",
                hint="For a CSV with a header, pass TrainingInput(path, target='<column>').",
            )
    if len(widths) > 1:
        raise ValidationError(
            f"{field_name}", f"column counts {sorted(widths)}", "one column count"
        )


def _is_number(cell: str) -> bool:
    if cell == "" or cell.lower() in {"nan", "inf", "-inf"}:
        return True
    try:
        float(cell)
    except ValueError:
        return False
    return True


def write_channels(channels: list[PreparedChannel], data_dir: Path) -> None:
    """Write or link every channel under ``input/data/<channel>/``."""
    for chan in channels:
        dest = data_dir / chan.name
        dest.mkdir(parents=True, exist_ok=True)
        if chan.frame is not None and chan.as_csv:
            chan.frame.to_csv(dest / f"{chan.name}.csv", index=False)
        elif chan.matrix is not None:
            np.save(dest / FRAME_DATA, chan.matrix, allow_pickle=False)
            schema = {"format": "workbench-frame", "columns": chan.columns, "target": chan.target}
            (dest / FRAME_SCHEMA).write_text(json.dumps(schema))
        else:
            assert chan.source is not None
            for f in chan.files:
                rel = f.name if chan.source.is_file() else f.relative_to(chan.source)
                link = dest / rel
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(f, link)


def _is_frame(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns")
