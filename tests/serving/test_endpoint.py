import contextlib
import io
import json
import os
import signal
import threading
import time

import numpy as np
import psutil
import pytest

import workbench as wb
from workbench.exceptions import ResourceNotFound
from workbench.serving import (
    DataCaptureConfig,
    MicroBatchConfig,
    MultiDataModel,
    ServerlessInferenceConfig,
    create_endpoint,
    production_variant,
    update_endpoint,
)

from .conftest import csv_rows, invoke, request


def _deploy(served, name, model=None, **kwargs):
    variant = production_variant(
        served[model or "xgb"], initial_instance_count=kwargs.pop("instance_count", 1)
    )
    return create_endpoint(name, [variant], workspace=served["ws"], **kwargs)["Url"]


def _scores(served, model, n):
    frame = served["frame"].drop(columns="y").head(n)
    return wb.Model(served[model], workspace=served["ws"]).predict_proba(frame)[1].to_numpy()


def _workers(served, name):
    pid = served["ws"].catalog.get("endpoint", name)["extra"]["process"]["pid"]
    return [p for p in psutil.Process(pid).children() if p.status() != psutil.STATUS_ZOMBIE]


def test_deploy_answers_every_content_type_like_sagemaker_and_mlflow(served):
    url = _deploy(served, "types")
    frame = served["frame"]
    expected = _scores(served, "xgb", 3)
    assert request(url, "/ping", method="GET")[0] == 200

    status, headers, body = invoke(url, csv_rows(frame, 3))  # Accept defaults to the input type
    assert status == 200 and headers["content-type"] == "text/csv"
    assert np.allclose([float(x) for x in body.decode().split()], expected)
    assert headers["x-amzn-invoked-production-variant"] == "AllTraffic"

    status, _, body = invoke(url, csv_rows(frame, 3), accept="application/json")
    assert np.allclose([p["score"] for p in body["predictions"]], expected)

    rows = frame.drop(columns="y").head(3)
    lines = "".join(json.dumps({"features": r}) + "\n" for r in rows.to_numpy().tolist())
    status, headers, body = invoke(url, lines, content_type="application/jsonlines")
    assert status == 200 and headers["content-type"] == "application/jsonlines"
    assert np.allclose([json.loads(x)["score"] for x in body.decode().splitlines()], expected)

    buffer = io.BytesIO()
    np.save(buffer, rows.to_numpy())
    status, _, body = invoke(
        url, buffer.getvalue(), content_type="application/x-npy", accept="application/x-npy"
    )
    assert np.allclose(np.load(io.BytesIO(body)).ravel(), expected)

    split = {"dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}}
    status, _, body = invoke(url, json.dumps(split), content_type="application/json")
    assert status == 200 and np.allclose(body["predictions"], expected)  # MLflow's plain values
    records = {"dataframe_records": rows[list(reversed(rows.columns))].to_dict("records")}
    status, _, body = invoke(url, json.dumps(records), content_type="application/json")
    assert np.allclose(body["predictions"], expected)  # named columns, any order

    status, headers, _ = invoke(url, csv_rows(frame, 1), custom_attributes="trace=abc")
    assert headers["x-amzn-sagemaker-custom-attributes"] == "trace=abc"

    described = wb.describe_endpoint("types", workspace=served["ws"])
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["ModelName"] == served["xgb"]
    assert "types" in set(wb.list_endpoints(workspace=served["ws"])["name"])
    wb.delete_endpoint("types", workspace=served["ws"])
    with pytest.raises(ResourceNotFound):
        wb.describe_endpoint("types", workspace=served["ws"])
    with pytest.raises(OSError):
        request(url, "/ping", method="GET")


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        ("1,2,3\n", {}, 400, "row 1 has 3 fields; expected 6"),
        ("1,2,x,4,5,6\n", {}, 400, "'x'"),
        ('{"instances": [[1, 2]]', {"content_type": "application/json"}, 400, "invalid JSON"),
        ("<a/>", {"content_type": "text/xml"}, 415, "text/xml"),
        ("1,2,3,4,5,6\n", {"accept": "image/png"}, 406, "image/png"),
        ("", {}, 400, "no records"),
    ],
)
def test_bad_requests_get_4xx_naming_the_problem_and_the_server_keeps_serving(
    served, body, headers, status, message
):
    url = _deploy(served, "bad") if not served.get("bad_url") else served["bad_url"]
    served["bad_url"] = url
    got, _, answer = invoke(url, body, **headers)
    assert got == status and message in answer["error"]
    assert invoke(url, csv_rows(served["frame"], 1))[0] == 200


