"""Choosing a binary decision threshold from what each kind of mistake costs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import ValidationError
from ._metrics import BINARY, confusion_counts, threshold_rates

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ._evaluate import Evaluation

__all__ = ["CostMatrix", "ThresholdPicker"]

_DEFAULT_THRESHOLDS = np.round(np.linspace(0.0, 1.0, 101), 2)
_COLUMNS = ["threshold", "tp", "fp", "tn", "fn", "precision", "recall", "cost", "cost_per_row"]


@dataclass(frozen=True)
class CostMatrix:
    """The cost of each outcome of a binary decision, in any one unit (e.g. euros).

    For card fraud, ``fn`` is a missed fraud (the amount lost) and ``fp`` a false alarm
    (a blocked card, a phone call); correct decisions usually cost nothing.

    Example
    -------
    >>> CostMatrix(fn=500.0, fp=5.0)
    CostMatrix(fn=500.0, fp=5.0, tp=0.0, tn=0.0)
    """

    fn: float
    fp: float
    tp: float = 0.0
    tn: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if (
                isinstance(value, bool)
                or not isinstance(value, Real)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValidationError(f"CostMatrix.{f.name}", value, "a non-negative number")
            object.__setattr__(self, f.name, float(value))
        if not any(getattr(self, f.name) for f in fields(self)):
            raise ValidationError("CostMatrix", self, "at least one positive cost")

    def total(self, counts: Mapping[str, Any]) -> Any:
        """Total cost of confusion counts (scalars or arrays with keys tp, fp, tn, fn)."""
        return (
            self.fn * np.asarray(counts["fn"])
            + self.fp * np.asarray(counts["fp"])
            + self.tp * np.asarray(counts["tp"])
            + self.tn * np.asarray(counts["tn"])
        )


class ThresholdPicker:
    """Cost, precision and recall of a binary evaluation at every threshold.

    Nothing is re-predicted: the evaluation's scores are sorted once and every threshold's
    confusion counts come from cumulative sums. A row is positive when its score is
    ``>= threshold``, as in :func:`~workbench.evaluation.evaluate`.

    Example
    -------
    >>> picker = ThresholdPicker(ev, CostMatrix(fn=500, fp=5))  # doctest: +SKIP
    >>> threshold, cost = picker.best()                          # doctest: +SKIP
    >>> ev.at_threshold(threshold).metrics                       # doctest: +SKIP
    """

    def __init__(self, evaluation: Evaluation, costs: CostMatrix | Mapping[str, float]) -> None:
        problem_type = getattr(evaluation, "problem_type", None)
        if problem_type != BINARY:
            raise ValidationError(
                "evaluation",
                problem_type,
                f"an Evaluation of a {BINARY} model",
                hint="Thresholds only apply to binary classifiers' probabilities.",
            )
        if isinstance(costs, Mapping):
            costs = CostMatrix(**costs)
        if not isinstance(costs, CostMatrix):
            raise ValidationError("costs", type(costs).__name__, "a CostMatrix(fn=..., fp=...)")
        self.evaluation = evaluation
        self.costs = costs

    def __repr__(self) -> str:
        return f"ThresholdPicker({self.evaluation.model_name!r}, {self.costs})"

    def table(self, thresholds: Any = None) -> pd.DataFrame:
        """One row per threshold (0, 0.01, ..., 1 by default) with counts, rates and cost.

        Example
        -------
        >>> picker.table().nsmallest(3, "cost")  # doctest: +SKIP
        """
        import pandas as pd

        grid = _thresholds(thresholds)
        ev = self.evaluation
        counts = confusion_counts(ev.y_true, ev.y_score, grid)
        rates = threshold_rates(counts)
        cost = self.costs.total(counts).astype(np.float64)
        frame = {
            "threshold": grid,
            **counts,
            "precision": rates["precision"],
            "recall": rates["recall"],
            "cost": cost,
            "cost_per_row": cost / len(ev.y_true),
        }
        return pd.DataFrame(frame, columns=_COLUMNS)

    def best(self, thresholds: Any = None) -> tuple[float, float]:
        """``(threshold, cost)`` with the lowest total cost (the lowest such threshold)."""
        return _best(self.table(thresholds))

    def at(self, threshold: float) -> dict[str, Any]:
        """The table's row for one threshold, as a dict."""
        row = self.table([threshold]).iloc[0].to_dict()
        return {k: int(v) if k in ("tp", "fp", "tn", "fn") else float(v) for k, v in row.items()}

    def plot(self, thresholds: Any = None) -> Figure:
        """Cost and precision/recall against the threshold, with the best threshold marked."""
        from ._plots import plot_threshold_costs

        table = self.table(thresholds)
        costs = self.costs
        title = (
            f"Cost by threshold: {self.evaluation.model_name} (fn={costs.fn:g}, fp={costs.fp:g})"
        )
        return plot_threshold_costs(table, _best(table), title)


def _best(table: pd.DataFrame) -> tuple[float, float]:
    i = int(np.argmin(table["cost"].to_numpy()))  # argmin: the first (lowest) of tied minima
    return float(table["threshold"].iat[i]), float(table["cost"].iat[i])


def _thresholds(thresholds: Any) -> np.ndarray:
    if thresholds is None:
        return _DEFAULT_THRESHOLDS
    try:
        grid = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        grid = np.array([np.nan])
    if grid.size == 0 or not np.all(np.isfinite(grid)):
        raise ValidationError("thresholds", thresholds, "one or more finite numbers")
    return grid
