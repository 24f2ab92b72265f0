"""A training job as the kernel sees it: status, logs, metrics, stop, attach, model."""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..core import Workspace, get_workspace
from ..core._process import is_running
from ..exceptions import JobFailedError

if TYPE_CHECKING:
    import pandas as pd

    from ._model import Model

__all__ = ["JobHandle", "TrainingJob", "KIND", "TERMINAL"]

KIND = "training-job"
TERMINAL = ("Completed", "Failed", "Stopped")
_ACTIVE = ("InProgress", "Stopping")
_START_GRACE_S = 60.0


class JobHandle:
    """What every out-of-kernel job offers: status, logs, wait, stop, metrics, lineage."""

    kind = KIND

    def __init__(self, name: str, workspace: Workspace | str | None = None) -> None:
        self.workspace = get_workspace(workspace)
        self.name = name
        self.workspace.catalog.get(self.kind, name)  # raises ResourceNotFound with known names

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, status={self.status!r})"

    @property
    def job_dir(self) -> Path:
        return self.workspace.folder(self.kind, self.name)

    @property
    def log_path(self) -> Path:
        return self.job_dir / "logs" / "training.log"

    def record(self) -> dict[str, Any]:
        """The catalogue row, after reconciling a job whose process died."""
        return reconcile(self.workspace, self.workspace.catalog.get(self.kind, self.name))

    @property
    def status(self) -> str:
        return str(self.record()["status"])

    def logs(self) -> str:
        """The job's log so far (stdout and stderr of the training code)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait(
        self, logs: bool | str = True, poll: float = 0.05, out: TextIO | None = None
    ) -> TrainingJob:
        """Block until the job ends, streaming its log; raise JobFailedError if it Failed."""
        stream = logs not in (False, None, "None")
        out = out or sys.stdout
        offset = 0
        exited = _ProcessExit()
        try:
            while True:
                record = self.record()
                if stream:
                    offset = self._print_new(offset, out)
                if record["status"] in TERMINAL:
                    if stream:
                        self._print_new(offset, out)
                        _print_summary(record, out)
                    break
                # Without logs to stream, sleep until the job's process exits (Linux pidfd).
                exited.wait(record["extra"].get("process"), poll if stream else 1.0, poll)
        finally:
            exited.close()
        if record["status"] == "Failed":
            raise JobFailedError(
                self.name, record["status"], record["failure_reason"], kind=self.kind
            )
        return self

    def _print_new(self, offset: int, out: TextIO) -> int:
        if not self.log_path.exists():
            return offset
        with open(self.log_path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1  # print whole lines only
        if end:
            out.write(data[:end].decode("utf-8", "replace"))
            out.flush()
        return offset + end

    def stop(self, grace_period: float | None = None) -> None:
        """Ask the job to stop: SIGTERM now, SIGKILL after the grace period (default 120 s)."""
        record = self.record()
        if record["status"] not in _ACTIVE:
            return
        catalog = self.workspace.catalog
        extra: dict[str, Any] = {"stop_requested": time.time()}
        if grace_period is not None:
            extra["grace_period"] = float(grace_period)
        catalog.update(self.kind, self.name, extra=extra)
        process = record["extra"].get("process")
        if process and is_running(process):
            os.kill(int(process["pid"]), signal.SIGTERM)
        else:
            self.record()  # a dead process: reconcile now

    def metrics(self) -> pd.DataFrame:
        """Every metric value parsed from the log: metric, step, value, timestamp."""
        import pandas as pd

        rows = self.workspace.catalog.metric_values(self.kind, self.name)
        frame = pd.DataFrame(rows, columns=["metric", "step", "value", "timestamp"])
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
        return frame

    def final_metrics(self) -> dict[str, float]:
        return dict(self.record()["metrics"])

    def lineage(self) -> dict[str, list[dict[str, str]]]:
        return self.workspace.catalog.lineage(self.kind, self.name)


class TrainingJob(JobHandle):
    """Handle on a training job in the workspace, from this kernel or a restarted one.

    Example
    -------
    >>> job = TrainingJob("xgboost-2026-11-21-10-00-00-000")  # doctest: +SKIP
    >>> job.wait(); job.describe()["TrainingJobStatus"]       # doctest: +SKIP
    'Completed'
    """

    kind = KIND

    def describe(self) -> dict[str, Any]:
        """SageMaker's DescribeTrainingJob fields for this job (plus a few of workbench's)."""
        return describe_record(self.workspace, self.record())

    @property
    def model_data(self) -> str | None:
        """Path of ``model.tar.gz`` once the job Completed."""
        art = self.record()["artifacts"].get("model_data")
        return art["path"] if art else None

    def model(self) -> Model:
        """The trained model, loaded in this kernel after its checksum is verified."""
        from ._model import Model

        return Model(self.name, workspace=self.workspace)


class _ProcessExit:
    """Waits for a (non-child) process to exit: a pidfd where Linux has one, else sleeps."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._pid: int | None = None

    def wait(self, process: dict[str, Any] | None, timeout: float, fallback: float) -> None:
        pid = int(process["pid"]) if process else None
        if pid != self._pid:
            self.close()
            self._pid = pid
            if pid is not None and hasattr(os, "pidfd_open") and is_running(process):
                try:
                    self._fd = os.pidfd_open(pid)
                except OSError:
                    self._fd = None
        if self._fd is None:
            time.sleep(fallback)
            return
        select.select([self._fd], [], [], timeout)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None