def test_payload_over_6_mb_is_413(served):
    url = _deploy(served, "big")
    got, _, answer = invoke(url, b"1," * (3 * 1024 * 1024 + 10))
    assert got == 413 and "6 MB" in answer["error"]
    assert invoke(url, csv_rows(served["frame"], 1))[0] == 200
    wb.delete_endpoint("big", workspace=served["ws"])


def test_model_errors_are_500_with_an_id_and_timeouts_504_while_the_server_stays_up(served):
    url = _deploy(served, "script", model="script", timeout_s=1)
    status, headers, body = invoke(url, "1,2,3,4,5,6\n")
    assert status == 200 and body == [42.0]  # a script's default output is a JSON list
    status, _, body = invoke(url, "1,2,3,4,5,-999\n")
    assert status == 500 and body["error_id"] and "-999 is not a valid value" in body["error"]
    log = served["ws"].folder("endpoint", "script") / "logs" / "server.log"
    assert body["error_id"] in log.read_text()
    status, _, body = invoke(url, "1,2,3,4,5,-777\n")
    assert status == 504 and "1 s" in body["error"]
    assert request(url, "/ping", method="GET")[0] == 200
    assert invoke(url, "1,1,1,1,1,1\n")[2] == [12.0]
    wb.delete_endpoint("script", workspace=served["ws"])


def test_an_api_token_is_required_when_set(served):
    variant = production_variant(served["xgb"])
    url = create_endpoint("auth", [variant], api_token="s3cret", workspace=served["ws"])["Url"]
    row = csv_rows(served["frame"], 1)
    assert invoke(url, row)[0] == 401
    assert invoke(url, row, authorization="Bearer wrong")[0] == 401
    assert invoke(url, row, authorization="Bearer s3cret")[0] == 200
    token_file = served["ws"].folder("endpoint", "auth") / "token"
    assert token_file.read_text() == "s3cret" and oct(token_file.stat().st_mode)[-3:] == "600"
    wb.delete_endpoint("auth", workspace=served["ws"])


def test_variants_split_traffic_by_weight_and_target_variant_picks_one(served):
    variants = [
        production_variant(served["xgb"], variant_name="A", initial_weight=1),
        production_variant(served["xgb2"], variant_name="B", initial_weight=3),
    ]
    url = create_endpoint("ab", variants, workspace=served["ws"])["Url"]
    row = csv_rows(served["frame"], 1)
    seen = [invoke(url, row)[1]["x-amzn-invoked-production-variant"] for _ in range(400)]
    assert 0.65 < seen.count("B") / 400 < 0.85
    _, headers, body = invoke(url, row, target_variant="A")
    assert headers["x-amzn-invoked-production-variant"] == "A"
    assert float(body) == pytest.approx(_scores(served, "xgb", 1)[0], rel=1e-6)
    status, _, body = invoke(url, row, target_variant="C")
    assert status == 400 and "TargetVariant 'C'" in body["error"]
    time.sleep(1.5)  # the server writes its counters once a second
    stats = wb.describe_endpoint("ab", workspace=served["ws"])["Stats"]["variants"]
    assert stats["A"]["invocations"] + stats["B"]["invocations"] == 401  # not the refused one
    wb.delete_endpoint("ab", workspace=served["ws"])


@contextlib.contextmanager
def _under_load(url, row, threads=4):
    """Four clients calling the endpoint until the block ends; yields their results."""
    stop, results = threading.Event(), []

    def client():
        while not stop.is_set():
            status, _, body = invoke(url, row)
            results.append((status, body))

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for t in workers:
        t.start()
    time.sleep(0.3)
    try:
        yield results
    finally:
        stop.set()
        for t in workers:
            t.join()


