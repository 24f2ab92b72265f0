"""Request decoding and response encoding (workbench.serving._codec)."""

from __future__ import annotations

import io
import json
import math
import timeit

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.serving._codec import (
    CONTENT_TYPES,
    Decoded,
    RequestError,
    choose_accept,
    decode,
    encode,
    parse_media_type,
)

COLS = ["a", "b", "c"]
JSON = "application/json"


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array))
    return buffer.getvalue()


def _rows(decoded: Decoded) -> list[list]:
    return decoded.frame.to_numpy().tolist()


def _error(body: bytes, content_type: str, **kwargs) -> RequestError:
    with pytest.raises(RequestError) as info:
        decode(body, content_type, **kwargs)
    return info.value


# -- media types ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, expected",
    [
        ("text/csv", "text/csv"),
        ("Text/CSV; charset=utf-8", "text/csv"),
        (" application/json ;q=1", "application/json"),
        (None, "application/json"),
        ("", "application/json"),
    ],
)
def test_parse_media_type(value, expected):
    assert parse_media_type(value, "application/json") == expected


@pytest.mark.parametrize(
    "accept, expected",
    [
        (None, "application/json"),
        ("", "application/json"),
        ("text/csv", "text/csv"),
        ("*/*", "application/json"),
        ("text/*", "text/csv"),
        ("application/*", "application/json"),
        ("text/xml, text/csv", "text/csv"),
        ("text/csv;q=0.5, application/x-npy", "application/x-npy"),
        ("application/x-npy;q=0.2, text/csv;q=0.9, application/json;q=0.9", "text/csv"),
        ("application/jsonl", "application/jsonlines"),
        ("application/x-jsonlines", "application/jsonlines"),
        ("text/csv;q=0, application/json", "application/json"),
        ("text/csv; charset=utf-8", "text/csv"),
    ],
)
def test_choose_accept(accept, expected):
    assert choose_accept(accept, CONTENT_TYPES, "application/json") == expected


def test_choose_accept_without_a_match_is_406_listing_the_supported_types():
    with pytest.raises(RequestError) as info:
        choose_accept("text/xml, image/*", CONTENT_TYPES, "application/json")
    assert info.value.status == 406
    assert str(info.value) == (
        "unsupported Accept 'text/xml, image/*'; supported: text/csv, application/json,"
        " application/jsonlines, application/x-npy"
    )


# -- text/csv ------------------------------------------------------------------------------
def test_csv_rows_become_a_named_float_frame():
    decoded = decode(b"1,2,3\r\n4.5,-6e2,7\n\n  \n", "text/csv; charset=utf-8", columns=COLS)
    assert decoded.style == "sagemaker"
    assert list(decoded.frame.columns) == COLS
    assert decoded.frame.dtypes.tolist() == [np.float64] * 3
    assert _rows(decoded) == [[1.0, 2.0, 3.0], [4.5, -600.0, 7.0]]
    assert decoded.array is not None and decoded.array.shape == (2, 3)


def test_a_memoryview_body_is_read_like_bytes():
    assert _rows(decode(memoryview(b"1,2,3"), "text/csv", columns=COLS)) == [[1.0, 2.0, 3.0]]


def test_csv_without_columns_uses_positions_and_empty_fields_are_nan():
    decoded = decode(b"1,,3\n4,5,nan\n", "text/csv")
    assert list(decoded.frame.columns) == [0, 1, 2]
    rows = _rows(decoded)
    assert rows[0][0] == 1.0 and math.isnan(rows[0][1]) and math.isnan(rows[1][2])


def test_csv_quoted_fields_and_string_columns():
    body = b'1,"big, red",3\n2,,4\n3,"say ""hi""",5\n'
    decoded = decode(body, "text/csv", columns=COLS, dtypes={"b": "string"})
    assert decoded.array is None
    assert decoded.frame["b"].tolist() == ["big, red", None, 'say "hi"']
    assert decoded.frame["a"].tolist() == [1.0, 2.0, 3.0]
    assert decoded.frame["c"].dtype == np.float64


