"""Deserializers: turn a response body into Python objects for ``Predictor.predict``.

The classes, names, defaults and ``ACCEPT`` values of SageMaker v2's
``sagemaker.deserializers``. ``deserialize(data, content_type)`` takes bytes or a
file-like stream (closed after reading). NumPy and pandas load only in the deserializers
that return their objects.

Example
-------
>>> JSONDeserializer().deserialize(b'{"predictions": [{"score": 0.5}]}', "application/json")
{'predictions': [{'score': 0.5}]}
"""

from __future__ import annotations

import abc
import csv
import io
import json
from typing import Any

__all__ = [
    "BaseDeserializer",
    "BytesDeserializer",
    "CSVDeserializer",
    "JSONDeserializer",
    "JSONLinesDeserializer",
    "NumpyDeserializer",
    "PandasDeserializer",
    "SimpleBaseDeserializer",
    "StreamDeserializer",
    "StringDeserializer",
]


def _read(data: Any) -> bytes:
    """The bytes of ``data`` (bytes, str or a stream, which is closed after reading)."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    try:
        body = data.read()
    finally:
        close = getattr(data, "close", None)
        if close is not None:
            close()
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _predictions(obj: Any) -> list[Any] | None:
    """The list under "predictions" in an endpoint's JSON answer, else None."""
    if isinstance(obj, dict) and isinstance(obj.get("predictions"), list):
        return obj["predictions"]
    return None


class BaseDeserializer(abc.ABC):
    """Abstract deserializer: ``deserialize(data, content_type)`` and ``ACCEPT``."""

    @abc.abstractmethod
    def deserialize(self, stream: Any, content_type: str) -> Any:
        """Deserialize a response body of media type ``content_type``."""

    @property
    @abc.abstractmethod
    def ACCEPT(self) -> tuple[str, ...]:
        """The media types asked for in the request's Accept header."""


class SimpleBaseDeserializer(BaseDeserializer):
    """A deserializer whose accepted media types are set at construction, as in SageMaker.

    Example
    -------
    >>> BytesDeserializer(accept="image/png").ACCEPT
    ('image/png',)
    """

    def __init__(self, accept: str | tuple[str, ...] = "*/*") -> None:
        self.accept = accept

    @property
    def ACCEPT(self) -> tuple[str, ...]:
        return (self.accept,) if isinstance(self.accept, str) else tuple(self.accept)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(accept={self.accept!r})"


class BytesDeserializer(SimpleBaseDeserializer):
    """The body as bytes (the Predictor's default)."""

    def deserialize(self, stream: Any, content_type: str) -> bytes:
        return _read(stream)


class StreamDeserializer(SimpleBaseDeserializer):
    """``(stream, content_type)`` unread; bytes are wrapped in a ``BytesIO``."""

    def deserialize(self, stream: Any, content_type: str) -> tuple[Any, str]:
        if isinstance(stream, bytes | bytearray | memoryview):
            stream = io.BytesIO(stream)
        return stream, content_type


class StringDeserializer(SimpleBaseDeserializer):
    """The body decoded as text."""

    def __init__(
        self, encoding: str = "UTF-8", accept: str | tuple[str, ...] = "application/json"
    ) -> None:
        super().__init__(accept)
        self.encoding = encoding

    def deserialize(self, stream: Any, content_type: str) -> str:
        return _read(stream).decode(self.encoding)


class CSVDeserializer(SimpleBaseDeserializer):
    """CSV as a list of rows, each a list of str.

    Example
    -------
    >>> CSVDeserializer().deserialize(b"0.1,1\\n0.2,0\\n", "text/csv")
    [['0.1', '1'], ['0.2', '0']]
    """

    def __init__(self, encoding: str = "utf-8", accept: str | tuple[str, ...] = "text/csv") -> None:
        super().__init__(accept)
        self.encoding = encoding

    def deserialize(self, stream: Any, content_type: str) -> list[list[str]]:
        return list(csv.reader(_read(stream).decode(self.encoding).splitlines()))


class JSONDeserializer(SimpleBaseDeserializer):
    """JSON as Python objects."""

    def __init__(self, accept: str | tuple[str, ...] = "application/json") -> None:
        super().__init__(accept)

    def deserialize(self, stream: Any, content_type: str) -> Any:
        return json.loads(_read(stream).decode("utf-8"))


