"""DescribeHyperParameterTuningJob and ListHyperParameterTuningJobs, from the catalogue."""

from __future__ import annotations

from typing import Any

from ..core import Workspace, get_workspace
from ..core._process import is_running
from ..training._job import reconcile
from ._study import KIND, TERMINAL

__all__ = [
    "best_trial",
    "describe_tuning_job",
    "list_tuning_jobs",
    "reconcile_tuning_job",
    "trial_records",
]

_ORPHAN_REASON = (
    "the kernel running the tuning job's scheduler ended; trials it started ran on. "
    "HyperparameterTuner.attach(name).fit(inputs) continues it"
)


def best_trial(study: Any) -> Any:
    """The best completed trial among the tuning job's own trials (None if none)."""
    import optuna

    from ._study import own_trials

    done = [t for t in own_trials(study) if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        return None
    pick = max if study.direction == optuna.study.StudyDirection.MAXIMIZE else min
    return pick(done, key=lambda t: t.value)


def reconcile_tuning_job(workspace: Workspace, record: dict[str, Any]) -> dict[str, Any]:
    """Mark a tuning job whose scheduler is gone (not in any live process) as Stopped."""
    from ._scheduler import active_schedulers

    if record["status"] in TERMINAL:
        return record
    if (str(workspace.path), record["name"]) in active_schedulers():
        return record
    if is_running(record["extra"].get("scheduler")):
        return record
    updated = workspace.catalog.update(
        KIND,
        record["name"],
        status="Stopped",
        expected_status=("InProgress", "Stopping"),
        message=_ORPHAN_REASON,
        extra={"orphaned": True},
    )
    return updated or workspace.catalog.get(KIND, record["name"])


def trial_records(workspace: Workspace, name: str) -> list[dict[str, Any]]:
    """Catalogue rows of the tuning job's training jobs, oldest first."""
    catalog = workspace.catalog
    names = [
        d["name"]
        for d in catalog.lineage(KIND, name)["downstream"]
        if d["relation"] == "trial" and d["kind"] == "training-job"
    ]
    return [reconcile(workspace, catalog.get("training-job", n)) for n in names]


def describe_tuning_job(workspace: Workspace, name: str) -> dict[str, Any]:
    record = reconcile_tuning_job(workspace, workspace.catalog.get(KIND, name))
    params, extra = record["parameters"], record["extra"]
    objective = params["objective"]["MetricName"]
    jobs = trial_records(workspace, name)
    statuses = [j["status"] for j in jobs]
    succeeded = sum(1 for j in jobs if j["status"] == "Completed" and objective in j["metrics"])
    pending = sum(1 for s in statuses if s in ("InProgress", "Stopping"))
    best = extra.get("best")
    config: dict[str, Any] = {
        "Strategy": params["strategy"],
        "HyperParameterTuningJobObjective": params["objective"],
        "ResourceLimits": params["resource_limits"],
        "ParameterRanges": params["parameter_ranges"],
        "TrainingJobEarlyStoppingType": params["early_stopping_type"],
        "RandomSeed": params.get("random_seed"),
    }
    if params.get("strategy_config"):
        config["StrategyConfig"] = params["strategy_config"]
    if params.get("completion_criteria"):
        config["TuningJobCompletionCriteria"] = params["completion_criteria"]
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobStatus": record["status"],
        "FailureReason": record["failure_reason"],
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": {
            "StaticHyperParameters": params["static_hyperparameters"],
            "Estimator": params["estimator"],
        },
        "TrainingJobStatusCounters": {
            "Completed": statuses.count("Completed"),
            "InProgress": pending,
            "RetryableError": 0,
            "NonRetryableError": statuses.count("Failed"),
            "Stopped": statuses.count("Stopped"),
        },
        "ObjectiveStatusCounters": {
            "Succeeded": succeeded,
            "Pending": pending,
            "Failed": len(jobs) - succeeded - pending,
        },
        "CreationTime": record["created_at"],
        "HyperParameterTuningEndTime": record["ended_at"],
        "LastModifiedTime": record["updated_at"],
    }
    if best:
        out["BestTrainingJob"] = {
            "TrainingJobName": best["TrainingJobName"],
            "TrainingJobStatus": "Completed",
            "FinalHyperParameterTuningJobObjectiveMetric": {
                "MetricName": objective,
                "Value": best["Value"],
            },
            "TunedHyperParameters": best["TunedHyperParameters"],
        }
    if params.get("warm_start_config"):
        out["WarmStartConfig"] = params["warm_start_config"]
    if "completion" in extra:
        out["TuningJobCompletionDetails"] = extra["completion"]
    return out


def list_tuning_jobs(workspace: Any = None) -> Any:
    """Tuning jobs in the workspace, newest first, as a DataFrame."""
    import pandas as pd

    ws = get_workspace(workspace)
    rows = []
    for rec in ws.catalog.list(KIND):
        rec = reconcile_tuning_job(ws, rec)
        params = rec["parameters"]
        best = rec["extra"].get("best") or {}
        rows.append(
            {
                "name": rec["name"],
                "status": rec["status"],
                "strategy": params.get("strategy"),
                "objective": params.get("objective", {}).get("MetricName"),
                "objective_type": params.get("objective", {}).get("Type"),
                "max_jobs": params.get("resource_limits", {}).get("MaxNumberOfTrainingJobs"),
                "best_training_job": best.get("TrainingJobName"),
                "best_objective": best.get("Value"),
                "created": rec["created_at"],
                "ended": rec["ended_at"],
                "failure_reason": rec["failure_reason"],
            }
        )
    columns = [
        "name", "status", "strategy", "objective", "objective_type", "max_jobs",
        "best_training_job", "best_objective", "created", "ended", "failure_reason",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