@pytest.mark.parametrize(
    "body, kwargs, message",
    [
        (b"1,2\n", {"columns": COLS}, "text/csv row 1 has 2 fields; expected 3"),
        (b"1,2,3\n\n4,5,6,7\n", {"columns": COLS}, "text/csv row 3 has 4 fields; expected 3"),
        (b"1,2,3\n4,5\n", {}, "text/csv row 2 has 2 fields; expected 3 (as in row 1)"),
        (b"1,2,3\n4,x5,6\n", {"columns": COLS}, "text/csv row 2, column 'b': 'x5' is not a number"),
        (b"1,2,abc\n", {}, "text/csv row 1, field 3: 'abc' is not a number"),
        (b'1,"2,3\n', {"columns": COLS}, "text/csv: malformed CSV"),
        (b"", {}, "text/csv: no records in the request body"),
        (b"\n \r\n", {}, "text/csv: no records in the request body"),
        (b"1,2,\xff\n", {}, "text/csv: the body is not valid UTF-8"),
    ],
)
def test_csv_errors_are_400_and_name_the_problem(body, kwargs, message):
    error = _error(body, "text/csv", **kwargs)
    assert error.status == 400
    assert str(error).startswith(message), str(error)


def test_csv_with_the_label_column_still_in_is_refused_with_a_hint():
    error = _error(b"0,1,2,3\n1,4,5,6\n", "text/csv", columns=COLS)
    assert error.status == 400
    assert "has 4 fields; expected 3" in error.message
    assert "label/target column" in error.message


# -- application/json ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload, style",
    [
        ({"instances": [[1, 2, 3], [4, 5, 6]]}, "sagemaker"),
        ({"instances": [{"features": [1, 2, 3]}, {"features": [4, 5, 6]}]}, "sagemaker"),
        (
            {"instances": [{"c": 3, "a": 1, "b": 2}, {"b": 5, "a": 4, "c": 6, "z": "x"}]},
            "sagemaker",
        ),
        (
            {"instances": [{"data": {"features": {"values": [1, 2, 3]}}}, [4, 5, 6]]},
            "sagemaker",
        ),
        ([[1, 2, 3], [4, 5, 6]], "sagemaker"),
        ([{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 5, "c": 6}], "sagemaker"),
        (
            {"dataframe_split": {"columns": ["c", "a", "b"], "data": [[3, 1, 2], [6, 4, 5]]}},
            "mlflow",
        ),
        (
            {"dataframe_split": {"index": [7, 8], "data": [[1, 2, 3], [4, 5, 6]]}},
            "mlflow",
        ),
        ({"dataframe_records": [{"a": 1, "b": 2, "c": 3}, {"c": 6, "b": 5, "a": 4}]}, "mlflow"),
        ({"inputs": [[1, 2, 3], [4, 5, 6]]}, "mlflow"),
        ({"inputs": {"b": [2, 5], "a": [1, 4], "c": [3, 6]}}, "mlflow"),
    ],
)
def test_json_forms_give_the_same_rows(payload, style):
    decoded = decode(json.dumps(payload).encode(), JSON, columns=COLS)
    assert decoded.style == style
    assert list(decoded.frame.columns) == COLS
    assert _rows(decoded) == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


@pytest.mark.parametrize(
    "payload, expected",
    [
        ({"features": [1, 2, 3]}, [[1.0, 2.0, 3.0]]),
        ([1, 2, 3], [[1.0, 2.0, 3.0]]),
        ({"instances": [1, 2, 3]}, [[1.0, 2.0, 3.0]]),
        ({"inputs": {"a": 1, "b": 2, "c": 3}}, [[1.0, 2.0, 3.0]]),
        ({"instances": [[1, True, 3]]}, [[1.0, 1.0, 3.0]]),
    ],
)
def test_json_single_rows(payload, expected):
    assert _rows(decode(json.dumps(payload).encode(), JSON, columns=COLS)) == expected


def test_json_flat_list_for_a_one_column_model_is_one_row_per_value():
    decoded = decode(b"[1, 2, 3]", JSON, columns=["x"])
    assert _rows(decoded) == [[1.0], [2.0], [3.0]]


