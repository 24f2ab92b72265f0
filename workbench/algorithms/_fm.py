"""SageMaker's built-in Factorization Machines, as an MXNet Gluon HybridBlock.

The model is the 2-way factorization machine (Rendle, ICDM 2010)::

    y = w0 + sum_i w_i x_i + 1/2 sum_f [(sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2]

with a global bias ``w0``, one linear weight per feature and ``num_factors`` latent factors
per feature, so every pair of features interacts through ``<v_i, v_j>``. The binary
classifier puts a sigmoid on ``y`` and learns with log loss, the regressor with squared
loss. Inputs are sparse: a row is a list of (key, value) pairs, e.g. one-hot user and item
ids (``feature_dim`` in the thousands, two non-zeros per row). Training never densifies the
data: each mini-batch becomes padded ``(keys, values)`` arrays and the weights are
looked up by key (``gluon.nn.Embedding`` with row-sparse gradients, so an update touches
only the rows of the batch, as MXNet's lazy Adam does). Inference needs no MXNet: the
stored weights are applied with scipy sparse products.

Hyperparameters, metrics and responses are SageMaker's: ``feature_dim``, ``num_factors`` and
``predictor_type`` are required; learning rate, weight decay and initialisation are set per
group (``bias_*``, ``linear_*``, ``factors_*``); ``test:rmse`` (regressor) or
``test:binary_classification_accuracy`` / ``test:binary_classification_cross_entropy`` /
``test:binary_f_beta`` (classifier; F1 at threshold 0.5) are the tuning metrics, printed
once at the end for the ``test`` channel. ``train:*`` (running values over each epoch) and
``validation:*`` (after each epoch) are printed per epoch as well. Endpoints answer
``{"predictions": [{"score": 3.2}]}`` or ``{"score": 0.4, "predicted_label": 0.0}`` (label 1
when the score is at least 0.5) and read SageMaker's sparse JSON requests
``{"instances": [{"data": {"features": {"keys": [..], "shape": [N], "values": [..]}}}]}``.

Deviations from SageMaker, and why:

- Training data: SageMaker reads RecordIO-protobuf only. workbench reads ``text/libsvm``
  (zero-based keys, as :func:`encode_one_hot` writes them), ``application/jsonlines``
  records in the protobuf's JSON shape (``{"features": {"keys": [..], "shape": [N],
  "values": [..]}, "label": 3.0}``) and dense CSV / Parquet / DataFrames. Endpoints also
  accept dense CSV rows (SageMaker's FM does not).
- The optimizer is MXNet's Adam with per-group learning rates and weight decay (SageMaker
  does not document its optimizer; ``eps``, ``clip_gradient`` and ``rescale_grad`` are MXNet
  optimizer parameters). Rows are shuffled every epoch with a fixed seed.
- Weight decay adds ``wd * w`` to the gradient of the mean loss of a mini-batch, for the
  rows the batch touches (MXNet's lazy update). With one-hot users and items each row is in
  few batches, so useful values are small: about 1e-4 to 1e-3.
- An ``*_init_method`` of ``uniform`` or ``constant`` needs its ``*_init_scale`` or
  ``*_init_value`` (SageMaker lists no default for them).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.algorithms._artifacts import load_arrays, save_arrays
from workbench.algorithms._base import Algorithm, quality_metric_line, quality_metric_regex
from workbench.algorithms._data import (
    FRAME_CONTENT_TYPE,
    channel_files,
    parse_content_type,
    read_channel,
)
from workbench.algorithms._mxnet import device, import_mxnet
from workbench.algorithms._schema import Hyperparameter, HyperparameterSchema
from workbench.exceptions import ValidationError

if TYPE_CHECKING:
    import pandas as pd

    from workbench.training._environment import TrainingEnvironment

__all__ = [
    "FactorizationMachines",
    "FactorizationMachinesModel",
    "OneHotEncoding",
    "encode_one_hot",
    "MODEL_FILE",
    "META_FILE",
]

MODEL_FILE = "factorization-machines-model.npz"
META_FILE = "factorization-machines-model.json"
MODEL_FORMAT = "workbench-factorization-machines"
MODEL_FORMAT_VERSION = 1

PREDICTOR_TYPES = ("binary_classifier", "regressor")
INIT_METHODS = ("normal", "uniform", "constant")
GROUPS = ("bias", "linear", "factors")
_PROBLEM_TYPES = {"binary_classifier": "binary_classification", "regressor": "regression"}
_METRICS = {
    "regressor": ("rmse",),
    "binary_classifier": (
        "binary_classification_accuracy",
        "binary_classification_cross_entropy",
        "binary_f_beta",
    ),
}
_LIBSVM = ("text/libsvm", "text/x-libsvm", "libsvm")
_JSONLINES = ("application/jsonlines", "application/jsonl", "application/x-jsonlines")
_SEED = 0
_EVAL_ROWS = 8192  # rows scored at once when evaluating a channel
# check_data reads sparse files up to this size in the kernel (LibSVM parses in C, JSON in Python)
_SCAN_BYTES = {"libsvm": 64 << 20, "jsonlines": 8 << 20}
_LOG = "[factorization-machines]"


def _h(name: str, kind: str, default: Any, doc: str, **options: Any) -> Hyperparameter:
    """A hyperparameter; only those SageMaker lets automatic model tuning change are tunable."""
    options.setdefault("tunable", False)
    return Hyperparameter(name, kind, default, doc, **options)


def _init_params(group: str, what: str, sigma: float) -> tuple[Hyperparameter, ...]:
    return (
        _h(f"{group}_init_method", "str", "normal",
           f"Initialisation of the {what}: normal (standard deviation {group}_init_sigma), "
           f"uniform (in [-{group}_init_scale, {group}_init_scale]) or constant "
           f"({group}_init_value).", choices=INIT_METHODS),
        _h(f"{group}_init_scale", "float", None,
           f"Range of the uniform initialisation of the {what}.", low=0, tunable=True),
        _h(f"{group}_init_sigma", "float", sigma,
           f"Standard deviation of the normal initialisation of the {what}.", low=0,
           tunable=True),
        _h(f"{group}_init_value", "float", None,
           f"Value of the constant initialisation of the {what}.", tunable=True),
    )  # fmt: skip


# fmt: off
SCHEMA = HyperparameterSchema((
    _h("feature_dim", "int", None, "Dimension of the input feature space (keys 0..feature_dim-1).",
       required=True, low=1),
    _h("num_factors", "int", None, "Dimensionality of the factorization (latent factors per "
       "feature); 64 is SageMaker's suggested start.", required=True, low=1),
    _h("predictor_type", "str", None, "binary_classifier or regressor.", required=True,
       choices=PREDICTOR_TYPES),
    _h("epochs", "int", 1, "Number of passes over the training data.", low=1, tunable=True),
    _h("mini_batch_size", "int", 1000, "Rows per mini-batch.", low=1, tunable=True),
    _h("clip_gradient", "float", None, "Clip gradients to [-clip_gradient, clip_gradient].",
       low=0, low_open=True),
    _h("eps", "float", None, "Adam's epsilon, to avoid division by 0 (MXNet default 1e-8).",
       low=0, low_open=True),
    _h("rescale_grad", "float", None, "Multiply gradients by this (default: 1 / batch rows).",
       low=0, low_open=True),
    _h("bias_lr", "float", 0.1, "Learning rate of the bias term.", low=0, tunable=True),
    _h("linear_lr", "float", 0.001, "Learning rate of the linear terms.", low=0, tunable=True),
    _h("factors_lr", "float", 0.0001, "Learning rate of the factorization terms.", low=0,
       tunable=True),
    _h("bias_wd", "float", 0.01, "Weight decay of the bias term.", low=0, tunable=True),
    _h("linear_wd", "float", 0.001, "Weight decay of the linear terms.", low=0, tunable=True),
    _h("factors_wd", "float", 0.00001, "Weight decay of the factorization terms.", low=0,
       tunable=True),
    *_init_params("bias", "bias term", 0.01),
    *_init_params("linear", "linear terms", 0.01),
    *_init_params("factors", "factorization terms", 0.001),
))
# fmt: on


class FactorizationMachines(Algorithm):
    """SageMaker's built-in Factorization Machines (``algorithm="factorization-machines"``).

    Example
    -------
    >>> from workbench.algorithms import get_algorithm
    >>> fm = get_algorithm("factorization-machines")
    >>> hps = fm.validate_hyperparameters(
    ...     {"feature_dim": 1500, "num_factors": 8, "predictor_type": "regressor"})
    >>> fm.problem_type(hps), [d["Name"] for d in fm.metric_definitions(hps)][-1]
    ('regression', 'test:rmse')
    """

    name = "factorization-machines"
    title = "Factorization Machines"
    description = (
        "Linear model plus pairwise feature interactions through latent factors, for sparse "
        "data such as click prediction and recommendation (SageMaker's Factorization Machines)."
    )
    hyperparameters = SCHEMA
    channels = ("train", "validation", "test")
    required_channels = ("train",)
    engine = "mxnet"
    content_types = (
        "text/libsvm",
        "application/jsonlines",
        "text/csv",
        "application/x-parquet",
        FRAME_CONTENT_TYPE,
    )
    preload = ("numpy", "pandas", "scipy.sparse", "mxnet")

    def check_hyperparameters(self, hps: dict[str, Any]) -> None:
        for group in GROUPS:
            method = hps[f"{group}_init_method"]
            needed = {"uniform": "scale", "constant": "value"}.get(method)
            name = f"{group}_init_{needed}"
            if needed and hps.get(name) is None:
                raise ValidationError(
                    f"hyperparameters[{name!r}]",
                    None,
                    SCHEMA[name].allowed,
                    hint=f"{group}_init_method={method!r} needs it.",
                )

    def check_inputs(self, hps: dict[str, Any], channels: list[str]) -> None:
        """A tuning objective such as ``test:rmse`` needs the channel it is measured on."""
        super().check_inputs(hps, channels)
        objective = str(hps.get("_tuning_objective_metric") or "")
        channel = objective.partition(":")[0]
        if channel in ("validation", "test") and channel not in channels:
            raise ValidationError(
                "inputs",
                channels,
                f"a {channel!r} channel for the objective metric {objective!r}",
            )

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
        _check_labels(np.asarray(y, dtype=np.float64), hps["predictor_type"], channel)

    def check_data(self, hps: dict[str, Any], channels: list[Any]) -> None:
        """Feature count (dense) or largest key (sparse files) against ``feature_dim``."""
        feature_dim = hps["feature_dim"]
        for chan in channels:
            if chan.matrix is not None:
                width = int(chan.matrix.shape[1]) - (1 if chan.target else 0)
                if width != feature_dim:
                    raise _feature_dim_error(feature_dim, f"{width} feature columns", chan.name)
                continue
            base, params = parse_content_type(chan.content_type)
            files = [f for f in chan.files if f.name != "schema.json"]
            if base in _LIBSVM + _JSONLINES:
                limit = _SCAN_BYTES["libsvm" if base in _LIBSVM else "jsonlines"]
                if files and sum(f.stat().st_size for f in files) <= limit:
                    _, y = _read_sparse(files, base, feature_dim, chan.name)
                    self.check_labels(y, hps, chan.name)
                continue
            width = None
            if base in ("text/csv", "text/x-csv") and files:
                width = _csv_width(chan.columns, params, files[0])
            elif base in ("application/x-parquet", "application/parquet") and chan.columns:
                width = len(chan.columns) - 1  # the target, named or first
            if width is not None and width != feature_dim:
                raise _feature_dim_error(feature_dim, f"{width} feature columns", chan.name)

    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        metrics = _METRICS.get(hps.get("predictor_type", ""), _METRICS["regressor"])
        return [
            {"Name": f"{c}:{m}", "Regex": quality_metric_regex(c, m)}
            for c in ("train", "validation", "test")
            for m in metrics
        ]

    def train(self, env: TrainingEnvironment, hps: dict[str, Any]) -> None:
        started = time.perf_counter()
        data = self._read(env, hps)
        X, y = data["train"]
        print(
            f"{_LOG} {hps['predictor_type']}: {X.shape[0]} rows, feature_dim={X.shape[1]}, "
            f"{X.nnz / max(X.shape[0], 1):.3g} non-zeros per row; num_factors="
            f"{hps['num_factors']}, {hps['epochs']} epoch(s) of mini-batches of "
            f"{hps['mini_batch_size']}",
            flush=True,
        )
        arrays = _fit(data, hps)
        model = FactorizationMachinesModel(arrays, _meta(hps, data.get("feature_names")))
        if "test" in data:
            X_test, y_test = data["test"]
            metrics = _metrics(hps["predictor_type"], y_test, model.raw(X_test))
            for metric, value in metrics.items():
                print(quality_metric_line("test", metric, value), flush=True)
        model.save(env.model_dir)
        print(f"{_LOG} done in {time.perf_counter() - started:.2f}s", flush=True)

    def load(self, model_dir: Path) -> FactorizationMachinesModel:
        return FactorizationMachinesModel.load(Path(model_dir))

    def _read(self, env: TrainingEnvironment, hps: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for channel in self.channels:
            if channel not in env.input_data_config:
                continue
            X, y, names = _read_channel(
                env.channel_dir(channel), env.content_type(channel), hps["feature_dim"], channel
            )
            self.check_labels(y, hps, channel)
            data[channel] = (X, y)
            if channel == "train":
                data["feature_names"] = names
        return data


# --- the trained model -----------------------------------------------------------------


class FactorizationMachinesModel:
    """A trained factorization machine; scores dense or scipy sparse rows without MXNet.

    Example
    -------
    >>> model = get_algorithm("factorization-machines").load(model_dir)  # doctest: +SKIP
    >>> model.predict_frame(encoding.transform(pairs))["score"][:3]      # doctest: +SKIP
    """

    request_content_types = ("application/json", "application/jsonlines")

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.arrays = arrays
        self.meta = meta
        self.predictor_type: str = meta["predictor_type"]
        self.problem_type: str = _PROBLEM_TYPES[self.predictor_type]
        self.feature_names: list[str] | None = meta.get("feature_names")
        self.feature_dim: int = int(meta["feature_dim"])
        self.bias = float(np.asarray(arrays["bias"]).reshape(-1)[0])
        self.linear = np.asarray(arrays["linear"], dtype=np.float32)
        self.factors = np.asarray(arrays["factors"], dtype=np.float32)
        self._factors_sq = self.factors * self.factors

    @classmethod
    def load(cls, model_dir: Path) -> FactorizationMachinesModel:
        arrays, meta = load_arrays(model_dir, MODEL_FILE, META_FILE, MODEL_FORMAT)
        return cls(arrays, meta)

    def save(self, model_dir: Path) -> None:
        """Write ``factorization-machines-model.npz`` (weights) and ``.json`` (description)."""
        save_arrays(model_dir, MODEL_FILE, META_FILE, self.arrays, self.meta)

    def raw(self, X: Any) -> np.ndarray:
        """``w0 + <w, x> + pairwise interactions`` for each row (logits for the classifier)."""
        X = self._rows(X)
        out = np.empty(X.shape[0])
        for start in range(0, X.shape[0], _EVAL_ROWS):
            part = X[start : start + _EVAL_ROWS]
            squared = part.multiply(part) if hasattr(part, "multiply") else part * part
            xv = np.asarray(part @ self.factors, dtype=np.float64)
            x2v2 = np.asarray(squared @ self._factors_sq, dtype=np.float64)
            linear = np.asarray(part @ self.linear, dtype=np.float64).reshape(-1)
            out[start : start + _EVAL_ROWS] = (
                self.bias + linear + 0.5 * (xv * xv - x2v2).sum(axis=1)
            )
        return out

    def score(self, X: Any) -> np.ndarray:
        """SageMaker's ``score``: P(label 1) for the classifier, the predicted value otherwise."""
        raw = self.raw(X)
        return _sigmoid(raw) if self.predictor_type == "binary_classifier" else raw

    def predict(self, X: Any) -> np.ndarray:
        """0/1 labels (score >= 0.5) or values, shape ``(n,)``."""
        score = self.score(X)
        if self.predictor_type == "binary_classifier":
            return (score >= 0.5).astype(np.int64)
        return score

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` probabilities of labels 0 and 1; binary classifier only."""
        if self.predictor_type != "binary_classifier":
            raise AttributeError(
                "predict_proba is not available for a Factorization Machines regressor; "
                "use predict (or score) for its values."
            )
        score = self.score(X)
        return np.column_stack([1.0 - score, score])

    def response_columns(self, inputs: Any) -> dict[str, np.ndarray]:
        """SageMaker's answer as columns: ``score`` (+ ``predicted_label``, 0.0 or 1.0)."""
        score = self.score(inputs)
        if self.predictor_type == "binary_classifier":
            return {"score": score, "predicted_label": (score >= 0.5).astype(np.float64)}
        return {"score": score}

    def predict_frame(self, inputs: Any) -> pd.DataFrame:
        """The answer as a DataFrame with SageMaker's response keys, one row per input row."""
        import pandas as pd

        index = inputs.index if isinstance(inputs, pd.DataFrame) else None
        return pd.DataFrame(self.response_columns(inputs), index=index)

    def decode_request(self, body: bytes | str, content_type: str) -> Any:
        """SageMaker's JSON / JSON Lines requests (sparse or dense) as a scipy CSR matrix."""
        media, _ = parse_content_type(content_type)
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else str(body)
        try:
            if media in _JSONLINES:
                items = [json.loads(line) for line in text.splitlines() if line.strip()]
            else:
                items = _json_instances(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ValidationError(media or "body", text[:80], f"valid JSON ({exc})") from None
        if not items:
            raise ValidationError("instances", items, "at least one instance")
        rows = [
            _features(item, self.feature_dim, f"instances[{i}]") for i, item in enumerate(items)
        ]
        return _csr(rows, self.feature_dim)

    def _rows(self, X: Any) -> Any:
        """``X`` as a float32 CSR matrix or float64 array with ``feature_dim`` columns."""
        if hasattr(X, "tocsr"):  # any scipy sparse matrix or array
            X = X.tocsr().astype(np.float32)
            width = X.shape[1]
            if not np.all(np.isfinite(X.data)):
                raise ValidationError("features", "missing or infinite values", "finite numbers")
        else:
            X = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X, dtype=np.float64)
            if X.ndim == 1:
                X = X.reshape(1, -1)
            width = X.shape[1] if X.ndim == 2 else None
            if width == self.feature_dim and not np.all(np.isfinite(X)):
                raise ValidationError("features", "missing or infinite values", "finite numbers")
        if width != self.feature_dim:
            raise _feature_dim_error(self.feature_dim, f"shape {tuple(X.shape)}", "inputs")
        return X


# --- training ----------------------------------------------------------------------------


def _fit(data: dict[str, Any], hps: dict[str, Any]) -> dict[str, np.ndarray]:
    """Train with MXNet Gluon; return the weights as numpy arrays."""
    mx = import_mxnet()
    from mxnet import autograd, gluon, nd

    mx.random.seed(_SEED)
    rng = np.random.default_rng(_SEED)
    ctx = device(mx)
    net = _network(hps)
    net.initialize(ctx=ctx)
    net.hybridize(static_alloc=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", _optimizer_params(hps), kvstore=None)
    X, y = data["train"]
    binary = hps["predictor_type"] == "binary_classifier"
    bce = gluon.loss.SigmoidBinaryCrossEntropyLoss(from_sigmoid=False)
    batch = hps["mini_batch_size"]
    fixed_scale = hps.get("rescale_grad") is not None
    for epoch in range(hps["epochs"]):
        order = rng.permutation(X.shape[0])
        raw_parts, label_parts = [], []
        for start in range(0, X.shape[0], batch):
            rows = order[start : start + batch]
            keys, values = _padded(X[rows], ctx)
            labels = nd.array(y[rows], ctx=ctx)
            with autograd.record():
                out = net(keys, values)
                loss = bce(out, labels) if binary else nd.square(out - labels)
            loss.backward()
            trainer.step(1 if fixed_scale else len(rows))
            raw_parts.append(out.asnumpy().astype(np.float64))
            label_parts.append(y[rows])
        raw = np.concatenate(raw_parts)
        if not np.all(np.isfinite(raw)):
            raise ValidationError(
                "hyperparameters",
                {f"{g}_lr": hps[f"{g}_lr"] for g in GROUPS},
                "learning rates at which training converges",
                hint=f"The model's outputs stopped being finite in epoch {epoch}; lower the "
                "learning rates or set clip_gradient.",
            )
        _print_metrics("train", hps, np.concatenate(label_parts), raw, epoch)
        if "validation" in data:
            X_val, y_val = data["validation"]
            _print_metrics("validation", hps, y_val, _net_raw(net, X_val, ctx), epoch)
    return {
        "bias": net.bias.data().asnumpy().astype(np.float64).reshape(1),
        "linear": net.linear.weight.data().asnumpy().reshape(-1).astype(np.float32),
        "factors": net.factors.weight.data().asnumpy().astype(np.float32),
    }


def _network(hps: dict[str, Any]) -> Any:
    """The FM as a Gluon HybridBlock over padded ``(keys, values)`` batches."""
    from mxnet import gluon

    class FMBlock(gluon.HybridBlock):
        def __init__(self, feature_dim: int, num_factors: int) -> None:
            super().__init__(prefix="fm_")
            with self.name_scope():
                self.bias = self.params.get("bias", shape=(1,), init=_initializer(hps, "bias"))
                self.linear = gluon.nn.Embedding(
                    feature_dim, 1, weight_initializer=_initializer(hps, "linear"),
                    sparse_grad=True,
                )  # fmt: skip
                self.factors = gluon.nn.Embedding(
                    feature_dim, num_factors, weight_initializer=_initializer(hps, "factors"),
                    sparse_grad=True,
                )  # fmt: skip

        def hybrid_forward(self, F: Any, keys: Any, values: Any, bias: Any) -> Any:  # noqa: N803
            linear = F.sum(F.squeeze(self.linear(keys), axis=2) * values, axis=1)
            xv = F.broadcast_mul(self.factors(keys), F.expand_dims(values, axis=2))
            pairs = F.square(F.sum(xv, axis=1)) - F.sum(F.square(xv), axis=1)
            return F.broadcast_add(linear + 0.5 * F.sum(pairs, axis=1), bias)

    net = FMBlock(hps["feature_dim"], hps["num_factors"])
    for group, param in (
        ("bias", net.bias),
        ("linear", net.linear.weight),
        ("factors", net.factors.weight),
    ):
        param.lr_mult = hps[f"{group}_lr"]
        param.wd_mult = hps[f"{group}_wd"]
    return net


def _initializer(hps: dict[str, Any], group: str) -> Any:
    mx = import_mxnet()

    method = hps[f"{group}_init_method"]
    if method == "uniform":
        return mx.init.Uniform(hps[f"{group}_init_scale"])
    if method == "constant":
        return mx.init.Constant(hps[f"{group}_init_value"])
    return mx.init.Normal(hps[f"{group}_init_sigma"])


def _optimizer_params(hps: dict[str, Any]) -> dict[str, float]:
    """Adam with rate 1 and weight decay 1: each parameter's lr_mult / wd_mult are its own."""
    params: dict[str, float] = {"learning_rate": 1.0, "wd": 1.0}
    if hps.get("clip_gradient") is not None:
        params["clip_gradient"] = hps["clip_gradient"]
    if hps.get("eps") is not None:
        params["epsilon"] = hps["eps"]
    if hps.get("rescale_grad") is not None:
        params["rescale_grad"] = hps["rescale_grad"]
    return params


def _padded(X: Any, ctx: Any) -> tuple[Any, Any]:
    """CSR rows as ``(keys, values)`` NDArrays of shape (rows, most non-zeros in a row)."""
    from mxnet import nd

    n = X.shape[0]
    lengths = np.diff(X.indptr)
    width = max(int(lengths.max(initial=0)), 1)
    rows = np.repeat(np.arange(n), lengths)
    slots = np.arange(X.nnz) - np.repeat(X.indptr[:-1], lengths)
    keys = np.zeros((n, width), dtype=np.int32)
    values = np.zeros((n, width), dtype=np.float32)
    keys[rows, slots] = X.indices
    values[rows, slots] = X.data
    return nd.array(keys, ctx=ctx, dtype=np.int32), nd.array(values, ctx=ctx)


def _net_raw(net: Any, X: Any, ctx: Any) -> np.ndarray:
    out = np.empty(X.shape[0])
    for start in range(0, X.shape[0], _EVAL_ROWS):
        keys, values = _padded(X[start : start + _EVAL_ROWS], ctx)
        out[start : start + _EVAL_ROWS] = net(keys, values).asnumpy()
    return out


def _meta(hps: dict[str, Any], feature_names: list[str] | None) -> dict[str, Any]:
    return {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "algorithm": FactorizationMachines.name,
        "predictor_type": hps["predictor_type"],
        "problem_type": _PROBLEM_TYPES[hps["predictor_type"]],
        "feature_dim": hps["feature_dim"],
        "num_factors": hps["num_factors"],
        "feature_names": feature_names,
        "threshold": 0.5 if hps["predictor_type"] == "binary_classifier" else None,
        "hyperparameters": {k: v for k, v in hps.items() if v is not None},
    }


# --- metrics -----------------------------------------------------------------------------


def _metrics(predictor_type: str, y: np.ndarray, raw: np.ndarray) -> dict[str, float]:
    """SageMaker's FM metrics from labels and raw outputs (logits for the classifier)."""
    if predictor_type == "regressor":
        return {"rmse": float(np.sqrt(np.mean((y - raw) ** 2)))}
    positive = y == 1
    predicted = raw >= 0.0  # score >= 0.5
    # log loss from logits, stable for large |raw|: log(1 + e^-z) for y=1, log(1 + e^z) for y=0
    cross_entropy = float(np.mean(np.logaddexp(0.0, np.where(positive, -raw, raw))))
    tp = float(np.sum(predicted & positive))
    fp = float(np.sum(predicted & ~positive))
    fn = float(np.sum(~predicted & positive))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {
        "binary_classification_accuracy": float(np.mean(predicted == positive)),
        "binary_classification_cross_entropy": cross_entropy,
        "binary_f_beta": f1,
    }


def _print_metrics(
    channel: str, hps: dict[str, Any], y: np.ndarray, raw: np.ndarray, epoch: int
) -> None:
    for metric, value in _metrics(hps["predictor_type"], y, raw).items():
        print(quality_metric_line(channel, metric, value, epoch=epoch), flush=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# --- reading data ------------------------------------------------------------------------


def _read_channel(
    path: Path, content_type: str | None, feature_dim: int, channel: str
) -> tuple[Any, np.ndarray, list[str] | None]:
    """A channel as (float32 CSR matrix with feature_dim columns, labels, dense names)."""
    import scipy.sparse as sp

    base, _ = parse_content_type(content_type)
    if base in _LIBSVM + _JSONLINES:
        files = channel_files(Path(path))
        if not files:
            raise ValidationError(f"channel {channel!r}", str(path), "a folder with data files")
        X, y = _read_sparse(files, base, feature_dim, channel)
        return X, y, None
    data = read_channel(path, content_type, channel=channel)
    if data.X.shape[1] != feature_dim:
        raise _feature_dim_error(feature_dim, f"{data.X.shape[1]} feature columns", channel)
    if not np.all(np.isfinite(data.X)):
        raise ValidationError(
            f"channel {channel!r} features", "missing or infinite values", "finite numbers"
        )
    assert data.y is not None
    return sp.csr_matrix(data.X, dtype=np.float32), data.y, data.feature_names


def _read_sparse(
    files: list[Path], base: str, feature_dim: int, channel: str
) -> tuple[Any, np.ndarray]:
    import scipy.sparse as sp

    if base in _LIBSVM:
        parts = [_read_libsvm(f, feature_dim, channel) for f in files]
    else:
        parts = [_read_jsonlines(f, feature_dim, channel) for f in files]
    X = sp.vstack([p[0] for p in parts], format="csr")
    y = np.concatenate([p[1] for p in parts])
    if X.shape[0] == 0:
        raise ValidationError(f"channel {channel!r}", [f.name for f in files], "at least one row")
    return X, y


def _read_libsvm(path: Path, feature_dim: int, channel: str) -> tuple[Any, np.ndarray]:
    """One LibSVM file, zero-based keys, without densifying."""
    import scipy.sparse as sp
    from sklearn.datasets import load_svmlight_file

    where = f"channel {channel!r} file {path.name}"
    if path.stat().st_size == 0:
        return sp.csr_matrix((0, feature_dim), dtype=np.float32), np.empty(0)
    try:
        X, y = load_svmlight_file(str(path), zero_based=True, dtype=np.float32)
    except (ValueError, RuntimeError) as exc:
        raise ValidationError(where, str(exc)[:120], "LibSVM lines 'label key:value ...'") from None
    X = X.tocsr()
    if X.nnz and int(X.indices.max()) >= feature_dim:
        raise _feature_dim_error(
            feature_dim,
            f"key {int(X.indices.max())}",
            channel,
            hint="LibSVM keys are zero-based: keys 0..feature_dim-1.",
        )
    X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], feature_dim))
    X.sum_duplicates()
    return X, np.asarray(y, dtype=np.float64)


def _read_jsonlines(path: Path, feature_dim: int, channel: str) -> tuple[Any, np.ndarray]:
    """SageMaker's records, one per line: ``{"features": {...}, "label": 3.0}``."""
    rows, labels = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"channel {channel!r} file {path.name} line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(where, line[:80], f"a JSON object ({exc})") from None
            if not isinstance(record, dict) or "label" not in record:
                raise ValidationError(
                    where, line[:80], 'a record {"features": {...}, "label": <number>}'
                )
            rows.append(_features(record, feature_dim, where))
            labels.append(_label(record["label"], where))
    return _csr(rows, feature_dim), np.asarray(labels, dtype=np.float64)


def _label(value: Any, where: str) -> float:
    """A label as a number, ``[number]`` or the record's ``{"values": [number]}``."""
    while isinstance(value, dict) and "values" in value:
        value = value["values"]
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{where} label", value, "a number")
    return float(value)


def _json_instances(obj: Any) -> list[Any]:
    if isinstance(obj, dict) and "instances" in obj:
        obj = obj["instances"]
    elif isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list):
        raise ValidationError("instances", obj, 'a list, as in {"instances": [...]}')
    if obj and all(isinstance(v, (int, float)) for v in obj):
        return [obj]  # a bare list of numbers is one dense row
    return obj


def _features(item: Any, feature_dim: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One instance (sparse or dense, in any of SageMaker's JSON shapes) as (keys, values)."""
    value = item
    if isinstance(value, dict) and "data" in value:
        value = value["data"]
    if isinstance(value, dict) and "features" in value:
        value = value["features"]
    while isinstance(value, dict) and "keys" not in value and isinstance(value.get("values"), dict):
        value = value["values"]
    if isinstance(value, dict) and "keys" in value:
        return _sparse_features(value, feature_dim, where)
    if isinstance(value, dict) and "values" in value:
        value = value["values"]
    if not isinstance(value, list):
        raise ValidationError(
            where,
            item if len(repr(item)) < 120 else repr(item)[:117] + "...",
            'features as {"keys": [..], "shape": [feature_dim], "values": [..]} or a list',
        )
    dense = _numbers(value, f"{where} features")
    if dense.size != feature_dim:
        raise _feature_dim_error(feature_dim, f"{dense.size} dense values", where)
    keys = np.flatnonzero(dense)
    return keys, dense[keys]


def _sparse_features(
    spec: dict[str, Any], feature_dim: int, where: str
) -> tuple[np.ndarray, np.ndarray]:
    shape = spec.get("shape")
    if shape is not None and list(np.ravel(shape)) != [feature_dim]:
        raise _feature_dim_error(feature_dim, f"shape {shape}", where)
    keys = _numbers(spec.get("keys", []), f"{where} keys")
    values = _numbers(spec.get("values", []), f"{where} values")
    if keys.size != values.size:
        raise ValidationError(
            f"{where} values", f"{values.size} values for {keys.size} keys", "one value per key"
        )
    if keys.size and (np.any(keys != np.round(keys)) or keys.min() < 0):
        raise ValidationError(f"{where} keys", keys.tolist()[:10], "integers >= 0")
    if keys.size and keys.max() >= feature_dim:
        raise _feature_dim_error(feature_dim, f"key {int(keys.max())}", where)
    return keys.astype(np.int64), values


def _numbers(values: Any, where: str) -> np.ndarray:
    if not isinstance(values, list) or any(
        isinstance(v, bool) or not isinstance(v, (int, float)) for v in values
    ):
        shown = values if len(repr(values)) < 120 else repr(values)[:117] + "..."
        raise ValidationError(where, shown, "a list of numbers")
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValidationError(where, "missing or infinite values", "finite numbers")
    return array


def _csr(rows: list[tuple[np.ndarray, np.ndarray]], feature_dim: int) -> Any:
    import scipy.sparse as sp

    lengths = np.array([len(k) for k, _ in rows], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    keys = np.concatenate([k for k, _ in rows]) if rows else np.empty(0)
    values = np.concatenate([v for _, v in rows]) if rows else np.empty(0)
    X = sp.csr_matrix(
        (values.astype(np.float32), keys.astype(np.int64), indptr), shape=(len(rows), feature_dim)
    )
    X.sum_duplicates()
    return X


def _csv_width(columns: list[str] | None, params: dict[str, str], first_file: Path) -> int | None:
    if columns and params.get("header") == "present":
        return len(columns) - 1
    with open(first_file, encoding="utf-8", errors="replace") as handle:
        first = handle.readline().strip()
    return len(first.split(",")) - int(params.get("label_size", "1")) if first else None


def _check_labels(y: np.ndarray, predictor_type: str, channel: str) -> None:
    field_name = f"channel {channel!r} labels"
    if not np.all(np.isfinite(y)):
        raise ValidationError(field_name, "missing or infinite values", "finite numeric labels")
    if predictor_type == "binary_classifier":
        bad = ~np.isin(y, (0.0, 1.0))
        if bad.any():
            raise ValidationError(
                field_name,
                sorted(set(y[bad].tolist()))[:5],
                "0 or 1 for predictor_type='binary_classifier'",
            )


def _feature_dim_error(feature_dim: int, found: str, where: str, hint: str = "") -> ValidationError:
    return ValidationError(
        "hyperparameters['feature_dim']",
        feature_dim,
        f"a feature_dim that fits the data: {where} has {found}",
        hint=hint
        or "Dense rows need exactly feature_dim values; sparse keys run 0..feature_dim-1.",
    )


# --- one-hot encoding --------------------------------------------------------------------


@dataclass(frozen=True)
class OneHotEncoding:
    """Categorical columns as one-hot features: column ``c``'s value ``v`` is key
    ``offsets[c] + categories[c].index(v)``; values not seen when fitting get no key.

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user_id": [7, 9], "item_id": [1, 2], "rating": [5, 3]})
    >>> enc = encode_one_hot(df, ["user_id", "item_id"])
    >>> enc.feature_dim, enc.offsets
    (4, {'user_id': 0, 'item_id': 2})
    >>> enc.transform(pd.DataFrame({"user_id": [9], "item_id": [1]})).indices.tolist()
    [1, 2]
    """

    columns: tuple[str, ...]
    categories: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def offsets(self) -> dict[str, int]:
        """First key of each column's block of one-hot features."""
        out, start = {}, 0
        for column in self.columns:
            out[column] = start
            start += len(self.categories[column])
        return out

    @property
    def feature_dim(self) -> int:
        """Number of one-hot features: the FM's ``feature_dim``."""
        return sum(len(self.categories[c]) for c in self.columns)

    def keys(self, df: pd.DataFrame) -> np.ndarray:
        """``(rows, columns)`` int64 keys; -1 where the value was not seen when fitting."""
        import pandas as pd

        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise ValidationError(
                "df columns", missing, f"the encoded columns {list(self.columns)}"
            )
        out = np.empty((len(df), len(self.columns)), dtype=np.int64)
        for j, column in enumerate(self.columns):
            codes = pd.Index(self.categories[column]).get_indexer(df[column])
            out[:, j] = np.where(codes >= 0, codes + self.offsets[column], -1)
        return out

    def transform(self, df: pd.DataFrame) -> Any:
        """A scipy CSR matrix ``(rows, feature_dim)`` of 0/1 values for ``df``'s rows."""
        import scipy.sparse as sp

        keys = self.keys(df)
        known = keys >= 0
        indptr = np.concatenate([[0], np.cumsum(known.sum(axis=1))])
        data = np.ones(int(known.sum()), dtype=np.float32)
        return sp.csr_matrix((data, keys[known], indptr), shape=(len(df), self.feature_dim))

    def write_libsvm(self, df: pd.DataFrame, path: str | Path, target: str) -> Path:
        """Write ``df`` as a zero-based LibSVM file, label ``target`` first; return the path."""
        if target not in df.columns:
            raise ValidationError("target", target, f"a column of df: {list(df.columns)[:20]}")
        labels = df[target].to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.all(np.isfinite(labels)):
            raise ValidationError(f"df[{target!r}]", "missing values", "numeric labels")
        keys = self.keys(df)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            for label, row in zip(labels.tolist(), keys.tolist(), strict=True):
                features = " ".join(f"{k}:1" for k in sorted(row) if k >= 0)
                handle.write(f"{label:.10g} {features}\n")
        return path

    def instances(self, df: pd.DataFrame) -> dict[str, Any]:
        """SageMaker's sparse JSON request body for ``df``'s rows."""
        rows = []
        for row in self.keys(df).tolist():
            keys = sorted(k for k in row if k >= 0)
            features = {"keys": keys, "shape": [self.feature_dim], "values": [1.0] * len(keys)}
            rows.append({"data": {"features": features}})
        return {"instances": rows}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (see :meth:`from_dict`)."""
        return {"columns": list(self.columns), "categories": self.categories}

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> OneHotEncoding:
        return cls(
            tuple(spec["columns"]), {c: list(spec["categories"][c]) for c in spec["columns"]}
        )


def encode_one_hot(
    df: pd.DataFrame,
    columns: list[str],
    target: str | None = None,
    path: str | Path | None = None,
) -> OneHotEncoding:
    """Fit a one-hot encoding of categorical id ``columns`` on ``df``; optionally write a file.

    With ``path`` (and the label column ``target``), ``df`` is written as a zero-based
    LibSVM file for ``TrainingInput(path, content_type="text/libsvm")``. The returned
    :class:`OneHotEncoding` encodes new rows the same way (``transform``, ``write_libsvm``,
    ``instances`` for endpoint requests); its ``feature_dim`` is the FM's.

    Example
    -------
    >>> enc = encode_one_hot(train, ["user_id", "item_id"], target="rating",
    ...                      path="data/train.libsvm")                 # doctest: +SKIP
    >>> enc.write_libsvm(test, "data/test.libsvm", target="rating")    # doctest: +SKIP
    >>> hps = {"feature_dim": enc.feature_dim, "num_factors": 8,
    ...        "predictor_type": "regressor"}                          # doctest: +SKIP
    """
    import pandas as pd

    columns = [columns] if isinstance(columns, str) else list(columns)
    if not columns:
        raise ValidationError("columns", columns, "one or more categorical columns of df")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValidationError("columns", missing, f"columns of df: {list(df.columns)[:20]}")
    categories = {}
    for column in columns:
        values = pd.unique(df[column].dropna())
        try:
            ordered = sorted(values.tolist())
        except TypeError:  # mixed types: keep the order of appearance
            ordered = values.tolist()
        categories[column] = ordered
    encoding = OneHotEncoding(tuple(columns), categories)
    if path is not None:
        if target is None:
            raise ValidationError("target", None, "the label column, to write a LibSVM file")
        encoding.write_libsvm(df, path, target)
    return encoding
