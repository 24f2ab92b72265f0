"""Model evaluation: metrics, curves, importances, cost-based thresholds and comparisons.

``evaluate(model, test_df)`` scores a trained model (a ``Model``, a ``TrainingJob`` or a
job name) on labelled rows and records the result in the workspace catalogue (kind
``"evaluation"``); ``ThresholdPicker`` picks a binary threshold from a ``CostMatrix``;
``compare`` puts several models side by side. Plots return ``matplotlib`` Figures;
matplotlib, scikit-learn and xgboost are imported only when used.

Example
-------
>>> from workbench.evaluation import evaluate, ThresholdPicker, CostMatrix
>>> ev = evaluate(job, test_df)                                       # doctest: +SKIP
>>> ThresholdPicker(ev, CostMatrix(fn=500, fp=5)).best()              # doctest: +SKIP
"""

from typing import Any

from ._compare import compare
from ._evaluate import Evaluation, evaluate
from ._plots import plot_roc_comparison
from ._threshold import CostMatrix, ThresholdPicker

__all__ = [
    "CostMatrix",
    "Evaluation",
    "EvaluationPanel",
    "ThresholdPicker",
    "compare",
    "evaluate",
    "plot_roc_comparison",
]


def __getattr__(name: str) -> Any:
    if name == "EvaluationPanel":  # only the panel imports ipywidgets
        from ._panel import EvaluationPanel

        return EvaluationPanel
    raise AttributeError(f"module 'workbench.evaluation' has no attribute {name!r}")
