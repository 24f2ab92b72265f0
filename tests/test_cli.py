import json

import psutil
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


def test_endpoints_list_on_an_empty_workspace(workspace, capsys):
    assert main(["endpoints", "list"]) == 0
    assert "no endpoints" in capsys.readouterr().out


def test_endpoints_list_describe_and_delete(workspace, splits, capsys):
    job = wb.Estimator(algorithm="xgboost", target="y", hyperparameters={"num_round": 3}).fit(
        {"train": splits[0]}, logs=False
    )
    for name in ("cli-a", "cli-b"):
        wb.deploy(job.name, endpoint_name=name).close()
    try:
        capsys.readouterr()
        assert main(["endpoints", "list"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].split() == ["name", "status", "url", "variants", "models"]
        assert {line.split()[0] for line in out[1:]} == {"cli-a", "cli-b"}
        assert all("InService" in line and job.name in line for line in out[1:])

        assert main(["endpoints", "describe", "cli-a"]) == 0
        described = json.loads(capsys.readouterr().out)
        assert described["EndpointStatus"] == "InService" and described["Url"].startswith("http")
        assert described["ProductionVariants"][0]["ModelName"] == job.name

        assert main(["endpoints", "delete", "cli-a", "nope"]) == 1  # nothing deleted
        err = capsys.readouterr().err
        assert err.startswith("error: No endpoint named 'nope'") and "cli-a" in err
        assert len(wb.list_endpoints()) == 2

        pid = workspace.catalog.get("endpoint", "cli-a")["extra"]["process"]["pid"]
        assert main(["endpoints", "delete", "cli-a", "cli-b"]) == 0
        assert capsys.readouterr().out.splitlines() == ["cli-a: deleted", "cli-b: deleted"]
        assert wb.list_endpoints().empty
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    finally:
        for name in wb.list_endpoints()["name"]:
            wb.delete_endpoint(name)


def test_endpoints_commands_take_the_workspace_option(workspace, tmp_path, capsys):
    other = tmp_path / "other"
    assert main(["--workspace", str(other), "endpoints", "list"]) == 0
    assert "no endpoints" in capsys.readouterr().out
    assert main(["--workspace", str(other), "endpoints", "describe", "ghost"]) == 1
    assert "No endpoint named 'ghost'" in capsys.readouterr().err
    assert main(["endpoints", "delete", "ghost"]) == 1
    assert "Known: none" in capsys.readouterr().err


def test_labs_list_by_track_and_run_without_names(capsys):
    assert main(["labs", "list", "--track", "images"]) == 0
    out = capsys.readouterr().out
    assert "day1/03_define_problem[images]" in out and "day3/05_images_in_production" in out
    assert "day1/03_define_problem[fraud]" not in out and "day2/02_tuning" not in out
    assert main(["labs", "run"]) == 1
    assert "--all" in capsys.readouterr().err
    assert main(["labs", "run", "day1", "--kernel", "no-such-kernel"]) == 1
    assert "installed Jupyter kernel" in capsys.readouterr().err


def test_unknown_dashboard_lists_the_dashboards(capsys):
    assert main(["dashboard", "nope"]) == 1
    assert "leaderboard" in capsys.readouterr().err
