"""``evaluate(model, test_df)``: metrics, curves, importances and a catalogue record."""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import ValidationError
from ._metrics import (
    BINARY,
    MULTICLASS,
    REGRESSION,
    binary_metrics,
    calibration_table,
    column_scores,
    infer_problem_type,
    multiclass_metrics,
    regression_metrics,
    threshold_metrics,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..core import Workspace
    from ..training import Model

__all__ = ["Evaluation", "evaluate", "KIND"]

KIND = "evaluation"
#: Permutation importance predicts on at most this many rows (a seeded random sample).
PERMUTATION_MAX_ROWS = 5_000
# Cells (rows x columns) per stacked frame handed to one predict call in permutation importance.
_CELL_BUDGET = 5_000_000
_CURVE_POINTS = 101
_PERMUTATION_METRIC = {BINARY: "roc_auc", MULTICLASS: "accuracy", REGRESSION: "r2"}


@dataclass(eq=False, repr=False)
class Evaluation:
    """A model's metrics on a test set, with the predictions kept for curves and thresholds.

    Made by :func:`evaluate`. ``y_true`` holds the targets (for binary problems as 0/1,
    1 meaning ``positive_label``), ``y_score`` the positive-class probability (binary),
    the probability matrix (multiclass, columns in ``labels`` order) or the predictions
    (regression), and ``y_pred`` the predicted labels or values.

    Example
    -------
    >>> ev = evaluate(job, test_df)                      # doctest: +SKIP
    >>> ev.metrics["roc_auc"], ev.at_threshold(0.2).metrics["recall"]  # doctest: +SKIP
    >>> ev.plot_roc()                                    # doctest: +SKIP
    """

    model_name: str
    problem_type: str
    metrics: dict[str, Any]
    confusion_matrix: pd.DataFrame | None
    threshold: float | None
    n_rows: int
    y_true: np.ndarray
    y_score: np.ndarray
    y_pred: np.ndarray
    name: str | None = None
    target: str | None = None
    algorithm: str | None = None
    positive_label: Any = 1
    labels: list[Any] | None = None
    model: Model | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in list(self.metrics.items())[:4])
        named = f", name={self.name!r}" if self.name else ""
        return (
            f"Evaluation({self.model_name!r}, {self.problem_type}, n_rows={self.n_rows}, "
            f"{shown}{named})"
        )

    # -- thresholds and curves ---------------------------------------------------------
    def at_threshold(self, threshold: float) -> Evaluation:
        """The same predictions judged at another threshold (binary; nothing re-predicted).

        Example
        -------
        >>> ev.at_threshold(0.1).metrics["recall"]  # doctest: +SKIP
        """
        self._require(BINARY, "at_threshold")
        threshold = _check_threshold(threshold)
        metrics = dict(self.metrics)
        metrics.update(threshold_metrics(self.y_true, self.y_score, threshold))
        return replace(
            self,
            metrics=metrics,
            threshold=threshold,
            y_pred=(self.y_score >= threshold).astype(np.int64),
            confusion_matrix=_binary_confusion(metrics),
            name=None,
        )

    def calibration(self, n_bins: int = 10) -> pd.DataFrame:
        """Reliability table: uniform bins of predicted probability (binary).

        Columns ``bin_lower``, ``bin_upper``, ``count``, ``mean_predicted``,
        ``fraction_positive``; empty bins are kept, so ``count`` sums to ``n_rows``.
        """
        import pandas as pd

        self._require(BINARY, "calibration")
        if not isinstance(n_bins, int | np.integer) or isinstance(n_bins, bool) or n_bins < 1:
            raise ValidationError("n_bins", n_bins, "a positive integer")
        return pd.DataFrame(calibration_table(self.y_true, self.y_score, int(n_bins)))

    def roc_curve(self) -> pd.DataFrame:
        """ROC curve points (``threshold``, ``fpr``, ``tpr``), as scikit-learn computes them."""
        import pandas as pd
        from sklearn.metrics import roc_curve

        self._require(BINARY, "roc_curve")
        self._require_both_classes("roc_curve")
        fpr, tpr, thresholds = roc_curve(self.y_true, self.y_score)
        return pd.DataFrame({"threshold": thresholds, "fpr": fpr, "tpr": tpr})

    def pr_curve(self) -> pd.DataFrame:
        """Precision-recall points (``threshold``, ``precision``, ``recall``).

        The last point (precision 1, recall 0) has no threshold (NaN), as in scikit-learn.
        """
        import pandas as pd
        from sklearn.metrics import precision_recall_curve

        self._require(BINARY, "pr_curve")
        self._require_both_classes("pr_curve")
        precision, recall, thresholds = precision_recall_curve(self.y_true, self.y_score)
        thresholds = np.append(thresholds, np.nan)
        return pd.DataFrame({"threshold": thresholds, "precision": precision, "recall": recall})

    # -- importances -------------------------------------------------------------------
    def permutation_importance(
        self, test_df: pd.DataFrame, n_repeats: int = 5, seed: int = 0
    ) -> pd.DataFrame:
        """How much the score drops when one raw column is shuffled (scikit-learn's method).

        The score is ROC AUC (binary), accuracy (multiclass) or R² (regression). Only a
        seeded random sample of at most 5,000 rows is used. The columns shuffled are the
        model's feature columns when ``test_df`` has them all, else (a model with a feature
        recipe) every column but the target. All shuffled copies are stacked and predicted
        in a few large batches rather than one call per column and repeat.

        Returns a DataFrame indexed by column with ``importance_mean`` and
        ``importance_std``, largest first; ``attrs`` has ``metric`` and ``baseline``.

        Example
        -------
        >>> ev.permutation_importance(test_df).head()  # doctest: +SKIP
        """
        model = self._model("permutation_importance")
        if not isinstance(n_repeats, int) or isinstance(n_repeats, bool) or n_repeats < 1:
            raise ValidationError("n_repeats", n_repeats, "a positive integer")
        frame = _check_frame(test_df, self.target)
        return _permutation_importance(self, model, frame, n_repeats, seed)

    def feature_importance(self) -> pd.Series:
        """The model's own importance (XGBoost gain, Linear Learner absolute weights)."""
        return self._model("feature_importance").feature_importance()

    def contributions(self, rows_df: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions plus ``bias`` (XGBoost binary and regression)."""
        return self._model("contributions").contributions(rows_df)

    # -- plots -------------------------------------------------------------------------
    def plot_roc(self) -> Figure:
        """ROC curve with its AUC (binary)."""
        from ._plots import plot_roc

        return plot_roc(self)

    def plot_pr(self) -> Figure:
        """Precision-recall curve with its average precision (binary)."""
        from ._plots import plot_pr

        return plot_pr(self)

    def plot_confusion_matrix(self, normalize: bool = False) -> Figure:
        """Confusion matrix heat map (classifiers); ``normalize`` shows row fractions."""
        from ._plots import plot_confusion_matrix

        self._require((BINARY, MULTICLASS), "plot_confusion_matrix")
        return plot_confusion_matrix(self, normalize=normalize)

    def plot_calibration(self, n_bins: int = 10) -> Figure:
        """Reliability diagram with the histogram of scores (binary)."""
        from ._plots import plot_calibration

        return plot_calibration(self, self.calibration(n_bins))

    def plot_residuals(self) -> Figure:
        """Residuals against predictions, and their histogram (regression)."""
        from ._plots import plot_residuals

        self._require(REGRESSION, "plot_residuals")
        return plot_residuals(self)

    def plot_feature_importance(self, top: int = 20) -> Figure:
        """Horizontal bars of the model's feature importance, ``top`` largest."""
        from ._plots import plot_importance

        return plot_importance(
            self.feature_importance(), top=top, title=f"Feature importance: {self.model_name}"
        )

    def plot_permutation_importance(
        self, test_df: pd.DataFrame, top: int = 20, n_repeats: int = 5, seed: int = 0
    ) -> Figure:
        """Permutation importance bars with their standard deviation as error bars."""
        from ._plots import plot_importance

        table = self.permutation_importance(test_df, n_repeats=n_repeats, seed=seed)
        return plot_importance(
            table["importance_mean"],
            errors=table["importance_std"],
            top=top,
            title=f"Permutation importance ({table.attrs['metric']} drop): {self.model_name}",
        )

    def plot_contributions(self, row_df: pd.DataFrame | pd.Series, top: int = 12) -> Figure:
        """Waterfall of one row's contributions from the bias to the model output."""
        import pandas as pd

        from ._plots import plot_contributions

        row = row_df.to_frame().T if isinstance(row_df, pd.Series) else row_df
        if not isinstance(row, pd.DataFrame) or len(row) != 1:
            raise ValidationError(
                "row_df", f"{len(row)} rows" if hasattr(row, "__len__") else row, "exactly one row"
            )
        model = self._model("plot_contributions")
        contrib = model.contributions(row).iloc[0]
        values = _feature_values(model, row)
        return plot_contributions(contrib, values, self.problem_type, top=top)

    # -- output ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: metrics, confusion matrix and thinned curves (no raw rows)."""
        cm = self.confusion_matrix
        return {
            "name": self.name,
            "model_name": self.model_name,
            "algorithm": self.algorithm,
            "problem_type": self.problem_type,
            "target": self.target,
            "threshold": self.threshold,
            "positive_label": _json(self.positive_label) if self.problem_type == BINARY else None,
            "n_rows": self.n_rows,
            "metrics": {k: _json(v) for k, v in self.metrics.items()},
            "confusion_matrix": None
            if cm is None
            else {
                "labels": [_json(v) for v in cm.index],
                "matrix": [[int(v) for v in row] for row in cm.to_numpy()],
            },
            "curves": self._curves(),
        }

    def _curves(self) -> dict[str, Any]:
        if self.problem_type == REGRESSION:
            residuals = self.y_pred - self.y_true.astype(np.float64)
            qs = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
            return {
                "residual_quantiles": {
                    str(q): _json(v) for q, v in zip(qs, np.quantile(residuals, qs))
                },
                "residual_mean": _json(residuals.mean()),
                "residual_std": _json(residuals.std()),
            }
        if self.problem_type != BINARY:
            return {}
        curves: dict[str, Any] = {"calibration": _records(self.calibration())}
        if 0 < self.y_true.sum() < len(self.y_true):
            curves["roc"] = _records(_thin(self.roc_curve()))
            curves["pr"] = _records(_thin(self.pr_curve()))
        return curves

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(
            f"<tr><td style='text-align:left'>{esc(k)}</td><td>{esc(_fmt(v))}</td></tr>"
            for k, v in self.metrics.items()
        )
        head = (
            f"<b>Evaluation</b> of <code>{esc(self.model_name)}</code>"
            f" ({esc(self.problem_type)}, {self.n_rows} rows"
            + (f", threshold {self.threshold:g}" if self.problem_type == BINARY else "")
            + ")"
            + (f"<br>recorded as <code>{esc(self.name)}</code>" if self.name else "")
        )
        table = f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>"
        cm = ""
        if self.confusion_matrix is not None and len(self.confusion_matrix) <= 20:
            cm = "<p>Confusion matrix (rows: actual, columns: predicted)</p>"
            cm += self.confusion_matrix.to_html()
        return f"<div>{head}{table}{cm}</div>"

    # -- helpers -----------------------------------------------------------------------
    def _require(self, kinds: str | tuple[str, ...], what: str) -> None:
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        if self.problem_type not in kinds:
            raise ValidationError(
                "problem_type",
                self.problem_type,
                " or ".join(kinds),
                hint=f"{what} applies to {' and '.join(kinds)} evaluations only.",
            )

    def _require_both_classes(self, what: str) -> None:
        if not 0 < int(self.y_true.sum()) < len(self.y_true):
            raise ValidationError(
                "y_true", "a single class", "both classes in the test data", hint=f"for {what}."
            )

    def _model(self, what: str) -> Model:
        if self.model is None:
            raise ValidationError(
                "model", None, "the evaluated model", hint=f"{what} needs the model in memory."
            )
        return self.model


def evaluate(
    model: Any,
    test_df: pd.DataFrame,
    *,
    target: str | None = None,
    threshold: float = 0.5,
    positive_label: Any = 1,
    record: bool = True,
    workspace: Workspace | str | None = None,
) -> Evaluation:
    """Evaluate a trained model on a labelled test DataFrame.

    Parameters
    ----------
    model
        A :class:`~workbench.training.Model`, a :class:`~workbench.training.TrainingJob`,
        or a training job name (looked up in ``workspace``, the default one when None).
    test_df
        Raw rows with the target column; the model picks its features by name.
    target
        The target column; defaults to the one the model was trained with.
    threshold
        Binary classifiers: a row is predicted positive when its probability is
        ``>= threshold``.
    positive_label
        Binary classifiers: the target value that counts as positive.
    record
        Store the evaluation in the model's workspace (kind ``"evaluation"``) with an
        ``evaluation.json`` artifact, lineage model -> evaluation, and the metrics under
        the training job's ``extra["evaluations"]``.

    Example
    -------
    >>> ev = evaluate(job, valid_df)           # doctest: +SKIP
    >>> ev.metrics["pr_auc"]                   # doctest: +SKIP
    """
    started = time.time()
    resolved = resolve_model(model, workspace)
    frame = _check_frame(test_df, None)
    target = resolve_target(resolved, frame, target)
    frame = _check_frame(frame, target)
    y = frame[target].to_numpy()
    problem_type = problem_type_of(resolved, y)
    # Script-mode models hand the frame to the script's model as is, target included.
    features = frame.drop(columns=[target])
    common = {
        "model_name": resolved.name,
        "problem_type": problem_type,
        "n_rows": len(frame),
        "target": target,
        "algorithm": resolved.algorithm,
        "model": resolved,
    }
    if problem_type == BINARY:
        ev = _evaluate_binary(resolved, features, y, threshold, positive_label, common)
    elif problem_type == MULTICLASS:
        ev = _evaluate_multiclass(resolved, features, y, common)
    else:
        pred = np.asarray(resolved.predict(features), dtype=np.float64).reshape(-1)
        y = _numeric_target(y, target)
        metrics = regression_metrics(y, pred)
        ev = Evaluation(
            metrics=metrics, confusion_matrix=None, threshold=None, y_true=y, y_score=pred,
            y_pred=pred, **common,
        )  # fmt: skip
    if record:
        record_evaluation(ev, resolved, frame, started)
    return ev


def _evaluate_binary(
    model: Model,
    features: pd.DataFrame,
    y: np.ndarray,
    threshold: Any,
    positive_label: Any,
    common: dict[str, Any],
) -> Evaluation:
    threshold = _check_threshold(threshold)
    y01 = _binary_target(y, positive_label)
    proba = _proba(model, features)
    score = proba[positive_column(list(proba.columns), positive_label)].to_numpy(np.float64)
    metrics = binary_metrics(y01, score, threshold)
    return Evaluation(
        metrics=metrics,
        confusion_matrix=_binary_confusion(metrics),
        threshold=threshold,
        y_true=y01,
        y_score=score,
        y_pred=(score >= threshold).astype(np.int64),
        positive_label=positive_label,
        labels=[0, 1],
        **common,
    )


def _evaluate_multiclass(
    model: Model, features: pd.DataFrame, y: np.ndarray, common: dict[str, Any]
) -> Evaluation:
    import pandas as pd

    proba = _proba(model, features)
    labels = list(proba.columns)
    known = pd.Series(y).isin(labels).to_numpy()
    if not known.all():
        raise ValidationError(
            f"test_df[{common['target']!r}] values",
            sorted(map(str, np.unique(y[~known])))[:10],
            f"the model's classes {labels[:20]}",
        )
    matrix = proba.to_numpy(np.float64)
    matrix = matrix / matrix.sum(axis=1, keepdims=True)  # float32 sums off 1 make sklearn warn
    metrics, pred, cm = multiclass_metrics(y, matrix, labels)
    return Evaluation(
        metrics=metrics,
        confusion_matrix=_confusion_frame(cm, labels),
        threshold=None,
        y_true=y,
        y_score=matrix,
        y_pred=pred,
        labels=labels,
        **common,
    )


# --- model and input resolution --------------------------------------------------------------


def resolve_model(model: Any, workspace: Workspace | str | None = None) -> Model:
    """A loaded Model from a Model, a TrainingJob or a training job (or model) name."""
    from ..core import get_workspace
    from ..training import Model, TrainingJob

    if isinstance(model, Model):
        return model
    if isinstance(model, TrainingJob):
        return model.model()
    if isinstance(model, str):
        ws = get_workspace(workspace)
        if not ws.catalog.exists("training-job", model) and ws.catalog.exists("model", model):
            return Model(model, workspace=ws)
        return TrainingJob(model, workspace=ws).model()  # ResourceNotFound lists known names
    raise ValidationError(
        "model", type(model).__name__, "a Model, a TrainingJob or a training job name"
    )


def resolve_target(model: Model, frame: pd.DataFrame, target: str | None) -> str:
    target = target if target is not None else model.target
    if target is None:
        raise ValidationError(
            "target", None, "the target column's name", hint="The model does not record one."
        )
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:40]))
        more = f" (+{len(frame.columns) - 40} more)" if len(frame.columns) > 40 else ""
        raise ValidationError("target", target, f"a column of test_df: {columns}{more}")
    return target