class JSONLinesDeserializer(SimpleBaseDeserializer):
    """JSON Lines as a list, one item per non-blank line.

    Example
    -------
    >>> JSONLinesDeserializer().deserialize(b'{"score": 1}\\n{"score": 0}\\n', "application/jsonlines")
    [{'score': 1}, {'score': 0}]
    """

    def __init__(self, accept: str | tuple[str, ...] = "application/jsonlines") -> None:
        super().__init__(accept)

    def deserialize(self, stream: Any, content_type: str) -> list[Any]:
        text = _read(stream).decode("utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def _prediction_rows(predictions: list[Any]) -> list[Any]:
    """Endpoint prediction records as plain values: one value per record when each has a
    single scalar value, else the record's values (lists expanded) in key order."""
    rows: list[Any] = []
    for record in predictions:
        if not isinstance(record, dict):
            rows.append(record)
            continue
        values: list[Any] = []
        for value in record.values():
            values.extend(value if isinstance(value, list) else [value])
        rows.append(values[0] if len(record) == 1 and len(values) == 1 else values)
    return rows


class NumpyDeserializer(SimpleBaseDeserializer):
    """A NumPy array from .npy, CSV or JSON (never unpickles unless ``allow_pickle``).

    For a JSON answer of the form ``{"predictions": [...]}`` the array holds the
    predictions: one value per record when each record has one scalar value (e.g.
    ``{"score": 0.3}``), else one row per record with its values in key order (lists
    expanded) — the same array the endpoint sends for ``application/x-npy``.

    Example
    -------
    >>> NumpyDeserializer().deserialize(b'{"predictions": [{"score": 0.5}]}', "application/json")
    array([0.5])
    """

    def __init__(
        self,
        dtype: Any = None,
        accept: str | tuple[str, ...] = "application/x-npy",
        allow_pickle: bool = False,
    ) -> None:
        super().__init__(accept)
        self.dtype = dtype
        self.allow_pickle = allow_pickle

    def deserialize(self, stream: Any, content_type: str) -> Any:
        import numpy as np

        body = _read(stream)
        media = _media(content_type)
        if media == "text/csv":
            return np.genfromtxt(io.StringIO(body.decode("utf-8")), delimiter=",", dtype=self.dtype)
        if media == "application/json":
            obj = json.loads(body.decode("utf-8"))
            predictions = _predictions(obj)
            if predictions is not None:
                obj = _prediction_rows(predictions)
            return np.array(obj, dtype=self.dtype)
        if media == "application/x-npy":
            return np.load(io.BytesIO(body), allow_pickle=self.allow_pickle)
        raise ValueError(f"NumpyDeserializer cannot read content type {content_type!r}")


class PandasDeserializer(SimpleBaseDeserializer):
    """A DataFrame from CSV or JSON.

    CSV is read without a header row (endpoints never send one; SageMaker's reads the first
    line as a header). For ``{"predictions": [...]}`` JSON the frame has one row per
    prediction: one column per key for records (list values stay lists), or a single
    ``predictions`` column for plain values; other JSON goes through ``pandas.read_json``.

    Example
    -------
    >>> body = b'{"predictions": [{"score": 0.5, "predicted_label": 1}]}'
    >>> PandasDeserializer().deserialize(body, "application/json").to_dict("list")
    {'score': [0.5], 'predicted_label': [1]}
    """

    def __init__(self, accept: str | tuple[str, ...] = ("text/csv", "application/json")) -> None:
        super().__init__(accept)

    def deserialize(self, stream: Any, content_type: str) -> Any:
        import pandas as pd

        body = _read(stream)
        media = _media(content_type)
        if media == "text/csv":
            return pd.read_csv(io.BytesIO(body), header=None)
        if media == "application/json":
            obj = json.loads(body.decode("utf-8"))
            predictions = _predictions(obj)
            if predictions is None:
                return pd.read_json(io.StringIO(body.decode("utf-8")))
            if predictions and all(isinstance(p, dict) for p in predictions):
                return pd.DataFrame.from_records(predictions)
            return pd.DataFrame({"predictions": predictions})
        raise ValueError(f"PandasDeserializer cannot read content type {content_type!r}")
