"""Model Monitor (data quality) over an endpoint's captured data, with SageMaker v2's names.

A :class:`DefaultModelMonitor` suggests a baseline (``statistics.json`` + ``constraints.json``,
written by :mod:`workbench.features._baseline`) and creates monitoring schedules on an
endpoint. Each execution reads the captured inputs of a time window, writes the window's
``statistics.json`` and ``constraint_violations.json`` (SageMaker's check names) into::

    <output>/<endpoint>/<schedule>/<yyyy>/<mm>/<dd>/<hh>/

and is recorded in the catalogue with SageMaker's ``MonitoringExecutionStatus``
(``Completed``, ``CompletedWithViolations``, ``Failed``). Catalogue kinds:
``monitoring-baseline``, ``monitoring-schedule``, ``monitoring-execution``.

Schedules
---------
Supported expressions: ``"NOW"`` (one execution at once, over all captured data unless
``data_analysis_start_time`` / ``end_time`` say otherwise), hourly ``cron(0 * ? * * *)``
(window: the previous hour) and daily ``cron(0 H ? * * *)`` (window: the previous 24 hours).
Hourly and daily schedules run when :func:`run_due_schedules` is called after an hour boundary
(the endpoint's server calls it every minute); a schedule whose boundaries passed while
nothing called it runs once for the latest boundary, without backfill, as SageMaker.

Where this differs from SageMaker
---------------------------------
``role``, ``instance_count``, ``instance_type``, volume, KMS, network and session arguments are
accepted and ignored: everything runs in the calling process, so ``wait`` / ``logs`` have no
effect. Paths (``output_s3_uri``, baseline files) are local folders. Preprocessor scripts are
not supported. A schedule without a baseline computes statistics only.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import Workspace, get_workspace, sha256_file
from ..exceptions import ResourceInUse, ResourceNotFound, ValidationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CronExpressionGenerator",
    "DatasetFormat",
    "DefaultModelMonitor",
    "MonitoringExecution",
    "MonitoringFile",
    "run_due_schedules",
]

BASELINE = "monitoring-baseline"
SCHEDULE = "monitoring-schedule"
EXECUTION = "monitoring-execution"
NO_DATA = "no captured data in the window"
_HOURLY = re.compile(r"^cron\(0 \* \? \* \* \*\)$")
_DAILY = re.compile(r"^cron\(0 ([01]?\d|2[0-3]) \? \* \* \*\)$")
_OFFSET = re.compile(r"^-P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


class CronExpressionGenerator:
    """SageMaker's schedule expressions (the forms workbench runs).

    Example
    -------
    >>> CronExpressionGenerator.hourly()
    'cron(0 * ? * * *)'
    >>> CronExpressionGenerator.daily(hour=6)
    'cron(0 6 ? * * *)'
    """

    @staticmethod
    def hourly() -> str:
        return "cron(0 * ? * * *)"

    @staticmethod
    def daily(hour: int = 0) -> str:
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            raise ValidationError("hour", hour, "an integer from 0 to 23")
        return f"cron(0 {hour} ? * * *)"

    @staticmethod
    def now() -> str:
        return "NOW"


class DatasetFormat:
    """SageMaker's baseline dataset formats (``dataset_format`` of ``suggest_baseline``).

    Example
    -------
    >>> DatasetFormat.csv(header=False)
    {'csv': {'header': False, 'output_columns_position': 'START'}}
    """

    @staticmethod
    def csv(header: bool = True, output_columns_position: str = "START") -> dict[str, Any]:
        return {"csv": {"header": header, "output_columns_position": output_columns_position}}

    @staticmethod
    def json(lines: bool = True) -> dict[str, Any]:
        return {"json": {"lines": lines}}

    @staticmethod
    def parquet() -> dict[str, Any]:
        return {"parquet": {}}


class MonitoringFile(dict):  # type: ignore[type-arg]
    """A monitoring JSON document: a dict, with SageMaker's ``body_dict`` and ``file_s3_uri``."""

    def __init__(self, body: dict[str, Any], path: str | Path) -> None:
        super().__init__(body)
        self.file_s3_uri = str(path)

    @property
    def body_dict(self) -> dict[str, Any]:
        return dict(self)

    @classmethod
    def load(cls, path: str | Path | None) -> MonitoringFile | None:
        if path is None or not Path(path).is_file():
            return None
        return cls(json.loads(Path(path).read_text(encoding="utf-8")), path)