def problem_type_of(model: Model, y: np.ndarray) -> str:
    """The model's problem type, or one inferred from the target (script-mode models).

    Only classifiers and regressors are evaluated here; clustering, forecasting, anomaly
    and topic models report their own metrics in their training jobs (``test:*``).
    """
    kind = model.problem_type or infer_problem_type(y)
    if kind not in (BINARY, MULTICLASS, REGRESSION):
        raise ValidationError(
            "model",
            f"{model.name} ({kind})",
            "a classifier or regressor",
            hint="Train it with a 'test' channel: its training job reports test:* metrics.",
        )
    return kind


def _check_frame(test_df: Any, target: str | None) -> pd.DataFrame:
    import pandas as pd

    if not isinstance(test_df, pd.DataFrame):
        raise ValidationError("test_df", type(test_df).__name__, "a pandas DataFrame")
    if len(test_df) == 0:
        raise ValidationError("test_df", "0 rows", "at least one row")
    if target is not None:
        if target not in test_df.columns:
            raise ValidationError("test_df", f"no {target!r} column", "the target column")
        missing = int(test_df[target].isna().sum())
        if missing:
            raise ValidationError(
                f"test_df[{target!r}]",
                f"{missing} missing values",
                "a target in every row",
                hint="Drop them first: test_df.dropna(subset=[target]).",
            )
    return test_df