def test_json_null_is_nan_and_unknown_columns_keep_the_request_names():
    decoded = decode(b'{"dataframe_records": [{"p": 1, "q": null}]}', JSON)
    assert list(decoded.frame.columns) == ["p", "q"]
    assert decoded.frame["p"].tolist() == [1.0] and math.isnan(decoded.frame["q"].iloc[0])


def test_json_string_columns():
    body = b'{"instances": [{"a": 1, "b": "red", "c": 2}, {"a": 3, "b": null, "c": 4}]}'
    decoded = decode(body, JSON, columns=COLS, dtypes={"a": "numeric", "b": "string"})
    assert decoded.frame["b"].tolist() == ["red", None]
    assert decoded.frame["c"].tolist() == [2.0, 4.0]


@pytest.mark.parametrize(
    "body, status, message",
    [
        (b'{"instances": [[1, "2", 3]]}', 400, "application/json row 1, column 'b': expected a number, got the string '2'"),
        (b'[[1, 2, 3], [4, "x", 6]]', 400, "application/json row 2, column 'b': expected a number, got the string 'x'"),
        (b'[[1, [2], 3]]', 400, "application/json row 1, column 'b': expected a number, got a nested list"),
        (b'[[1, {"v": 2}, 3]]', 400, "application/json row 1, column 'b': expected a number, got a nested object"),
        (b'{"instances": [[1, 2]]}', 400, "application/json row 1 has 2 values; expected 3"),
        (b'{"instances": [{"a": 1, "c": 3}]}', 400, "application/json row 1 is missing column(s) 'b'"),
        (b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}}', 400, "application/json: missing column(s) 'c'"),
        (b'{"dataframe_split": [1, 2]}', 400, "application/json 'dataframe_split': expected an object"),
        (b'{"rows": [[1, 2, 3]]}', 400, "application/json: expected an object with 'instances', 'dataframe_split', 'dataframe_records' or 'inputs'"),
        (b'{"instances": 5}', 400, "application/json 'instances': expected a list, got int"),
        (b'{"instances": []}', 400, "application/json: no records in the request body"),
        (b'"hello"', 400, "application/json: expected an object or a list, got str"),
        (b'{"instances": [[1, 2, 3]', 400, "invalid JSON: "),
        (b'{"instances": [[1, 2, 3], {"a": 1, "b": 2, "c": 3}]}', 400, "application/json: mixes named records and lists"),
        (b"\xff\xfe[]", 400, "application/json: the body is not valid UTF-8"),
        (b"[" * 100_000, 400, "invalid JSON: "),
        (b'{"inputs": {"a": [1, 2], "b": [3], "c": [4, 5]}}', 400, "application/json 'inputs': the column lists have different lengths"),
    ],
)  # fmt: skip
def test_json_errors_are_400_and_name_the_problem(body, status, message):
    error = _error(body, JSON, columns=COLS)
    assert error.status == status
    assert str(error).startswith(message), str(error)


# -- application/jsonlines -----------------------------------------------------------------
def test_jsonlines_lines_of_every_form():
    body = b'{"features": [1, 2, 3]}\n\n{"features": [4, 5, 6]}\r\n'
    decoded = decode(body, "application/jsonlines", columns=COLS)
    assert _rows(decoded) == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    records = b'{"c": 3, "b": 2, "a": 1}\n{"a": 4, "b": 5, "c": 6}\n'
    assert _rows(decode(records, "application/jsonl", columns=COLS))[0] == [1.0, 2.0, 3.0]
    assert _rows(decode(b"[1, 2]\n[3, 4]", "application/x-jsonlines")) == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize(
    "body, message",
    [
        (b"[1, 2, 3]\n\n[4, 5]\n", "application/jsonlines line 3 has 2 values; expected 3"),
        (b'[1, 2, 3]\n{"x": \n', "application/jsonlines line 2: invalid JSON"),
        (
            b'[1, 2, 3]\n[1, "a", 3]\n',
            "application/jsonlines line 2, column 'b': expected a number",
        ),
        (b"[1, 2, 3]\n7\n", "application/jsonlines line 2: expected a list of values"),
        (b'{"a": 1, "b": 2}\n', "application/jsonlines line 1 is missing column(s) 'c'"),
    ],
)
def test_jsonlines_errors_name_the_line(body, message):
    error = _error(body, "application/jsonlines", columns=COLS)
    assert error.status == 400
    assert str(error).startswith(message), str(error)