def reconcile(workspace: Workspace, record: dict[str, Any]) -> dict[str, Any]:
    """Mark an active job whose supervisor process is gone as Failed (or Stopped)."""
    kind = record["kind"]
    if record["status"] not in _ACTIVE:
        return record
    process = record["extra"].get("process")
    if process is None:
        created = datetime.fromisoformat(record["created_at"])
        if (datetime.now(UTC) - created).total_seconds() < _START_GRACE_S:
            return record
        reason = "AlgorithmError: the job process never started"
    elif is_running(process):
        return record
    else:
        reason = (
            f"AlgorithmError: the job's process (pid {process['pid']}) ended without "
            "reporting a status; it was killed or crashed"
        )
    # A stop that arrived before the supervisor could handle it still means Stopped.
    stopping = record["status"] == "Stopping" or "stop_requested" in record["extra"]
    updated = workspace.catalog.update(
        kind,
        record["name"],
        status="Stopped" if stopping else "Failed",
        expected_status=_ACTIVE,
        failure_reason=None if stopping else reason,
        message=reason,
        ended_at=datetime.now(UTC).isoformat(),
        extra={"secondary_status": "Stopped" if stopping else "Failed"},
    )
    return updated or workspace.catalog.get(kind, record["name"])


def describe_record(workspace: Workspace, record: dict[str, Any]) -> dict[str, Any]:
    params, extra = record["parameters"], record["extra"]
    model = record["artifacts"].get("model_data")
    algorithm_spec: dict[str, Any] = {
        "TrainingInputMode": params.get("input_mode", "File"),
        "MetricDefinitions": params.get("metric_definitions", []),
    }
    if params.get("algorithm"):
        algorithm_spec["AlgorithmName"] = params["algorithm"]
    else:
        algorithm_spec["TrainingImage"] = "workbench/script-mode"
    return {
        "TrainingJobName": record["name"],
        "TrainingJobStatus": record["status"],
        "SecondaryStatus": extra.get("secondary_status", record["status"]),
        "FailureReason": record["failure_reason"],
        "HyperParameters": params.get("hyperparameters", {}),
        "AlgorithmSpecification": algorithm_spec,
        "InputDataConfig": params.get("channels", []),
        "OutputDataConfig": {"S3OutputPath": params.get("output_path")},
        "ResourceConfig": {
            "InstanceType": params.get("instance_type", "local"),
            "InstanceCount": params.get("instance_count", 1),
            "VolumeSizeInGB": params.get("volume_size", 30),
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": params.get("max_run")},
        "Environment": params.get("environment", {}),
        "ModelArtifacts": {"S3ModelArtifacts": model["path"] if model else None},
        "ModelChecksum": model["sha256"] if model else None,
        "FinalMetricDataList": [
            {"MetricName": k, "Value": v, "Timestamp": record["updated_at"]}
            for k, v in sorted(record["metrics"].items())
        ],
        "CreationTime": record["created_at"],
        "TrainingStartTime": record["started_at"],
        "TrainingEndTime": record["ended_at"],
        "LastModifiedTime": record["updated_at"],
        "SecondaryStatusTransitions": workspace.catalog.events(KIND, record["name"]),
        "Lineage": workspace.catalog.lineage(KIND, record["name"]),
        "JobDir": str(workspace.folder(KIND, record["name"])),
    }


def _print_summary(record: dict[str, Any], out: TextIO) -> None:
    line = f"\n{record['name']}: {record['status']}"
    if record["failure_reason"]:
        line += f" - {record['failure_reason']}"
    if record["started_at"] and record["ended_at"]:
        start = datetime.fromisoformat(record["started_at"])
        end = datetime.fromisoformat(record["ended_at"])
        line += f" (training seconds: {(end - start).total_seconds():.1f})"
    out.write(line + "\n")
    out.flush()
