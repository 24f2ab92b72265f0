"""Batch transform: Transformer jobs over folders, files, DataFrames, manifests; resumption."""

from __future__ import annotations

import gzip
import json
import time

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.core import Workspace
from workbench.exceptions import (
    ArtifactIntegrityError,
    JobFailedError,
    ResourceInUse,
    ResourceNotFound,
    ValidationError,
)
from workbench.serving._batch import compile_filter
from workbench.serving._transform import KIND, Transformer, TransformJob, list_transform_jobs

XGB = {"objective": "binary:logistic", "num_round": 10}
FEATURES = [f"x{i}" for i in range(6)]


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("transform") / "ws")


@pytest.fixture(scope="module")
def model(ws, splits):
    train, _ = splits
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB, workspace=ws)
    return est.fit({"train": train}, logs=False).model()


@pytest.fixture(scope="module")
def rows(splits) -> pd.DataFrame:
    return splits[1][FEATURES].iloc[:120].reset_index(drop=True)


@pytest.fixture(scope="module")
def expected(model, rows) -> np.ndarray:
    return model.predict_proba(rows)[1].to_numpy()


@pytest.fixture(scope="module")
def folder(tmp_path_factory, rows):
    """a.csv (first 70 rows) and sub/b.csv (the other 50), plus a hidden file to skip."""
    root = tmp_path_factory.mktemp("data")
    (root / "sub").mkdir()
    rows.iloc[:70].to_csv(root / "a.csv", header=False, index=False)
    rows.iloc[70:].to_csv(root / "sub" / "b.csv", header=False, index=False)
    (root / ".hidden.csv").write_text("not,a,record\n")
    return root


def _scores(path) -> np.ndarray:
    return np.array([float(line) for line in path.read_text().splitlines()])


def _transformer(model, ws, tmp_path, **kwargs) -> Transformer:
    return Transformer(model.name, output_path=tmp_path / "out", workspace=ws, **kwargs)


# -- files and folders --------------------------------------------------------------------
def test_csv_folder_gives_one_out_per_file_in_input_order(ws, model, folder, expected, tmp_path):
    job = _transformer(model, ws, tmp_path).transform(folder, logs=False)
    out = tmp_path / "out"
    assert job.outputs() == [out / "a.csv.out", out / "sub" / "b.csv.out"]
    assert len(_scores(out / "a.csv.out")) == 70 and len(_scores(out / "sub/b.csv.out")) == 50
    assert np.allclose(np.concatenate([_scores(p) for p in job.outputs()]), expected, rtol=1e-6)
    assert np.allclose(job.read()[0].to_numpy(), expected, rtol=1e-6)
    assert job.progress == {"files_done": 2, "files_total": 2, "records_done": 120}
    desc = job.describe()
    assert desc["TransformJobStatus"] == "Completed" and desc["ModelName"] == model.name
    assert desc["TransformInput"]["SplitType"] == "Line"
    assert desc["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == str(folder)
    assert desc["TransformOutput"] == {
        "S3OutputPath": str(out), "Accept": "text/csv", "AssembleWith": "Line"
    }  # fmt: skip
    assert desc["DataProcessing"]["JoinSource"] == "None"
    assert desc["TransformResources"] == {"InstanceType": "local", "InstanceCount": 1}
    lineage = job.lineage()
    assert {(u["kind"], u["relation"]) for u in lineage["upstream"]} == {
        ("model", "model"), ("data", "input")
    }  # fmt: skip
    assert lineage["downstream"][0]["relation"] == "output:output"
    assert job.record()["artifacts"]["output"]["files"]["a.csv.out"]
    listed = list_transform_jobs(ws)
    assert listed.set_index("name").loc[job.name, "records_done"] == 120
    # Two files at once, threads sharing the model: the same bytes.
    other = Transformer(
        model.name, output_path=tmp_path / "out2", max_concurrent_transforms=2, workspace=ws
    ).transform(folder, logs=False)
    assert [p.read_bytes() for p in other.outputs()] == [p.read_bytes() for p in job.outputs()]


def test_single_record_and_small_payloads_give_the_same_lines(ws, model, rows, tmp_path):
    data = tmp_path / "part.csv"
    rows.iloc[:30].to_csv(data, header=False, index=False)
    multi = _transformer(model, ws, tmp_path / "m").transform(data, logs=False)
    single = _transformer(model, ws, tmp_path / "s", strategy="SingleRecord").transform(
        data, logs=False
    )
    # ~115 bytes a line: 1 KB payloads hold 8 records, so 30 records take 4 requests.
    small = _transformer(model, ws, tmp_path / "p", max_payload=0.001).transform(data, logs=False)
    assert "30 records in 1 request(s)" in multi.logs()
    assert "30 records in 30 request(s)" in single.logs()
    assert "30 records in 4 request(s)" in small.logs()
    first = multi.outputs()[0].read_bytes()
    assert single.outputs()[0].read_bytes() == first == small.outputs()[0].read_bytes()
    assert single.describe()["BatchStrategy"] == "SingleRecord"


def test_a_record_over_max_payload_fails_the_job_naming_file_and_line(ws, model, rows, tmp_path):
    data = tmp_path / "wide.csv"
    rows.iloc[:3].to_csv(data, header=False, index=False)
    transformer = _transformer(model, ws, tmp_path, max_payload=0.0001)  # 104 bytes
    with pytest.raises(JobFailedError, match=r"wide.csv, line 1: the record is .* max_payload"):
        transformer.transform(data, logs=False)
    assert not list((tmp_path / "out").glob("*.out"))


# -- join and filters ---------------------------------------------------------------------
def test_join_source_input_with_input_and_output_filters(ws, model, rows, expected, tmp_path):
    data = tmp_path / "ids.csv"
    with_ids = rows.iloc[:20].copy()
    with_ids.insert(0, "id", [f"id-{i}" for i in range(20)])
    with_ids.to_csv(data, header=False, index=False)
    lines = data.read_text().splitlines()
    joined = _transformer(model, ws, tmp_path / "j").transform(
        data, input_filter="$[1:]", join_source="Input", logs=False
    )
    out = joined.outputs()[0].read_text().splitlines()
    assert [line.rsplit(",", 1)[0] for line in out] == lines  # the input line, unchanged
    assert np.allclose([float(line.rsplit(",", 1)[1]) for line in out], expected[:20], rtol=1e-6)
    picked = _transformer(model, ws, tmp_path / "f").transform(
        data, input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]", logs=False
    )
    frame = picked.read()
    assert frame[0].tolist() == [f"id-{i}" for i in range(20)]
    assert np.allclose(frame[1].to_numpy(), expected[:20], rtol=1e-6)
    assert picked.describe()["DataProcessing"] == {
        "InputFilter": "$[1:]", "OutputFilter": "$[0,-1]", "JoinSource": "Input"
    }  # fmt: skip


