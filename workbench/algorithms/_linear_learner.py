"""SageMaker's built-in Linear Learner, implemented in numpy.

Like SageMaker's, it trains ``num_models`` linear models at once (one matrix product per
mini-batch serves all of them), with different learning rates and regularisation where
those hyperparameters are ``auto``; it stops early on the validation loss (else the train
loss) and keeps the model that does best on the validation channel (else on train): by
``binary_classifier_model_selection_criteria`` for binary classifiers, whose decision
threshold is tuned on the same rows, and by the loss otherwise. Metrics are printed as
``#quality_metric`` lines (``train:objective_loss``, ``validation:roc_auc_score``, ...).
The model is an ``.npz`` of arrays plus a JSON description, never a pickle.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.algorithms._artifacts import load_arrays, save_arrays
from workbench.algorithms._base import Algorithm, quality_metric_line, quality_metric_regex
from workbench.algorithms._data import LabeledData, read_channel
from workbench.algorithms._schema import AUTO, Hyperparameter, HyperparameterSchema
from workbench.exceptions import ValidationError

if TYPE_CHECKING:
    from workbench.training._environment import TrainingEnvironment

__all__ = ["LinearLearner", "LinearLearnerModel", "MODEL_FILE", "META_FILE"]

MODEL_FILE = "linear-learner-model.npz"
META_FILE = "linear-learner-model.json"
MODEL_FORMAT = "workbench-linear-learner"
MODEL_FORMAT_VERSION = 1

PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
LOSSES = (
    "logistic", "squared_loss", "absolute_loss", "hinge_loss", "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss", "quantile_loss", "huber_loss", "softmax_loss",
)  # fmt: skip
SELECTION_CRITERIA = (
    "accuracy", "f_beta", "precision_at_target_recall", "recall_at_target_precision",
    "loss_function", "f1", "cross_entropy_loss",
)  # fmt: skip
_PROBLEM_TYPES = {
    "binary_classifier": "binary_classification",
    "multiclass_classifier": "multiclass_classification",
    "regressor": "regression",
}
_LOSSES_FOR = {
    "binary_classifier": ("logistic", "hinge_loss"),
    "multiclass_classifier": ("softmax_loss",),
    "regressor": (
        "squared_loss", "absolute_loss", "eps_insensitive_squared_loss",
        "eps_insensitive_absolute_loss", "quantile_loss", "huber_loss",
    ),
}  # fmt: skip
_DEFAULT_LOSS = {
    "binary_classifier": "logistic",
    "multiclass_classifier": "softmax_loss",
    "regressor": "squared_loss",
}
# A regression loss measured in label units is label_scale ** power times the same loss
# (with eps and delta divided by label_scale) measured on normalised labels.
_LOSS_POWER = {"squared_loss": 2, "eps_insensitive_squared_loss": 2, "huber_loss": 2}
_FINAL_METRICS = {
    "binary_classifier": (
        "objective_loss", "binary_classification_accuracy", "precision", "recall",
        "binary_f_beta", "roc_auc_score",
    ),
    "multiclass_classifier": (
        "objective_loss", "multiclass_accuracy", "multiclass_top_k_accuracy",
        "macro_precision", "macro_recall", "macro_f_beta", "dcg",
    ),
    "regressor": ("objective_loss", "mse", "rmse", "absolute_loss"),
}  # fmt: skip

_SEED = 0
_AUTO_NUM_MODELS = 32
_DEFAULT_LR = {"adam": 0.01, "rmsprop": 0.005, "sgd": 0.05}
_AUTO = {
    "momentum": 0.9, "beta_1": 0.9, "beta_2": 0.999, "bias_lr_mult": 1.0,
    "bias_wd_mult": 0.0, "lr_scheduler_factor": 0.99, "lr_scheduler_minimum_lr": 1e-5,
}  # fmt: skip
_RMSPROP_DECAY = 0.9
_OPT_EPS = 1e-8
_MAX_CALIBRATION_ROWS = 250_000  # caps num_calibration_samples: memory is models x rows
_EVAL_CELLS = 4_000_000  # rows x models x outputs scored at once when evaluating
_LOG = "[linear-learner]"

_POSITIVE = {"low": 0, "low_open": True}
_UNIT = {"low": 0, "high": 1, "high_open": True}  # [0, 1)
_OPEN_UNIT = {"low": 0, "high": 1, "low_open": True, "high_open": True}  # (0, 1)
_UNIT_UPPER = {"low": 0, "high": 1, "low_open": True}  # (0, 1]


def _h(name: str, kind: str, default: Any, doc: str, **options: Any) -> Hyperparameter:
    """A hyperparameter; only those SageMaker lets automatic model tuning change are tunable."""
    options.setdefault("tunable", False)
    return Hyperparameter(name, kind, default, doc, **options)


# fmt: off
SCHEMA = HyperparameterSchema((
    _h("predictor_type", "str", None, "Binary classification, multiclass or regression.",
       required=True, choices=PREDICTOR_TYPES),
    _h("num_classes", "int", None, "Number of classes (labels 0..num_classes-1); multiclass only.",
       low=3, high=1_000_000),
    _h("feature_dim", "int", AUTO, "Number of features (auto = from the data).",
       low=1, allow_auto=True),
    _h("epochs", "int", 15, "Maximum number of passes over the training data.", low=1),
    _h("mini_batch_size", "int", 1000, "Rows per mini-batch.", low=1, tunable=True),
    _h("num_models", "int", AUTO, "Models trained in parallel (auto = 32 if anything is auto, else 1).",
       low=1, allow_auto=True),
    _h("optimizer", "str", AUTO, "Optimisation algorithm (auto = adam).",
       choices=(AUTO, "sgd", "adam", "rmsprop")),
    _h("learning_rate", "float", AUTO, "Step size (auto = a spread of rates across the models).",
       **_POSITIVE, allow_auto=True, tunable=True),
    _h("momentum", "float", AUTO, "Momentum of sgd (auto = 0.9).", **_UNIT, allow_auto=True),
    _h("beta_1", "float", AUTO, "Adam's first-moment decay rate (auto = 0.9).",
       **_UNIT, allow_auto=True),
    _h("beta_2", "float", AUTO, "Adam's second-moment decay rate (auto = 0.999).",
       **_UNIT, allow_auto=True),
    _h("wd", "float", AUTO, "L2 regularisation (weight decay); auto = a spread across the models.",
       low=0, allow_auto=True, tunable=True),
    _h("l1", "float", AUTO, "L1 regularisation; auto = a spread across the models.",
       low=0, allow_auto=True, tunable=True),
    _h("bias_lr_mult", "float", AUTO, "Learning-rate multiplier of the bias (auto = 1).",
       **_POSITIVE, allow_auto=True),
    _h("bias_wd_mult", "float", AUTO, "Weight-decay multiplier of the bias (auto = 0).",
       low=0, allow_auto=True),
    _h("use_lr_scheduler", "bool", True, "Decay the learning rate during training."),
    _h("lr_scheduler_step", "int", AUTO, "Mini-batches between decays (auto = a tenth of an epoch).",
       low=1, allow_auto=True),
    _h("lr_scheduler_factor", "float", AUTO, "Learning-rate decay factor (auto = 0.99).",
       **_OPEN_UNIT, allow_auto=True),
    _h("lr_scheduler_minimum_lr", "float", AUTO, "Floor of the decayed learning rate (auto = 1e-5).",
       **_POSITIVE, allow_auto=True),
    _h("loss", "str", AUTO, "Loss (auto = logistic, softmax_loss or squared_loss by predictor_type).",
       choices=(AUTO, *LOSSES)),
    _h("margin", "float", 1.0, "Margin of hinge_loss.", low=0),
    _h("quantile", "float", 0.5, "Quantile of quantile_loss.", **_OPEN_UNIT),
    _h("loss_insensitivity", "float", 0.01, "Errors below this cost nothing (eps_insensitive_*).",
       **_POSITIVE),
    _h("huber_delta", "float", 1.0, "Errors beyond this are penalised linearly (huber_loss).",
       **_POSITIVE),
    _h("normalize_data", "bool", True, "Scale features to unit standard deviation."),
    _h("normalize_label", "bool", AUTO, "Scale regression labels to unit standard deviation (auto = "
       "true).", allow_auto=True),
    _h("unbias_data", "bool", AUTO, "Shift features to mean 0 (auto = normalize_data and use_bias).",
       allow_auto=True),
    _h("unbias_label", "bool", AUTO, "Shift regression labels to mean 0 (auto = use_bias).",
       allow_auto=True),
    _h("num_point_for_scaler", "int", 10000, "Rows sampled to compute the normalisation.", low=1),
    _h("use_bias", "bool", True, "Learn a bias (intercept) term.", tunable=True),
    _h("init_method", "str", "uniform", "Distribution of the initial weights.",
       choices=("uniform", "normal")),
    _h("init_scale", "float", 0.07, "Uniform initial weights lie in [-init_scale, init_scale].",
       **_POSITIVE),
    _h("init_sigma", "float", 0.01, "Standard deviation of normal initial weights.", **_POSITIVE),
    _h("init_bias", "float", 0.0, "Initial value of the bias."),
    _h("early_stopping_patience", "int", 3, "Epochs without improvement before stopping.", low=1),
    _h("early_stopping_tolerance", "float", 0.001, "Relative loss improvement that counts.",
       **_POSITIVE),
    _h("binary_classifier_model_selection_criteria", "str", "accuracy",
       "How the binary model and its threshold are chosen.", choices=SELECTION_CRITERIA),
    _h("target_recall", "float", 0.8, "Recall to reach with precision_at_target_recall.",
       **_UNIT_UPPER),
    _h("target_precision", "float", 0.8, "Precision to reach with recall_at_target_precision.",
       **_UNIT_UPPER),
    _h("f_beta", "float", 1.0, "Beta of the F-beta metrics and the f_beta criterion.", **_POSITIVE),
    _h("positive_example_weight_mult", "str", "1.0",
       "Weight of positive examples: a number > 0, 'balanced' or 'auto'.",
       allow_auto=True, tunable=True),
    _h("balance_multiclass_weights", "bool", False, "Weight classes to count equally in the loss."),
    _h("num_calibration_samples", "int", 10_000_000, "Rows used to choose the binary threshold.",
       low=1),
    _h("accuracy_top_k", "int", 3, "k of the multiclass top-k accuracy metric.",
       low=1, high=1_000_000),
))
# fmt: on


class LinearLearner(Algorithm):
    """SageMaker's built-in Linear Learner (``algorithm="linear-learner"``), in numpy."""

    name = "linear-learner"
    title = "Linear Learner"
    description = (
        "Linear models for binary, multiclass and regression problems; trains several "
        "models in parallel and keeps the best (SageMaker's Linear Learner)."
    )
    hyperparameters = SCHEMA
    channels = ("train", "validation", "test")
    required_channels = ("train",)
    preload = ("numpy", "pandas")

    def check_hyperparameters(self, hps: dict[str, Any]) -> None:
        predictor_type = hps["predictor_type"]
        if predictor_type == "multiclass_classifier" and hps.get("num_classes") is None:
            raise ValidationError(
                "hyperparameters['num_classes']",
                None,
                SCHEMA["num_classes"].allowed,
                hint="predictor_type='multiclass_classifier' needs it.",
            )
        loss = hps["loss"]
        if loss != AUTO and loss not in _LOSSES_FOR[predictor_type]:
            raise ValidationError(
                "hyperparameters['loss']",
                loss,
                f"one of auto, {', '.join(_LOSSES_FOR[predictor_type])} "
                f"for predictor_type={predictor_type!r}",
            )
        _positive_weight_spec(hps["positive_example_weight_mult"])

    def problem_type(self, hps: dict[str, Any]) -> str:
        predictor_type = hps.get("predictor_type")
        if predictor_type not in _PROBLEM_TYPES:
            raise ValidationError(
                "hyperparameters['predictor_type']",
                predictor_type,
                SCHEMA["predictor_type"].allowed,
            )
        return _PROBLEM_TYPES[predictor_type]

    def check_labels(self, y: np.ndarray, hps: dict[str, Any], channel: str) -> None:
        field = f"channel {channel!r} labels"
        predictor_type = hps["predictor_type"]
        if predictor_type == "binary_classifier":
            bad = ~np.isin(y, (0.0, 1.0))
            if bad.any():
                raise ValidationError(
                    field, _examples(y[bad]), "0 or 1 for predictor_type='binary_classifier'"
                )
        elif predictor_type == "multiclass_classifier":
            k = hps["num_classes"]
            bad = ~np.isfinite(y) | (y != np.round(y)) | (y < 0) | (y >= k)
            if bad.any():
                raise ValidationError(
                    field, _examples(y[bad]), f"integers 0..{k - 1} (num_classes={k})"
                )
        elif not np.all(np.isfinite(y)):
            raise ValidationError(field, "missing or infinite values", "finite numeric labels")

    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        final = _FINAL_METRICS.get(hps.get("predictor_type", ""), ("objective_loss",))
        names = [("train", "objective_loss")]
        names += [(channel, metric) for channel in ("validation", "test") for metric in final]
        return [{"Name": f"{c}:{m}", "Regex": quality_metric_regex(c, m)} for c, m in names]

    def train(self, env: TrainingEnvironment, hps: dict[str, Any]) -> None:
        started = time.perf_counter()
        data = self._read(env, hps)
        train = data["train"]
        n_rows, n_features = train.X.shape
        rng = np.random.default_rng(_SEED)
        scaler = _fit_scaler(train.X, train.y, hps, rng)
        plan = _make_plan(hps, train.y, n_rows, scaler, rng)
        print(
            f"{_LOG} {plan.predictor_type}: {n_rows} rows x {n_features} features, "
            f"loss={plan.loss}, optimizer={plan.optimizer}, {plan.num_models} models, "
            f"up to {plan.epochs} epochs of mini-batches of {plan.batch_size}",
            flush=True,
        )
        normalised = {c: (scaler.features(d.X), scaler.labels(d.y)) for c, d in data.items()}
        trainer = _Trainer(plan, n_features, rng)
        fit = trainer.fit(normalised["train"], normalised.get("validation"))
        choice = _select(trainer, fit, plan, normalised, rng)
        model = _build_model(fit, choice, plan, scaler, train.feature_names, hps)
        print(
            f"{_LOG} chose model #{choice.index} of {plan.num_models} on {choice.selected_on} "
            f"({choice.criterion}={choice.value:.6g}): {_describe(plan, choice.index)}"
            + (f", threshold={choice.threshold:.6g}" if choice.threshold is not None else ""),
            flush=True,
        )
        for channel in ("validation", "test"):
            if channel in data:
                metrics = _channel_metrics(model, plan, choice.index, data[channel], hps)
                for metric, value in metrics.items():
                    print(quality_metric_line(channel, metric, value), flush=True)
        model.save(env.model_dir)
        print(f"{_LOG} done in {time.perf_counter() - started:.2f}s", flush=True)

    def load(self, model_dir: Path) -> LinearLearnerModel:
        return LinearLearnerModel.load(Path(model_dir))

    def _read(self, env: TrainingEnvironment, hps: dict[str, Any]) -> dict[str, LabeledData]:
        data: dict[str, LabeledData] = {}
        for channel in self.channels:
            if channel not in env.input_data_config:
                continue
            d = read_channel(env.channel_dir(channel), env.content_type(channel), channel=channel)
            self.check_labels(d.y, hps, channel)
            if not np.all(np.isfinite(d.X)):
                raise ValidationError(
                    f"channel {channel!r} features",
                    "missing or infinite values",
                    "finite numeric features (Linear Learner does not impute)",
                )
            data[channel] = d
        n_features = data["train"].X.shape[1]
        if hps["feature_dim"] != AUTO and hps["feature_dim"] != n_features:
            raise ValidationError(
                "hyperparameters['feature_dim']",
                hps["feature_dim"],
                f"{n_features}, the number of feature columns of channel 'train'",
                hint="Leave feature_dim out (auto) to take it from the data.",
            )
        for channel, d in data.items():
            if d.X.shape[1] != n_features:
                raise ValidationError(
                    f"channel {channel!r}", f"{d.X.shape[1]} features", f"{n_features} like 'train'"
                )
        return data