def _check_threshold(threshold: Any) -> float:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float | np.number)
        or not 0.0 <= float(threshold) <= 1.0
    ):
        raise ValidationError("threshold", threshold, "a number between 0 and 1")
    return float(threshold)


def _proba(model: Model, frame: pd.DataFrame) -> pd.DataFrame:
    try:
        proba = model.predict_proba(frame)
    except AttributeError as exc:
        raise ValidationError(
            "model",
            model.name,
            "a classifier that predicts probabilities",
            hint=f"{exc} (XGBoost: binary:logistic or multi:softprob).",
        ) from None
    return proba


def positive_column(columns: list[Any], positive_label: Any) -> Any:
    """The probability column of the positive class: by label, else the second of two."""
    if positive_label in columns:
        return positive_label
    if len(columns) == 2:
        return columns[1]
    raise ValidationError("positive_label", positive_label, f"one of the classes {columns}")


def _binary_target(y: np.ndarray, positive_label: Any) -> np.ndarray:
    import pandas as pd

    series = pd.Series(y)
    values = series.unique()
    if len(values) > 2:
        raise ValidationError(
            "target values",
            sorted(map(str, values))[:10],
            "two classes for a binary classifier",
        )
    is_pos = series.eq(positive_label).to_numpy()
    if len(values) == 2 and not is_pos.any():
        raise ValidationError(
            "positive_label", positive_label, f"one of the target's values {list(values)}"
        )
    return is_pos.astype(np.int64)


