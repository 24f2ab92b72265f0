"""SageMaker's built-in PCA (principal component analysis), implemented in numpy.

Both of SageMaker's modes read the ``train`` channel in mini-batches of ``mini_batch_size``:

- ``regular``: forms the covariance matrix over the mini-batches and keeps the
  eigenvectors of its ``num_components`` largest eigenvalues. SageMaker computes
  ``sum x^T x - (1/n) (sum x)^T (sum x)`` in one pass; workbench takes the mean in a
  first pass and accumulates ``(x - mean)^T (x - mean)`` in a second, the same matrix
  without the cancellation error of subtracting two large sums.
- ``randomized``: for data with many features. Each mini-batch ``X_t`` is multiplied by a
  fresh Gaussian ``(b x l)`` matrix and the products summed into a ``(d x l)`` sketch of
  the row space, ``l = num_components + extra_components`` (``-1`` = ``max(10,
  num_components)``), as in SageMaker. workbench then refines the sketch with four power
  iterations (Halko, Martinsson and Tropp's randomized range finder, as scikit-learn's
  randomized SVD: one more pass over the mini-batches each) and a Rayleigh-Ritz step
  (one pass). On digits the bare sketch's components capture 80-88% of the variance of
  the exact ones; refined, over 99.9% with the default ``extra_components``.

With ``subtract_mean=true`` (the default) the training mean is subtracted in training and
at inference. The job prints each component's explained variance and
``#quality_metric`` lines for ``train:explained_variance_ratio`` (and
``test:explained_variance_ratio`` with a ``test`` channel); SageMaker's PCA has no tuning
metrics, so these are for reading only. Endpoints answer
``{"projections": [{"projection": [..]}]}``.

Where workbench differs from SageMaker, and why:

- Components are ordered by decreasing variance (``projection[0]`` is the first principal
  component; SageMaker's PCA orders them by increasing variance), and each component's
  sign is fixed so that its largest-magnitude loading is positive.
- ``randomized`` mode makes ``POWER_ITERATIONS + 2`` more passes over the data than
  SageMaker's single sketching pass (see above), for components close to the exact ones.
- ``mini_batch_size`` is required by SageMaker's API; workbench defaults it to 500, the
  SageMaker Python SDK's default.
- Labels: as with K-Means, channels have no label column unless the content type
  declares one (``text/csv;label_size=1`` or ``;target=<column>``); a declared label is
  ignored.
- The model is ``pca-model.npz`` plus ``pca-model.json``, not an MXNet parameter file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import ValidationError
from ._artifacts import load_arrays, save_arrays
from ._base import Algorithm, quality_metric_line, quality_metric_regex
from ._feature_rows import (
    channel_shape,
    check_feature_dim,
    check_finite,
    feature_matrix,
    read_features,
)
from ._schema import Hyperparameter, HyperparameterSchema

if TYPE_CHECKING:
    from ..training._environment import TrainingEnvironment

__all__ = ["PCA", "PCAModel", "MODEL_FILE", "META_FILE"]

MODEL_FILE = "pca-model.npz"
META_FILE = "pca-model.json"
MODEL_FORMAT = "workbench-pca"
POWER_ITERATIONS = 4
_SEED = 0
_LOG = "[pca]"

H = Hyperparameter
# fmt: off
SCHEMA = HyperparameterSchema((
    H("feature_dim", "int", None, "Input dimension (number of features).",
      required=True, low=1, tunable=False),
    H("num_components", "int", None, "Number of principal components to compute.",
      required=True, low=1, tunable=False),
    H("mini_batch_size", "int", 500,
      "Rows per mini-batch (SageMaker requires it; 500 is the SageMaker SDK's default).",
      low=1, tunable=False),
    H("algorithm_mode", "str", "regular",
      "regular (covariance matrix) or randomized (sketch, for many features).",
      choices=("regular", "randomized"), tunable=False),
    H("subtract_mean", "bool", True, "Centre the data in training and at inference.",
      tunable=False),
    H("extra_components", "int", -1,
      "Extra sketch columns of randomized mode (-1 = max(10, num_components)).",
      low=-1, tunable=False),
))
# fmt: on


class PCA(Algorithm):
    """SageMaker's built-in PCA (``algorithm="pca"``), in numpy.

    Example
    -------
    >>> from workbench.algorithms import get_algorithm
    >>> algo = get_algorithm("pca")
    >>> algo.validate_hyperparameters({"feature_dim": 8, "num_components": 2})["mini_batch_size"]
    500
    """

    name = "pca"
    title = "PCA"
    description = (
        "Principal component analysis: covariance (regular) or randomized sketch over "
        "mini-batches (SageMaker's PCA)."
    )
    hyperparameters = SCHEMA
    channels = ("train", "test")
    supervised = False

    def check_hyperparameters(self, hps: dict[str, Any]) -> None:
        if hps["num_components"] > hps["feature_dim"]:
            raise ValidationError(
                "hyperparameters['num_components']",
                hps["num_components"],
                f"at most feature_dim ({hps['feature_dim']})",
            )

    def check_data(self, hps: dict[str, Any], channels: list[Any]) -> None:
        for chan in channels:
            n_features, _ = channel_shape(chan, supervised=False)
            if n_features is not None:
                check_feature_dim(hps, n_features, chan.name, supervised=False)

    def problem_type(self, hps: dict[str, Any]) -> str:
        return "dimensionality_reduction"

    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        metric = "explained_variance_ratio"
        return [
            {"Name": f"{c}:{metric}", "Regex": quality_metric_regex(c, metric)}
            for c in ("train", "test")
        ]

    def train(self, env: TrainingEnvironment, hps: dict[str, Any]) -> None:
        started = time.perf_counter()
        data = {
            c: read_features(env, c, supervised=False)
            for c in self.channels
            if c in env.input_data_config
        }
        for channel, d in data.items():
            check_feature_dim(hps, d.X.shape[1], channel, supervised=False)
            check_finite(d.X, channel, self.title)
        X = data["train"].X
        print(
            f"{_LOG} {hps['algorithm_mode']} mode: {X.shape[0]} rows x {X.shape[1]} features "
            f"in mini-batches of {hps['mini_batch_size']}, {hps['num_components']} components",
            flush=True,
        )
        fit = fit_pca(X, hps, np.random.default_rng(_SEED))
        model = PCAModel(fit, _meta(hps, data["train"].feature_names))
        for i, (var, ratio) in enumerate(
            zip(model.explained_variance, model.explained_variance_ratio)
        ):
            print(f"{_LOG} component {i}: explained variance {var:.6g} ({ratio:.4%})", flush=True)
        for channel, d in data.items():
            ratio = model.captured_variance_ratio(d.X)
            print(quality_metric_line(channel, "explained_variance_ratio", ratio), flush=True)
        model.save(env.model_dir)
        print(f"{_LOG} done in {time.perf_counter() - started:.2f}s", flush=True)

    def load(self, model_dir: Path) -> PCAModel:
        return PCAModel.load(Path(model_dir))


def _meta(hps: dict[str, Any], feature_names: list[str]) -> dict[str, Any]:
    return {
        "format": MODEL_FORMAT,
        "problem_type": "dimensionality_reduction",
        "feature_names": feature_names,
        "num_components": hps["num_components"],
        "subtract_mean": hps["subtract_mean"],
        "hyperparameters": {k: v for k, v in hps.items() if not k.startswith("_")},
    }


class PCAModel:
    """Principal components answering like SageMaker's PCA endpoint.

    Example
    -------
    >>> model = get_algorithm("pca").load("model/")   # doctest: +SKIP
    >>> model.predict_frame(X[:1]).columns.tolist()  # doctest: +SKIP
    ['projection_0', 'projection_1']
    """

    problem_type = "dimensionality_reduction"
    response_envelope = "projections"

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.arrays = arrays
        self.meta = meta
        self.feature_names: list[str] | None = meta.get("feature_names")
        self.components: np.ndarray = arrays["components"]  # (num_components, feature_dim)
        self.mean: np.ndarray = arrays["mean"]
        self.explained_variance: np.ndarray = arrays["explained_variance"]
        self.explained_variance_ratio: np.ndarray = arrays["explained_variance"] / float(
            arrays["total_variance"]
        )

    @classmethod
    def load(cls, model_dir: Path) -> PCAModel:
        arrays, meta = load_arrays(model_dir, MODEL_FILE, META_FILE, MODEL_FORMAT)
        return cls(arrays, meta)

    def save(self, model_dir: Path) -> None:
        """Write ``pca-model.npz`` (components, mean, variances) and ``pca-model.json``."""
        save_arrays(model_dir, MODEL_FILE, META_FILE, self.arrays, self.meta)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Projections ``(n, num_components)`` of the rows of ``X``."""
        matrix = feature_matrix(X, self.components.shape[1])
        return (matrix - self.mean) @ self.components.T

    def response_columns(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """SageMaker PCA's answer as columns: ``projection`` (2-D), under ``projections``."""
        return {"projection": self.transform(X)}

    def predict_frame(self, X: np.ndarray) -> Any:
        """Projections as a DataFrame with columns ``projection_0..``."""
        import pandas as pd

        values = self.transform(X)
        return pd.DataFrame(values, columns=[f"projection_{i}" for i in range(values.shape[1])])

    def captured_variance_ratio(self, X: np.ndarray) -> float:
        """Share of the (training-mean-centred) sum of squares of ``X`` the components keep."""
        matrix = feature_matrix(X, self.components.shape[1]) - self.mean
        total = float(np.einsum("ij,ij->", matrix, matrix))
        kept = float(np.sum(self.transform(X) ** 2))
        return kept / total if total > 0 else 0.0


# --- fitting ---------------------------------------------------------------------------------


def fit_pca(X: np.ndarray, hps: dict[str, Any], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Components, mean and variances of ``X`` by ``hps['algorithm_mode']``."""
    batches = _Batches(X, hps["mini_batch_size"], hps["subtract_mean"])
    k = hps["num_components"]
    if hps["algorithm_mode"] == "regular":
        values, vectors = np.linalg.eigh(batches.scatter())
    else:
        extra = hps["extra_components"]
        width = min(X.shape[1], k + (max(10, k) if extra == -1 else extra))
        values, vectors = _randomized(batches, width, rng)
    top = np.argsort(values)[::-1][:k]
    components = _fix_signs(vectors[:, top].T)
    dof = max(1, X.shape[0] - 1)
    return {
        "components": components,
        "mean": batches.mean,
        "explained_variance": np.maximum(values[top], 0.0) / dof,
        "total_variance": np.array(batches.total_sum_of_squares / dof),
    }


class _Batches:
    """Mini-batches of the (centred) data, with the mean and total sum of squares."""

    def __init__(self, X: np.ndarray, size: int, subtract_mean: bool) -> None:
        self.X, self.size = X, size
        d = X.shape[1]
        self.mean = np.zeros(d)
        if subtract_mean:  # sum around the first batch's mean, for accuracy
            shift = X[:size].mean(axis=0)
            total = np.zeros(d)
            for start in range(0, X.shape[0], size):
                total += (X[start : start + size] - shift).sum(axis=0)
            self.mean = shift + total / X.shape[0]
        self.total_sum_of_squares = float(sum(np.einsum("ij,ij->", b, b) for b in self))

    def __iter__(self) -> Iterator[np.ndarray]:
        for start in range(0, self.X.shape[0], self.size):
            yield self.X[start : start + self.size] - self.mean

    def scatter(self) -> np.ndarray:
        """``sum (x - mean)^T (x - mean)`` accumulated over mini-batches, ``(d, d)``."""
        d = self.X.shape[1]
        out = np.zeros((d, d))
        for b in self:
            out += b.T @ b
        return out

    def gram_product(self, Q: np.ndarray) -> np.ndarray:
        """``A^T A Q`` over mini-batches, ``(d, l)``."""
        out = np.zeros_like(Q)
        for b in self:
            out += b.T @ (b @ Q)
        return out


def _randomized(
    batches: _Batches, width: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of ``A^T A`` restricted to a randomized range of width ``width``."""
    d = batches.X.shape[1]
    sketch = np.zeros((d, width))
    for b in batches:  # SageMaker's sketch: sum of Omega_t X_t, Omega_t (l x b) Gaussian
        sketch += b.T @ rng.standard_normal((b.shape[0], width))
    Q, _ = np.linalg.qr(sketch)
    for _ in range(POWER_ITERATIONS):
        Q, _ = np.linalg.qr(batches.gram_product(Q))
    small = Q.T @ batches.gram_product(Q)  # Rayleigh-Ritz: (l x l)
    values, vectors = np.linalg.eigh((small + small.T) / 2.0)
    return values, Q @ vectors


def _fix_signs(components: np.ndarray) -> np.ndarray:
    """Flip each component so that its largest-magnitude loading is positive."""
    pivot = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), pivot])
    return components * np.where(signs == 0, 1.0, signs)[:, None]