def test_json_lines_input_joined_under_sagemaker_output(ws, model, rows, expected, tmp_path):
    data = tmp_path / "records.jsonl"
    records = [{"id": i, "features": row} for i, row in enumerate(rows.iloc[:25].values.tolist())]
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    job = _transformer(model, ws, tmp_path, accept="application/jsonlines").transform(
        data,
        content_type="application/jsonlines",
        input_filter="$.features",
        join_source="Input",
        output_filter="$['id','SageMakerOutput']",
        logs=False,
    )
    first = json.loads(job.outputs()[0].read_text().splitlines()[0])
    assert first == {"id": 0, "SageMakerOutput": {"score": pytest.approx(expected[0], rel=1e-6)}}
    frame = job.read()
    assert list(frame.columns) == ["id", "SageMakerOutput.score"]
    assert frame["id"].tolist() == list(range(25))
    assert np.allclose(frame["SageMakerOutput.score"], expected[:25], rtol=1e-6)


# -- other inputs -------------------------------------------------------------------------
def test_dataframe_input_with_progress_bar_and_read(ws, model, rows, expected, capsys):
    transformer = Transformer(model.name, workspace=ws)
    job = transformer.transform(rows)
    captured = capsys.readouterr()
    assert f"{job.name}: Completed (1/1 files, 120 records)" in captured.out
    assert "[1/1] data.csv: 120 records" in captured.out  # the job's log, streamed
    assert "file" in captured.err  # tqdm's bar
    assert transformer.latest_transform_job.name == job.name
    assert (job.job_dir / "transform" / "input" / "data.csv").exists()
    assert job.output_path == job.job_dir / "transform" / "output"
    assert np.allclose(job.read()[0].to_numpy(), expected, rtol=1e-6)
    assert "input" in {u["relation"] for u in job.lineage()["upstream"]}


