"""Serializers: turn the data given to ``Predictor.predict`` into a request body.

The classes, names, defaults and ``CONTENT_TYPE`` values of SageMaker v2's
``sagemaker.serializers``. ``serialize`` returns bytes (SageMaker returns str or bytes).
NumPy and pandas are imported only when the data is one of their objects, so a client
that sends lists never loads them.

Example
-------
>>> CSVSerializer().serialize([[1, 2.5], [3, 4]])
b'1,2.5\\n3,4'
"""

from __future__ import annotations

import abc
import io
import json
import math
import sys
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "BaseSerializer",
    "CSVSerializer",
    "IdentitySerializer",
    "JSONLinesSerializer",
    "JSONSerializer",
    "NumpySerializer",
    "SimpleBaseSerializer",
    "StringSerializer",
]


def _numpy() -> Any:
    """The numpy module if already imported: data cannot be a NumPy object otherwise."""
    return sys.modules.get("numpy")


def _dataframe_type() -> type | None:
    pandas = sys.modules.get("pandas")
    return pandas.DataFrame if pandas is not None else None


def _is_dataframe(data: Any) -> bool:
    frame = _dataframe_type()
    return frame is not None and isinstance(data, frame)


def _is_ndarray(data: Any) -> bool:
    np = _numpy()
    return np is not None and isinstance(data, np.ndarray)


def _to_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    raise ValueError(f"expected str or bytes, got {type(data).__name__}")


def _encoded(data: Any, text: bool) -> bytes | None:
    """The bytes of data that is already encoded: a stream, bytes, or (``text``) a str."""
    if hasattr(data, "read"):
        return _to_bytes(data.read())
    if isinstance(data, bytes | bytearray | memoryview) or (text and isinstance(data, str)):
        return _to_bytes(data)
    return None


def _plain(value: Any) -> Any:
    """JSON-ready Python: NumPy objects converted, NaN and infinities as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    np = _numpy()
    if np is not None:
        if isinstance(value, np.ndarray):
            return _plain(value.tolist())
        if isinstance(value, np.generic):
            return _plain(value.item())
    return value


def _json(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):  # NumPy objects, NaN: convert and try again
        return json.dumps(_plain(value), allow_nan=False, separators=(",", ":"), default=str)


class BaseSerializer(abc.ABC):
    """Abstract serializer: ``serialize(data)`` and a ``CONTENT_TYPE``."""

    @abc.abstractmethod
    def serialize(self, data: Any) -> Any:
        """Serialize ``data`` into the media type ``CONTENT_TYPE``."""

    @property
    @abc.abstractmethod
    def CONTENT_TYPE(self) -> str:
        """The media type sent as the request's Content-Type."""


class SimpleBaseSerializer(BaseSerializer):
    """A serializer whose content type is set at construction, as in SageMaker.

    Example
    -------
    >>> IdentitySerializer("image/png").CONTENT_TYPE
    'image/png'
    """

    def __init__(self, content_type: str = "application/json") -> None:
        if not isinstance(content_type, str):
            raise ValueError(
                "content_type must be a string naming the media type of the request body, "
                f"e.g. 'text/csv' or 'application/json'; got {content_type!r}"
            )
        self.content_type = content_type

    @property
    def CONTENT_TYPE(self) -> str:
        return self.content_type

    def __repr__(self) -> str:
        return f"{type(self).__name__}(content_type={self.content_type!r})"


def _csv_field(value: Any) -> str:
    if isinstance(value, float):
        return repr(value) if value == value else ""  # NaN -> empty field, as pandas writes it
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return ""
    np = _numpy()
    if np is not None and isinstance(value, np.generic):
        return _csv_field(value.item())
    text = str(value)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_row(row: Any) -> str:
    if isinstance(row, str):
        return row
    if _is_ndarray(row):
        row = row.ravel().tolist()
    if not hasattr(row, "__len__"):
        return _csv_field(row)
    if len(row) == 0:
        raise ValueError("Cannot serialize an empty row")
    return ",".join(_csv_field(v) for v in row)