class LinearLearnerModel:
    """A trained linear model with SageMaker's Linear Learner output conventions."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.arrays = arrays
        self.meta = meta
        self.problem_type: str = meta["problem_type"]
        self.predictor_type: str = meta["predictor_type"]
        self.feature_names: list[str] | None = meta.get("feature_names")
        self.threshold: float | None = meta.get("threshold")
        self.weights = arrays["weights"]
        self.bias = arrays["bias"]

    @classmethod
    def load(cls, model_dir: Path) -> LinearLearnerModel:
        arrays, meta = load_arrays(model_dir, MODEL_FILE, META_FILE, MODEL_FORMAT)
        return cls(arrays, meta)

    def save(self, model_dir: Path) -> None:
        """Write ``linear-learner-model.npz`` and ``linear-learner-model.json``."""
        save_arrays(model_dir, MODEL_FILE, META_FILE, self.arrays, self.meta)

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Linear outputs ``(n, k)`` in training units (normalised label for regressors)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if X.ndim != 2 or X.shape[1] != self.weights.shape[0]:
            raise ValidationError(
                "X", f"shape {X.shape}", f"{self.weights.shape[0]} feature columns"
            )
        Xn = (X - self.arrays["feature_shift"]) / self.arrays["feature_scale"]
        return Xn @ self.weights + self.bias

    def score(self, X: np.ndarray) -> np.ndarray:
        """SageMaker's ``score``: P(class 1), class probabilities, or the predicted value."""
        raw = self.raw(X)
        if self.predictor_type == "binary_classifier":
            return _sigmoid(raw[:, 0])
        if self.predictor_type == "multiclass_classifier":
            return _softmax(raw)
        return raw[:, 0] * float(self.arrays["label_scale"]) + float(self.arrays["label_shift"])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """0/1 labels (tuned threshold), class indices, or values, shape ``(n,)``."""
        score = self.score(X)
        if self.predictor_type == "binary_classifier":
            return (score >= self.threshold).astype(np.int64)
        if self.predictor_type == "multiclass_classifier":
            return np.argmax(score, axis=1).astype(np.int64)
        return score

    def response_columns(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """SageMaker Linear Learner's endpoint answer, as columns: ``score`` (+ ``predicted_label``)."""
        score = self.score(X)
        if self.predictor_type == "regressor":
            return {"score": score}
        if self.predictor_type == "binary_classifier":
            labels = (score >= self.threshold).astype(np.int64)
        else:
            labels = np.argmax(score, axis=1).astype(np.int64)
        return {"score": score, "predicted_label": labels}

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_classes)``; classifiers only."""
        if self.predictor_type == "regressor":
            raise AttributeError(
                "predict_proba is not available for a Linear Learner regressor; "
                "use predict (or score) for its values."
            )
        score = self.score(X)
        if self.predictor_type == "binary_classifier":
            return np.column_stack([1.0 - score, score])
        return score


# --- hyperparameter resolution -------------------------------------------------------------


@dataclass(frozen=True)
class _LossParams:
    margin: float
    quantile: float
    eps: float
    delta: float


@dataclass
class _Scaler:
    """Feature and label normalisation, fitted on a sample of the training rows."""

    shift: np.ndarray
    scale: np.ndarray
    label_shift: float
    label_scale: float
    settings: dict[str, bool]

    def features(self, X: np.ndarray) -> np.ndarray:
        return (X - self.shift) / self.scale

    def labels(self, y: np.ndarray) -> np.ndarray:
        return (y - self.label_shift) / self.label_scale


@dataclass
class _Plan:
    """Resolved hyperparameters; per-model values are arrays of shape ``(num_models,)``."""

    predictor_type: str
    loss: str
    k: int
    num_models: int
    optimizer: str
    lr: np.ndarray
    wd: np.ndarray
    l1: np.ndarray
    positive_weight: np.ndarray
    accuracy_weight: np.ndarray  # weight of positives when thresholds are chosen by accuracy
    class_weight: np.ndarray | None
    momentum: float
    beta_1: float
    beta_2: float
    bias_lr_mult: float
    bias_wd_mult: float
    use_bias: bool
    epochs: int
    batch_size: int
    patience: int
    tolerance: float
    lr_step: int
    lr_factor: float
    lr_min: float
    init_method: str
    init_scale: float
    init_sigma: float
    init_bias: float
    loss_params: _LossParams
    loss_scale: float
    criterion: str
    f_beta: float
    target_recall: float
    target_precision: float
    calibration_rows: int


def _positive_weight_spec(value: Any) -> float | str:
    """``positive_example_weight_mult`` as a float > 0, ``"balanced"`` or ``"auto"``."""
    text = str(value).strip().lower()
    if text in (AUTO, "balanced"):
        return text
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not number > 0 or not np.isfinite(number):
        raise ValidationError(
            "hyperparameters['positive_example_weight_mult']",
            value,
            "a number > 0, 'balanced' or 'auto'",
        )
    return number


def _auto(hps: dict[str, Any], name: str, default: Any) -> Any:
    return default if hps[name] == AUTO else hps[name]


def _fit_scaler(X: np.ndarray, y: np.ndarray, hps: dict[str, Any], rng: Any) -> _Scaler:
    n, d = X.shape
    size = min(n, hps["num_point_for_scaler"])
    rows = rng.choice(n, size=size, replace=False) if size < n else slice(None)
    sample, labels = X[rows], y[rows]
    unbias = _auto(hps, "unbias_data", hps["normalize_data"] and hps["use_bias"])
    shift = sample.mean(axis=0) if unbias else np.zeros(d)
    scale = _safe_std(sample) if hps["normalize_data"] else np.ones(d)
    regressor = hps["predictor_type"] == "regressor"
    unbias_label = regressor and _auto(hps, "unbias_label", hps["use_bias"])
    normalize_label = regressor and _auto(hps, "normalize_label", True)
    label_shift = float(labels.mean()) if unbias_label else 0.0
    label_scale = float(_safe_std(labels[:, None])[0]) if normalize_label else 1.0
    settings = {
        "normalize_data": bool(hps["normalize_data"]),
        "unbias_data": bool(unbias),
        "normalize_label": bool(normalize_label),
        "unbias_label": bool(unbias_label),
    }
    return _Scaler(shift, scale, label_shift, label_scale, settings)


def _safe_std(a: np.ndarray) -> np.ndarray:
    std = a.std(axis=0)
    return np.where(std > 1e-12, std, 1.0)


def _make_plan(hps: dict[str, Any], y: np.ndarray, n_rows: int, scaler: _Scaler, rng: Any) -> _Plan:
    predictor_type = hps["predictor_type"]
    loss = _auto(hps, "loss", _DEFAULT_LOSS[predictor_type])
    optimizer = _auto(hps, "optimizer", "adam")
    weight_spec = _positive_weight_spec(hps["positive_example_weight_mult"])
    searched = [hps[n] == AUTO for n in ("learning_rate", "wd", "l1")]
    searched.append(predictor_type == "binary_classifier" and weight_spec == AUTO)
    m = _auto(hps, "num_models", _AUTO_NUM_MODELS if any(searched) else 1)
    batch_size = min(hps["mini_batch_size"], n_rows)
    batches = -(-n_rows // batch_size)
    lr_step = _auto(hps, "lr_scheduler_step", max(1, batches // 10))
    if not hps["use_lr_scheduler"]:
        lr_step = 0
    s = scaler.label_scale
    positive_weight = _positive_weights(weight_spec, y, m, rng, predictor_type)
    multiclass = predictor_type == "multiclass_classifier"
    criterion = "loss_function"
    if predictor_type == "binary_classifier":
        criterion = hps["binary_classifier_model_selection_criteria"]
    balance = multiclass and hps["balance_multiclass_weights"]
    class_weight = _class_weights(y, hps["num_classes"]) if balance else None
    return _Plan(
        predictor_type=predictor_type,
        loss=loss,
        k=hps["num_classes"] if multiclass else 1,
        num_models=m,
        optimizer=optimizer,
        lr=_spread(hps["learning_rate"], _DEFAULT_LR[optimizer], m, rng),
        wd=_penalty_spread(hps["wd"], m, rng, low=-7.0, high=-2.0, zero_share=0.25),
        l1=_penalty_spread(hps["l1"], m, rng, low=-7.0, high=-3.0, zero_share=0.5),
        positive_weight=positive_weight,
        # With auto, models try different weights and the plain accuracy judges them.
        accuracy_weight=np.ones(m) if weight_spec == AUTO else positive_weight,
        class_weight=class_weight,
        momentum=_auto(hps, "momentum", _AUTO["momentum"]),
        beta_1=_auto(hps, "beta_1", _AUTO["beta_1"]),
        beta_2=_auto(hps, "beta_2", _AUTO["beta_2"]),
        bias_lr_mult=_auto(hps, "bias_lr_mult", _AUTO["bias_lr_mult"]),
        bias_wd_mult=_auto(hps, "bias_wd_mult", _AUTO["bias_wd_mult"]),
        use_bias=hps["use_bias"],
        epochs=hps["epochs"],
        batch_size=batch_size,
        patience=hps["early_stopping_patience"],
        tolerance=hps["early_stopping_tolerance"],
        lr_step=lr_step,
        lr_factor=_auto(hps, "lr_scheduler_factor", _AUTO["lr_scheduler_factor"]),
        lr_min=_auto(hps, "lr_scheduler_minimum_lr", _AUTO["lr_scheduler_minimum_lr"]),
        init_method=hps["init_method"],
        init_scale=hps["init_scale"],
        init_sigma=hps["init_sigma"],
        init_bias=hps["init_bias"],
        # Trained on normalised labels: the label-unit eps and delta shrink with them.
        loss_params=_LossParams(
            hps["margin"], hps["quantile"], hps["loss_insensitivity"] / s, hps["huber_delta"] / s
        ),
        loss_scale=s ** _LOSS_POWER.get(loss, 1),
        criterion=criterion,
        f_beta=hps["f_beta"],
        target_recall=hps["target_recall"],
        target_precision=hps["target_precision"],
        calibration_rows=min(hps["num_calibration_samples"], _MAX_CALIBRATION_ROWS),
    )


def _spread(value: Any, center: float, m: int, rng: Any) -> np.ndarray:
    """``value`` for every model; if auto, ``center`` for model 0, log-uniform around it."""
    if value != AUTO:
        return np.full(m, float(value))
    out = center * 10.0 ** rng.uniform(-1.0, 1.0, m)
    out[0] = center
    return out


def _penalty_spread(
    value: Any, m: int, rng: Any, *, low: float, high: float, zero_share: float
) -> np.ndarray:
    """``value`` for every model; if auto, 0 for model 0 and a share, else log-uniform."""
    if value != AUTO:
        return np.full(m, float(value))
    out = 10.0 ** rng.uniform(low, high, m)
    out[rng.random(m) < zero_share] = 0.0
    out[0] = 0.0
    return out


def _positive_weights(
    spec: float | str, y: np.ndarray, m: int, rng: Any, predictor_type: str
) -> np.ndarray:
    if predictor_type != "binary_classifier":
        return np.ones(m)
    positives = float(np.sum(y == 1))
    balanced = (len(y) - positives) / max(positives, 1.0)
    if spec == "balanced":
        return np.full(m, balanced)
    if spec == AUTO:
        out = balanced ** rng.uniform(0.0, 1.0, m)
        out[0] = 1.0
        return out
    return np.full(m, float(spec))


def _class_weights(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Weights that give every class present the same total weight."""
    counts = np.bincount(y.astype(np.intp), minlength=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = len(y) / (present.sum() * counts[present])
    return weights


def _describe(plan: _Plan, m: int) -> str:
    parts = [f"learning_rate={plan.lr[m]:.4g}", f"wd={plan.wd[m]:.3g}", f"l1={plan.l1[m]:.3g}"]
    if plan.predictor_type == "binary_classifier":
        parts.append(f"positive_example_weight_mult={plan.positive_weight[m]:.4g}")
    return ", ".join(parts)


# --- losses ------------------------------------------------------------------------------
# Each takes raw outputs z ((n, M), or (n, M, k) for softmax) and labels y (n,) and
# returns the per-example loss (n, M) and its gradient with respect to z.


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))  # never overflows
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _logistic(z: np.ndarray, y: np.ndarray, p: _LossParams) -> tuple[np.ndarray, np.ndarray]:
    yy = y[:, None]
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)  # exp(-|z|): one exp for both the stable log(1 + e^z) and the sigmoid
    one_plus = e + 1.0
    loss = np.log(one_plus)
    loss += np.maximum(z, 0.0)
    loss -= yy * z
    grad = np.where(z >= 0, 1.0, e)
    grad /= one_plus
    grad -= yy
    return loss, grad