def test_gzip_and_manifest_inputs(ws, model, rows, expected, tmp_path):
    data = tmp_path / "data"
    (data / "nested").mkdir(parents=True)
    with gzip.open(data / "part.csv.gz", "wt") as handle:
        rows.iloc[:40].to_csv(handle, header=False, index=False)
    zipped = _transformer(model, ws, tmp_path / "gz").transform(
        data / "part.csv.gz", compression_type="Gzip", logs=False
    )
    assert [p.name for p in zipped.outputs()] == ["part.csv.gz.out"]
    assert np.allclose(_scores(zipped.outputs()[0]), expected[:40], rtol=1e-6)

    rows.iloc[40:50].to_csv(data / "one.csv", header=False, index=False)
    rows.iloc[50:60].to_csv(data / "nested" / "two.csv", header=False, index=False)
    manifest = tmp_path / "input.manifest"
    lines = [{"prefix": str(data)}, "nested/two.csv", "one.csv"]  # JSON Lines form
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    job = _transformer(model, ws, tmp_path / "mf").transform(
        manifest, data_type="ManifestFile", logs=False
    )
    out = tmp_path / "mf" / "out"
    assert job.outputs() == [out / "nested" / "two.csv.out", out / "one.csv.out"]
    assert np.allclose(job.read()[0], np.concatenate([expected[50:60], expected[40:50]]))


def test_json_requests_and_responses(ws, model, rows, expected, tmp_path):
    data = tmp_path / "rows.json"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows.iloc[:30].values.tolist()))
    transformer = _transformer(model, ws, tmp_path, max_payload=0.001)  # a few records a request
    job = transformer.transform(data, content_type="application/json", logs=False)
    assert job.outputs()[0].read_text().startswith('{"predictions":[{"score":')
    assert np.allclose(job.read()["score"], expected[:30], rtol=1e-6)


