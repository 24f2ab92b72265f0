import json
import subprocess
import sys
import tarfile

import pytest

import workbench as wb
from workbench.exceptions import ArtifactIntegrityError, JobFailedError, ValidationError

XGB = {"objective": "binary:logistic", "num_round": 10, "eval_metric": "auc"}


def _jobs(workspace):
    return workspace.catalog.list("training-job")


def test_xgboost_job_end_to_end_with_layout_metrics_model_and_lineage(workspace, splits, capsys):
    train, valid = splits
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB)
    job = est.fit({"train": train, "validation": valid})
    out = capsys.readouterr().out
    assert "validation-auc" in out and "Completed" in out  # logs streamed into the notebook
    desc = job.describe()
    assert desc["TrainingJobStatus"] == "Completed" and desc["SecondaryStatus"] == "Completed"
    assert {m["MetricName"] for m in desc["FinalMetricDataList"]} == {"train:auc", "validation:auc"}
    assert [t["status"] for t in desc["SecondaryStatusTransitions"]] == ["InProgress", "Completed"]
    job_dir = job.job_dir
    hps = json.loads((job_dir / "input/config/hyperparameters.json").read_text())
    assert hps == {"objective": "binary:logistic", "num_round": "10", "eval_metric": "auc"}
    config = json.loads((job_dir / "input/config/inputdataconfig.json").read_text())
    assert config["train"]["ContentType"] == "application/x-npy"
    assert config["validation"]["TrainingInputMode"] == "File"
    resource = json.loads((job_dir / "input/config/resourceconfig.json").read_text())
    assert resource["current_host"] == "algo-1" and resource["hosts"] == ["algo-1"]
    assert (job_dir / "input/data/train/data.npy").exists()
    with tarfile.open(est.model_data) as tar:
        assert "xgboost-model.ubj" in tar.getnames()
    metrics = job.metrics()
    assert len(metrics[metrics.metric == "validation:auc"]) == 10
    model = job.model()
    pred = model.predict(valid)  # the target column is ignored, columns matched by name
    assert list(pred.index) == list(valid.index) and set(pred) <= {0, 1}
    assert model.predict_proba(valid[["x5", "x4", "x3", "x2", "x1", "x0"]]).shape == (200, 2)
    lineage = job.lineage()
    assert {u["relation"] for u in lineage["upstream"]} == {"channel:train", "channel:validation"}
    assert lineage["downstream"] == [{"kind": "model", "name": job.name, "relation": "produced"}]
    assert wb.list_models()["name"].tolist() == [job.name]


def test_label_first_csv_file_channel(workspace, tmp_path, binary_frame):
    path = tmp_path / "train.csv"
    frame = binary_frame[["y"] + [f"x{i}" for i in range(6)]]
    frame.to_csv(path, header=False, index=False)
    job = wb.Estimator(algorithm="xgboost", hyperparameters=XGB).fit(
        {"train": str(path)}, logs=False
    )
    assert job.status == "Completed"
    assert job.model().predict(frame.drop(columns="y").to_numpy()).shape == (800,)


def test_wait_false_returns_at_once_and_attach_finds_the_job(workspace, splits):
    train, _ = splits
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB)
    job = est.fit({"train": train}, wait=False)
    assert job.status in ("InProgress", "Completed")
    code = (
        "import workbench as wb, sys;"
        f"est = wb.Estimator.attach({job.name!r});"
        "est.latest_training_job.wait(logs=False);"
        "print(est.latest_training_job.status, est.hyperparameters()['num_round'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["Completed", "10"], out.stderr


def test_bad_input_raises_before_anything_is_written(workspace, splits):
    train, valid = splits
    bad = [
        dict(hyperparameters={"num_round": 5, "bogus": 1}),
        dict(hyperparameters={"num_round": "five"}),
        dict(hyperparameters={"num_round": 0}),
        dict(hyperparameters={"num_round": 5}, target="missing"),
        dict(hyperparameters={"num_round": 5, "objective": "binary:logistic"}, target="x0"),
        dict(hyperparameters={"num_round": 5}, instance_count=2),
    ]
    for kwargs in bad:
        kwargs.setdefault("target", "y")
        with pytest.raises(ValidationError):
            wb.Estimator(algorithm="xgboost", **kwargs).fit({"train": train}, logs=False)
    with pytest.raises(ValidationError, match="'validation'"):
        wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB).fit(
            {"validation": valid}
        )
    assert _jobs(workspace) == []
    assert not (workspace.path / "training-jobs").exists()