def test_update_endpoint_is_blue_green_with_no_failed_request(served):
    url = _deploy(served, "bluegreen", instance_count=2)
    row = csv_rows(served["frame"], 1)
    with _under_load(url, row) as results:
        update_endpoint("bluegreen", model_name=served["xgb2"], workspace=served["ws"])
        time.sleep(0.5)
    assert len(results) > 20 and all(status == 200 for status, _ in results)
    new = _scores(served, "xgb2", 1)[0]
    assert float(results[-1][1]) == pytest.approx(new, rel=1e-6)
    described = wb.describe_endpoint("bluegreen", workspace=served["ws"])
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["ModelName"] == served["xgb2"]
    deadline = time.time() + 10
    while len(_workers(served, "bluegreen")) != 2 and time.time() < deadline:
        time.sleep(0.1)  # the old workers drain and exit
    assert len(_workers(served, "bluegreen")) == 2
    wb.delete_endpoint("bluegreen", workspace=served["ws"])


def test_a_killed_worker_is_restarted_and_almost_no_request_fails(served):
    url = _deploy(served, "heal", instance_count=2)
    row = csv_rows(served["frame"], 1)
    with _under_load(url, row) as results:
        victim = _workers(served, "heal")[0]
        os.kill(victim.pid, signal.SIGKILL)
        time.sleep(2.5)
    failed = sum(1 for status, _ in results if status != 200)
    assert len(results) > 100 and failed / len(results) < 0.01, (failed, len(results))
    assert victim.pid not in {p.pid for p in _workers(served, "heal")}
    assert len(_workers(served, "heal")) == 2
    wb.delete_endpoint("heal", workspace=served["ws"])


def test_serverless_workers_stop_when_idle_and_cold_start_on_the_next_request(served):
    config = ServerlessInferenceConfig(max_concurrency=2, idle_timeout_in_seconds=1)
    url = _deploy(served, "serverless", serverless_inference_config=config)
    assert _workers(served, "serverless") == []  # nothing runs until the first request
    row = csv_rows(served["frame"], 1)
    status, headers, _ = invoke(url, row)
    assert status == 200 and float(headers["x-workbench-cold-start-ms"]) > 0
    status, headers, _ = invoke(url, row)
    assert "x-workbench-cold-start-ms" not in headers
    deadline = time.time() + 10
    while _workers(served, "serverless") and time.time() < deadline:
        time.sleep(0.1)
    assert _workers(served, "serverless") == []
    assert "x-workbench-cold-start-ms" in invoke(url, row)[1]
    wb.delete_endpoint("serverless", workspace=served["ws"])


def test_multi_model_endpoint_loads_each_target_model_on_first_use(served):
    mme = MultiDataModel("many", model_data_prefix="xgboost-", workspace=served["ws"])
    assert set(mme.list_models()) >= {served["xgb"], served["xgb2"]}
    predictor = mme.deploy()
    url = predictor.describe()["Url"] if hasattr(predictor, "describe") else None
    url = url or wb.describe_endpoint("many", workspace=served["ws"])["Url"]
    row = csv_rows(served["frame"], 1)
    for key in ("xgb", "xgb2"):
        status, headers, body = invoke(url, row, target_model=served[key] + ".tar.gz")
        assert status == 200 and "x-workbench-model-load-ms" in headers
        assert float(body) == pytest.approx(_scores(served, key, 1)[0], rel=1e-6)
    assert "x-workbench-model-load-ms" not in invoke(url, row, target_model=served["xgb"])[1]
    assert invoke(url, row, target_model="xgboost-nope")[0] == 404
    assert invoke(url, row, target_model=served["script"])[0] == 404  # not under the prefix
    assert invoke(url, row)[0] == 400
    wb.delete_endpoint("many", workspace=served["ws"])


def test_multi_model_workers_unload_the_least_recently_used_model_over_budget(served):
    tight = MultiDataModel("tight", "xgboost-", memory_budget_mb=1, workspace=served["ws"])
    tight.deploy()  # a 1 MB budget: each worker keeps only the model it loaded last
    url = wb.describe_endpoint("tight", workspace=served["ws"])["Url"]
    row = csv_rows(served["frame"], 1)
    loads = [
        "x-workbench-model-load-ms" in invoke(url, row, target_model=served[key])[1]
        for key in ("xgb", "xgb", "xgb2", "xgb")
    ]
    assert loads == [True, False, True, True]  # xgb was unloaded when xgb2 came in
    wb.delete_endpoint("tight", workspace=served["ws"])