# -- resumption ---------------------------------------------------------------------------
def test_stop_keeps_only_whole_files(ws, model, rows, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rows.iloc[:5].to_csv(data / "a.csv", header=False, index=False)
    pd.concat([rows] * 20).to_csv(data / "b.csv", header=False, index=False)  # 2,400 rows
    transformer = _transformer(model, ws, tmp_path, strategy="SingleRecord")
    job = transformer.transform(data, wait=False)
    deadline = time.monotonic() + 30
    while job.progress.get("files_done", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    transformer.stop_transform_job()
    assert job.status == "Stopped"
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [".manifest.json", "a.csv.out"]
    assert "Stopped by request after 1 of 2 file(s)" in job.logs()


def test_failed_job_resumes_in_place_without_redoing_finished_files(ws, model, rows, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rows.iloc[:40].to_csv(data / "a.csv", header=False, index=False)
    good = rows.iloc[40:80].to_csv(header=False, index=False)
    lines = good.splitlines()
    lines[2] = "x" + lines[2][lines[2].index(",") :]  # a bad number on line 3
    (data / "b.csv").write_text("\n".join(lines) + "\n")
    transformer = _transformer(model, ws, tmp_path)
    with pytest.raises(JobFailedError) as err:
        transformer.transform(data, job_name="resume-me", logs=False)
    assert "b.csv, lines 1-40 (40 records): the model answered 400" in str(err.value)
    assert "'x' is not a number" in str(err.value)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [".manifest.json", "a.csv.out"]  # no partial
    before = (out / "a.csv.out").stat()
    assert transformer.latest_transform_job.status == "Failed"

    (data / "b.csv").write_text(good)
    job = transformer.transform(data, job_name="resume-me", logs=False)
    assert job.status == "Completed" and job.record()["failure_reason"] is None
    after = (out / "a.csv.out").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(_scores(out / "b.csv.out")) == 40
    assert "Resuming: 1 file(s) finished by an earlier run are kept" in job.logs()
    assert job.progress == {"files_done": 2, "files_total": 2, "records_done": 80}
    statuses = [e["status"] for e in ws.catalog.events(KIND, "resume-me")]
    assert statuses == ["InProgress", "Failed", "InProgress", "Completed"]
    with pytest.raises(ResourceInUse, match="already Completed"):
        transformer.transform(data, job_name="resume-me", logs=False)


# -- checks before any job ----------------------------------------------------------------
BAD = [
    ({"strategy": "Batch"}, {}, "strategy"),
    ({"assemble_with": "Record"}, {}, "assemble_with"),
    ({"max_payload": 0}, {}, "max_payload"),
    ({"max_payload": 101}, {}, "max_payload"),
    ({"accept": "text/xml"}, {}, "accept"),
    ({"instance_count": 0}, {}, "instance_count"),
    ({"max_concurrent_transforms": 1.5}, {}, "max_concurrent_transforms"),
    ({"env": {"A": 1}}, {}, "env"),
    ({"base_transform_job_name": "bad name"}, {}, "base_transform_job_name"),
    ({}, {"split_type": "RecordIO"}, "split_type"),
    ({}, {"split_type": "Paragraph"}, "split_type"),
    ({}, {"content_type": "text/plain"}, "content_type"),
    ({}, {"content_type": "application/x-npy"}, "split_type"),
    ({}, {"compression_type": "Zip"}, "compression_type"),
    ({}, {"data_type": "S3Object"}, "data_type"),
    ({}, {"join_source": "Output"}, "join_source"),
    ({"assemble_with": None}, {"join_source": "Input"}, "join_source"),
    ({}, {"join_source": "Input", "split_type": None}, "join_source"),
    ({"accept": "application/json"}, {"join_source": "Input"}, "accept"),
    ({}, {"input_filter": "$..x"}, "input_filter"),
    ({}, {"output_filter": "$[?(@.a)]"}, "output_filter"),
    ({}, {"input_filter": "$[1:]", "split_type": None}, "input_filter"),
    ({}, {"job_name": "no_underscores"}, "job_name"),
    ({}, {"data": "/does/not/exist"}, "data"),
    ({}, {"data": "EMPTY_FOLDER"}, "data"),
    ({}, {"data": "MANIFEST_MISSING_FILE", "data_type": "ManifestFile"}, "data"),
    ({}, {"data": "DATAFRAME", "content_type": "application/json"}, "content_type"),
]


@pytest.mark.parametrize(("settings", "call", "field"), BAD)
def test_bad_settings_raise_naming_the_field_before_any_job(
    ws, model, folder, tmp_path, settings, call, field
):
    (tmp_path / "empty").mkdir()
    (tmp_path / ".m").write_text(json.dumps([{"prefix": str(folder)}, "a.csv", "missing.csv"]))
    special = {
        "EMPTY_FOLDER": tmp_path / "empty",
        "MANIFEST_MISSING_FILE": tmp_path / ".m",
        "DATAFRAME": pd.DataFrame({"a": [1.0]}),
    }
    call = dict(call)
    data = call.pop("data", folder)
    data = special.get(data, data) if isinstance(data, str) else data
    before = len(ws.catalog.list(KIND))
    with pytest.raises(ValidationError) as err:
        _transformer(model, ws, tmp_path, **settings).transform(data, wait=False, **call)
    assert err.value.field == field
    assert len(ws.catalog.list(KIND)) == before
    assert not (tmp_path / "out").exists()


def test_unknown_or_tampered_model_is_refused(ws, model, folder, tmp_path):
    with pytest.raises(ResourceNotFound, match=model.name):  # the known models are listed
        Transformer("no-such-model", workspace=ws).transform(folder, wait=False)
    artifact = tmp_path / "model.tar.gz"
    artifact.write_bytes(b"not the model")
    ws.catalog.create("model", "tampered", status="Created")
    ws.catalog.update(
        "model", "tampered", artifacts={"model_data": {"path": str(artifact), "sha256": "0" * 64}}
    )
    with pytest.raises(ArtifactIntegrityError):
        Transformer("tampered", workspace=ws).transform(folder, wait=False)


def test_transform_job_handle_finds_jobs_by_name(ws):
    with pytest.raises(ResourceNotFound):
        TransformJob("nope", workspace=ws)


# -- filters ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "value", "selected"),
    [
        ("$", [1, 2], None),
        ("$[1:]", ["id", "a", "b"], ["a", "b"]),
        ("$[0,2]", ["id", "a", "b"], ["id", "b"]),
        ("$[0,2:]", ["id", "a", "b", "c"], ["id", "b", "c"]),
        ("$[-1]", ["id", "a", "b"], "b"),
        ("$.features", {"features": [1, 2]}, [1, 2]),
        (
            "$['id','SageMakerOutput']",
            {"id": 1, "x": 2, "SageMakerOutput": 3},
            {"id": 1, "SageMakerOutput": 3},
        ),  # fmt: skip
        ("$.data[1:]", {"data": [1, 2, 3]}, [2, 3]),
    ],
)
def test_filters_select_like_sagemaker(expression, value, selected):
    compiled = compile_filter(expression, "input_filter")
    assert (compiled.apply(value) if compiled else None) == selected


def test_filter_misses_raise_lookup_errors():
    with pytest.raises(LookupError, match="out of range"):
        compile_filter("$[5]", "input_filter").apply([1, 2])
    with pytest.raises(LookupError, match="no key 'features'"):
        compile_filter("$.features", "input_filter").apply({"x": 1})
