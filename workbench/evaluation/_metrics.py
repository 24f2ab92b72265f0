"""Metric computations on arrays: per problem type, per threshold and column-wise.

Everything here takes plain NumPy arrays; scikit-learn and SciPy are imported inside the
functions that need them so that ``import workbench.evaluation`` stays light.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = [
    "BINARY",
    "MULTICLASS",
    "REGRESSION",
    "PROBLEM_TYPES",
    "METRIC_KEYS",
    "binary_metrics",
    "calibration_table",
    "column_scores",
    "confusion_counts",
    "infer_problem_type",
    "multiclass_metrics",
    "regression_metrics",
    "threshold_metrics",
    "threshold_rates",
]

BINARY = "binary_classification"
MULTICLASS = "multiclass_classification"
REGRESSION = "regression"
PROBLEM_TYPES = (BINARY, MULTICLASS, REGRESSION)

METRIC_KEYS: dict[str, tuple[str, ...]] = {
    BINARY: (
        "accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier",
        "tn", "fp", "fn", "tp",
    ),
    MULTICLASS: ("accuracy", "macro_precision", "macro_recall", "macro_f1", "log_loss"),
    REGRESSION: ("rmse", "mae", "r2", "mape", "median_absolute_error"),
}  # fmt: skip

# Targets with at most this many distinct integer values count as classes when inferring.
_MAX_INFERRED_CLASSES = 20


def infer_problem_type(y: np.ndarray) -> str:
    """Binary for two distinct values, multiclass for a few integer classes, else regression."""
    values = np.unique(y[~_isnan(y)]) if y.dtype.kind == "f" else np.unique(y)
    if len(values) == 2:
        return BINARY
    if y.dtype.kind in "OUSb":
        return MULTICLASS
    if len(values) <= _MAX_INFERRED_CLASSES and np.all(np.mod(values, 1) == 0):
        return MULTICLASS
    return REGRESSION


def _isnan(a: np.ndarray) -> np.ndarray:
    return np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, dtype=bool)


def confusion_counts(
    y01: np.ndarray, score: np.ndarray, thresholds: np.ndarray
) -> dict[str, np.ndarray]:
    """tp, fp, tn, fn at every threshold (a row is positive when ``score >= threshold``).

    Sorts the scores once and reads the counts off cumulative sums, so any number of
    thresholds costs one ``searchsorted``.
    """
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    order = np.argsort(score, kind="mergesort")
    cum_pos = np.concatenate([[0], np.cumsum(y01[order], dtype=np.int64)])
    below = np.searchsorted(score[order], thresholds, side="left")  # rows predicted negative
    n_pos = int(cum_pos[-1])
    n_neg = len(y01) - n_pos
    fn = cum_pos[below]
    tn = below - fn
    return {"tp": n_pos - fn, "fp": n_neg - tn, "tn": tn, "fn": fn}


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, with 0 where den is 0 (scikit-learn's ``zero_division=0``)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den > 0)
    return out


def threshold_rates(counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """accuracy, precision, recall and f1 from confusion counts (arrays or scalars)."""
    tp, fp, tn, fn = (np.asarray(counts[k]) for k in ("tp", "fp", "tn", "fn"))
    return {
        "accuracy": _ratio(tp + tn, tp + fp + tn + fn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def threshold_metrics(y01: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, Any]:
    """The metrics that depend on the decision threshold, as Python scalars."""
    counts = {k: int(v[0]) for k, v in confusion_counts(y01, score, [threshold]).items()}
    rates = {k: float(v) for k, v in threshold_rates(counts).items()}
    return {**rates, **{k: counts[k] for k in ("tn", "fp", "fn", "tp")}}


def binary_metrics(y01: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, Any]:
    """Binary metrics in :data:`METRIC_KEYS` order; AUCs are NaN when one class is absent."""
    from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

    both = 0 < int(y01.sum()) < len(y01)
    at = threshold_metrics(y01, score, threshold)
    metrics = {k: at[k] for k in ("accuracy", "precision", "recall", "f1")}
    metrics["roc_auc"] = float(roc_auc_score(y01, score)) if both else float("nan")
    metrics["pr_auc"] = float(average_precision_score(y01, score)) if both else float("nan")
    metrics["log_loss"] = float(log_loss(y01, score, labels=[0, 1]))
    metrics["brier"] = float(np.mean((score - y01) ** 2))
    metrics.update({k: at[k] for k in ("tn", "fp", "fn", "tp")})
    return metrics


def multiclass_metrics(
    y: np.ndarray, proba: np.ndarray, labels: list[Any]
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Metrics, the predicted labels (argmax) and the confusion matrix over ``labels``."""
    from sklearn.metrics import confusion_matrix, log_loss, precision_recall_fscore_support

    pred = np.asarray(labels)[np.argmax(proba, axis=1)]
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, pred, average="macro", zero_division=0
    )
    metrics = {
        "accuracy": float(np.mean(pred == y)),
        "macro_precision": float(precision),
        "macro_recall": float(recall),
        "macro_f1": float(f1),
        "log_loss": float(log_loss(y, proba, labels=labels)),
    }
    return metrics, pred, confusion_matrix(y, pred, labels=labels)


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """rmse, mae, r2, mape and median absolute error.

    ``mape`` is a fraction (0.1 = 10 %) over the rows whose target is not zero (NaN when
    every target is zero); ``r2`` is NaN when the target is constant.
    """
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    err = pred - y
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    nonzero = y != 0
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else float("nan"),
        "mape": float(np.mean(np.abs(err[nonzero] / y[nonzero])))
        if nonzero.any()
        else float("nan"),
        "median_absolute_error": float(np.median(np.abs(err))),
    }


def calibration_table(y01: np.ndarray, score: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """Uniform-width bins over [0, 1], binned like scikit-learn's ``calibration_curve``.

    Empty bins are kept (count 0, NaN means), so the counts always add up to the rows.
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], score)
    count = np.bincount(ids, minlength=n_bins)
    sum_score = np.bincount(ids, weights=score, minlength=n_bins)
    sum_true = np.bincount(ids, weights=y01, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "bin_lower": edges[:-1],
            "bin_upper": edges[1:],
            "count": count,
            "mean_predicted": np.where(count > 0, sum_score / count, np.nan),
            "fraction_positive": np.where(count > 0, sum_true / count, np.nan),
        }


def column_scores(problem_type: str, y: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """One score per column of ``outputs`` (rows x copies), vectorised over the columns.

    Binary: ROC AUC of positive-class probabilities (Mann-Whitney U from average ranks,
    equal to ``roc_auc_score``); multiclass: accuracy of predicted labels; regression: R².
    """
    if problem_type == BINARY:
        from scipy.stats import rankdata

        pos = y.astype(bool)
        n_pos = int(pos.sum())
        n_neg = len(y) - n_pos
        if n_pos == 0 or n_neg == 0:
            return np.full(outputs.shape[1], np.nan)
        ranks = rankdata(outputs, axis=0)
        return (ranks[pos].sum(axis=0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    if problem_type == MULTICLASS:
        return np.mean(outputs == y[:, None], axis=0)
    y = y.astype(np.float64)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    ss_res = np.sum((outputs - y[:, None]) ** 2, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return 1.0 - ss_res / ss_tot if ss_tot > 0 else np.full(outputs.shape[1], np.nan)