class MonitoringExecution:
    """One monitoring execution: status, output folder, statistics and violations.

    Example
    -------
    >>> execution = monitor.list_executions()[-1]                   # doctest: +SKIP
    >>> execution.status, execution.constraint_violations()["violations"]  # doctest: +SKIP
    ('CompletedWithViolations', [{'feature_name': 'age', ...}])
    """

    def __init__(self, name: str, workspace: Workspace | str | None = None) -> None:
        self.workspace = get_workspace(workspace)
        self.name = name
        self.workspace.catalog.get(EXECUTION, name)  # raises ResourceNotFound

    def __repr__(self) -> str:
        return f"MonitoringExecution({self.name!r}, status={self.status!r})"

    def describe(self) -> dict[str, Any]:
        """The catalogue record (status, failure_reason, parameters, metrics, artifacts)."""
        return self.workspace.catalog.get(EXECUTION, self.name)

    @property
    def status(self) -> str:
        return self.describe()["status"]

    @property
    def failure_reason(self) -> str | None:
        return self.describe()["failure_reason"]

    @property
    def output(self) -> Path:
        """The folder holding ``statistics.json`` and ``constraint_violations.json``."""
        return Path(self.describe()["parameters"]["output"])

    @property
    def scheduled_time(self) -> datetime:
        return datetime.fromisoformat(self.describe()["parameters"]["scheduled_time"])

    def statistics(self) -> MonitoringFile | None:
        """The captured data's ``statistics.json``; None if the execution wrote none."""
        return MonitoringFile.load(_artifact(self.describe(), "statistics"))

    def constraint_violations(self) -> MonitoringFile | None:
        """``{"violations": [...]}``; None if the execution wrote none (Failed, no constraints)."""
        return MonitoringFile.load(_artifact(self.describe(), "constraint_violations"))


