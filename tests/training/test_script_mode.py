import json
import tarfile
from pathlib import Path

import pytest

import workbench as wb
from workbench.exceptions import JobFailedError, ValidationError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CONTRACT_SCRIPT = """
import argparse, json, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int)
parser.add_argument("--name", type=str)
parser.add_argument("--flag", type=str)
parser.add_argument("--layers", type=str)
args, _ = parser.parse_known_args()
seen = {k: v for k, v in os.environ.items() if k.startswith(("SM_", "TRAINING_JOB", "MY_"))}
seen["argv"] = sys.argv[1:]
seen["cwd"] = os.getcwd()
seen["args"] = vars(args)
seen["files"] = sorted(os.listdir(os.environ["SM_CHANNEL_TRAIN"]))
with open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w") as f:
    json.dump(seen, f)
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "report.txt"), "w") as f:
    f.write("done")
print("loss=0.25")
print("loss=0.125")
"""


def _script(tmp_path: Path, body: str, name: str = "train.py") -> Path:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(body)
    (folder / "helper.py").write_text("VALUE = 1\n")
    return folder


def test_script_sees_sagemakers_environment_arguments_and_layout(workspace, tmp_path, splits):
    train, _ = splits
    src = _script(tmp_path, CONTRACT_SCRIPT)
    est = wb.Estimator(
        entry_point="train.py",
        source_dir=str(src),
        hyperparameters={"epochs": 3, "name": "abc", "flag": True, "layers": [8, 4]},
        metric_definitions=[{"Name": "train:loss", "Regex": r"loss=([0-9.]+)"}],
        environment={"MY_SETTING": "on"},
    )
    job = est.fit({"train": train}, logs=False)
    assert job.status == "Completed"
    seen = json.loads((job.job_dir / "model" / "seen.json").read_text())
    assert seen["argv"] == [
        "--epochs",
        "3",
        "--name",
        "abc",
        "--flag",
        "True",
        "--layers",
        "[8, 4]",
    ]
    assert seen["args"]["epochs"] == 3 and seen["args"]["name"] == "abc"
    assert seen["SM_MODEL_DIR"] == str(job.job_dir / "model")
    assert seen["SM_CHANNEL_TRAIN"] == str(job.job_dir / "input" / "data" / "train")
    assert json.loads(seen["SM_CHANNELS"]) == ["train"]
    assert json.loads(seen["SM_HPS"]) == {
        "epochs": 3,
        "name": "abc",
        "flag": True,
        "layers": [8, 4],
    }
    assert seen["SM_HP_EPOCHS"] == "3" and seen["SM_HP_NAME"] == "abc"
    assert seen["SM_CURRENT_HOST"] == "algo-1" and json.loads(seen["SM_HOSTS"]) == ["algo-1"]
    assert seen["TRAINING_JOB_NAME"] == job.name and seen["MY_SETTING"] == "on"
    assert json.loads(seen["SM_TRAINING_ENV"])["job_name"] == job.name
    assert seen["cwd"] == str(job.job_dir / "code") and seen["files"] == ["train.csv"]
    hps = json.loads((job.job_dir / "input/config/hyperparameters.json").read_text())
    assert hps["epochs"] == "3" and hps["name"] == '"abc"'  # JSON-encoded, like Framework
    assert json.loads(hps["sagemaker_program"]) == "train.py"
    assert json.loads(hps["sagemaker_job_name"]) == job.name
    assert job.final_metrics() == {"train:loss": 0.125}
    assert len(job.metrics()) == 2
    with tarfile.open(job.model_data) as tar:
        names = tar.getnames()
    assert "seen.json" in names and "code/train.py" in names and "code/helper.py" in names
    assert (job.job_dir / "output" / "output.tar.gz").exists()


def test_sklearn_example_trains_and_predicts_through_model_fn(workspace, splits):
    train, valid = splits
    est = wb.Estimator(
        entry_point="train.py",
        source_dir=str(EXAMPLES / "sklearn_script"),
        hyperparameters={"n_estimators": 20, "max_depth": 4, "target": "y"},
        metric_definitions=[
            {"Name": "validation:accuracy", "Regex": r"validation accuracy=([0-9.]+)"}
        ],
    )
    job = est.fit({"train": train, "validation": valid}, logs=False)
    assert job.final_metrics()["validation:accuracy"] > 0.7
    model = job.model()
    predictions = model.predict(valid.drop(columns="y"))
    assert len(predictions) == len(valid) and set(predictions) <= {0, 1}


def test_mxnet_gluon_example_trains_and_predicts(workspace, splits):
    train, valid = splits
    est = wb.Estimator(
        entry_point="train.py",
        source_dir=str(EXAMPLES / "mxnet_gluon_script"),
        hyperparameters={"epochs": 4, "hidden": 16, "target": "y"},
        metric_definitions=[
            {"Name": "validation:accuracy", "Regex": r"validation_accuracy=([0-9.]+)"}
        ],
    )
    job = est.fit({"train": train, "validation": valid}, logs=False)
    assert job.final_metrics()["validation:accuracy"] > 0.7
    assert (job.model().predict(valid.drop(columns="y")) == valid["y"]).mean() > 0.7


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("raise ValueError('the data is bad')", "ValueError: the data is bad"),
        ("import sys\nprint('oops', file=sys.stderr)\nsys.exit(3)", "exit code 3"),
        (
            "import os\nopen(os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure'), 'w')"
            ".write('custom reason')\nraise SystemExit(1)",
            "custom reason",
        ),
    ],
)
def test_failing_script_fails_the_job_with_its_last_error(
    workspace, tmp_path, splits, body, expected
):
    src = _script(tmp_path, body)
    est = wb.Estimator(entry_point="train.py", source_dir=str(src))
    with pytest.raises(JobFailedError, match=expected):
        est.fit({"train": splits[0]}, logs=False)
    record = est.latest_training_job.describe()
    assert record["TrainingJobStatus"] == "Failed"
    assert expected in record["FailureReason"]
    assert record["ModelArtifacts"]["S3ModelArtifacts"] is None


def test_missing_script_and_bad_metric_definitions_are_refused(workspace, tmp_path, splits):
    with pytest.raises(ValidationError, match="entry_point"):
        wb.Estimator(entry_point="nope.py", source_dir=str(tmp_path)).fit({"train": splits[0]})
    src = _script(tmp_path, "print(1)")
    with pytest.raises(ValidationError, match="capture group"):
        wb.Estimator(
            entry_point="train.py",
            source_dir=str(src),
            metric_definitions=[{"Name": "m", "Regex": "loss=[0-9]+"}],
        ).fit({"train": splits[0]})
    with pytest.raises(ValidationError, match="exactly one of"):
        wb.Estimator(algorithm="xgboost", entry_point="train.py").fit({"train": splits[0]})
    assert workspace.catalog.list("training-job") == []
