"""``TuningAnalytics``: a tuning job's trials as a DataFrame, and Optuna's plots."""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any

from ..core import Workspace, get_workspace
from ..exceptions import ResourceNotFound, ValidationError
from ._study import KIND, load_study, own_trials

__all__ = ["TuningAnalytics"]

COLUMNS = [
    "TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue", "TrainingStartTime",
    "TrainingEndTime", "TrainingElapsedTimeSeconds",
]  # fmt: skip


class TuningAnalytics:
    """The trials of a tuning job (SageMaker's ``HyperparameterTuningJobAnalytics``).

    Example
    -------
    >>> analytics = tuner.analytics()                   # doctest: +SKIP
    >>> analytics.dataframe().sort_values("FinalObjectiveValue")  # doctest: +SKIP
    >>> analytics.plot_optimization_history()           # doctest: +SKIP
    """

    def __init__(self, tuning_job_name: str, workspace: Workspace | str | None = None) -> None:
        self.workspace = get_workspace(workspace)
        self.name = tuning_job_name
        self._record = self.workspace.catalog.get(KIND, tuning_job_name)

    def __repr__(self) -> str:
        return f"TuningAnalytics({self.name!r})"

    @property
    def study(self) -> Any:
        return load_study(self.workspace, self.name)

    def dataframe(self) -> Any:
        """One row per trial: job name, status, objective, times, then the tuned values."""
        import pandas as pd

        objective = self._record["parameters"]["objective"]["MetricName"]
        names = list(self._record["parameters"]["ranges"])
        rows = []
        for trial in own_trials(self.study):
            job = trial.user_attrs["training_job"]
            try:
                rec = self.workspace.catalog.get("training-job", job)
            except ResourceNotFound:
                rec = None
            start = _time(rec and rec["started_at"])
            end = _time(rec and rec["ended_at"])
            row = {
                "TrainingJobName": job,
                "TrainingJobStatus": rec["status"]
                if rec
                else trial.user_attrs.get("status", "Failed"),
                "FinalObjectiveValue": rec["metrics"].get(objective) if rec else None,
                "TrainingStartTime": start,
                "TrainingEndTime": end,
                "TrainingElapsedTimeSeconds": (end - start).total_seconds()
                if start and end
                else None,
            }
            row.update(trial.user_attrs.get("hyperparameters", {}))
            rows.append(row)
        return pd.DataFrame(rows, columns=COLUMNS + names)

    def _plot(self, function: str, min_completed: int = 1) -> Any:
        import optuna
        from optuna.visualization import matplotlib as plots

        study = self.study
        completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if len(completed) < min_completed:
            raise ValidationError(
                "tuning job trials",
                f"{len(completed)} completed",
                f"at least {min_completed} completed trial(s) for {function}",
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
            axes = getattr(plots, function)(study)
        first = axes.flat[0] if hasattr(axes, "flat") else axes
        return first.figure

    def plot_optimization_history(self) -> Any:
        """Objective value of each trial and the best so far (a matplotlib Figure)."""
        return self._plot("plot_optimization_history")

    def plot_param_importances(self) -> Any:
        """Hyperparameter importances; needs at least two completed trials."""
        return self._plot("plot_param_importances", min_completed=2)

    def plot_parallel_coordinate(self) -> Any:
        """Every trial as a line through its hyperparameter values and objective."""
        return self._plot("plot_parallel_coordinate")

    def plot_slice(self) -> Any:
        """Objective against each hyperparameter."""
        return self._plot("plot_slice")


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