class DefaultModelMonitor:
    """Data-quality monitoring of an endpoint's captured inputs (SageMaker v2's class).

    Parameters
    ----------
    role, instance_count, instance_type, volume_size_in_gb, volume_kms_key, output_kms_key,
    max_runtime_in_seconds, sagemaker_session, env, tags, network_config
        Accepted for compatibility and ignored: baselines and executions run in this process.
    base_job_name : str, optional
        Prefix of baselining job names (default ``baseline-suggestion-job``).
    workspace : Workspace or path, optional

    Example
    -------
    >>> monitor = DefaultModelMonitor()
    >>> monitor.suggest_baseline(train_df.drop(columns="y"))            # doctest: +SKIP
    >>> monitor.create_monitoring_schedule("churn-endpoint",             # doctest: +SKIP
    ...     schedule_cron_expression=CronExpressionGenerator.hourly())
    >>> monitor.latest_monitoring_constraint_violations()              # doctest: +SKIP
    """

    def __init__(
        self,
        role: Any = None,
        instance_count: int = 1,
        instance_type: str = "local",
        volume_size_in_gb: int = 30,
        volume_kms_key: Any = None,
        output_kms_key: Any = None,
        max_runtime_in_seconds: int | None = None,
        base_job_name: str | None = None,
        sagemaker_session: Any = None,
        env: dict[str, str] | None = None,
        tags: Any = None,
        network_config: Any = None,
        workspace: Workspace | str | None = None,
    ) -> None:
        self.role = role
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.base_job_name = base_job_name
        self.workspace = get_workspace(workspace)
        self.latest_baselining_job_name: str | None = None
        self.monitoring_schedule_name: str | None = None

    def __repr__(self) -> str:
        return (
            f"DefaultModelMonitor(baseline={self.latest_baselining_job_name!r}, "
            f"schedule={self.monitoring_schedule_name!r})"
        )

    @classmethod
    def attach(
        cls, monitor_schedule_name: str, workspace: Workspace | str | None = None
    ) -> DefaultModelMonitor:
        """The monitor of an existing schedule (e.g. after a kernel restart)."""
        monitor = cls(workspace=workspace)
        record = monitor.workspace.catalog.get(SCHEDULE, monitor_schedule_name)
        monitor.monitoring_schedule_name = monitor_schedule_name
        monitor.latest_baselining_job_name = record["parameters"].get("baselining_job_name")
        return monitor

    # -- baseline -------------------------------------------------------------------------
    def suggest_baseline(
        self,
        baseline_dataset: Any,
        dataset_format: dict[str, Any] | None = None,
        record_preprocessor_script: str | None = None,
        post_analytics_processor_script: str | None = None,
        output_s3_uri: str | Path | None = None,
        wait: bool = True,
        logs: bool = True,
        job_name: str | None = None,
        *,
        exclude: Any = (),
    ) -> DefaultModelMonitor:
        """Write ``statistics.json`` and ``constraints.json`` of the baseline data; return self.

        Parameters
        ----------
        baseline_dataset : DataFrame, or path of a file or folder of files
            CSV (with a header unless ``DatasetFormat.csv(header=False)``: then columns are
            ``_c0, _c1, ...``), JSON / JSON Lines or Parquet, by ``dataset_format`` or suffix.
        output_s3_uri : folder, optional
            Default ``<ws>/monitoring/baselines/<job_name>/``.
        job_name : str, optional
            Default ``<base_job_name or baseline-suggestion-job>-<timestamp>``.
        exclude : column name(s), keyword only
            workbench extension: columns left out (e.g. the target).

        Example
        -------
        >>> monitor.suggest_baseline("train.csv")                    # doctest: +SKIP
        >>> monitor.suggested_constraints()["features"][0]["name"]   # doctest: +SKIP
        """
        from ..features._baseline import suggest_baseline

        for name, value in (
            ("record_preprocessor_script", record_preprocessor_script),
            ("post_analytics_processor_script", post_analytics_processor_script),
        ):
            if value is not None:
                raise ValidationError(
                    name, value, "None", hint="Preprocessor scripts are not supported."
                )
        frame = _load_dataset(baseline_dataset, dataset_format)
        catalog = self.workspace.catalog
        source = baseline_dataset if isinstance(baseline_dataset, (str, Path)) else "DataFrame"
        parameters = {
            "dataset": str(source),
            "dataset_format": dataset_format,
            "exclude": exclude,
        }
        if job_name is not None:
            record = catalog.create(BASELINE, job_name, status="InProgress", parameters=parameters)
        else:
            base = self.base_job_name or "baseline-suggestion-job"
            record = catalog.create_unique(
                BASELINE, base, status="InProgress", parameters=parameters
            )
        name = record["name"]
        out = Path(output_s3_uri) if output_s3_uri else _root(self.workspace) / "baselines" / name
        try:
            paths = suggest_baseline(frame, exclude=exclude).write(out)
        except Exception as exc:
            catalog.update(
                BASELINE, name, status="Failed", failure_reason=str(exc), ended_at=_iso()
            )
            raise
        catalog.update(
            BASELINE,
            name,
            status="Completed",
            ended_at=_iso(),
            parameters={"output": str(out)},
            metrics={"item_count": len(frame)},
            artifacts={k: {"path": str(p), "sha256": sha256_file(p)} for k, p in paths.items()},
        )
        self.latest_baselining_job_name = name
        return self

    def baseline_statistics(self) -> MonitoringFile:
        """``statistics.json`` of the latest baseline (a dict with ``.body_dict``)."""
        return self._baseline_file("statistics")

    def suggested_constraints(self) -> MonitoringFile:
        """``constraints.json`` of the latest baseline (a dict with ``.body_dict``)."""
        return self._baseline_file("constraints")

    def _baseline_file(self, part: str) -> MonitoringFile:
        if self.latest_baselining_job_name is None:
            raise ValidationError(
                "latest_baselining_job_name",
                None,
                "a baseline",
                hint="Call suggest_baseline() first.",
            )
        record = self.workspace.catalog.get(BASELINE, self.latest_baselining_job_name)
        loaded = MonitoringFile.load(_artifact(record, part))
        if loaded is None:
            raise ValidationError(
                f"baselining job {record['name']!r}",
                record["status"],
                f"a Completed job with {part}.json",
            )
        return loaded

    # -- schedule -------------------------------------------------------------------------
    def create_monitoring_schedule(
        self,
        endpoint_input: Any,
        record_preprocessor_script: str | None = None,
        post_analytics_processor_script: str | None = None,
        output_s3_uri: str | Path | None = None,
        constraints: Any = None,
        statistics: Any = None,
        monitor_schedule_name: str | None = None,
        schedule_cron_expression: str = "NOW",
        data_analysis_start_time: datetime | str | None = None,
        data_analysis_end_time: datetime | str | None = None,
    ) -> DefaultModelMonitor:
        """Monitor an endpoint; with ``"NOW"`` one execution runs before this returns.

        Parameters
        ----------
        endpoint_input : endpoint name (or an object with ``endpoint_name``)
        output_s3_uri : folder, optional
            Reports root, default ``<ws>/monitoring/reports``.
        constraints, statistics : path of the file or its folder, or a MonitoringFile
            Default: those of this monitor's latest baseline (none: statistics only).
        monitor_schedule_name : str, optional
            Default ``<endpoint>-monitor-<timestamp>``.
        schedule_cron_expression : str
            ``"NOW"``, ``CronExpressionGenerator.hourly()`` or ``.daily(hour)``.
        data_analysis_start_time, data_analysis_end_time : datetime or offset, optional
            The analysis window: absolute datetimes (naive = UTC) or SageMaker offsets from the
            scheduled time such as ``"-PT1H"`` / ``"-PT0H"``.

        Example
        -------
        >>> monitor.create_monitoring_schedule("churn")   # "NOW"    # doctest: +SKIP
        >>> monitor.list_executions()[-1].status                     # doctest: +SKIP
        'Completed'
        """
        if record_preprocessor_script is not None or post_analytics_processor_script is not None:
            raise ValidationError(
                "record_preprocessor_script",
                record_preprocessor_script,
                "None",
                hint="Preprocessor scripts are not supported.",
            )
        if self.monitoring_schedule_name is not None:
            raise ResourceInUse(
                f"This monitor already has schedule {self.monitoring_schedule_name!r}; call "
                "delete_monitoring_schedule() first or use another DefaultModelMonitor."
            )
        endpoint = getattr(endpoint_input, "endpoint_name", endpoint_input)
        if not isinstance(endpoint, str):
            raise ValidationError("endpoint_input", endpoint_input, "an endpoint name")
        catalog = self.workspace.catalog
        catalog.get("endpoint", endpoint)  # ResourceNotFound lists the known endpoints
        cron = _check_cron(schedule_cron_expression)
        window = {
            "data_analysis_start_time": _window_param(
                "data_analysis_start_time", data_analysis_start_time
            ),
            "data_analysis_end_time": _window_param(
                "data_analysis_end_time", data_analysis_end_time
            ),
        }
        files = {
            "statistics": _file_param("statistics", statistics, self._latest("statistics")),
            "constraints": _file_param("constraints", constraints, self._latest("constraints")),
        }
        parameters = {
            "endpoint_name": endpoint,
            "schedule_cron_expression": cron,
            "output": str(
                Path(output_s3_uri) if output_s3_uri else _root(self.workspace) / "reports"
            ),
            "baselining_job_name": self.latest_baselining_job_name,
            **files,
            **window,
        }
        if monitor_schedule_name is not None:
            record = catalog.create(
                SCHEDULE, monitor_schedule_name, status="Scheduled", parameters=parameters
            )
        else:
            record = catalog.create_unique(
                SCHEDULE, f"{endpoint}-monitor", status="Scheduled", parameters=parameters
            )
        self.monitoring_schedule_name = record["name"]
        catalog.add_lineage(("endpoint", endpoint), (SCHEDULE, record["name"]), "monitored-by")
        if cron == "NOW":
            _execute(self.workspace, record, datetime.now(UTC))
        return self

    def _latest(self, part: str) -> str | None:
        if self.latest_baselining_job_name is None:
            return None
        return _artifact(
            self.workspace.catalog.get(BASELINE, self.latest_baselining_job_name), part
        )

    def _schedule(self) -> dict[str, Any]:
        if self.monitoring_schedule_name is None:
            raise ValidationError(
                "monitoring_schedule_name",
                None,
                "a schedule",
                hint="Call create_monitoring_schedule() first.",
            )
        return self.workspace.catalog.get(SCHEDULE, self.monitoring_schedule_name)

    def describe_schedule(self) -> dict[str, Any]:
        """SageMaker's ``DescribeMonitoringSchedule`` fields for this monitor's schedule."""
        record = self._schedule()
        params = record["parameters"]
        executions = self.list_executions()
        out: dict[str, Any] = {
            "MonitoringScheduleName": record["name"],
            "MonitoringScheduleStatus": record["status"],
            "MonitoringType": "DataQuality",
            "EndpointName": params["endpoint_name"],
            "CreationTime": record["created_at"],
            "LastModifiedTime": record["updated_at"],
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": params["schedule_cron_expression"]},
                "MonitoringJobDefinition": {
                    "BaselineConfig": {
                        "ConstraintsResource": {"S3Uri": params.get("constraints")},
                        "StatisticsResource": {"S3Uri": params.get("statistics")},
                    },
                    "MonitoringOutputConfig": {"S3Uri": params["output"]},
                },
            },
        }
        if executions:
            last = executions[-1].describe()
            out["LastMonitoringExecutionSummary"] = {
                "MonitoringScheduleName": record["name"],
                "ScheduledTime": last["parameters"]["scheduled_time"],
                "CreationTime": last["created_at"],
                "MonitoringExecutionStatus": last["status"],
                "ProcessingJobName": last["name"],
                "EndpointName": params["endpoint_name"],
                "FailureReason": last["failure_reason"],
            }
        return out

    def list_executions(self) -> list[MonitoringExecution]:
        """Executions of this monitor's schedule, oldest first (as SageMaker's SDK)."""
        name = self._schedule()["name"]
        return _executions(self.workspace, name)

    def latest_monitoring_constraint_violations(self) -> MonitoringFile | None:
        """``constraint_violations.json`` of the latest execution (None if it wrote none)."""
        executions = self.list_executions()
        return executions[-1].constraint_violations() if executions else None

    def latest_monitoring_statistics(self) -> MonitoringFile | None:
        """``statistics.json`` of the latest execution (None if it wrote none)."""
        executions = self.list_executions()
        return executions[-1].statistics() if executions else None

    def stop_monitoring_schedule(self) -> None:
        """Stop running executions for this schedule (``run_due_schedules`` skips it)."""
        self.workspace.catalog.update(SCHEDULE, self._schedule()["name"], status="Stopped")

    def start_monitoring_schedule(self) -> None:
        """Resume a stopped schedule."""
        self.workspace.catalog.update(SCHEDULE, self._schedule()["name"], status="Scheduled")

    def delete_monitoring_schedule(self) -> None:
        """Delete the schedule; its executions and reports stay (as SageMaker)."""
        self.workspace.catalog.delete(SCHEDULE, self._schedule()["name"])
        self.monitoring_schedule_name = None


