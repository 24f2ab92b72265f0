"""Evaluation plots as ``matplotlib.figure.Figure`` objects.

Figures are built with the object-oriented API (never ``pyplot``), so nothing touches a
global figure manager: they work headless, in threads, and display in Jupyter when they
are a cell's result. matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import ValidationError
from ._metrics import BINARY

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ._evaluate import Evaluation

__all__ = [
    "plot_calibration",
    "plot_confusion_matrix",
    "plot_contributions",
    "plot_importance",
    "plot_pr",
    "plot_residuals",
    "plot_roc",
    "plot_roc_comparison",
    "plot_threshold_costs",
]

_POSITIVE, _NEGATIVE = "#d62728", "#1f77b4"


def _figure(width: float = 5.5, height: float = 4.5) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_roc(ev: Evaluation) -> Figure:
    roc = ev.roc_curve()
    fig = _figure(5.0, 4.5)
    ax = fig.subplots()
    ax.plot(roc["fpr"], roc["tpr"], label=f"AUC = {ev.metrics['roc_auc']:.4f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    _mark_threshold(ax, ev, x="fpr", y="tpr")
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title=f"ROC: {ev.model_name}")
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower right")
    return fig


def plot_pr(ev: Evaluation) -> Figure:
    pr = ev.pr_curve()
    fig = _figure(5.0, 4.5)
    ax = fig.subplots()
    ax.plot(pr["recall"], pr["precision"], label=f"AP = {ev.metrics['pr_auc']:.4f}")
    prevalence = float(np.mean(ev.y_true))
    ax.axhline(prevalence, linestyle="--", color="grey", linewidth=1, label="prevalence")
    _mark_threshold(ax, ev, x="recall", y="precision")
    ax.set(xlabel="Recall", ylabel="Precision", title=f"Precision-recall: {ev.model_name}")
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="upper right")
    return fig


def _mark_threshold(ax: Any, ev: Evaluation, x: str, y: str) -> None:
    """Mark the operating point at the evaluation's threshold."""
    m = ev.metrics
    n_pos, n_neg = m["tp"] + m["fn"], m["tn"] + m["fp"]
    point = {
        "fpr": m["fp"] / n_neg if n_neg else 0.0,
        "tpr": m["recall"],
        "recall": m["recall"],
        "precision": m["precision"],
    }
    if n_pos:
        ax.plot(
            point[x], point[y], "o", color=_POSITIVE, label=f"threshold {ev.threshold:g}", zorder=3
        )


def plot_confusion_matrix(ev: Evaluation, normalize: bool = False) -> Figure:
    cm = ev.confusion_matrix
    assert cm is not None
    counts = cm.to_numpy().astype(np.float64)
    values = counts
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    k = len(cm)
    fig = _figure(1.8 + 0.55 * max(k, 3), 1.4 + 0.5 * max(k, 3))
    ax = fig.subplots()
    image = ax.imshow(values, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8)
    if k <= 20:
        top = values.max() if values.size else 0
        for i in range(k):
            for j in range(k):
                text = f"{values[i, j]:.2f}" if normalize else f"{int(counts[i, j])}"
                color = "white" if top and values[i, j] > top / 2 else "black"
                ax.text(j, i, text, ha="center", va="center", color=color, fontsize=9)
    ax.set_xticks(range(k), [str(v) for v in cm.columns])
    ax.set_yticks(range(k), [str(v) for v in cm.index])
    title = "Confusion matrix" + (" (row fractions)" if normalize else "")
    if ev.problem_type == BINARY:
        title += f" at {ev.threshold:g}"
    ax.set(xlabel="Predicted", ylabel="Actual", title=title)
    return fig


def plot_calibration(ev: Evaluation, table: pd.DataFrame) -> Figure:
    fig = _figure(5.0, 5.5)
    ax, hist = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    filled = table[table["count"] > 0]
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    ax.plot(filled["mean_predicted"], filled["fraction_positive"], "o-", label=ev.model_name)
    ax.set(ylabel="Fraction positive", title=f"Calibration (Brier {ev.metrics['brier']:.4f})")
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="upper left")
    widths = table["bin_upper"] - table["bin_lower"]
    hist.bar(table["bin_lower"], table["count"], width=widths, align="edge", edgecolor="white")
    hist.set(xlabel="Predicted probability", ylabel="Rows")
    return fig