# -- application/x-npy ---------------------------------------------------------------------
def test_npy_one_and_two_dimensional_arrays():
    assert _rows(decode(_npy([1, 2, 3]), "application/x-npy", columns=COLS)) == [[1.0, 2.0, 3.0]]
    two = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    decoded = decode(_npy(two), "application/x-npy", columns=COLS)
    assert _rows(decoded) == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert decoded.frame.dtypes.tolist() == [np.float64] * 3
    decoded.array[0, 0] = 9.0  # a writable copy, not a view of the request bytes
    fortran = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    assert _rows(decode(_npy(fortran), "application/x-npy")) == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_npy_arrays_of_the_same_shape_reuse_the_cached_header_correctly():
    first = decode(_npy([[1.0, 2.0, 3.0]]), "application/x-npy").array
    second = decode(_npy([[7.0, 8.0, 9.0]]), "application/x-npy").array
    assert first.tolist() == [[1.0, 2.0, 3.0]] and second.tolist() == [[7.0, 8.0, 9.0]]


@pytest.mark.parametrize(
    "body, message",
    [
        (_npy(np.array(["a", "b"])), "application/x-npy: the array's dtype <U1 is not numeric"),
        (_npy(np.zeros((2, 2, 2))), "application/x-npy: expected a 1-D or 2-D array, got 3-D"),
        (_npy(np.zeros((0, 3))), "application/x-npy: no records"),
        (_npy(np.zeros((1, 4))), "application/x-npy array has 4 columns; expected 3"),
        (b"not numpy at all", "application/x-npy: the body is not a .npy array"),
        (b"PK\x03\x04 zip", "application/x-npy: the body is an .npz archive"),
        (_npy(np.zeros((4, 3)))[:-8], "application/x-npy: not a valid .npy array"),
        (b"", "application/x-npy: no records"),
    ],
)
def test_npy_errors(body, message):
    error = _error(body, "application/x-npy", columns=COLS)
    assert error.status == 400
    assert str(error).startswith(message), str(error)


def test_npy_object_arrays_are_refused_without_unpickling():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    error = _error(buffer.getvalue(), "application/x-npy")
    assert error.status == 400 and "pickle" in error.message


def test_unsupported_content_type_is_415():
    error = _error(b"<a/>", "text/xml")
    assert error.status == 415
    assert str(error) == (
        "unsupported Content-Type 'text/xml'; supported: text/csv, application/json,"
        " application/jsonlines, application/x-npy"
    )


# -- encode --------------------------------------------------------------------------------
def test_encode_json_sagemaker_and_mlflow_styles():
    rows = [
        {"score": np.float64(0.7), "predicted_label": np.int64(1)},
        {"score": 0.2, "predicted_label": 0},
    ]
    body, content_type = encode(rows, "application/json")
    assert content_type == "application/json"
    assert json.loads(body) == {
        "predictions": [{"score": 0.7, "predicted_label": 1}, {"score": 0.2, "predicted_label": 0}]
    }
    body, _ = encode(rows, "application/json", style="mlflow")
    assert json.loads(body) == {"predictions": [1, 0]}
    body, _ = encode([{"score": 0.25}], "application/json", style="mlflow")
    assert json.loads(body) == {"predictions": [0.25]}
    body, _ = encode(
        [{"closest_cluster": 2, "distance_to_cluster": 0.5}], "application/json", style="mlflow"
    )
    assert json.loads(body) == {"predictions": [{"closest_cluster": 2, "distance_to_cluster": 0.5}]}


def test_encode_json_turns_numpy_values_and_nan_into_plain_json():
    rows = [{"score": np.array([0.1, np.nan], dtype=np.float32)}, {"score": [float("inf"), 1.0]}]
    body, _ = encode(rows, "application/json; charset=utf-8")
    assert b"NaN" not in body and b"Infinity" not in body
    decoded = json.loads(body)
    assert decoded["predictions"][0]["score"][1] is None
    assert decoded["predictions"][1]["score"] == [None, 1.0]
    assert decoded["predictions"][0]["score"][0] == pytest.approx(0.1)