def run_due_schedules(
    workspace: Workspace | str | None, endpoint_name: str, now: datetime | None = None
) -> list[str]:
    """Run the hourly / daily schedules of an endpoint whose boundary passed; return executions.

    A schedule is due when its latest boundary (top of the hour; hour ``H`` for daily) at or
    before ``now`` is later than both its creation and its last run. Each boundary runs once,
    even when several processes call this at the same time (the execution name
    ``<schedule>-<yyyy-mm-dd-hh-mm>`` is claimed in the catalogue).

    Example
    -------
    >>> run_due_schedules(None, "churn", datetime(2024, 5, 1, 14, 1, tzinfo=UTC))  # doctest: +SKIP
    ['churn-monitor-2024-05-01-13-20-00-000-2024-05-01-14-00']
    """
    ws = get_workspace(workspace)
    now = _utc(now) if now is not None else datetime.now(UTC)
    ran = []
    for record in ws.catalog.list(SCHEDULE, status="Scheduled"):
        params = record["parameters"]
        if params.get("endpoint_name") != endpoint_name:
            continue
        boundary = _boundary(params["schedule_cron_expression"], now)
        last = record["extra"].get("last_scheduled_time") or record["created_at"]
        if boundary is None or boundary <= datetime.fromisoformat(last):
            continue
        name = f"{record['name']}-{boundary:%Y-%m-%d-%H-%M}"
        try:
            execution = _execute(ws, record, boundary, name=name)
        except ResourceInUse:
            continue  # another process claimed this boundary
        ws.catalog.update(
            SCHEDULE, record["name"], extra={"last_scheduled_time": boundary.isoformat()}
        )
        ran.append(execution.name)
    return ran


