"""Data capture: SageMaker's config form, capture lines and folders, sampling, reading back."""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from workbench.exceptions import ValidationError
from workbench.serving._capture import (
    META_COLUMNS,
    CaptureWriter,
    DataCaptureConfig,
    default_destination,
    read_captured,
    read_captured_outputs,
)

T0 = datetime(2024, 5, 1, 13, 5, 9, 123456, tzinfo=UTC)
FILE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}-[0-9a-f]{8}\.jsonl$")


def _writer(tmp_path, pct=100, seed=0, **config) -> CaptureWriter:
    cfg = DataCaptureConfig(sampling_percentage=pct, **config)
    return CaptureWriter(tmp_path / "capture", "ep", cfg, seed=seed)


def _lines(paths) -> list[dict]:
    return [json.loads(line) for p in paths for line in p.read_text().splitlines()]


# -- config -------------------------------------------------------------------------------


def test_config_defaults_and_sagemaker_request_form_round_trip():
    config = DataCaptureConfig()
    assert config.sampling_percentage == 20 and config.enable_capture is True
    assert config.to_dict() == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": None,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }
    other = DataCaptureConfig(False, 55, "/tmp/cap", capture_options=["RESPONSE"])
    assert DataCaptureConfig.from_dict(other.to_dict()) == other


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sampling_percentage": 101}, "sampling_percentage"),
        ({"sampling_percentage": 12.5}, "sampling_percentage"),
        ({"sampling_percentage": True}, "sampling_percentage"),
        ({"capture_options": ["REQUEST", "BODY"]}, "capture_options"),
        ({"capture_options": []}, "capture_options"),
        ({"kms_key_id": "arn:aws:kms:key"}, "kms_key_id"),
        ({"destination_s3_uri": "s3://bucket/capture"}, "destination_s3_uri"),
        ({"enable_capture": "yes"}, "enable_capture"),
        ({"csv_content_types": "text/csv"}, "csv_content_types"),
    ],
)
def test_config_check_names_the_bad_field(kwargs, field):
    with pytest.raises(ValidationError) as err:
        DataCaptureConfig(**kwargs).check()
    assert err.value.field == field


def test_from_dict_rejects_an_unknown_capture_mode():
    with pytest.raises(ValidationError, match="CaptureOptions"):
        DataCaptureConfig.from_dict({"CaptureOptions": [{"CaptureMode": "Both"}]})


def test_destination_resolution(workspace, tmp_path):
    assert DataCaptureConfig().resolve_destination(workspace, "ep") == (
        workspace.path / "endpoints" / "ep" / "data-capture"
    )
    assert (
        default_destination(workspace, "ep") == workspace.folder("endpoint", "ep") / "data-capture"
    )
    assert DataCaptureConfig(destination_s3_uri=str(tmp_path)).resolve_destination(
        workspace, "ep"
    ) == (tmp_path)


# -- writing ------------------------------------------------------------------------------


def test_capture_line_has_sagemaker_layout_and_folder_scheme(tmp_path):
    writer = _writer(tmp_path)
    assert writer.record(
        "AllTraffic", b"1,2,3", "text/csv", b'{"predictions": [0.7]}', "application/json",
        inference_id="req-1", event_time=T0,
    )  # fmt: skip
    assert list((tmp_path / "capture").rglob("*")) == []  # nothing on disk before flush
    [path] = writer.flush()
    rel = path.relative_to(tmp_path / "capture")
    assert rel.parts[:-1] == ("ep", "AllTraffic", "2024", "05", "01", "13")
    assert FILE_NAME.match(rel.name) and rel.name.startswith("2024-05-01-13-05-09-123-")
    [line] = _lines([path])
    assert line["eventVersion"] == "0"
    assert line["captureData"] == {
        "endpointInput": {
            "observedContentType": "text/csv", "mode": "INPUT", "data": "1,2,3", "encoding": "CSV",
        },
        "endpointOutput": {
            "observedContentType": "application/json", "mode": "OUTPUT",
            "data": '{"predictions": [0.7]}', "encoding": "JSON",
        },
    }  # fmt: skip
    meta = line["eventMetadata"]
    assert set(meta) == {"eventId", "inferenceTime", "inferenceId"}
    assert meta["inferenceTime"] == "2024-05-01T13:05:09Z" and meta["inferenceId"] == "req-1"
    assert uuid.UUID(meta["eventId"]).version == 4