def _hinge(z: np.ndarray, y: np.ndarray, p: _LossParams) -> tuple[np.ndarray, np.ndarray]:
    sign = (2.0 * y - 1.0)[:, None]
    gap = p.margin - sign * z
    return np.maximum(gap, 0.0), np.where(gap > 0, -sign, 0.0)


def _softmax_loss(z: np.ndarray, y: np.ndarray, p: _LossParams) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = np.arange(z.shape[0]), y.astype(np.intp)
    top = _class_max(z)
    e = np.exp(z - top[..., None])
    total = np.einsum("nmk->nm", e)  # much faster than e.sum(axis=2) for few classes
    loss = np.log(total) + top - z[rows, :, labels]
    grad = e / total[..., None]
    grad[rows, :, labels] -= 1.0
    return loss, grad


def _class_max(z: np.ndarray) -> np.ndarray:
    """``z.max(axis=2)``; numpy reduces a short last axis slowly, so loop over few classes."""
    if z.shape[2] > 8:
        return z.max(axis=2)
    top = z[..., 0].copy()
    for j in range(1, z.shape[2]):
        np.maximum(top, z[..., j], out=top)
    return top


def _squared(z: np.ndarray, y: np.ndarray, p: _LossParams) -> tuple[np.ndarray, np.ndarray]:
    r = y[:, None] - z
    return r * r, -2.0 * r


