"""SageMaker v2 serializers and deserializers (workbench.serving._serializers/_deserializers)."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from workbench.serving._codec import decode, encode
from workbench.serving._deserializers import (
    BytesDeserializer,
    CSVDeserializer,
    JSONDeserializer,
    JSONLinesDeserializer,
    NumpyDeserializer,
    PandasDeserializer,
    StreamDeserializer,
    StringDeserializer,
)
from workbench.serving._serializers import (
    CSVSerializer,
    IdentitySerializer,
    JSONLinesSerializer,
    JSONSerializer,
    NumpySerializer,
    SimpleBaseSerializer,
    StringSerializer,
)


class _Stream(io.BytesIO):
    closed_by_reader = False

    def close(self) -> None:
        self.closed_by_reader = True
        super().close()


@pytest.mark.parametrize(
    "serializer, content_type",
    [
        (CSVSerializer(), "text/csv"),
        (JSONSerializer(), "application/json"),
        (JSONLinesSerializer(), "application/jsonlines"),
        (NumpySerializer(), "application/x-npy"),
        (IdentitySerializer(), "application/octet-stream"),
        (StringSerializer(), "text/plain"),
        (CSVSerializer(content_type="text/x-csv"), "text/x-csv"),
    ],
)
def test_serializer_content_types_are_sagemakers(serializer, content_type):
    assert serializer.CONTENT_TYPE == content_type == serializer.content_type
    assert isinstance(serializer, SimpleBaseSerializer)


@pytest.mark.parametrize(
    "deserializer, accept",
    [
        (BytesDeserializer(), ("*/*",)),
        (StringDeserializer(), ("application/json",)),
        (CSVDeserializer(), ("text/csv",)),
        (JSONDeserializer(), ("application/json",)),
        (JSONLinesDeserializer(), ("application/jsonlines",)),
        (NumpyDeserializer(), ("application/x-npy",)),
        (PandasDeserializer(), ("text/csv", "application/json")),
        (StreamDeserializer(), ("*/*",)),
    ],
)
def test_deserializer_accept_is_sagemakers(deserializer, accept):
    assert deserializer.ACCEPT == accept


def test_a_non_string_content_type_is_refused():
    with pytest.raises(ValueError, match="content_type must be a string"):
        CSVSerializer(content_type=["text/csv"])


# -- CSVSerializer -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data, expected",
    [
        ([1, 2.5, 3], b"1,2.5,3"),
        ([[1, 2], [3, 4]], b"1,2\n3,4"),
        ((0.1 + 0.2, None, "a,b"), b'0.30000000000000004,,"a,b"'),
        (np.array([1.5, np.nan]), b"1.5,"),
        (np.array([[1, 2], [3, 4]]), b"1,2\n3,4"),
        (np.array([[0.25, 1.0]], dtype=np.float32), b"0.25,1.0"),
        ("1,2,3", b"1,2,3"),
        (b"raw,bytes", b"raw,bytes"),
        (io.BytesIO(b"9,8"), b"9,8"),
        (pd.Series([1.0, 2.0], index=[10, 11]), b"1.0,2.0"),
        ([np.array([1, 2]), np.array([3, 4])], b"1,2\n3,4"),
    ],
)
def test_csv_serializer(data, expected):
    assert CSVSerializer().serialize(data) == expected


def test_csv_serializer_sends_a_dataframe_without_header_or_index():
    frame = pd.DataFrame({"a": [1.5, np.nan], "b": ["x", "y, z"]}, index=[7, 8])
    assert CSVSerializer().serialize(frame) == b'1.5,x\n,"y, z"'


@pytest.mark.parametrize("data", [[], np.array([]), pd.DataFrame()])
def test_csv_serializer_refuses_empty_data(data):
    with pytest.raises(ValueError, match="empty"):
        CSVSerializer().serialize(data)


def test_csv_serializer_output_is_what_the_endpoint_decodes():
    values = np.random.default_rng(2).normal(size=(4, 3))
    decoded = decode(CSVSerializer().serialize(values), "text/csv", columns=["a", "b", "c"])
    assert np.array_equal(decoded.frame.to_numpy(), values)


# -- JSON serializers ----------------------------------------------------------------------
def test_json_serializer_lists_dicts_and_arrays():
    s = JSONSerializer()
    assert json.loads(s.serialize([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
    assert json.loads(s.serialize({"instances": np.array([[1.0, np.nan]])})) == {
        "instances": [[1.0, None]]
    }
    assert json.loads(s.serialize(np.arange(3))) == [0, 1, 2]
    assert json.loads(s.serialize({"x": np.float32(0.5), "n": np.int64(3)})) == {"x": 0.5, "n": 3}
    assert s.serialize(b'{"raw": 1}') == b'{"raw": 1}'
    assert s.serialize("text") == b'"text"'  # SageMaker dumps a str as a JSON string


def test_json_serializer_sends_a_dataframe_as_mlflow_dataframe_split():
    frame = pd.DataFrame({"b": [2.0, np.nan], "a": [1, 3]}, index=[5, 6])
    body = JSONSerializer().serialize(frame)
    assert json.loads(body) == {
        "dataframe_split": {"columns": ["b", "a"], "data": [[2.0, 1.0], [None, 3.0]]}
    }
    decoded = decode(body, "application/json", columns=["a", "b"])
    assert decoded.style == "mlflow"
    assert decoded.frame["a"].tolist() == [1.0, 3.0] and math.isnan(decoded.frame["b"].iloc[1])


def test_jsonlines_serializer():
    s = JSONLinesSerializer()
    assert s.serialize([{"features": [1, 2]}, [3, 4]]) == b'{"features":[1,2]}\n[3,4]'
    assert s.serialize(np.array([[1, 2], [3, 4]])) == b"[1,2]\n[3,4]"
    frame = pd.DataFrame({"a": [1.0], "b": [2.0]})
    assert s.serialize(frame) == b'{"a":1.0,"b":2.0}'
    assert s.serialize('{"a": 1}') == b'{"a": 1}'
    with pytest.raises(ValueError, match="not JSON Lines serializable"):
        s.serialize(5)


# -- NumpySerializer, IdentitySerializer, StringSerializer ---------------------------------
def test_numpy_serializer_round_trip_and_dtype():
    body = NumpySerializer().serialize([[1, 2], [3, 4]])
    assert np.load(io.BytesIO(body)).tolist() == [[1, 2], [3, 4]]
    body = NumpySerializer(dtype="float32").serialize([1, 2])
    assert np.load(io.BytesIO(body)).dtype == np.float32
    frame = pd.DataFrame({"a": [1.0], "b": [2.0]})
    assert np.load(io.BytesIO(NumpySerializer().serialize(frame))).tolist() == [[1.0, 2.0]]
    with pytest.raises(ValueError, match="empty"):
        NumpySerializer().serialize([])
    with pytest.raises(ValueError):
        NumpySerializer().serialize([{"not": "numeric"}])  # object arrays need pickle


def test_identity_and_string_serializers():
    payload = object()
    assert IdentitySerializer().serialize(payload) is payload
    assert IdentitySerializer("image/png").CONTENT_TYPE == "image/png"
    assert StringSerializer().serialize("héllo") == "héllo".encode()
    with pytest.raises(ValueError, match="not String serializable"):
        StringSerializer().serialize(b"bytes")


# -- deserializers -------------------------------------------------------------------------
def test_deserializers_take_bytes_or_a_stream_and_close_the_stream():
    stream = _Stream(b"abc")
    assert BytesDeserializer().deserialize(stream, "application/octet-stream") == b"abc"
    assert stream.closed_by_reader
    assert BytesDeserializer().deserialize(b"abc", "x/y") == b"abc"
    assert StringDeserializer().deserialize(_Stream("é".encode()), "text/plain") == "é"
    body, content_type = StreamDeserializer().deserialize(b"xyz", "text/plain")
    assert body.read() == b"xyz" and content_type == "text/plain"


def test_csv_and_json_deserializers():
    assert CSVDeserializer().deserialize(b'0.5,1\n"a,b",2\n', "text/csv") == [
        ["0.5", "1"],
        ["a,b", "2"],
    ]
    assert JSONDeserializer().deserialize(_Stream(b'{"predictions": [1]}'), "application/json") == {
        "predictions": [1]
    }
    assert JSONLinesDeserializer().deserialize(b'{"a": 1}\n\n[2]\n', "application/jsonlines") == [
        {"a": 1},
        [2],
    ]
    assert JSONLinesDeserializer().deserialize(b"", "application/jsonlines") == []


def test_numpy_deserializer_reads_npy_csv_and_json():
    d = NumpyDeserializer()
    body, content_type = encode([{"score": 0.5}, {"score": 0.25}], "application/x-npy")
    assert d.deserialize(body, content_type).tolist() == [0.5, 0.25]
    assert d.deserialize(b"1,2\n3,4\n", "text/csv; charset=utf-8").tolist() == [[1, 2], [3, 4]]
    assert d.deserialize(b"[[1, 2]]", "application/json").tolist() == [[1, 2]]
    body, _ = encode([{"score": 0.5}, {"score": 0.25}], "application/json")
    assert d.deserialize(body, "application/json").tolist() == [0.5, 0.25]
    body, _ = encode([{"score": [0.1, 0.9], "predicted_label": 1}], "application/json")
    assert d.deserialize(body, "application/json").tolist() == [[0.1, 0.9, 1.0]]
    with pytest.raises(ValueError, match="cannot read content type"):
        d.deserialize(b"x", "text/plain")


def test_numpy_deserializer_refuses_pickled_arrays():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        NumpyDeserializer().deserialize(buffer.getvalue(), "application/x-npy")


def test_pandas_deserializer_reads_endpoint_answers():
    d = PandasDeserializer()
    body, _ = encode(
        [{"score": 0.7, "predicted_label": 1}, {"score": 0.2, "predicted_label": 0}],
        "application/json",
    )
    frame = d.deserialize(body, "application/json")
    assert frame.to_dict("list") == {"score": [0.7, 0.2], "predicted_label": [1, 0]}
    body, _ = encode([{"score": 0.7}, {"score": 0.2}], "application/json", style="mlflow")
    assert d.deserialize(body, "application/json").to_dict("list") == {"predictions": [0.7, 0.2]}
    body, content_type = encode([{"score": 0.7, "predicted_label": 1}], "text/csv")
    frame = d.deserialize(io.BytesIO(body), content_type)
    assert frame.shape == (1, 2) and frame.iloc[0].tolist() == [0.7, 1.0]  # no header row
    assert d.deserialize(b'{"a": [1, 2]}', "application/json")["a"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="cannot read content type"):
        d.deserialize(b"x", "application/x-npy")