def _numeric_target(y: np.ndarray, target: str) -> np.ndarray:
    try:
        return np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"test_df[{target!r}]", y[:3].tolist(), "numbers") from None


def _binary_confusion(metrics: dict[str, Any]) -> pd.DataFrame:
    cm = np.array([[metrics["tn"], metrics["fp"]], [metrics["fn"], metrics["tp"]]])
    return _confusion_frame(cm, [0, 1])


def _confusion_frame(cm: np.ndarray, labels: list[Any]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        cm,
        index=pd.Index(labels, name="actual"),
        columns=pd.Index(labels, name="predicted"),
    )


def _feature_values(model: Model, row: pd.DataFrame) -> pd.Series | None:
    """The row's model inputs (after any recipe), to label a contributions plot."""
    try:
        return model.transform(row).iloc[0]
    except (AttributeError, ValueError, KeyError):
        return None


# --- permutation importance -------------------------------------------------------------------


def _permutation_importance(
    ev: Evaluation, model: Model, frame: pd.DataFrame, n_repeats: int, seed: int
) -> pd.DataFrame:
    import pandas as pd

    rng = np.random.default_rng(seed)
    if len(frame) > PERMUTATION_MAX_ROWS:
        frame = frame.sample(PERMUTATION_MAX_ROWS, random_state=seed)
    frame = frame.reset_index(drop=True)
    y = frame[ev.target].to_numpy()
    if ev.problem_type == BINARY:
        y = _binary_target(y, ev.positive_label)
    columns = _raw_columns(model, frame, ev.target)
    X = frame[columns]
    n = len(X)
    baseline = float(column_scores(ev.problem_type, y, _outputs(ev, model, X)[:, None])[0])

    copies = [(j, r) for j in range(len(columns)) for r in range(n_repeats)]
    perms = [rng.permutation(n) for _ in copies]
    per_batch = max(1, _CELL_BUDGET // max(1, n * len(columns)))
    scores = np.empty(len(copies))
    for start in range(0, len(copies), per_batch):
        batch = range(start, min(start + per_batch, len(copies)))
        base_idx = np.tile(np.arange(n), len(batch))
        stacked = {}
        for j, col in enumerate(columns):
            idx = base_idx
            for slot, k in enumerate(batch):
                if copies[k][0] == j:
                    if idx is base_idx:
                        idx = base_idx.copy()
                    idx[slot * n : (slot + 1) * n] = perms[k]
            stacked[col] = X[col].iloc[idx].reset_index(drop=True)
        out = _outputs(ev, model, pd.DataFrame(stacked))
        scores[batch.start : batch.stop] = column_scores(
            ev.problem_type, y, out.reshape(len(batch), n).T
        )
    drops = (baseline - scores).reshape(len(columns), n_repeats)
    table = pd.DataFrame(
        {"importance_mean": drops.mean(axis=1), "importance_std": drops.std(axis=1)},
        index=pd.Index(columns, name="feature"),
    ).sort_values("importance_mean", ascending=False)
    table.attrs.update(
        metric=_PERMUTATION_METRIC[ev.problem_type],
        baseline=baseline,
        n_rows=n,
        n_repeats=n_repeats,
    )
    return table


def _raw_columns(model: Model, frame: pd.DataFrame, target: str | None) -> list[Any]:
    names = model.feature_names
    if names and getattr(model, "recipe", None) is None and set(names) <= set(frame.columns):
        return list(names)
    return [c for c in frame.columns if c != target]


def _outputs(ev: Evaluation, model: Model, X: pd.DataFrame) -> np.ndarray:
    """What the permutation score is computed on: P(positive), labels or values."""
    if ev.problem_type == BINARY:
        proba = model.predict_proba(X)
        col = positive_column(list(proba.columns), ev.positive_label)
        return proba[col].to_numpy(np.float64)
    if ev.problem_type == MULTICLASS:
        proba = model.predict_proba(X)
        return np.asarray(list(proba.columns))[np.argmax(proba.to_numpy(), axis=1)]
    return np.asarray(model.predict(X), dtype=np.float64).reshape(-1)


# --- recording --------------------------------------------------------------------------------


def record_evaluation(ev: Evaluation, model: Model, frame: pd.DataFrame, started: float) -> None:
    """Catalogue the evaluation, write ``evaluation.json`` and link it to model and data."""
    from datetime import UTC, datetime

    from ..core import atomic_write_json, fingerprint, sha256_file, utcnow

    catalog = model.workspace.catalog
    data_fp = fingerprint(frame)
    parameters = {
        "model": model.name,
        "algorithm": model.algorithm,
        "problem_type": ev.problem_type,
        "threshold": ev.threshold,
        "positive_label": _json(ev.positive_label) if ev.problem_type == BINARY else None,
        "rows": ev.n_rows,
        "target": ev.target,
        "test_data_fingerprint": data_fp,
    }
    base = f"{model.name}-eval"
    # No 63-character trim (create_unique's default): it would cut "-eval" off long names.
    rec = catalog.create_unique(
        KIND, base, status="InProgress", parameters=parameters, max_length=len(base) + 40
    )
    ev.name = rec["name"]
    metrics = {k: _json(v) for k, v in ev.metrics.items()}
    try:
        path = model.workspace.folder(KIND, ev.name) / "evaluation.json"
        atomic_write_json(path, ev.to_dict())
        catalog.update(
            KIND,
            ev.name,
            status="Completed",
            metrics=metrics,
            artifacts={"evaluation": {"path": str(path), "sha256": sha256_file(path)}},
            started_at=datetime.fromtimestamp(started, UTC).isoformat(),
            ended_at=utcnow(),
        )
    except BaseException as exc:
        catalog.update(
            KIND, ev.name, status="Failed", failure_reason=f"{type(exc).__name__}: {exc}"
        )
        raise
    catalog.add_lineage(("model", model.name), (KIND, ev.name), "evaluated")
    catalog.add_lineage(("data", data_fp), (KIND, ev.name), "test_data")
    if catalog.exists("training-job", model.name):
        # update() merges extra's top-level keys, so merge the evaluations dict here.
        extra = catalog.get("training-job", model.name)["extra"]
        evaluations = {**extra.get("evaluations", {}), ev.name: metrics}
        catalog.update("training-job", model.name, extra={"evaluations": evaluations})


# --- formatting -------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    """A JSON-safe scalar: NumPy scalars unwrapped, NaN and infinities as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _thin(frame: pd.DataFrame, points: int = _CURVE_POINTS) -> pd.DataFrame:
    if len(frame) <= points:
        return frame
    keep = np.unique(np.round(np.linspace(0, len(frame) - 1, points)).astype(int))
    return frame.iloc[keep]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _json(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
