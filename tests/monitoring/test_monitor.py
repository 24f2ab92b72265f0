"""Model Monitor over captured endpoint data: baselines, schedules, executions, violations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from workbench.exceptions import ResourceNotFound, ValidationError
from workbench.monitoring import (
    CronExpressionGenerator,
    DatasetFormat,
    DefaultModelMonitor,
    MonitoringExecution,
    run_due_schedules,
)
from workbench.serving._capture import CaptureWriter, DataCaptureConfig

COLUMNS = ["a", "b", "c"]
T0 = datetime(2024, 5, 1, 13, 10, tzinfo=UTC)


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(0, 1, n),
            "b": rng.normal(5, 2, n) + shift,
            "c": rng.choice(["x", "y", "z"], n),
        }
    )


def _endpoint(workspace, name="ep", columns=COLUMNS, destination=None) -> str:
    config = DataCaptureConfig(sampling_percentage=100, destination_s3_uri=destination)
    workspace.catalog.create(
        "endpoint", name, status="InService",
        parameters={"input_columns": columns, "data_capture": config.to_dict()},
    )  # fmt: skip
    return name


def _capture(workspace, frame, start=T0, name="ep", rows_per_request=5) -> None:
    """Capture ``frame`` as CSV requests spread over 40 minutes from ``start``."""
    config = DataCaptureConfig(sampling_percentage=100)
    writer = CaptureWriter(config.resolve_destination(workspace, name), name, config, seed=0)
    lines = frame.to_csv(header=False, index=False).splitlines()
    for i in range(0, len(lines), rows_per_request):
        when = start + timedelta(seconds=i * 2400 // len(lines))
        body = "\n".join(lines[i : i + rows_per_request]).encode()
        writer.record("AllTraffic", body, "text/csv", b"0.5", "text/csv", event_time=when)
    writer.close()


@pytest.fixture
def monitor(workspace) -> DefaultModelMonitor:
    _endpoint(workspace)
    return DefaultModelMonitor(role="ignored", instance_type="ml.m5.xlarge").suggest_baseline(
        _frame(400, 0)
    )


def test_baseline_files_and_catalogue_record(monitor, workspace):
    name = monitor.latest_baselining_job_name
    record = workspace.catalog.get("monitoring-baseline", name)
    assert record["status"] == "Completed" and name.startswith("baseline-suggestion-job-")
    folder = workspace.path / "monitoring" / "baselines" / name
    assert sorted(p.name for p in folder.iterdir()) == ["constraints.json", "statistics.json"]
    assert record["artifacts"]["statistics"]["path"] == str(folder / "statistics.json")
    stats = monitor.baseline_statistics()
    assert stats["dataset"]["item_count"] == 400 and stats.body_dict == dict(stats)
    names = [f["name"] for f in monitor.suggested_constraints()["features"]]
    assert names == COLUMNS


def test_baseline_from_a_headerless_csv_path(workspace, tmp_path):
    path = tmp_path / "train.csv"
    _frame(50, 1).to_csv(path, header=False, index=False)
    monitor = DefaultModelMonitor(workspace=workspace).suggest_baseline(
        str(path),
        dataset_format=DatasetFormat.csv(header=False),
        job_name="bl",
        output_s3_uri=tmp_path / "out",
    )
    assert [f["name"] for f in monitor.suggested_constraints()["features"]] == ["_c0", "_c1", "_c2"]
    assert monitor.suggested_constraints().file_s3_uri == str(tmp_path / "out" / "constraints.json")


def test_unshifted_traffic_has_no_violations(monitor, workspace):
    _capture(workspace, _frame(300, 1))
    monitor.create_monitoring_schedule("ep", schedule_cron_expression=CronExpressionGenerator.now())
    [execution] = monitor.list_executions()
    assert execution.status == "Completed", execution.failure_reason
    assert execution.constraint_violations() == {"violations": []}
    assert execution.statistics()["dataset"]["item_count"] == 300
    assert (execution.output / "statistics.json").is_file()
    parts = execution.output.relative_to(workspace.path / "monitoring" / "reports").parts
    assert parts[:2] == ("ep", monitor.monitoring_schedule_name) and len(parts) == 6
    lineage = workspace.catalog.lineage("monitoring-execution", execution.name)["upstream"]
    assert {("endpoint", "ep"), ("monitoring-schedule", monitor.monitoring_schedule_name)} <= {
        (e["kind"], e["name"]) for e in lineage
    }


def test_shifted_feature_is_a_baseline_drift_violation(monitor, workspace):
    _capture(workspace, _frame(300, 2, shift=3.0))
    monitor.create_monitoring_schedule("ep")  # "NOW" by default
    violations = monitor.latest_monitoring_constraint_violations()["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [
        ("b", "baseline_drift_check")
    ]
    assert monitor.list_executions()[-1].status == "CompletedWithViolations"
    assert monitor.latest_monitoring_statistics()["dataset"]["item_count"] == 300
    summary = monitor.describe_schedule()["LastMonitoringExecutionSummary"]
    assert summary["MonitoringExecutionStatus"] == "CompletedWithViolations"


def test_a_missing_column_is_reported(workspace):
    _endpoint(workspace, "ep2", columns=["a", "b"])
    monitor = DefaultModelMonitor(workspace=workspace).suggest_baseline(_frame(300, 0))
    _capture(workspace, _frame(200, 3)[["a", "b"]], name="ep2")
    monitor.create_monitoring_schedule("ep2")
    violations = monitor.latest_monitoring_constraint_violations()["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [
        ("c", "missing_column_check")
    ]


def test_no_captured_data_is_a_failed_execution(monitor, workspace):
    monitor.create_monitoring_schedule("ep", monitor_schedule_name="sched")
    [execution] = monitor.list_executions()
    assert execution.status == "Failed"
    assert execution.failure_reason == "no captured data in the window"
    assert execution.constraint_violations() is None
    assert monitor.latest_monitoring_constraint_violations() is None


def test_truncated_capture_file_is_skipped(monitor, workspace):
    _capture(workspace, _frame(100, 4))
    [path] = list(workspace.folder("endpoint", "ep").rglob("*.jsonl"))
    with path.open("a") as handle:
        handle.write('{"captureData": {"endpointInput": {"observedContentType": "text/c')
    monitor.create_monitoring_schedule("ep")
    execution = monitor.list_executions()[-1]
    assert execution.status == "Completed"
    assert execution.describe()["metrics"] == {
        "skipped_records": 1,
        "item_count": 100,
        "violations": 0,
    }


def test_hourly_schedule_runs_once_per_hour_boundary(monitor, workspace):
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    _capture(workspace, _frame(200, 5), start=hour + timedelta(minutes=5))
    hourly = CronExpressionGenerator.hourly()
    monitor.create_monitoring_schedule(
        "ep", schedule_cron_expression=hourly, monitor_schedule_name="hourly"
    )
    assert monitor.list_executions() == []  # not run at creation
    other = DefaultModelMonitor(workspace=workspace)
    _endpoint(workspace, "other")
    other.create_monitoring_schedule("other", schedule_cron_expression="cron(0 * ? * * *)")

    # The boundary at `hour` analyses [hour - 1h, hour): nothing was captured then.
    [first] = run_due_schedules(workspace, "ep", now=hour + timedelta(minutes=30))
    assert first == f"hourly-{hour:%Y-%m-%d-%H-%M}"
    assert MonitoringExecution(first, workspace).failure_reason == "no captured data in the window"
    assert run_due_schedules(workspace, "ep", now=hour + timedelta(minutes=59)) == []
    # The next boundary analyses the hour holding the traffic; a naive `now` is UTC.
    naive = (hour + timedelta(hours=1, minutes=1)).replace(tzinfo=None)
    [second] = run_due_schedules(workspace, "ep", now=naive)
    execution = MonitoringExecution(second, workspace)
    assert (
        execution.status == "Completed" and execution.statistics()["dataset"]["item_count"] == 200
    )
    assert execution.output.parts[-4:] == tuple(
        f"{hour + timedelta(hours=1):%Y/%m/%d/%H}".split("/")
    )
    assert [e.name for e in monitor.list_executions()] == [first, second]
    assert other.list_executions() == []  # another endpoint's schedule is not run


def test_daily_schedule_and_stopped_schedules(monitor, workspace):
    day = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=2)
    _capture(workspace, _frame(100, 6), start=day - timedelta(hours=10))
    monitor.create_monitoring_schedule(
        "ep", schedule_cron_expression=CronExpressionGenerator.daily(6)
    )
    assert run_due_schedules(workspace, "ep", now=day - timedelta(minutes=1)) == [
        f"{monitor.monitoring_schedule_name}-{day - timedelta(days=1):%Y-%m-%d-%H-%M}"
    ]
    monitor.stop_monitoring_schedule()
    assert run_due_schedules(workspace, "ep", now=day + timedelta(minutes=1)) == []
    monitor.start_monitoring_schedule()
    [name] = run_due_schedules(workspace, "ep", now=day + timedelta(minutes=1))
    assert MonitoringExecution(name, workspace).statistics()["dataset"]["item_count"] == 100


def test_analysis_window_offsets_with_now(monitor, workspace):
    now = datetime.now(UTC)
    _capture(workspace, _frame(100, 7), start=now - timedelta(hours=5))
    _capture(workspace, _frame(60, 8), start=now - timedelta(minutes=50))
    monitor.create_monitoring_schedule(
        "ep", data_analysis_start_time="-PT1H", data_analysis_end_time="-PT0H"
    )
    assert monitor.latest_monitoring_statistics()["dataset"]["item_count"] == 60


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"schedule_cron_expression": "cron(0 12 1 * ? *)"}, ValidationError),
        ({"schedule_cron_expression": "rate(5 minutes)"}, ValidationError),
        ({"data_analysis_start_time": "yesterday"}, ValidationError),
        ({"statistics": "/no/such/statistics.json"}, ValidationError),
        ({"constraints": {"features": []}}, ValidationError),
        ({"endpoint_input": "missing"}, ResourceNotFound),
    ],
)
def test_bad_schedules_are_refused(monitor, workspace, kwargs, error):
    kwargs = {"endpoint_input": "ep", **kwargs}
    with pytest.raises(error):
        monitor.create_monitoring_schedule(**kwargs)
    assert workspace.catalog.list("monitoring-schedule") == []


def test_cron_expressions_and_schedule_lifecycle(monitor, workspace):
    assert CronExpressionGenerator.hourly() == "cron(0 * ? * * *)"
    assert CronExpressionGenerator.daily() == "cron(0 0 ? * * *)"
    assert CronExpressionGenerator.now() == "NOW"
    with pytest.raises(ValidationError, match="hour"):
        CronExpressionGenerator.daily(24)
    monitor.create_monitoring_schedule(
        "ep", schedule_cron_expression=CronExpressionGenerator.hourly()
    )
    name = monitor.monitoring_schedule_name
    assert name.startswith("ep-monitor-")
    described = DefaultModelMonitor.attach(name, workspace).describe_schedule()
    assert described["MonitoringScheduleStatus"] == "Scheduled"
    assert described["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == (
        "cron(0 * ? * * *)"
    )
    baseline = described["MonitoringScheduleConfig"]["MonitoringJobDefinition"]["BaselineConfig"]
    assert json.loads(open(baseline["ConstraintsResource"]["S3Uri"]).read())["features"]
    monitor.delete_monitoring_schedule()
    assert not workspace.catalog.exists("monitoring-schedule", name)
    with pytest.raises(ValidationError):
        monitor.describe_schedule()
