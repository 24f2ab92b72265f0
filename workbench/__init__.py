"""workbench: a local-first machine-learning workbench for Jupyter.

SageMaker's workflow on one laptop: datasets, training jobs with built-in algorithms and
script mode, and (in their own subpackages) features, tuning, endpoints and labelling.
``import workbench`` stays light: capability subpackages load on first use.

Example
-------
>>> import workbench as wb
>>> df = wb.datasets.load("fraud")                      # doctest: +SKIP
>>> est = wb.Estimator(algorithm="xgboost", target="is_fraud",
...                    hyperparameters={"objective": "binary:logistic", "num_round": 50})
>>> est.fit({"train": df})                               # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it; loaded on first attribute access.
_LAZY = {
    "Estimator": "workbench.training",
    "TrainingInput": "workbench.training",
    "TrainingJob": "workbench.training",
    "Model": "workbench.training",
    "list_training_jobs": "workbench.training",
    "describe_training_job": "workbench.training",
    "stop_training_job": "workbench.training",
    "list_models": "workbench.training",
    "TrainingPanel": "workbench.training._panel",
    "FeaturePanel": "workbench.features._panel",
    "EvaluationPanel": "workbench.evaluation._panel",
    "evaluate": "workbench.evaluation",
    "compare": "workbench.evaluation",
    "profile": "workbench.features",
    "process": "workbench.features",
    "Recipe": "workbench.features",
    "HyperparameterTuner": "workbench.tuning",
    "TuningPanel": "workbench.tuning",
    "DeployPanel": "workbench.serving._panel",
    "Predictor": "workbench.serving",
    "deploy": "workbench.serving",
    "list_endpoints": "workbench.serving",
    "describe_endpoint": "workbench.serving",
    "delete_endpoint": "workbench.serving",
    "update_endpoint": "workbench.serving",
    "DataCaptureConfig": "workbench.serving",
    "Transformer": "workbench.serving",
    "LabelingJob": "workbench.labelling",
    "LabelingPanel": "workbench.labelling._panel",
    "AutoLabeling": "workbench.labelling",
    "SimulatedAnnotator": "workbench.labelling",
    "list_labeling_jobs": "workbench.labelling",
    "Workspace": "workbench.core",
    "get_workspace": "workbench.core",
    "get_algorithm": "workbench.algorithms",
    "list_algorithms": "workbench.algorithms",
}
_SUBPACKAGES = (
    "algorithms", "core", "datasets", "evaluation", "exceptions", "features", "labelling", "labs",
    "monitoring", "serving", "training", "tuning",
)  # fmt: skip

__all__ = sorted([*_LAZY, *_SUBPACKAGES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"workbench.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
