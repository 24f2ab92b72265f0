"""Automatic model tuning with SageMaker v2's ``HyperparameterTuner`` API, on Optuna.

Example
-------
>>> from workbench.tuning import HyperparameterTuner, ContinuousParameter, IntegerParameter
>>> tuner = HyperparameterTuner(est, "validation:auc",
...                             {"eta": ContinuousParameter(0.01, 0.5),
...                              "max_depth": IntegerParameter(2, 8)},
...                             max_jobs=10, max_parallel_jobs=2)   # doctest: +SKIP
>>> tuner.fit({"train": train, "validation": valid}).best_training_job()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from ._analytics import TuningAnalytics
from ._config import (
    HyperbandStrategyConfig,
    TuningJobCompletionCriteriaConfig,
    WarmStartConfig,
    WarmStartTypes,
)
from ._parameters import CategoricalParameter, ContinuousParameter, IntegerParameter
from ._tuner import HyperparameterTuner

__all__ = [
    "CategoricalParameter",
    "ContinuousParameter",
    "HyperbandStrategyConfig",
    "HyperparameterTuner",
    "IntegerParameter",
    "TuningAnalytics",
    "TuningJobCompletionCriteriaConfig",
    "TuningPanel",
    "WarmStartConfig",
    "WarmStartTypes",
    "describe_tuning_job",
    "list_tuning_jobs",
]


def list_tuning_jobs(workspace: Any = None) -> Any:
    """Tuning jobs in the workspace, newest first, as a DataFrame."""
    from ._describe import list_tuning_jobs as _list

    return _list(workspace)


def describe_tuning_job(name: str, workspace: Any = None) -> dict[str, Any]:
    """SageMaker's DescribeHyperParameterTuningJob dict for ``name``."""
    from ..core import get_workspace
    from ._describe import describe_tuning_job as _describe

    return _describe(get_workspace(workspace), name)


def __getattr__(name: str) -> Any:
    if name == "TuningPanel":
        from ._panel import TuningPanel

        return TuningPanel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