def test_data_capture_writes_sagemakers_layout(served):
    from workbench.serving._capture import read_captured

    config = DataCaptureConfig(sampling_percentage=100)
    url = _deploy(served, "captured", data_capture_config=config)
    for n in (1, 2, 3):
        assert invoke(url, csv_rows(served["frame"], n))[0] == 200
    time.sleep(1.5)
    root = served["ws"].folder("endpoint", "captured") / "data-capture"
    files = list(root.rglob("*.jsonl"))
    assert files and files[0].relative_to(root).parts[:2] == ("captured", "AllTraffic")
    line = json.loads(files[0].read_text().splitlines()[0])
    assert line["captureData"]["endpointInput"]["encoding"] == "CSV"
    assert line["eventVersion"] == "0"
    frame = read_captured(root, "captured", columns=[f"x{i}" for i in range(6)])
    assert len(frame) == 6 and "x0" in frame.columns
    wb.delete_endpoint("captured", workspace=served["ws"])


def test_micro_batching_answers_each_call_with_its_own_rows(served):
    url = _deploy(served, "batched", batch=MicroBatchConfig(max_batch_size=16, max_wait_ms=5))
    expected = _scores(served, "xgb", 40)
    frame = served["frame"].drop(columns="y").head(40)
    results = {}

    def call(i):
        row = ",".join(repr(float(v)) for v in frame.iloc[i]) + "\n"
        results[i] = float(invoke(url, row)[2])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert np.allclose([results[i] for i in range(40)], expected)
    wb.delete_endpoint("batched", workspace=served["ws"])