class CSVSerializer(SimpleBaseSerializer):
    """Rows as CSV lines without a header: lists, lists of lists, arrays, DataFrames.

    A DataFrame sends its values only (no header, no index); a 1-D list or array is one
    row; str and bytes pass through; a file-like object is read. Floats keep round-trip
    precision, NaN is an empty field.

    Example
    -------
    >>> CSVSerializer().serialize([0.5, 1, None])
    b'0.5,1,'
    """

    def __init__(self, content_type: str = "text/csv") -> None:
        super().__init__(content_type)

    def serialize(self, data: Any) -> bytes:
        raw = _encoded(data, text=True)
        if raw is not None:
            return raw
        if _is_dataframe(data):
            data = data.to_numpy() if not data.empty else []
        elif hasattr(data, "to_numpy"):  # a pandas Series: one row
            data = data.to_numpy()
        if _is_ndarray(data):
            if data.size == 0:
                raise ValueError("Cannot serialize an empty array")
            if data.ndim <= 1:
                return _csv_row(data.reshape(-1)).encode()
            data = data.reshape(data.shape[0], -1).tolist()
        if isinstance(data, Iterable) and not isinstance(data, list | tuple):
            data = list(data)
        if not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
            return _csv_field(data).encode()
        if len(data) == 0:
            raise ValueError("Cannot serialize an empty list")
        first = data[0]
        if isinstance(first, list | tuple) or _is_ndarray(first):
            return "\n".join(_csv_row(row) for row in data).encode()
        return _csv_row(data).encode()


class JSONSerializer(SimpleBaseSerializer):
    """Data as JSON: lists, dicts, NumPy arrays (as lists) and DataFrames.

    A DataFrame is sent in MLflow's ``{"dataframe_split": {"columns": [..], "data": [..]}}``
    form so its column names reach the model (the index is left out); endpoints answer
    such requests MLflow-style, ``{"predictions": [value, ..]}``. NaN becomes ``null``;
    bytes and file-like objects pass through.

    Example
    -------
    >>> JSONSerializer().serialize({"instances": [[1, 2]]})
    b'{"instances":[[1,2]]}'
    """

    def __init__(self, content_type: str = "application/json") -> None:
        super().__init__(content_type)

    def serialize(self, data: Any) -> bytes:
        raw = _encoded(data, text=False)
        if raw is not None:
            return raw
        if _is_dataframe(data):
            split = {"columns": [str(c) for c in data.columns], "data": data.to_numpy().tolist()}
            return _json({"dataframe_split": split}).encode()
        if _is_ndarray(data):
            data = data.tolist()
        return _json(data).encode()


class JSONLinesSerializer(SimpleBaseSerializer):
    """One JSON value per line: an iterable of objects or lists, or a DataFrame (records).

    Example
    -------
    >>> JSONLinesSerializer().serialize([{"features": [1, 2]}, [3, 4]])
    b'{"features":[1,2]}\\n[3,4]'
    """

    def __init__(self, content_type: str = "application/jsonlines") -> None:
        super().__init__(content_type)

    def serialize(self, data: Any) -> bytes:
        raw = _encoded(data, text=True)
        if raw is not None:
            return raw
        if _is_dataframe(data):
            columns = [str(c) for c in data.columns]
            data = [dict(zip(columns, row)) for row in data.to_numpy().tolist()]
        elif _is_ndarray(data):
            data = data.tolist() if data.ndim > 1 else [data.tolist()]
        if not isinstance(data, Iterable) or isinstance(data, Mapping):
            raise ValueError(f"Object of type {type(data).__name__} is not JSON Lines serializable")
        return "\n".join(_json(item) for item in data).encode()


class NumpySerializer(SimpleBaseSerializer):
    """An array in ``.npy`` format (``numpy.save``, no pickle).

    Example
    -------
    >>> NumpySerializer().serialize([[1.0, 2.0]])[:6]
    b'\\x93NUMPY'
    """

    def __init__(self, dtype: Any = None, content_type: str = "application/x-npy") -> None:
        super().__init__(content_type)
        self.dtype = dtype

    def serialize(self, data: Any) -> bytes:
        import numpy as np

        raw = _encoded(data, text=False)
        if raw is not None:
            return raw
        if _is_dataframe(data):
            data = data.to_numpy()
        if isinstance(data, list) and not data:
            raise ValueError("Cannot serialize an empty list")
        array = np.asarray(data, dtype=self.dtype)
        if array.size == 0:
            raise ValueError("Cannot serialize an empty array")
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return buffer.getvalue()


class IdentitySerializer(SimpleBaseSerializer):
    """Data sent unchanged (raw bytes, e.g. an image file's contents).

    Example
    -------
    >>> IdentitySerializer().serialize(b"raw")
    b'raw'
    """

    def __init__(self, content_type: str = "application/octet-stream") -> None:
        super().__init__(content_type)

    def serialize(self, data: Any) -> Any:
        return data


class StringSerializer(SimpleBaseSerializer):
    """A str encoded as UTF-8.

    Example
    -------
    >>> StringSerializer().serialize("héllo")
    b'h\\xc3\\xa9llo'
    """

    def __init__(self, content_type: str = "text/plain") -> None:
        super().__init__(content_type)

    def serialize(self, data: Any) -> bytes:
        if isinstance(data, str):
            return data.encode("utf-8")
        raise ValueError(f"Object of type {type(data).__name__} is not String serializable")
