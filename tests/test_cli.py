import json

import pytest

import workbench as wb
from workbench.cli import main


def test_jobs_list_on_an_empty_workspace(workspace, capsys):
    assert main(["jobs", "list"]) == 0
    assert "no training jobs" in capsys.readouterr().out


def test_jobs_list_describe_and_stop(workspace, splits, capsys):
    job = wb.Estimator(algorithm="xgboost", target="y", hyperparameters={"num_round": 3}).fit(
        {"train": splits[0]}, logs=False
    )
    capsys.readouterr()
    assert main(["jobs", "list"]) == 0
    assert job.name in capsys.readouterr().out
    assert main(["jobs", "describe", job.name]) == 0
    assert json.loads(capsys.readouterr().out)["TrainingJobStatus"] == "Completed"
    assert main(["jobs", "stop", job.name]) == 0  # stopping a finished job changes nothing
    assert "Completed" in capsys.readouterr().out


def test_errors_are_one_line_with_a_non_zero_exit(workspace, capsys):
    assert main(["jobs", "describe", "no-such-job"]) == 1
    assert "No training-job named 'no-such-job'" in capsys.readouterr().err
    assert main(["labs", "run", "day1", "-p", "FAST"]) == 1
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["labs", "run", "nope"]) == 1
    assert "day1" in capsys.readouterr().err


def test_labs_list(capsys):
    assert main(["labs", "list"]) == 0
    assert "day1/01_intro_fraud" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "value"), [("True", True), ("3", 3), ("0.5", 0.5), ("abc", "abc")]
)
def test_parameter_values_are_parsed(text, value):
    from workbench.cli import _parse_value

    assert _parse_value(text) == value