def test_other_content_types_are_base64_and_only_chosen_modes_are_captured(tmp_path):
    writer = _writer(tmp_path, capture_options=["REQUEST"])
    writer.record("v1", b"\x93NUMPY\x00\xff", "application/x-npy", b"0.1", "text/csv")
    writer.record("v1", b"\xff\xfe", "text/csv; charset=utf-8", None, None)  # not UTF-8
    first, second = _lines(writer.flush())
    assert set(first["captureData"]) == {"endpointInput"}
    side = first["captureData"]["endpointInput"]
    assert side["encoding"] == "BASE64"
    assert base64.b64decode(side["data"]) == b"\x93NUMPY\x00\xff"
    assert second["captureData"]["endpointInput"]["encoding"] == "BASE64"
    assert "inferenceId" not in first["eventMetadata"]


def test_sampling_is_seeded_and_follows_the_percentage(tmp_path):
    def decisions(seed, pct):
        w = _writer(tmp_path, pct=pct, seed=seed)
        return [
            w.record("v", b"1", "text/csv", b"1", "text/csv", event_time=T0) for _ in range(1000)
        ]

    half = decisions(7, 50)
    assert half == decisions(7, 50)
    assert 400 < sum(half) < 600
    assert sum(decisions(1, 0)) == 0 and sum(decisions(1, 100)) == 1000
    assert not _writer(tmp_path, enable_capture=False).record("v", b"1", "text/csv", None, None)


def test_flush_groups_by_variant_and_hour_and_empties_the_buffer(tmp_path):
    writer = _writer(tmp_path)
    for variant in ("A", "B"):
        for minutes in (0, 10, 70):  # two lines in hour 13, one in hour 14
            writer.record(variant, b"1", "text/csv", b"1", "text/csv",
                          event_time=T0 + timedelta(minutes=minutes))  # fmt: skip
    paths = writer.flush()
    hours = sorted(str(p.parent.relative_to(tmp_path / "capture")) for p in paths)
    assert hours == [
        "ep/A/2024/05/01/13", "ep/A/2024/05/01/14", "ep/B/2024/05/01/13", "ep/B/2024/05/01/14",
    ]  # fmt: skip
    assert sorted(len(p.read_text().splitlines()) for p in paths) == [1, 1, 2, 2]
    assert writer.flush() == [] and writer.captured == 6
    leftovers = [
        p for p in (tmp_path / "capture").rglob("*") if p.is_file() and p.suffix != ".jsonl"
    ]
    assert leftovers == []  # temporary files were renamed


def test_a_full_buffer_is_flushed_by_the_next_record(tmp_path):
    cfg = DataCaptureConfig(sampling_percentage=100)
    writer = CaptureWriter(tmp_path / "c", "ep", cfg, max_buffer_lines=3)
    for _ in range(3):
        writer.record("v", b"1", "text/csv", b"1", "text/csv")
    assert list((tmp_path / "c").rglob("*.jsonl")) == []
    writer.record("v", b"1", "text/csv", b"1", "text/csv")  # buffer full: writes 3 lines first
    [path] = list((tmp_path / "c").rglob("*.jsonl"))
    assert len(path.read_text().splitlines()) == 3
    with writer:
        pass  # close() flushes the last line
    assert len(list((tmp_path / "c").rglob("*.jsonl"))) == 2


def test_bad_variant_names_are_refused(tmp_path):
    with pytest.raises(ValidationError, match="variant"):
        _writer(tmp_path).record("../escape", b"1", "text/csv", None, None)
    with pytest.raises(ValidationError, match="endpoint_name"):
        CaptureWriter(tmp_path, "a/b", DataCaptureConfig())


# -- reading ------------------------------------------------------------------------------