def _absolute(z: np.ndarray, y: np.ndarray, p: _LossParams) -> tuple[np.ndarray, np.ndarray]:
    r = y[:, None] - z
    return np.abs(r), -np.sign(r)


def _eps_squared(z: np.ndarray, y: np.ndarray, p: _LossParams) -> tuple[np.ndarray, np.ndarray]:
    r = y[:, None] - z
    excess = np.maximum(np.abs(r) - p.eps, 0.0)
    return excess * excess, -2.0 * np.sign(r) * excess


def _eps_absolute(z: np.ndarray, y: np.ndarray, p: _LossParams) -> tuple[np.ndarray, np.ndarray]:
    r = y[:, None] - z
    excess = np.maximum(np.abs(r) - p.eps, 0.0)
    return excess, -np.sign(r) * (excess > 0)


def _quantile(z: np.ndarray, y: np.ndarray, p: _LossParams) -> tuple[np.ndarray, np.ndarray]:
    r = y[:, None] - z
    tau = p.quantile
    return np.maximum(tau * r, (tau - 1.0) * r), np.where(r > 0, -tau, 1.0 - tau)


def _huber(z: np.ndarray, y: np.ndarray, p: _LossParams) -> tuple[np.ndarray, np.ndarray]:
    r = y[:, None] - z
    a, d = np.abs(r), p.delta
    return np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d)), -np.clip(r, -d, d)