# -- executions ---------------------------------------------------------------------------


def _execute(
    ws: Workspace, schedule: dict[str, Any], scheduled: datetime, name: str | None = None
) -> MonitoringExecution:
    """Run one execution of a schedule; failures are recorded (status Failed), never raised."""
    params = schedule["parameters"]
    endpoint = params["endpoint_name"]
    start, end = _window(params, scheduled)
    out = Path(params["output"]) / endpoint / schedule["name"] / scheduled.strftime("%Y/%m/%d/%H")
    exec_params = {
        "schedule": schedule["name"],
        "endpoint_name": endpoint,
        "scheduled_time": scheduled.isoformat(),
        "window_start": start.isoformat() if start else None,
        "window_end": end.isoformat() if end else None,
        "output": str(out),
    }
    catalog = ws.catalog
    if name is not None:
        record = catalog.create(EXECUTION, name, status="InProgress", parameters=exec_params)
    else:
        record = catalog.create_unique(
            EXECUTION, schedule["name"], status="InProgress", parameters=exec_params, max_length=128
        )
    name = record["name"]
    catalog.update(EXECUTION, name, started_at=_iso())
    catalog.add_lineage(("endpoint", endpoint), (EXECUTION, name), "monitored")
    catalog.add_lineage((SCHEDULE, schedule["name"]), (EXECUTION, name), "execution")
    try:
        status, reason, metrics, artifacts = _analyse(ws, params, start, end, out)
    except Exception as exc:  # an execution fails, the schedule goes on (as SageMaker)
        status, reason, metrics, artifacts = "Failed", f"{type(exc).__name__}: {exc}", {}, {}
    catalog.update(
        EXECUTION,
        name,
        status=status,
        failure_reason=reason,
        message=reason,
        ended_at=_iso(),
        metrics=metrics,
        artifacts=artifacts,
    )
    return MonitoringExecution(name, ws)