def plot_residuals(ev: Evaluation) -> Figure:
    pred = ev.y_pred
    residuals = pred - ev.y_true
    fig = _figure(9.0, 4.0)
    scatter, hist = fig.subplots(1, 2, width_ratios=[3, 2])
    scatter.scatter(pred, residuals, s=8, alpha=0.5)
    scatter.axhline(0.0, color="grey", linestyle="--", linewidth=1)
    scatter.set(xlabel="Prediction", ylabel="Residual (prediction - actual)")
    scatter.set_title(f"Residuals: {ev.model_name} (RMSE {ev.metrics['rmse']:.4g})")
    hist.hist(residuals, bins=min(50, max(10, len(residuals) // 20)), edgecolor="white")
    hist.axvline(0.0, color="grey", linestyle="--", linewidth=1)
    hist.set(xlabel="Residual", ylabel="Rows")
    return fig


def plot_importance(
    values: pd.Series, *, top: int = 20, errors: pd.Series | None = None, title: str = ""
) -> Figure:
    """Horizontal bars of the ``top`` largest values, largest at the top."""
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ValidationError("top", top, "a positive integer")
    shown = values.sort_values(ascending=False).iloc[:top][::-1]
    fig = _figure(6.5, 1.2 + 0.28 * max(len(shown), 3))
    ax = fig.subplots()
    xerr = None if errors is None else errors.reindex(shown.index).to_numpy()
    ax.barh([str(i) for i in shown.index], shown.to_numpy(), xerr=xerr, color=_NEGATIVE)
    ax.axvline(0.0, color="grey", linewidth=0.8)
    more = len(values) - len(shown)
    ax.set(title=title, xlabel="importance" + (f" (top {len(shown)}; {more} more)" if more else ""))
    return fig


def plot_contributions(
    contributions: pd.Series, values: pd.Series | None, problem_type: str, top: int = 12
) -> Figure:
    """Waterfall from the bias through the ``top`` largest contributions to the output."""
    bias = float(contributions.get("bias", 0.0))
    parts = contributions.drop(labels=["bias"], errors="ignore").astype(np.float64)
    order = parts.abs().sort_values(ascending=False).index
    shown = parts[order[:top]]
    rest = parts[order[top:]]
    labels = [_feature_label(name, values) for name in shown.index]
    steps = list(shown.to_numpy())
    if len(rest):
        labels.append(f"{len(rest)} other features")
        steps.append(float(rest.sum()))
    total = bias + float(parts.sum())
    fig = _figure(7.0, 1.6 + 0.32 * (len(steps) + 2))
    ax = fig.subplots()
    rows = ["bias", *labels, "output"]
    y = np.arange(len(rows))[::-1]
    ax.barh(y[0], bias, color="grey")
    start = bias
    for i, step in enumerate(steps, start=1):
        ax.barh(y[i], step, left=start, color=_POSITIVE if step >= 0 else _NEGATIVE)
        start += step
    ax.barh(y[-1], total, color="black")
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_yticks(y, rows)
    unit = "log-odds" if problem_type == BINARY else "prediction"
    title = f"Contributions ({unit}): output {total:.4g}"
    if problem_type == BINARY:
        title += f", probability {1.0 / (1.0 + np.exp(-total)):.4f}"
    ax.set(title=title, xlabel=unit)
    return fig


def _feature_label(name: Any, values: pd.Series | None) -> str:
    if values is None or name not in values.index:
        return str(name)
    value = values[name]
    shown = f"{value:.4g}" if isinstance(value, float | np.floating) else str(value)
    return f"{name} = {shown}"


def plot_roc_comparison(evaluations: Iterable[Evaluation]) -> Figure:
    """ROC curves of several binary evaluations on one axis, AUC in the legend.

    Example
    -------
    >>> evs = [evaluate(m, test_df, record=False) for m in (job_a, job_b)]  # doctest: +SKIP
    >>> plot_roc_comparison(evs)                                           # doctest: +SKIP
    """
    evaluations = list(evaluations)
    if not evaluations:
        raise ValidationError("evaluations", [], "at least one binary Evaluation")
    fig = _figure(5.5, 5.0)
    ax = fig.subplots()
    for ev in evaluations:
        roc = ev.roc_curve()  # raises a ValidationError for non-binary evaluations
        ax.plot(roc["fpr"], roc["tpr"], label=f"{ev.model_name} (AUC {ev.metrics['roc_auc']:.4f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC comparison")
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_threshold_costs(table: pd.DataFrame, best: tuple[float, float], title: str) -> Figure:
    """Cost (top) and precision/recall (bottom) against the threshold, best marked."""
    fig = _figure(6.5, 5.5)
    cost_ax, rate_ax = fig.subplots(2, 1, sharex=True)
    cost_ax.plot(table["threshold"], table["cost"], color="black")
    cost_ax.plot(*best, "o", color=_POSITIVE, label=f"best {best[0]:g} (cost {best[1]:.4g})")
    cost_ax.set(ylabel="Total cost", title=title)
    cost_ax.legend(loc="best")
    rate_ax.plot(table["threshold"], table["precision"], label="precision")
    rate_ax.plot(table["threshold"], table["recall"], label="recall")
    for ax in (cost_ax, rate_ax):
        ax.axvline(best[0], color=_POSITIVE, linestyle="--", linewidth=1)
    rate_ax.set(xlabel="Threshold", ylabel="Rate", ylim=(0, 1.02))
    rate_ax.legend(loc="best")
    return fig