_LOSS_FUNCTIONS = {
    "logistic": _logistic,
    "hinge_loss": _hinge,
    "softmax_loss": _softmax_loss,
    "squared_loss": _squared,
    "absolute_loss": _absolute,
    "eps_insensitive_squared_loss": _eps_squared,
    "eps_insensitive_absolute_loss": _eps_absolute,
    "quantile_loss": _quantile,
    "huber_loss": _huber,
}


# --- training ----------------------------------------------------------------------------


class _Optimizer:
    """sgd (with momentum), adam or rmsprop; learning rates broadcast over the model axis."""

    def __init__(self, plan: _Plan) -> None:
        self.kind = plan.optimizer
        self.momentum, self.beta_1, self.beta_2 = plan.momentum, plan.beta_1, plan.beta_2
        self.state: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.t = 0

    def step(
        self, params: list[np.ndarray], grads: list[np.ndarray], lrs: list[np.ndarray]
    ) -> None:
        self.t += 1
        for i, (param, grad, lr) in enumerate(zip(params, grads, lrs)):
            if i not in self.state:
                self.state[i] = (np.zeros_like(param), np.zeros_like(param))
            first, second = self.state[i]
            if self.kind == "sgd":
                first *= self.momentum
                first -= lr * grad
                param += first
            elif self.kind == "rmsprop":
                second *= _RMSPROP_DECAY
                second += (1.0 - _RMSPROP_DECAY) * grad * grad
                param -= lr * grad / (np.sqrt(second) + _OPT_EPS)
            else:
                first *= self.beta_1
                first += (1.0 - self.beta_1) * grad
                second *= self.beta_2
                second += (1.0 - self.beta_2) * grad * grad
                m_hat = first / (1.0 - self.beta_1**self.t)
                v_hat = second / (1.0 - self.beta_2**self.t)
                param -= lr * m_hat / (np.sqrt(v_hat) + _OPT_EPS)

    def reset(self, models: np.ndarray) -> None:
        """Forget the moments of ``models`` (a boolean mask over the model axis)."""
        for first, second in self.state.values():
            first[models], second[models] = 0.0, 0.0