def test_read_captured_parses_csv_and_json_inputs_by_name(tmp_path):
    writer = _writer(tmp_path)
    bodies = [
        (b"1,x,0.5\n2,y,", "text/csv"),  # two rows; an empty field is missing
        (json.dumps({"instances": [[3, "x", 1.5], {"features": [4, "z", 2.5]}]}),
         "application/json"),
        (json.dumps({"dataframe_split": {"columns": ["a", "b", "c"], "data": [[5, "y", 3.5]]}}),
         "application/json"),
        (json.dumps({"dataframe_records": [{"a": 6, "b": "x", "c": 4.5}]}), "application/json"),
        (json.dumps([{"a": 7, "b": "y", "c": 5.5}]), "application/json"),
        (json.dumps({"inputs": {"a": [8], "b": ["z"], "c": [6.5]}}), "application/json"),
    ]  # fmt: skip
    for i, (body, ctype) in enumerate(bodies):
        body = body if isinstance(body, bytes) else body.encode()
        writer.record("AllTraffic", body, ctype, b"0", "text/csv",
                      inference_id=f"id{i}", event_time=T0 + timedelta(seconds=i))  # fmt: skip
    writer.flush()
    df = read_captured(tmp_path / "capture", "ep", columns=["a", "b", "c"])
    assert list(df.columns) == ["a", "b", "c", *META_COLUMNS]
    assert df["a"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert df["b"].tolist() == ["x", "y", "x", "z", "y", "x", "y", "z"]
    assert pd.api.types.is_float_dtype(df["c"]) and np.isnan(df["c"].iloc[1])
    assert df["_inference_id"].tolist()[:3] == ["id0", "id0", "id1"]
    assert str(df["_inference_time"].dt.tz) == "UTC" and df.attrs["skipped"] == 0


def test_positional_columns_without_names_and_npy_inputs(tmp_path):
    writer = _writer(tmp_path)
    buf = io.BytesIO()
    np.save(buf, np.array([[1.0, 2.0], [3.0, 4.0]]))
    writer.record("v", buf.getvalue(), "application/x-npy", None, None, event_time=T0)
    writer.record("v", b'{"features": [5, 6]}\n[7, 8]', "application/jsonlines", None, None,
                  event_time=T0)  # fmt: skip
    writer.flush()
    df = read_captured(tmp_path / "capture", "ep")
    assert df[["_c0", "_c1"]].to_numpy().tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]


def test_window_and_variant_filters(tmp_path):
    writer = _writer(tmp_path)
    for hour in range(4):
        for variant in ("A", "B"):
            writer.record(variant, f"{hour}".encode(), "text/csv", None, None,
                          event_time=T0 + timedelta(hours=hour))  # fmt: skip
    writer.flush()
    dest = tmp_path / "capture"
    aware = datetime(2024, 5, 1, 14, tzinfo=UTC)  # window on whole seconds: [14:00, 16:05:09)
    df = read_captured(dest, "ep", start_time=aware, end_time=T0.replace(hour=16, microsecond=0))
    assert sorted(df["_c0"].tolist()) == [1, 1, 2, 2]
    naive = read_captured(dest, "ep", variant="B", start_time=datetime(2024, 5, 1, 15))
    assert naive["_c0"].tolist() == [2, 3] and set(naive["_variant"]) == {"B"}
    assert read_captured(dest, "other").empty


def test_truncated_and_garbage_files_are_skipped_and_counted(tmp_path):
    writer = _writer(tmp_path)
    for i in range(5):
        writer.record("v", f"{i},{i}".encode(), "text/csv", None, None, event_time=T0)
    [path] = writer.flush()
    text = path.read_text()
    (path.parent / "2024-05-01-13-59-59-999-deadbeef.jsonl").write_text(
        text[: len(text) // 3 * 2 + 7]
    )
    (path.parent / "2024-05-01-13-59-59-999-0badf11e.jsonl").write_bytes(b"\xff\xfe not json\n")
    df = read_captured(tmp_path / "capture", "ep")
    assert len(df) == 5 + 3  # whole file + the complete lines of the truncated copy
    assert df.attrs["skipped"] == 2  # the cut line and the garbage line


def test_empty_destination_gives_an_empty_frame(tmp_path):
    df = read_captured(tmp_path / "nothing", "ep", columns=["a"])
    assert df.empty and list(df.columns) == list(META_COLUMNS) and df.attrs["skipped"] == 0


def test_read_captured_outputs(tmp_path):
    writer = _writer(tmp_path)
    writer.record("v", b"1", "text/csv", b"0.25\n0.75", "text/csv", event_time=T0)
    body = json.dumps({"predictions": [{"score": 0.9, "predicted_label": 1}]}).encode()
    writer.record("v", b"1", "text/csv", body, "application/json", event_time=T0)
    writer.record("v", b"1", "text/csv", None, None, event_time=T0)  # no response captured
    writer.flush()
    out = read_captured_outputs(tmp_path / "capture", "ep")
    assert out["_c0"].tolist()[:2] == [0.25, 0.75]
    assert out["score"].iloc[2] == 0.9 and out["predicted_label"].iloc[2] == 1
    assert len(out) == 3 and out.attrs["skipped"] == 0