def test_encode_jsonlines_one_object_per_line():
    body, content_type = encode([{"score": 0.5}, {"score": [0.1, 0.9]}], "application/jsonlines")
    assert content_type == "application/jsonlines"
    assert body == b'{"score":0.5}\n{"score":[0.1,0.9]}\n'


def test_encode_csv_expands_lists_and_keeps_round_trip_precision():
    value = 0.1 + 0.2  # 0.30000000000000004
    rows = [{"score": value, "predicted_label": 1}, {"score": np.array([0.25, 0.75])}]
    body, content_type = encode(rows, "text/csv")
    assert content_type == "text/csv"
    assert body == b"0.30000000000000004,1\n0.25,0.75\n"
    assert float(body.split(b",")[0]) == value
    body, _ = encode([{"predicted_label": "a, b"}, {"predicted_label": None}], "text/csv")
    assert body == b'"a, b"\n\n'
    assert encode([{"score": [np.nan, 1.0, True]}], "text/csv")[0] == b",1.0,1\n"


def test_encode_npy_is_1d_for_one_scalar_key_and_2d_otherwise():
    body, content_type = encode([{"score": 0.5}, {"score": np.float32(0.25)}], "application/x-npy")
    assert content_type == "application/x-npy"
    one = np.load(io.BytesIO(body))
    assert one.shape == (2,) and one.tolist() == [0.5, 0.25]
    body, _ = encode([{"score": [0.1, 0.9], "predicted_label": 1}], "application/x-npy")
    assert np.load(io.BytesIO(body)).tolist() == [[0.1, 0.9, 1.0]]


def test_encode_npy_refuses_strings_with_406():
    with pytest.raises(RequestError) as info:
        encode([{"predicted_label": "cat"}], "application/x-npy")
    assert info.value.status == 406 and "'cat'" in info.value.message


def test_encode_unsupported_accept_is_406():
    with pytest.raises(RequestError) as info:
        encode([{"score": 1.0}], "text/html")
    assert info.value.status == 406


def test_encode_plain_values_without_keys():
    assert json.loads(encode([0.5, 0.25], "application/json")[0]) == {"predictions": [0.5, 0.25]}
    assert encode(np.array([0.5, 0.25]), "text/csv")[0] == b"0.5\n0.25\n"


@pytest.mark.parametrize("accept", ["text/csv", "application/json", "application/x-npy"])
def test_decode_reads_what_encode_writes_for_a_frame_of_floats(accept):
    rng = np.random.default_rng(1)
    values = rng.normal(size=(5, 3))
    rows = [dict(zip(COLS, row)) for row in values]
    body, content_type = encode(rows, accept)
    if accept == "application/json":
        body = json.dumps({"instances": json.loads(body)["predictions"]}).encode()
    decoded = decode(body, content_type, columns=COLS)
    assert np.array_equal(decoded.frame.to_numpy(), values)


# -- robustness and speed ------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.text(alphabet='0123456789.,-"e \n\r{}[]:nulatrsfi', max_size=120).map(str.encode),
    ),
    content_type=st.sampled_from(CONTENT_TYPES),
    columns=st.sampled_from([None, COLS, ["x"]]),
)
def test_decode_answers_any_body_with_rows_or_a_request_error(body, content_type, columns):
    try:
        decoded = decode(body, content_type, columns=columns)
    except RequestError as error:
        assert error.status in (400, 415) and error.message
    else:
        assert isinstance(decoded.frame, pd.DataFrame) and len(decoded.frame) > 0
        if columns is not None:
            assert list(decoded.frame.columns) == columns


def test_one_row_round_trip_stays_far_below_a_millisecond():
    columns = [f"f{i}" for i in range(30)]
    body = ",".join(repr(float(x)) for x in np.linspace(-1, 1, 30)).encode()

    def once():
        decoded = decode(body, "text/csv", columns=columns)
        encode([{"score": float(decoded.array[0, 0])}], "application/json")

    best = min(timeit.repeat(once, number=50, repeat=5)) / 50
    assert best < 1e-3, f"decode+encode of one 30-column row took {best * 1e6:.0f} us"
