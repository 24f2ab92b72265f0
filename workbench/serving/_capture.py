"""SageMaker data capture: sampled request/response records as JSON Lines, and reading them back.

:class:`DataCaptureConfig` has the names and defaults of
``sagemaker.model_monitor.DataCaptureConfig``; :class:`CaptureWriter` runs inside the
endpoint's server process and writes SageMaker's ``captureData`` lines into SageMaker's folder
scheme::

    <destination>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/<yyyy-mm-dd-hh-mm-ss-fff>-<8 hex>.jsonl

(hours in UTC). :func:`read_captured` and :func:`read_captured_outputs` turn those files back
into DataFrames for Model Monitor (``workbench.monitoring``) and for people.

Where this differs from SageMaker
---------------------------------
* ``destination_s3_uri`` is a local folder (``None``: the endpoint's ``data-capture`` folder);
  ``kms_key_id`` must be ``None`` (nothing is encrypted locally).
* A body whose content type is listed as CSV or JSON but which is not valid UTF-8 is
  captured with encoding ``BASE64``, so nothing is lost.
* ``pandas`` is imported only by the readers, so the server process stays light.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import os
import random
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import atomic_write_bytes
from ..exceptions import ValidationError

if TYPE_CHECKING:
    import pandas as pd

    from ..core import Workspace

__all__ = [
    "CaptureWriter",
    "DataCaptureConfig",
    "META_COLUMNS",
    "default_destination",
    "read_captured",
    "read_captured_outputs",
]

_LOG = logging.getLogger(__name__)
CAPTURE_OPTIONS = ("REQUEST", "RESPONSE")
_MODES = {"REQUEST": "Input", "RESPONSE": "Output"}
_OPTIONS = {v.lower(): k for k, v in _MODES.items()}
META_COLUMNS = ("_variant", "_event_id", "_inference_id", "_inference_time")
MAX_BUFFER_LINES = 10_000
MAX_BUFFER_BYTES = 8 * 1024 * 1024
# A safe single path component (SageMaker's own names, letters, digits and hyphens, all pass).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def default_destination(workspace: Workspace, endpoint_name: str) -> Path:
    """The capture root used when ``destination_s3_uri`` is None.

    That is ``<ws>/endpoints/<name>/data-capture``.
    """
    return workspace.folder("endpoint", endpoint_name) / "data-capture"


@dataclass
class DataCaptureConfig:
    """What an endpoint captures, with SageMaker v2's names and defaults.

    Parameters
    ----------
    enable_capture : bool
    sampling_percentage : int
        Share of requests captured, 0 to 100 (SageMaker's default 20).
    destination_s3_uri : str or None
        A local folder; None means ``<ws>/endpoints/<name>/data-capture``.
    kms_key_id : None
        Accepted for compatibility; must stay None locally.
    capture_options : list of "REQUEST" / "RESPONSE"
    csv_content_types, json_content_types : list of str
        Content types captured as text with encoding ``CSV`` / ``JSON``; others are ``BASE64``.

    Example
    -------
    >>> config = DataCaptureConfig(sampling_percentage=50)
    >>> config.to_dict()["CaptureOptions"]
    [{'CaptureMode': 'Input'}, {'CaptureMode': 'Output'}]
    >>> DataCaptureConfig.from_dict(config.to_dict()) == config
    True
    """

    enable_capture: bool = True
    sampling_percentage: int = 20
    destination_s3_uri: str | None = None
    kms_key_id: Any = None
    capture_options: list[str] | None = field(default=None)
    csv_content_types: list[str] | None = field(default=None)
    json_content_types: list[str] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.capture_options is None:
            self.capture_options = list(CAPTURE_OPTIONS)
        if self.csv_content_types is None:
            self.csv_content_types = ["text/csv"]
        if self.json_content_types is None:
            self.json_content_types = ["application/json"]
        if isinstance(self.destination_s3_uri, os.PathLike):
            self.destination_s3_uri = os.fspath(self.destination_s3_uri)

    def check(self) -> None:
        """Raise :class:`ValidationError` naming the first bad field."""
        if not isinstance(self.enable_capture, bool):
            raise ValidationError("enable_capture", self.enable_capture, "True or False")
        pct = self.sampling_percentage
        if isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 100:
            raise ValidationError("sampling_percentage", pct, "an integer from 0 to 100")
        if self.kms_key_id is not None:
            raise ValidationError(
                "kms_key_id", self.kms_key_id, "None",
                hint="Captured data is written to a local folder, unencrypted; leave it out.",
            )  # fmt: skip
        dest = self.destination_s3_uri
        if dest is not None and (not isinstance(dest, str) or dest.startswith("s3://") or not dest):
            raise ValidationError(
                "destination_s3_uri", dest, "a local folder path or None",
                hint="workbench writes captured data locally, never to S3.",
            )  # fmt: skip
        options = self.capture_options
        if (
            not isinstance(options, list)
            or not options
            or any(o not in CAPTURE_OPTIONS for o in options)
        ):
            raise ValidationError(
                "capture_options", options, f"a non-empty list drawn from {list(CAPTURE_OPTIONS)}"
            )
        for name in ("csv_content_types", "json_content_types"):
            types = getattr(self, name)
            if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
                raise ValidationError(name, types, "a list of content type strings")

    def to_dict(self) -> dict[str, Any]:
        """SageMaker's request form (``DataCaptureConfig`` of ``CreateEndpointConfig``)."""
        out: dict[str, Any] = {
            "EnableCapture": self.enable_capture,
            "InitialSamplingPercentage": self.sampling_percentage,
            "DestinationS3Uri": self.destination_s3_uri,
            "CaptureOptions": [{"CaptureMode": _MODES[o]} for o in self.capture_options or []],
            "CaptureContentTypeHeader": {
                "CsvContentTypes": list(self.csv_content_types or []),
                "JsonContentTypes": list(self.json_content_types or []),
            },
        }
        if self.kms_key_id is not None:
            out["KmsKeyId"] = self.kms_key_id
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataCaptureConfig:
        """The inverse of :meth:`to_dict` (accepts SageMaker's request form)."""
        if not isinstance(data, dict):
            raise ValidationError("data_capture_config", data, "a dict in SageMaker's form")
        options = []
        for item in data.get("CaptureOptions") or [
            {"CaptureMode": "Input"},
            {"CaptureMode": "Output"},
        ]:
            mode = item.get("CaptureMode") if isinstance(item, dict) else None
            if not isinstance(mode, str) or mode.lower() not in _OPTIONS:
                raise ValidationError("CaptureOptions", item, '{"CaptureMode": "Input" | "Output"}')
            options.append(_OPTIONS[mode.lower()])
        header = data.get("CaptureContentTypeHeader") or {}
        return cls(
            enable_capture=data.get("EnableCapture", True),
            sampling_percentage=data.get("InitialSamplingPercentage", 20),
            destination_s3_uri=data.get("DestinationS3Uri"),
            kms_key_id=data.get("KmsKeyId"),
            capture_options=options,
            csv_content_types=header.get("CsvContentTypes"),
            json_content_types=header.get("JsonContentTypes"),
        )

    def resolve_destination(self, workspace: Workspace, endpoint_name: str) -> Path:
        """The capture root folder for this endpoint (the given folder or the default one)."""
        if self.destination_s3_uri:
            return Path(self.destination_s3_uri).expanduser()
        return default_destination(workspace, endpoint_name)


class CaptureWriter:
    """Sample and buffer capture lines in memory; write them as whole files on :meth:`flush`.

    Used inside the endpoint's server process: :meth:`record` only draws a random number and
    serialises one line (no disk access), the server calls :meth:`flush` every second (from a
    thread if it likes: both are thread-safe). If the buffer reaches ``max_buffer_lines`` or
    ``max_buffer_bytes`` (10,000 lines / 8 MB) before a flush, the next :meth:`record` flushes
    itself first, in the caller, so memory stays bounded. Each file is written to a temporary
    name and renamed, so a killed server leaves only whole files (it loses at most the lines
    buffered since the last flush). A write error is logged and its lines are counted in
    :attr:`dropped` rather than raised: capture never fails an inference.

    Example
    -------
    >>> config = DataCaptureConfig(sampling_percentage=100)
    >>> writer = CaptureWriter(tmp / "capture", "churn", config)  # doctest: +SKIP
    >>> writer.record("AllTraffic", b"1,2,3", "text/csv", b"0.7", "text/csv")  # doctest: +SKIP
    True
    >>> writer.flush()  # doctest: +SKIP
    [PosixPath('.../capture/churn/AllTraffic/2024/05/01/13/2024-05-01-13-05-09-123-1f2e3d4c.jsonl')]
    """

    def __init__(
        self,
        destination: str | os.PathLike[str],
        endpoint_name: str,
        config: DataCaptureConfig,
        seed: int | None = None,
        *,
        max_buffer_lines: int = MAX_BUFFER_LINES,
        max_buffer_bytes: int = MAX_BUFFER_BYTES,
    ) -> None:
        config.check()
        _check_name("endpoint_name", endpoint_name)
        self.destination = Path(destination)
        self.endpoint_name = endpoint_name
        self.config = config
        self.max_buffer_lines = max_buffer_lines
        self.max_buffer_bytes = max_buffer_bytes
        self.captured = 0
        self.dropped = 0
        self._rng = random.Random(seed)
        self._share = config.sampling_percentage / 100.0
        self._input = "REQUEST" in (config.capture_options or [])
        self._output = "RESPONSE" in (config.capture_options or [])
        self._csv = {_media_type(t) for t in config.csv_content_types or []}
        self._json = {_media_type(t) for t in config.json_content_types or []}
        self._variants: set[str] = set()
        self._lock = threading.Lock()
        self._buffer: dict[tuple[str, datetime], list[str]] = {}
        self._first: dict[tuple[str, datetime], datetime] = {}
        self._lines = 0
        self._bytes = 0

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(
        self,
        variant: str,
        request_body: bytes,
        request_content_type: str,
        response_body: bytes | None,
        response_content_type: str | None,
        inference_id: str | None = None,
        event_time: datetime | None = None,
    ) -> bool:
        """Sample one invocation; buffer its capture line and return True when captured."""
        if not self.config.enable_capture or self._rng.random() >= self._share:
            return False
        if variant not in self._variants:
            _check_name("variant", variant)
            self._variants.add(variant)
        when = _utc(event_time) if event_time is not None else datetime.now(UTC)
        capture: dict[str, Any] = {}
        if self._input:
            capture["endpointInput"] = self._side(request_body, request_content_type, "INPUT")
        if self._output and response_body is not None:
            capture["endpointOutput"] = self._side(
                response_body, response_content_type or "", "OUTPUT"
            )
        metadata = {"eventId": str(uuid.uuid4()), "inferenceTime": when.strftime(_TIME_FORMAT)}
        if inference_id is not None:
            metadata["inferenceId"] = str(inference_id)
        line = json.dumps(
            {"captureData": capture, "eventMetadata": metadata, "eventVersion": "0"},
            separators=(",", ":"),
        )
        if self._lines >= self.max_buffer_lines or self._bytes >= self.max_buffer_bytes:
            self.flush()
        key = (variant, when.replace(minute=0, second=0, microsecond=0))
        with self._lock:
            lines = self._buffer.get(key)
            if lines is None:
                lines = self._buffer[key] = []
                self._first[key] = when
            lines.append(line)
            self._lines += 1
            self._bytes += len(line) + 1
            self.captured += 1
        return True

    def _side(self, body: bytes, content_type: str, mode: str) -> dict[str, str]:
        media = _media_type(content_type)
        encoding = "CSV" if media in self._csv else "JSON" if media in self._json else "BASE64"
        data = None
        if encoding != "BASE64":
            try:
                data = bytes(body).decode("utf-8")
            except UnicodeDecodeError:
                encoding = "BASE64"
        if data is None:
            data = base64.b64encode(bytes(body)).decode("ascii")
        return {
            "observedContentType": content_type,
            "mode": mode,
            "data": data,
            "encoding": encoding,
        }

    def flush(self) -> list[Path]:
        """Write the buffered lines, one new file per (variant, hour); return the files written."""
        with self._lock:
            buffer, first = self._buffer, self._first
            self._buffer, self._first = {}, {}
            self._lines = self._bytes = 0
        written = []
        for key in sorted(buffer):
            variant, hour = key
            start = first[key]
            folder = self.destination / self.endpoint_name / variant / hour.strftime("%Y/%m/%d/%H")
            stamp = start.strftime("%Y-%m-%d-%H-%M-%S-") + f"{start.microsecond // 1000:03d}"
            path = folder / f"{stamp}-{uuid.uuid4().hex[:8]}.jsonl"
            try:
                atomic_write_bytes(path, ("\n".join(buffer[key]) + "\n").encode("utf-8"))
            except OSError as exc:
                self.dropped += len(buffer[key])
                _LOG.warning("data capture: could not write %s (%s); %d lines dropped",
                             path, exc, len(buffer[key]))  # fmt: skip
                continue
            written.append(path)
        return written

    def close(self) -> list[Path]:
        """Flush what is buffered (call on shutdown)."""
        return self.flush()


# -- reading ------------------------------------------------------------------------------


def read_captured(
    destination: str | os.PathLike[str],
    endpoint_name: str,
    variant: str | None = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """The captured *inputs* of an endpoint as one DataFrame, one row per input record.

    Parameters
    ----------
    destination : folder
        The capture root (``DestinationS3Uri``); files are under ``<destination>/<endpoint>/``.
    endpoint_name : str
    variant : str, optional
        Only this production variant.
    start_time, end_time : datetime, optional
        Window on ``inferenceTime``, start included, end excluded (naive times are UTC).
    columns : list of str, optional
        Names of positional values (CSV fields, JSON lists); otherwise ``_c0, _c1, ...``
        (the names Model Monitor's Spark analyser gives headerless CSV).

    Returns
    -------
    DataFrame
        The features plus ``_variant``, ``_event_id``, ``_inference_id`` and
        ``_inference_time`` (UTC). Numeric text becomes numbers, empty CSV fields missing.
        ``frame.attrs["skipped"]`` counts lines (or files) that could not be parsed, e.g. a
        truncated last line; they never raise.

    Notes
    -----
    Inputs understood: CSV (one row per line); JSON ``{"instances": [...]}`` whose items are
    lists, records or ``{"features": [...]}``, a top-level ``{"features": [...]}``, MLflow's
    ``dataframe_split`` / ``dataframe_records`` / ``inputs``, a list of lists or of records;
    JSON Lines (one of those per line); ``application/x-npy`` arrays.

    Example
    -------
    >>> df = read_captured(dest, "churn", columns=["age", "plan"],  # doctest: +SKIP
    ...                    start_time=datetime(2024, 5, 1, 13), end_time=datetime(2024, 5, 1, 14))
    """
    return _read(
        destination, endpoint_name, variant, start_time, end_time, columns, "endpointInput"
    )


def read_captured_outputs(
    destination: str | os.PathLike[str],
    endpoint_name: str,
    variant: str | None = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """The captured *responses* as a DataFrame (same arguments as :func:`read_captured`).

    CSV responses give one row per line (``_c0, _c1, ...``); JSON ``{"predictions": [...]}``
    gives one row per item (records such as ``{"score": 0.7, "predicted_label": 1}`` keep
    their keys); a JSON list gives one row per item; JSON Lines one row per line.

    Example
    -------
    >>> read_captured_outputs(dest, "churn")["score"].mean()  # doctest: +SKIP
    """
    return _read(
        destination, endpoint_name, variant, start_time, end_time, columns, "endpointOutput"
    )


def _read(
    destination: Any,
    endpoint_name: str,
    variant: str | None,
    start_time: datetime | None,
    end_time: datetime | None,
    columns: list[str] | None,
    side: str,
) -> pd.DataFrame:
    import pandas as pd

    start = _utc(start_time) if start_time is not None else None
    end = _utc(end_time) if end_time is not None else None
    names = list(columns) if columns is not None else []
    rows: list[dict[str, Any]] = []
    skipped = [0]
    for variant_name, line in _lines(
        Path(destination) / endpoint_name, variant, start, end, skipped
    ):
        try:
            event = json.loads(line)
            meta = event["eventMetadata"]
            when = _utc(datetime.fromisoformat(meta["inferenceTime"]))
            if (start is not None and when < start) or (end is not None and when >= end):
                continue
            captured = event["captureData"].get(side)
            if captured is None:
                continue  # that side was not captured (capture_options)
            values = _parse(captured, output=side == "endpointOutput")
        except Exception:  # any record not understood is skipped and counted, never raised
            skipped[0] += 1
            continue
        extra = {
            "_variant": variant_name,
            "_event_id": meta.get("eventId"),
            "_inference_id": meta.get("inferenceId"),
            "_inference_time": when,
        }
        for value in values:
            row = value if isinstance(value, dict) else _named(value, names)
            rows.append({**row, **extra})
    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=list(META_COLUMNS))
    features = [c for c in frame.columns if c not in META_COLUMNS]
    ordered = [c for c in names if c in features] + [c for c in features if c not in names]
    frame = frame[ordered + list(META_COLUMNS)]
    for name in ordered:
        frame[name] = _maybe_numeric(frame[name])
    frame["_inference_time"] = pd.to_datetime(frame["_inference_time"], utc=True)
    frame.attrs["skipped"] = skipped[0]
    return frame


def _lines(
    root: Path,
    variant: str | None,
    start: datetime | None,
    end: datetime | None,
    skipped: list[int],
) -> Iterator[tuple[str, str]]:
    """(variant, line) of every capture file whose hour folder overlaps the window."""
    if not root.is_dir():
        return
    variants = [root / variant] if variant is not None else sorted(root.iterdir())
    for vdir in variants:
        if not vdir.is_dir():
            continue
        for hour_dir, hour in _hour_dirs(vdir):
            if (start is not None and hour + timedelta(hours=1) <= start) or (
                end is not None and hour >= end
            ):
                continue
            for path in sorted(hour_dir.glob("*.jsonl")):
                if path.name.startswith("."):
                    continue
                try:
                    data = path.read_bytes()
                except OSError:
                    skipped[0] += 1
                    continue
                for raw in data.splitlines():
                    if not raw.strip():
                        continue
                    try:
                        yield vdir.name, raw.decode("utf-8")
                    except UnicodeDecodeError:
                        skipped[0] += 1


def _hour_dirs(vdir: Path) -> Iterator[tuple[Path, datetime]]:
    for hour_dir in sorted(vdir.glob("[0-9]*/[0-9]*/[0-9]*/[0-9]*")):
        try:
            y, m, d, h = (int(p) for p in hour_dir.relative_to(vdir).parts)
            yield hour_dir, datetime(y, m, d, h, tzinfo=UTC)
        except ValueError:
            continue


def _parse(captured: dict[str, Any], *, output: bool) -> list[Any]:
    """The rows (lists or dicts) of one captured body; raise on anything not understood."""
    encoding = str(captured.get("encoding", "")).upper()
    media = _media_type(str(captured.get("observedContentType", "")))
    data = captured["data"]
    if encoding == "BASE64":
        raw = base64.b64decode(data, validate=True)
        if "npy" in media:
            return _npy_rows(raw)
        data = raw.decode("utf-8")
        encoding = "CSV" if "csv" in media else "JSON" if "json" in media else ""
    if encoding == "CSV":
        return [
            [v if v != "" else None for v in row] for row in csv.reader(io.StringIO(data)) if row
        ]
    if encoding != "JSON":
        raise ValueError(f"cannot parse content type {media!r} with encoding {encoding!r}")
    if "jsonl" in media or "jsonlines" in media:
        lines = [json.loads(s) for s in data.splitlines() if s.strip()]
        return [r for obj in lines for r in (_output_rows(obj) if output else _json_rows(obj))]
    obj = json.loads(data)
    return _output_rows(obj) if output else _json_rows(obj)


def _json_rows(obj: Any) -> list[Any]:
    """Input rows of a SageMaker or MLflow scoring JSON body."""
    if isinstance(obj, dict):
        if "instances" in obj:
            return [_item(i) for i in obj["instances"]]
        if "dataframe_split" in obj:
            split = obj["dataframe_split"]
            cols = split.get("columns")
            return [dict(zip(cols, r)) if cols else list(r) for r in split["data"]]
        if "dataframe_records" in obj:
            return [dict(r) for r in obj["dataframe_records"]]
        if "inputs" in obj:
            inputs = obj["inputs"]
            if isinstance(inputs, dict):  # columnar: {"a": [..], "b": [..]}
                cols = list(inputs)
                return [dict(zip(cols, vals)) for vals in zip(*(inputs[c] for c in cols))]
            return _json_rows(inputs)
        if "features" in obj:
            return [list(obj["features"])]
        if all(not isinstance(v, (dict, list)) for v in obj.values()):
            return [dict(obj)]
        raise ValueError("unrecognised JSON input")
    if isinstance(obj, list):
        if obj and all(not isinstance(v, (dict, list)) for v in obj):
            return [list(obj)]  # a single instance
        return [_item(i) for i in obj]
    raise ValueError("unrecognised JSON input")


def _output_rows(obj: Any) -> list[Any]:
    if isinstance(obj, dict):
        if "predictions" in obj:
            return [_item(i) for i in obj["predictions"]]
        if all(not isinstance(v, (dict, list)) for v in obj.values()):
            return [dict(obj)]
        raise ValueError("unrecognised JSON output")
    if isinstance(obj, list):
        return [_item(i) for i in obj]
    return [[obj]]


def _item(item: Any) -> Any:
    if isinstance(item, dict):
        if "features" in item and len(item) == 1:
            return list(item["features"])
        return dict(item)
    if isinstance(item, list):
        return list(item)
    return [item]


def _npy_rows(raw: bytes) -> list[Any]:
    import numpy as np

    array = np.load(io.BytesIO(raw), allow_pickle=False)
    if array.ndim == 1:
        return [array.tolist()]
    if array.ndim == 2:
        return array.tolist()
    raise ValueError("an x-npy input must be 1-D or 2-D")


def _named(values: list[Any], names: list[str]) -> dict[str, Any]:
    return {names[i] if i < len(names) else f"_c{i}": v for i, v in enumerate(values)}


def _maybe_numeric(s: pd.Series) -> pd.Series:
    import pandas as pd

    if s.dtype != object:
        return s
    present = s.notna()
    if not present.any():
        return s
    try:
        numbers = pd.to_numeric(s[present], errors="coerce")
    except (TypeError, ValueError):
        return s
    if numbers.notna().all():
        return pd.to_numeric(s, errors="coerce")
    return s


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _check_name(field_name: str, value: Any) -> None:
    if not isinstance(value, str) or len(value) > 63 or not _NAME.match(value):
        raise ValidationError(
            field_name,
            value,
            "1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