@dataclass
class _Fit:
    weights: np.ndarray  # (M, d, k): each model's parameters at its best epoch
    bias: np.ndarray  # (M, k)
    alive: np.ndarray  # (M,) False for models that diverged
    epochs: int


def _example_weights(plan: _Plan, y: np.ndarray) -> np.ndarray:
    """Example weights, ``(n, M)`` or ``(n, 1)`` to broadcast over the models."""
    if plan.predictor_type == "binary_classifier" and np.any(plan.positive_weight != 1.0):
        return np.where(y[:, None] == 1, plan.positive_weight[None, :], 1.0)
    if plan.class_weight is not None:
        return plan.class_weight[y.astype(np.intp)][:, None]
    return np.ones((y.shape[0], 1))


class _Trainer:
    """Mini-batch training of all models at once.

    Weights have shape ``(models, features, outputs)``; one matrix product of a mini-batch
    with all models' weights side by side scores every model.
    """

    def __init__(self, plan: _Plan, d: int, rng: Any) -> None:
        self.plan = plan
        self.rng = rng
        m, k = plan.num_models, plan.k
        if plan.init_method == "normal":
            self.W = rng.normal(0.0, plan.init_sigma, (m, d, k))
        else:
            self.W = rng.uniform(-plan.init_scale, plan.init_scale, (m, d, k))
        self.B = np.full((m, k), plan.init_bias if plan.use_bias else 0.0)
        self.loss_fn = _LOSS_FUNCTIONS[plan.loss]
        self.optimizer = _Optimizer(plan)
        self.alive = np.ones(m, dtype=bool)
        self.steps = 0

    def fit(self, train: tuple[np.ndarray, np.ndarray], validation: tuple | None) -> _Fit:
        plan = self.plan
        best_loss = np.full(plan.num_models, np.inf)
        best_W, best_B = self.W.copy(), self.B.copy()
        stale, epoch = 0, -1
        for epoch in range(plan.epochs):
            started = time.perf_counter()
            train_loss = self._epoch(*train)
            monitor = train_loss if validation is None else self.losses(*validation)
            monitor = np.where(self.alive, monitor, np.inf)
            if not np.isfinite(monitor).any():
                raise ValidationError(
                    "hyperparameters['learning_rate']",
                    "every model diverged",
                    "a smaller learning_rate (or normalize_data=true)",
                )
            with np.errstate(invalid="ignore"):  # inf - inf before a model's first epoch
                progress = np.isinf(best_loss) | (
                    best_loss - monitor > plan.tolerance * np.abs(best_loss)
                )
            improved = monitor < best_loss
            best_loss[improved] = monitor[improved]
            best_W[improved], best_B[improved] = self.W[improved], self.B[improved]
            self._report(epoch, train_loss, monitor, validation is not None, started)
            # Stop when no model is still getting better: fast learners plateau early
            # while slower ones may still overtake them.
            stale = 0 if (progress & self.alive).any() else stale + 1
            if stale >= plan.patience:
                print(
                    f"{_LOG} early stopping after epoch {epoch}: no model improved its loss "
                    f"by more than {plan.tolerance:g} (relative) for {plan.patience} epochs",
                    flush=True,
                )
                break
        return _Fit(best_W, best_B, self.alive.copy(), epoch + 1)

    def _report(
        self, epoch: int, train: np.ndarray, monitor: np.ndarray, has_val: bool, started: float
    ) -> None:
        best = int(np.argmin(monitor))
        scale = self.plan.loss_scale
        line = quality_metric_line("train", "objective_loss", train[best] * scale, epoch)
        print(line, flush=True)
        if has_val:
            print(
                quality_metric_line("validation", "objective_loss", monitor[best] * scale, epoch),
                flush=True,
            )
        print(
            f"{_LOG} epoch {epoch}: best model #{best} {'validation' if has_val else 'train'} "
            f"loss {monitor[best] * scale:.6g}, {int(self.alive.sum())}/{len(self.alive)} models "
            f"alive, {time.perf_counter() - started:.3f}s",
            flush=True,
        )

    def _epoch(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        order = self.rng.permutation(X.shape[0])
        X, y = X[order], y[order]
        total = np.zeros(self.plan.num_models)
        weight = np.zeros(self.plan.num_models)
        b = self.plan.batch_size
        with np.errstate(all="ignore"):
            for start in range(0, X.shape[0], b):
                loss, sw = self._step(X[start : start + b], y[start : start + b])
                total += (loss * sw).sum(axis=0)
                weight += sw.sum(axis=0)
        self._bury_diverged(total)
        return np.where(self.alive, total / weight, np.inf)

    def _step(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        plan, (m, d, k) = self.plan, self.W.shape
        n = X.shape[0]
        loss, grad = self._loss(self._raw(X, self.W, self.B), y)
        sw = _example_weights(plan, y)
        grad *= (sw / n)[..., None]
        grad_w = (X.T @ grad.reshape(n, m * k)).reshape(d, m, k).transpose(1, 0, 2)
        grad_w = grad_w + plan.wd[:, None, None] * self.W
        lr = self._learning_rates()
        params, grads, lrs = [self.W], [grad_w], [lr[:, None, None]]
        if plan.use_bias:
            params.append(self.B)
            grads.append(grad.sum(axis=0) + (plan.wd * plan.bias_wd_mult)[:, None] * self.B)
            lrs.append((lr * plan.bias_lr_mult)[:, None])
        self.optimizer.step(params, grads, lrs)
        if plan.l1.any():  # proximal step: soft-threshold the weights (never the bias)
            shrink = (lr * plan.l1)[:, None, None]
            self.W = np.sign(self.W) * np.maximum(np.abs(self.W) - shrink, 0.0)
        self.steps += 1
        return loss, sw

    def _learning_rates(self) -> np.ndarray:
        plan = self.plan
        lr = plan.lr
        if plan.lr_step:
            decayed = lr * plan.lr_factor ** (self.steps // plan.lr_step)
            lr = np.maximum(decayed, np.minimum(plan.lr_min, lr))
        return lr * self.alive

    def _bury_diverged(self, total: np.ndarray) -> None:
        """Freeze models whose parameters or loss stopped being finite."""
        finite = np.isfinite(self.W).all(axis=(1, 2)) & np.isfinite(self.B).all(axis=1)
        dead = self.alive & ~(finite & np.isfinite(total))
        if dead.any():
            self.alive &= ~dead
            self.W[dead], self.B[dead] = 0.0, 0.0
            self.optimizer.reset(dead)
            print(f"{_LOG} {int(dead.sum())} model(s) diverged and were dropped", flush=True)

    @staticmethod
    def _raw(X: np.ndarray, W: np.ndarray, B: np.ndarray) -> np.ndarray:
        m, d, k = W.shape
        side_by_side = W.transpose(1, 0, 2).reshape(d, m * k)  # a (d, M*k) copy
        return (X @ side_by_side).reshape(X.shape[0], m, k) + B

    def _loss(self, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.plan.k > 1:
            return self.loss_fn(z, y, self.plan.loss_params)
        loss, grad = self.loss_fn(z[..., 0], y, self.plan.loss_params)
        return loss, grad[..., None]

    def outputs(
        self, X: np.ndarray, W: np.ndarray, B: np.ndarray
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(rows, raw outputs (rows, M, k))`` in chunks that fit in memory."""
        rows = max(1, _EVAL_CELLS // (W.shape[0] * W.shape[2]))
        for start in range(0, X.shape[0], rows):
            yield slice(start, start + rows), self._raw(X[start : start + rows], W, B)

    def losses(
        self, X: np.ndarray, y: np.ndarray, W: np.ndarray | None = None, B: np.ndarray | None = None
    ) -> np.ndarray:
        """Weighted mean loss of every model (training units), inf for diverged models."""
        W = self.W if W is None else W
        B = self.B if B is None else B
        total = np.zeros(W.shape[0])
        weight = np.zeros(W.shape[0])
        with np.errstate(all="ignore"):
            for rows, z in self.outputs(X, W, B):
                loss, _ = self._loss(z, y[rows])
                sw = _example_weights(self.plan, y[rows])
                total += (loss * sw).sum(axis=0)
                weight += sw.sum(axis=0)
        out = total / weight
        return np.where(self.alive & np.isfinite(out), out, np.inf)


# --- model selection ---------------------------------------------------------------------


@dataclass
class _Choice:
    index: int
    criterion: str
    value: float
    threshold: float | None
    selected_on: str


def _select(trainer: _Trainer, fit: _Fit, plan: _Plan, data: dict[str, tuple], rng: Any) -> _Choice:
    """Pick the best model on validation (else train), and a binary threshold."""
    selected_on = "validation" if "validation" in data else "train"
    X, y = data[selected_on]
    if X.shape[0] > plan.calibration_rows:
        rows = np.sort(rng.choice(X.shape[0], size=plan.calibration_rows, replace=False))
        X, y = X[rows], y[rows]
    losses = np.where(fit.alive, trainer.losses(X, y, fit.weights, fit.bias), np.inf)
    binary = plan.predictor_type == "binary_classifier"
    if not binary or plan.criterion in ("loss_function", "cross_entropy_loss"):
        m = int(np.argmin(losses))
        loss = float(losses[m] * plan.loss_scale)
        choice = _Choice(m, "objective_loss", loss, 0.5 if binary else None, selected_on)
    else:
        choice = _select_binary(trainer, fit, plan, X, y, losses, selected_on)
    zero = trainer.losses(X, y, np.zeros_like(fit.weights), np.zeros_like(fit.bias))
    if losses[choice.index] > zero[choice.index]:
        print(
            f"{_LOG} warning: the chosen model does worse on {selected_on} than all-zero weights; "
            "training probably diverged (try a smaller learning_rate or normalize_data=true)",
            flush=True,
        )
    return choice


def _select_binary(
    trainer: _Trainer, fit: _Fit, plan: _Plan, X: np.ndarray, y: np.ndarray,
    losses: np.ndarray, selected_on: str,
) -> _Choice:  # fmt: skip
    """The model with the best selection criterion at its best decision threshold."""
    scores = np.empty((plan.num_models, X.shape[0]))
    with np.errstate(all="ignore"):
        for rows, z in trainer.outputs(X, fit.weights, fit.bias):
            scores[:, rows] = _sigmoid(z[..., 0]).T
    values, thresholds = _threshold_search(scores, y, plan)
    values = np.where(fit.alive, values, -np.inf)
    m = _best_within_noise(values, losses, X.shape[0])
    return _Choice(m, plan.criterion, float(values[m]), float(thresholds[m]), selected_on)


def _best_within_noise(values: np.ndarray, losses: np.ndarray, n: int) -> int:
    """The lowest-loss model among those within one standard error of the best criterion.

    A rate measured on n rows is noisy; among models it cannot tell apart, the (smoother)
    loss is the better judge.
    """
    best = float(values.max())
    rate = min(max(best, 0.0), 1.0)
    tolerance = np.sqrt(rate * (1.0 - rate) / max(n, 1))
    candidates = np.flatnonzero(values >= best - tolerance)
    return int(candidates[np.argmin(losses[candidates])])


def _threshold_search(
    scores: np.ndarray, y: np.ndarray, plan: _Plan
) -> tuple[np.ndarray, np.ndarray]:
    """Each model's best criterion value over all cut points of its scores, and the cut.

    Accuracy weighs positives by ``positive_example_weight_mult`` (unless auto) so that the
    threshold keeps the trade-off the weights asked for (balanced: balanced accuracy).
    """
    m, n = scores.shape
    values, thresholds = np.empty(m), np.empty(m)
    group = max(1, _EVAL_CELLS // (n + 1))
    for start in range(0, m, group):
        models = slice(start, start + group)
        values[models], thresholds[models] = _best_cuts(
            scores[models], y, plan, plan.accuracy_weight[models, None]
        )
    return values, thresholds


def _best_cuts(
    scores: np.ndarray, y: np.ndarray, plan: _Plan, accuracy_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    m, n = scores.shape
    order = np.argsort(-scores, axis=1, kind="stable")
    s = np.take_along_axis(scores, order, axis=1)
    positive = y[order] == 1
    tp = _cumulative(positive)  # (m, n + 1): cut j predicts the top j rows positive
    fp = _cumulative(~positive)
    value = _criterion_values(plan, tp, fp, accuracy_weight)
    distinct = np.ones((m, n + 1), dtype=bool)
    distinct[:, 1:-1] = s[:, :-1] > s[:, 1:]  # no cut between tied scores
    value = np.where(distinct, value, -np.inf)
    cut = np.argmax(value, axis=1)
    return value[np.arange(m), cut], _cut_thresholds(s, cut)


def _cumulative(a: np.ndarray) -> np.ndarray:
    out = np.zeros((a.shape[0], a.shape[1] + 1))
    np.cumsum(a, axis=1, out=out[:, 1:])
    return out


def _criterion_values(
    plan: _Plan, tp: np.ndarray, fp: np.ndarray, accuracy_weight: np.ndarray
) -> np.ndarray:
    P, N = tp[:, -1:], fp[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(P > 0, tp / np.maximum(P, 1.0), 0.0)
        if plan.criterion == "accuracy":
            w = accuracy_weight
            return (w * tp + N - fp) / np.maximum(w * P + N, 1e-300)
        if plan.criterion in ("f_beta", "f1"):
            b2 = 1.0 if plan.criterion == "f1" else plan.f_beta**2
            return np.nan_to_num((1 + b2) * tp / ((1 + b2) * tp + b2 * (P - tp) + fp))
    tol = 1e-12
    if plan.criterion == "precision_at_target_recall":
        # Cuts that miss the target rank below every cut that meets it.
        return np.where(recall >= plan.target_recall - tol, precision, recall - 2.0)
    return np.where(precision >= plan.target_precision - tol, recall, precision - 2.0)


def _cut_thresholds(s: np.ndarray, cut: np.ndarray) -> np.ndarray:
    m, n = s.shape
    rows = np.arange(m)
    upper = s[rows, np.maximum(cut - 1, 0)]  # lowest score predicted positive
    lower = s[rows, np.minimum(cut, n - 1)]  # highest score predicted negative
    middle = (upper + lower) / 2
    threshold = np.where(middle > lower, middle, upper)
    threshold = np.where(cut == 0, np.nextafter(s[:, 0], np.inf), threshold)
    return np.where(cut == n, s[:, -1], threshold)


def _build_model(
    fit: _Fit,
    choice: _Choice,
    plan: _Plan,
    scaler: _Scaler,
    feature_names: list[str],
    hps: dict[str, Any],
) -> LinearLearnerModel:
    m = choice.index
    arrays = {
        "weights": fit.weights[m].copy(),
        "bias": fit.bias[m].copy(),
        "feature_shift": scaler.shift,
        "feature_scale": scaler.scale,
        "label_shift": np.array(scaler.label_shift),
        "label_scale": np.array(scaler.label_scale),
    }
    classes = {"binary_classifier": [0, 1], "multiclass_classifier": list(range(plan.k))}
    meta = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "algorithm": LinearLearner.name,
        "predictor_type": plan.predictor_type,
        "problem_type": _PROBLEM_TYPES[plan.predictor_type],
        "loss": plan.loss,
        "classes": classes.get(plan.predictor_type),
        "threshold": choice.threshold,
        "feature_dim": int(fit.weights.shape[1]),
        "feature_names": list(feature_names),
        "normalization": scaler.settings,
        "epochs_trained": fit.epochs,
        "chosen_model": {
            "index": m,
            "num_models": plan.num_models,
            "selected_on": choice.selected_on,
            "criterion": choice.criterion,
            "value": choice.value,
            "optimizer": plan.optimizer,
            "learning_rate": float(plan.lr[m]),
            "wd": float(plan.wd[m]),
            "l1": float(plan.l1[m]),
            "positive_example_weight_mult": float(plan.positive_weight[m]),
        },
        "hyperparameters": dict(hps),
    }
    return LinearLearnerModel(arrays, meta)


# --- metrics -----------------------------------------------------------------------------


def _channel_metrics(
    model: LinearLearnerModel, plan: _Plan, m: int, data: LabeledData, hps: dict[str, Any]
) -> dict[str, float]:
    """SageMaker's end-of-training metrics of the chosen model on one channel."""
    y = data.y
    out = {"objective_loss": _objective_loss(model, plan, m, data)}
    if plan.predictor_type == "binary_classifier":
        score = model.score(data.X)
        out.update(_binary_metrics(y, score, score >= model.threshold, hps["f_beta"]))
    elif plan.predictor_type == "multiclass_classifier":
        out.update(_multiclass_metrics(y, model.score(data.X), hps))
    else:
        error = y - model.score(data.X)
        mse = float(np.mean(error * error))
        out.update(mse=mse, rmse=float(np.sqrt(mse)), absolute_loss=float(np.mean(np.abs(error))))
    return out


def _objective_loss(model: LinearLearnerModel, plan: _Plan, m: int, data: LabeledData) -> float:
    y = (data.y - float(model.arrays["label_shift"])) / float(model.arrays["label_scale"])
    raw = model.raw(data.X)[:, None, :]
    loss_fn = _LOSS_FUNCTIONS[plan.loss]
    with np.errstate(all="ignore"):
        if plan.k > 1:
            loss, _ = loss_fn(raw, y, plan.loss_params)
        else:
            loss, _ = loss_fn(raw[..., 0], y, plan.loss_params)
    weights = _example_weights(plan, data.y)
    weights = weights[:, m] if weights.shape[1] > 1 else weights[:, 0]
    return float(np.sum(loss[:, 0] * weights) / np.sum(weights) * plan.loss_scale)


def _binary_metrics(
    y: np.ndarray, score: np.ndarray, predicted: np.ndarray, beta: float
) -> dict[str, float]:
    positive = y == 1
    tp = float(np.sum(predicted & positive))
    fp = float(np.sum(predicted & ~positive))
    fn = float(np.sum(~predicted & positive))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "binary_classification_accuracy": float(np.mean(predicted == positive)),
        "precision": precision,
        "recall": recall,
        "binary_f_beta": _f_beta(precision, recall, beta),
        "roc_auc_score": _roc_auc(positive, score),
    }


def _f_beta(precision: Any, recall: Any, beta: float) -> Any:
    precision, recall = np.asarray(precision, dtype=np.float64), np.asarray(recall, np.float64)
    b2 = beta * beta
    denominator = b2 * precision + recall
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(denominator > 0, (1 + b2) * precision * recall / denominator, 0.0)
    return float(value) if np.ndim(value) == 0 else value


def _roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve from average ranks (ties count half)."""
    n_pos = float(positive.sum())
    n_neg = float(positive.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _multiclass_metrics(y: np.ndarray, prob: np.ndarray, hps: dict[str, Any]) -> dict[str, float]:
    k = prob.shape[1]
    labels = y.astype(np.intp)
    predicted = np.argmax(prob, axis=1)
    true_prob = prob[np.arange(len(labels)), labels]
    rank = (prob > true_prob[:, None]).sum(axis=1) + 1  # 1 = the true class scored highest
    correct = np.bincount(labels[predicted == labels], minlength=k).astype(np.float64)
    n_pred = np.bincount(predicted, minlength=k).astype(np.float64)
    n_true = np.bincount(labels, minlength=k).astype(np.float64)
    present = (n_pred + n_true) > 0
    precision = np.divide(correct, n_pred, out=np.zeros(k), where=n_pred > 0)
    recall = np.divide(correct, n_true, out=np.zeros(k), where=n_true > 0)
    return {
        "multiclass_accuracy": float(np.mean(predicted == labels)),
        "multiclass_top_k_accuracy": float(np.mean(rank <= min(hps["accuracy_top_k"], k))),
        "macro_precision": float(precision[present].mean()),
        "macro_recall": float(recall[present].mean()),
        "macro_f_beta": float(_f_beta(precision, recall, hps["f_beta"])[present].mean()),
        "dcg": float(np.mean(1.0 / np.log2(1.0 + rank))),
    }


def _examples(values: np.ndarray) -> list[float]:
    return sorted(set(values.tolist()))[:5]