def test_a_dead_server_shows_as_failed(served):
    _deploy(served, "doomed")
    pid = served["ws"].catalog.get("endpoint", "doomed")["extra"]["process"]["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 5
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        if time.time() > deadline:
            break
        time.sleep(0.05)
    described = wb.describe_endpoint("doomed", workspace=served["ws"])
    assert described["EndpointStatus"] == "Failed"
    assert "ended" in described["FailureReason"]
    wb.delete_endpoint("doomed", workspace=served["ws"])


def test_a_recipe_model_takes_raw_records_with_strings_and_dates(served):
    from workbench.features import Recipe, process

    machines = wb.datasets.load("maintenance", size="small", seed=0)
    target = "failure_within_7d"
    sensors = ["temperature", "vibration", "pressure", "rpm", "torque", "tool_wear_min"]
    recipe = (
        Recipe(target=target, name="maintenance")
        .add("drop", columns=["machine_id"])
        .add("date_parts", columns=["timestamp"], parts=["month", "dayofweek"])
        .add("one_hot", columns=["machine_type"])
        .add("impute", columns=sensors, strategy="median")
    )
    job = process(machines, recipe, logs=False, workspace=served["ws"])
    est = wb.Estimator(
        algorithm="xgboost",
        hyperparameters={"objective": "binary:logistic", "num_round": 5},
        workspace=served["ws"],
    )
    model_name = est.fit(job.channels(), logs=False).name
    variant = production_variant(model_name)
    url = create_endpoint("recipe", [variant], workspace=served["ws"])["Url"]
    raw = machines.drop(columns=[target]).head(3)
    expected = wb.Model(model_name, workspace=served["ws"]).predict_proba(raw)[1].to_numpy()
    body = json.dumps(
        {"dataframe_records": json.loads(raw.to_json(orient="records", date_format="iso"))}
    )
    status, _, answer = invoke(url, body, content_type="application/json")
    assert status == 200 and np.allclose(answer["predictions"], expected, atol=1e-6)
    columns = served["ws"].catalog.get("endpoint", "recipe")["parameters"]["input_columns"]
    assert "machine_type" in columns and target not in columns
    csv = raw[columns].to_csv(header=False, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    status, _, answer = invoke(url, csv, accept="application/json")
    assert status == 200 and np.allclose(
        [p["score"] for p in answer["predictions"]], expected, atol=1e-6
    )
    wb.delete_endpoint("recipe", workspace=served["ws"])


def test_another_kernel_finds_the_endpoint_by_name(served):
    import subprocess
    import sys

    predictor = wb.deploy(served["xgb"], endpoint_name="shared", workspace=served["ws"])
    row = csv_rows(served["frame"], 1)
    code = (
        "import sys, workbench as wb\n"
        "from workbench.serving import CSVSerializer, Predictor, StringDeserializer\n"
        "p = Predictor('shared', serializer=CSVSerializer(), deserializer=StringDeserializer())\n"
        "print(p.predict(sys.argv[1], initial_args={'Accept': 'text/csv'}).strip())\n"
    )
    env = dict(os.environ, WORKBENCH_HOME=str(served["ws"].path))
    out = subprocess.run(
        [sys.executable, "-c", code, row], capture_output=True, text=True, env=env, check=True
    )
    assert float(out.stdout.strip()) == pytest.approx(_scores(served, "xgb", 1)[0], rel=1e-6)
    csv_args = {"ContentType": "text/csv", "Accept": "text/csv"}
    assert float(predictor.predict(row.encode(), initial_args=csv_args)) == float(out.stdout)
    predictor.delete_endpoint()
    assert "shared" not in set(wb.list_endpoints(workspace=served["ws"])["name"])


def test_a_tampered_model_artifact_is_refused(served):
    from workbench.exceptions import ArtifactIntegrityError

    est = wb.Estimator(
        algorithm="xgboost", target="y",
        hyperparameters={"objective": "binary:logistic", "num_round": 2}, workspace=served["ws"],
    )  # fmt: skip
    job = est.fit({"train": served["frame"].head(200)}, logs=False)
    with open(job.model_data, "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        wb.deploy(job.name, endpoint_name="tampered", workspace=served["ws"])
    assert not served["ws"].catalog.exists("endpoint", "tampered")


HANDLERS = """
import json, os
import numpy as np


def model_fn(model_dir):
    return {"offset": 10.0}


def input_fn(body, content_type):
    if content_type != "application/json":
        raise ValueError(f"this model takes JSON, not {content_type}")
    return np.asarray(json.loads(body)["values"], dtype=float)


def predict_fn(data, model, context):
    context["response_custom_attributes"] = "seen=" + str(context["custom_attributes"])
    return data + model["offset"]


def output_fn(prediction, accept):
    return json.dumps({"shifted": prediction.tolist()}), "application/json"


if __name__ == "__main__":
    open(os.path.join(os.environ["SM_MODEL_DIR"], "marker"), "w").write("ok")
"""

TRANSFORM = """
import os


def model_fn(model_dir):
    return "upper"


def transform_fn(model, body, content_type, accept):
    return body.decode().upper().encode(), "text/plain"


if __name__ == "__main__":
    open(os.path.join(os.environ["SM_MODEL_DIR"], "marker"), "w").write("ok")
"""


@pytest.mark.parametrize("script", [HANDLERS, TRANSFORM])
def test_script_models_serve_through_their_inference_handlers(served, tmp_path, script):
    src = tmp_path / "src"
    src.mkdir()
    (src / "inference.py").write_text(script)
    est = wb.Estimator(entry_point="inference.py", source_dir=str(src), workspace=served["ws"])
    name = est.fit({"train": served["frame"].head(20)}, logs=False).name
    url = create_endpoint("handlers", [production_variant(name)], workspace=served["ws"])["Url"]
    try:
        if script is HANDLERS:
            status, headers, body = invoke(
                url,
                '{"values": [1, 2.5]}',
                content_type="application/json",
                custom_attributes="t=1",
            )
            assert status == 200 and body == {"shifted": [11.0, 12.5]}
            assert headers["x-amzn-sagemaker-custom-attributes"] == "seen=t=1"
            status, _, body = invoke(url, "1,2\n")  # input_fn refuses CSV: a model error
            assert status == 500 and "takes JSON" in body["error"]
        else:
            status, headers, body = invoke(url, b"abc", content_type="text/plain")
            assert status == 200 and body == b"ABC" and headers["content-type"] == "text/plain"
    finally:
        wb.delete_endpoint("handlers", workspace=served["ws"])