def _analyse(
    ws: Workspace,
    params: dict[str, Any],
    start: datetime | None,
    end: datetime | None,
    out: Path,
) -> tuple[str, str | None, dict[str, Any], dict[str, Any]]:
    from ..core import atomic_write_json
    from ..features._baseline import (
        Baseline,
        check_against_baseline,
        suggest_baseline,
        write_violations,
    )
    from ..serving._capture import META_COLUMNS, default_destination, read_captured

    endpoint = params["endpoint_name"]
    try:
        endpoint_params = ws.catalog.get("endpoint", endpoint)["parameters"]
    except ResourceNotFound:
        endpoint_params = {}
    capture = endpoint_params.get("data_capture") or {}
    destination = capture.get("DestinationS3Uri") or default_destination(ws, endpoint)
    frame = read_captured(
        destination,
        endpoint,
        start_time=start,
        end_time=end,
        columns=endpoint_params.get("input_columns"),
    )
    metrics: dict[str, Any] = {"skipped_records": frame.attrs.get("skipped", 0)}
    if frame.empty:
        return "Failed", NO_DATA, metrics, {}
    data = frame.drop(columns=list(META_COLUMNS))
    metrics["item_count"] = len(data)
    paths = {
        "statistics": atomic_write_json(out / "statistics.json", suggest_baseline(data).statistics)
    }
    status = "Completed"
    constraints = MonitoringFile.load(params.get("constraints"))
    if constraints is not None:
        stats = MonitoringFile.load(params.get("statistics")) or {"version": 0.0, "features": []}
        baseline = Baseline(statistics=dict(stats), constraints=dict(constraints))
        violations = check_against_baseline(data, baseline)
        paths["constraint_violations"] = write_violations(violations, out)
        metrics["violations"] = len(violations)
        if len(violations):
            status = "CompletedWithViolations"
    artifacts = {k: {"path": str(p), "sha256": sha256_file(p)} for k, p in paths.items()}
    return status, None, metrics, artifacts