def test_a_job_name_that_exists_is_refused(workspace, splits):
    train, _ = splits
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB)
    est.fit({"train": train}, job_name="fraud-xgb-1", logs=False)
    with pytest.raises(ValidationError, match="fraud-xgb-1"):
        est.fit({"train": train}, job_name="fraud-xgb-1", logs=False)
    with pytest.raises(ValidationError, match="job_name"):
        est.fit({"train": train}, job_name="bad_name!", logs=False)
    assert len(_jobs(workspace)) == 1


def test_tampered_model_artifact_is_not_loaded(workspace, splits):
    train, _ = splits
    job = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB).fit(
        {"train": train}, logs=False
    )
    with open(job.model_data, "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ArtifactIntegrityError, match="does not match"):
        job.model()


def test_failed_job_raises_with_the_reason(workspace, tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("1,0.5\n2,0.1\n")  # label 2 is not valid for binary:logistic
    est = wb.Estimator(algorithm="xgboost", hyperparameters=XGB)
    with pytest.raises(JobFailedError, match="0 or 1"):
        est.fit({"train": str(path)}, logs=False)
    job = est.latest_training_job
    assert job.status == "Failed"
    assert job.describe()["FailureReason"].startswith("ClientError:")
    assert job.model_data is None


def test_image_uri_names_a_builtin_algorithm(workspace, splits):
    train, _ = splits
    est = wb.Estimator(
        image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        target="y",
        hyperparameters=XGB,
    )
    assert (
        est.fit({"train": train}, logs=False).describe()["AlgorithmSpecification"]["AlgorithmName"]
        == "xgboost"
    )


def test_listing_and_cli_style_describe(workspace, splits):
    train, _ = splits
    job = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB).fit(
        {"train": train}, logs=False
    )
    listing = wb.list_training_jobs()
    assert listing.loc[0, "name"] == job.name and listing.loc[0, "status"] == "Completed"
    assert wb.describe_training_job(job.name)["ModelChecksum"]


def test_linear_learner_job(workspace, splits):
    pytest.importorskip("workbench.algorithms._linear_learner")
    train, valid = splits
    est = wb.Estimator(
        algorithm="linear-learner",
        target="y",
        hyperparameters={"predictor_type": "binary_classifier", "epochs": 5},
    )
    job = est.fit({"train": train, "validation": valid}, logs=False)
    assert job.status == "Completed"
    assert any(name.startswith("validation:") for name in job.final_metrics())
    acc = (job.model().predict(valid) == valid["y"]).mean()
    assert acc > 0.7


def test_parquet_file_and_csv_folder_channels(workspace, tmp_path, splits):
    train, valid = splits
    train.to_parquet(tmp_path / "train.parquet")
    folder = tmp_path / "valid"
    folder.mkdir()
    for i, part in enumerate((valid.iloc[:100], valid.iloc[100:])):
        part.to_csv(folder / f"part-{i}.csv", index=False)
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB)
    job = est.fit({"train": str(tmp_path / "train.parquet"), "validation": str(folder)}, logs=False)
    assert job.status == "Completed"
    config = json.loads((job.job_dir / "input/config/inputdataconfig.json").read_text())
    assert config["train"]["ContentType"] == "application/x-parquet;target=y"
    assert config["validation"]["ContentType"] == "text/csv;header=present;target=y"
    assert "validation:auc" in job.final_metrics()
