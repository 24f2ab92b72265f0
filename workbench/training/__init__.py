"""Training jobs with SageMaker's contract, run as local processes (no Docker, no cloud).

Example
-------
>>> import workbench as wb
>>> est = wb.Estimator(algorithm="xgboost", target="is_fraud",
...                    hyperparameters={"objective": "binary:logistic", "num_round": 50})
>>> est.fit({"train": train_df, "validation": valid_df})  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from ._environment import TrainingEnvironment
from ._estimator import Estimator
from ._inputs import TrainingInput
from ._job import TrainingJob
from ._launcher import warm_up
from ._model import Model, list_models

__all__ = [
    "Estimator",
    "Model",
    "TrainingEnvironment",
    "TrainingInput",
    "TrainingJob",
    "describe_training_job",
    "list_models",
    "list_training_jobs",
    "stop_training_job",
    "warm_up",
]


def list_training_jobs(workspace: Any = None, status: str | None = None) -> Any:
    """Training jobs in the workspace, newest first, as a DataFrame."""
    from ._listing import list_training_jobs as _list

    return _list(workspace, status)


def describe_training_job(name: str, workspace: Any = None) -> dict[str, Any]:
    """SageMaker's DescribeTrainingJob dict for ``name``."""
    return TrainingJob(name, workspace=workspace).describe()


def stop_training_job(name: str, workspace: Any = None) -> None:
    """Stop a running job (SIGTERM, then SIGKILL after the grace period)."""
    TrainingJob(name, workspace=workspace).stop()