def _executions(ws: Workspace, schedule_name: str) -> list[MonitoringExecution]:
    records = [
        r for r in ws.catalog.list(EXECUTION) if r["parameters"].get("schedule") == schedule_name
    ]
    records.sort(key=lambda r: (r["parameters"]["scheduled_time"], r["created_at"]))
    return [MonitoringExecution(r["name"], ws) for r in records]


# -- helpers ------------------------------------------------------------------------------


def _root(ws: Workspace) -> Path:
    return ws.path / "monitoring"


def _iso() -> str:
    return datetime.now(UTC).isoformat()


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _artifact(record: dict[str, Any], part: str) -> str | None:
    return (record["artifacts"].get(part) or {}).get("path")


def _check_cron(expression: Any) -> str:
    if isinstance(expression, str):
        text = " ".join(expression.split())
        if text == "NOW" or _HOURLY.match(text) or _DAILY.match(text):
            return text
    raise ValidationError(
        "schedule_cron_expression",
        expression,
        "'NOW', hourly 'cron(0 * ? * * *)' or daily 'cron(0 H ? * * *)' with H in 0..23",
        hint="Use CronExpressionGenerator.now(), .hourly() or .daily(hour).",
    )


def _boundary(expression: str, now: datetime) -> datetime | None:
    """The latest scheduled time at or before ``now`` (None for "NOW")."""
    top = now.replace(minute=0, second=0, microsecond=0)
    if _HOURLY.match(expression):
        return top
    daily = _DAILY.match(expression)
    if daily is None:
        return None
    boundary = top.replace(hour=int(daily.group(1)))
    return boundary if boundary <= now else boundary - timedelta(days=1)


def _window_param(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, str) and _OFFSET.match(value) and value not in ("-P", "-PT"):
        return value
    raise ValidationError(field, value, "a datetime or an offset such as '-PT1H' or '-P1D'")


def _window(params: dict[str, Any], scheduled: datetime) -> tuple[datetime | None, datetime | None]:
    cron = params["schedule_cron_expression"]
    if cron == "NOW":
        start, end = None, None
    else:
        span = timedelta(hours=1) if _HOURLY.match(cron) else timedelta(days=1)
        start, end = scheduled - span, scheduled
    given = params.get("data_analysis_start_time"), params.get("data_analysis_end_time")
    start = _resolve_time(given[0], scheduled) if given[0] else start
    end = _resolve_time(given[1], scheduled) if given[1] else end
    return start, end


def _resolve_time(value: str, scheduled: datetime) -> datetime:
    match = _OFFSET.match(value)
    if match is None:
        return datetime.fromisoformat(value)
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return scheduled - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _file_param(field: str, value: Any, default: str | None) -> str | None:
    if value is None:
        return default
    value = getattr(value, "file_s3_uri", value)
    if not isinstance(value, (str, os.PathLike)):
        raise ValidationError(field, type(value).__name__, f"the path of a {field}.json file")
    path = Path(value)
    if path.is_dir():
        path = path / f"{field}.json"
    if not path.is_file():
        raise ValidationError(field, str(path), f"a {field}.json file or a folder holding one")
    return str(path)


def _load_dataset(dataset: Any, dataset_format: dict[str, Any] | None) -> pd.DataFrame:
    import pandas as pd

    if isinstance(dataset, pd.DataFrame):
        return dataset
    if not isinstance(dataset, (str, Path)) or not Path(dataset).exists():
        raise ValidationError(
            "baseline_dataset", dataset, "a DataFrame or an existing file or folder"
        )
    path = Path(dataset)
    files = (
        sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if path.is_dir()
        else [path]
    )
    if not files:
        raise ValidationError("baseline_dataset", str(path), "a folder holding data files")
    fmt = dataset_format or {}
    parts = []
    for file in files:
        suffix = file.suffix.lower()
        if "parquet" in fmt or (not fmt and suffix == ".parquet"):
            parts.append(pd.read_parquet(file))
        elif "json" in fmt or (not fmt and suffix in (".json", ".jsonl")):
            lines = fmt.get("json", {}).get("lines", suffix == ".jsonl")
            parts.append(pd.read_json(file, lines=lines))
        else:
            header = fmt.get("csv", {}).get("header", True)
            part = pd.read_csv(file, header=0 if header else None)
            if not header:
                part.columns = [f"_c{i}" for i in range(part.shape[1])]
            parts.append(part)
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
