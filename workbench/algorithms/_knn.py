"""SageMaker's built-in k-nearest neighbours (k-NN), implemented in numpy.

Training follows SageMaker's three steps: reservoir-sample ``sample_size`` rows of the
``train`` channel (streaming over mini-batches of ``mini_batch_size``), optionally reduce
their dimension (``sign`` random projection or ``fjlt``, the fast Johnson-Lindenstrauss
transform), and build an index (``faiss.Flat``, ``faiss.IVFFlat`` or ``faiss.IVFPQ``) over
them. Inference finds the ``k`` nearest sampled rows by ``index_metric`` (``L2``,
``INNER_PRODUCT`` or ``COSINE``) and answers their most frequent label (``classifier``)
or their mean label (``regressor``): ``{"predictions": [{"predicted_label": 1.0}]}``.
With a ``test`` channel the job prints ``test:accuracy`` or ``test:mse``, SageMaker's
tuning metrics.

The indexes behave as faiss's: ``faiss.Flat`` is exact; ``faiss.IVFFlat`` clusters the
sample into ``faiss_index_ivf_nlists`` lists with k-means and searches the lists of the
``nprobe`` centroids nearest to each query; ``faiss.IVFPQ`` also stores every vector as
``faiss_index_pq_m`` one-byte codes of its residual from its list centroid (product
quantisation) and ranks by the distance to the decoded vector.

Where workbench differs from SageMaker, and why:

- ``nprobe`` is not a SageMaker hyperparameter; workbench probes ``ceil(sqrt(nlists))``
  lists. ``faiss_index_pq_m`` defaults to the largest allowed value giving sub-vectors of
  at least 4 dimensions; data whose dimension it does not divide is padded with zero
  columns (SageMaker raises ``dimension_reduction_target`` instead, to the same effect).
- ``fjlt`` is applied as the equivalent dense matrix (random signs, Hadamard transform,
  column sampling), not with a fast transform.
- Ties between classes go to the smallest label (as scikit-learn's ``KNeighborsClassifier``).
- Vectors are kept in float64 (faiss uses float32); sampling is seeded with 0.
- The verbose response (``accept: application/json; verbose=true``, with the neighbours'
  labels and distances) is not produced.
- The model is ``knn-model.npz`` plus ``knn-model.json``, not a faiss index file.
"""

from __future__ import annotations

import math
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
from ._kmeans import (
    check_k_rows,
    nearest,
    sq_norms,
    weighted_lloyd,
)
from ._schema import AUTO, Hyperparameter, HyperparameterSchema

if TYPE_CHECKING:
    from ..training._environment import TrainingEnvironment

__all__ = ["KNN", "KNNModel", "MODEL_FILE", "META_FILE"]

MODEL_FILE = "knn-model.npz"
META_FILE = "knn-model.json"
MODEL_FORMAT = "workbench-knn"
INDEX_TYPES = ("faiss.Flat", "faiss.IVFFlat", "faiss.IVFPQ")
INDEX_METRICS = ("L2", "INNER_PRODUCT", "COSINE")
PQ_M = (1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96)
_SEED = 0
_CELLS = 2_000_000  # distance-matrix cells computed at once (16 MB of float64)
_TRAIN_PER_CENTROID = 64  # k-means training rows per centroid, at most (faiss uses 39..256)
_KMEANS_ITER = 25
_LOG = "[knn]"

H = Hyperparameter
# fmt: off
SCHEMA = HyperparameterSchema((
    H("feature_dim", "int", None, "Number of features in the input data.",
      required=True, low=1, tunable=False),
    H("k", "int", None, "Number of nearest neighbours.", required=True, low=1),
    H("predictor_type", "str", None, "classifier (most frequent label) or regressor (mean).",
      required=True, choices=("classifier", "regressor"), tunable=False),
    H("sample_size", "int", None, "Training rows sampled (reservoir sampling) into the index.",
      required=True, low=1),
    H("dimension_reduction_type", "str", None,
      "sign (random projection) or fjlt (fast Johnson-Lindenstrauss transform).",
      choices=("sign", "fjlt"), tunable=False),
    H("dimension_reduction_target", "int", None,
      "Dimension to reduce to (0 < target < feature_dim); needs dimension_reduction_type.",
      low=1, tunable=False),
    H("index_type", "str", "faiss.Flat", "Index: exact (Flat) or inverted lists (IVF).",
      choices=INDEX_TYPES, tunable=False),
    H("index_metric", "str", "L2", "Distance: L2, INNER_PRODUCT or COSINE.",
      choices=INDEX_METRICS, tunable=False),
    H("faiss_index_ivf_nlists", "int", AUTO,
      "Inverted lists of IVF indexes (auto = sqrt(sample_size)).",
      low=1, allow_auto=True, tunable=False),
    H("faiss_index_pq_m", "int", None,
      "Sub-vectors of faiss.IVFPQ codes (default: sub-vectors of at least 4 dimensions).",
      choices=PQ_M, tunable=False),
    H("mini_batch_size", "int", 5000, "Rows per mini-batch when sampling and predicting.",
      low=1, tunable=False),
))
# fmt: on


class KNN(Algorithm):
    """SageMaker's built-in k-NN (``algorithm="knn"``), in numpy.

    Example
    -------
    >>> from workbench.algorithms import get_algorithm
    >>> algo = get_algorithm("knn")
    >>> hps = {"k": 5, "sample_size": 1000, "feature_dim": 4, "predictor_type": "classifier"}
    >>> algo.validate_hyperparameters(hps)["index_type"]
    'faiss.Flat'
    """

    name = "knn"
    title = "k-NN"
    description = (
        "k-nearest-neighbours classification and regression over a reservoir sample, "
        "with optional dimension reduction and IVF indexes (SageMaker's k-NN)."
    )
    hyperparameters = SCHEMA
    channels = ("train", "test")

    def check_hyperparameters(self, hps: dict[str, Any]) -> None:
        if hps["k"] > hps["sample_size"]:
            raise ValidationError(
                "hyperparameters['k']",
                hps["k"],
                f"at most sample_size ({hps['sample_size']})",
                hint="k neighbours are searched among the sample_size sampled rows.",
            )
        reduction, target = (
            hps.get("dimension_reduction_type"),
            hps.get("dimension_reduction_target"),
        )
        if reduction and target is None:
            raise ValidationError(
                "hyperparameters['dimension_reduction_target']",
                None,
                f"an integer in [1, {hps['feature_dim'] - 1}]",
                hint=f"dimension_reduction_type={reduction!r} needs it.",
            )
        if target is not None and not reduction:
            raise ValidationError(
                "hyperparameters['dimension_reduction_type']",
                None,
                "sign or fjlt",
                hint="dimension_reduction_target only applies with a dimension_reduction_type.",
            )
        if target is not None and target >= hps["feature_dim"]:
            raise ValidationError(
                "hyperparameters['dimension_reduction_target']",
                target,
                f"less than feature_dim ({hps['feature_dim']})",
            )
        if hps["index_type"] == "faiss.IVFPQ" and hps["index_metric"] != "L2":
            raise ValidationError(
                "hyperparameters['index_metric']",
                hps["index_metric"],
                "L2 with index_type='faiss.IVFPQ'",
                hint="IVFPQ supports neither INNER_PRODUCT nor COSINE (as in SageMaker).",
            )

    def check_data(self, hps: dict[str, Any], channels: list[Any]) -> None:
        for chan in channels:
            n_features, n_rows = channel_shape(chan, supervised=True)
            if n_features is not None:
                check_feature_dim(hps, n_features, chan.name, supervised=True)
            if chan.name == "train" and n_rows is not None:
                check_k_rows(hps, n_rows)

    def problem_type(self, hps: dict[str, Any]) -> str:
        """regression, or multiclass_classification (the model says binary from its labels)."""
        if hps.get("predictor_type") == "regressor":
            return "regression"
        return "multiclass_classification"

    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        metric = "mse" if hps.get("predictor_type") == "regressor" else "accuracy"
        return [{"Name": f"test:{metric}", "Regex": quality_metric_regex("test", metric)}]

    def train(self, env: TrainingEnvironment, hps: dict[str, Any]) -> None:
        started = time.perf_counter()
        data = {
            c: read_features(env, c, supervised=True)
            for c in self.channels
            if c in env.input_data_config
        }
        for channel, d in data.items():
            check_feature_dim(hps, d.X.shape[1], channel, supervised=True)
            check_finite(d.X, channel, self.title)
        train = data["train"]
        check_k_rows(hps, train.n_rows)
        rng = np.random.default_rng(_SEED)
        rows = reservoir_sample(train.n_rows, hps["sample_size"], hps["mini_batch_size"], rng)
        arrays = build_index(train.X[rows], train.y[rows], hps, rng)
        model = KNNModel(arrays, _meta(hps, train, arrays))
        index = model.index
        lists = f", {index.nlists} lists, nprobe={index.nprobe}" if index.nlists else ""
        print(
            f"{_LOG} {hps['predictor_type']}: sampled {len(rows)} of {train.n_rows} rows x "
            f"{train.X.shape[1]} features; {hps['index_type']} index ({hps['index_metric']}) "
            f"over {index.dim} dimensions{lists}",
            flush=True,
        )
        if "test" in data:
            test = data["test"]
            pred = model.predict_values(test.X)
            if hps["predictor_type"] == "classifier":
                line = quality_metric_line("test", "accuracy", float(np.mean(pred == test.y)))
            else:
                line = quality_metric_line("test", "mse", float(np.mean((pred - test.y) ** 2)))
            print(line, flush=True)
        model.save(env.model_dir)
        print(f"{_LOG} done in {time.perf_counter() - started:.2f}s", flush=True)

    def load(self, model_dir: Path) -> KNNModel:
        return KNNModel.load(Path(model_dir))


def _meta(hps: dict[str, Any], train: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    classifier = hps["predictor_type"] == "classifier"
    n_classes = len(arrays["classes"]) if classifier else 0
    if not classifier:
        problem_type = "regression"
    else:
        problem_type = "binary_classification" if n_classes <= 2 else "multiclass_classification"
    return {
        "format": MODEL_FORMAT,
        "problem_type": problem_type,
        "predictor_type": hps["predictor_type"],
        "feature_names": train.feature_names,
        "k": hps["k"],
        "index_type": hps["index_type"],
        "index_metric": hps["index_metric"],
        "hyperparameters": {k: v for k, v in hps.items() if not k.startswith("_")},
    }


class KNNModel:
    """A sampled, indexed training set answering like SageMaker's k-NN endpoint.

    Example
    -------
    >>> model = get_algorithm("knn").load("model/")  # doctest: +SKIP
    >>> model.response_columns(X[:2])                 # doctest: +SKIP
    {'predicted_label': array([3., 1.])}
    """

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.arrays = arrays
        self.meta = meta
        self.problem_type: str = meta["problem_type"]
        self.predictor_type: str = meta["predictor_type"]
        self.feature_names: list[str] | None = meta.get("feature_names")
        self.k: int = int(meta["k"])
        self.classes: np.ndarray = arrays["classes"]
        self.index = _Index(arrays, meta["index_type"], meta["index_metric"])

    @classmethod
    def load(cls, model_dir: Path) -> KNNModel:
        arrays, meta = load_arrays(model_dir, MODEL_FILE, META_FILE, MODEL_FORMAT)
        return cls(arrays, meta)

    def save(self, model_dir: Path) -> None:
        """Write ``knn-model.npz`` (sample, labels, index arrays) and ``knn-model.json``."""
        save_arrays(model_dir, MODEL_FILE, META_FILE, self.arrays, self.meta)

    def kneighbors(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores and positions in the sample of the ``k`` neighbours of every row, best first.

        Scores are squared L2 distances, or similarities for INNER_PRODUCT / COSINE;
        position -1 (score inf or -inf) where an IVF search found fewer than ``k`` rows.
        """
        cost, idx = self.index.search(self._matrix(X), self.k)
        return (cost if self.index.metric == "L2" else -cost), idx

    def predict_values(self, X: np.ndarray) -> np.ndarray:
        """The predicted label (float) of every row, as SageMaker's ``predicted_label``."""
        matrix = self._matrix(X)
        out = np.empty(matrix.shape[0])
        for rows, labels, found in self._neighbour_labels(matrix):
            if self.predictor_type == "regressor":
                out[rows] = (labels * found).sum(axis=1) / np.maximum(found.sum(axis=1), 1)
            else:  # argmax takes the first best: ties go to the smallest label
                out[rows] = self.classes[np.argmax(self._votes(labels, found), axis=1)]
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels (int when every class is a whole number) or values, shape ``(n,)``."""
        values = self.predict_values(X)
        if self.predictor_type == "classifier" and np.all(self.classes == np.round(self.classes)):
            return values.astype(np.int64)
        return values

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Share of the neighbours' votes per class (``classes`` order); classifiers only."""
        if self.predictor_type != "classifier":
            raise AttributeError(
                "predict_proba is not available for a k-NN regressor; use predict for values."
            )
        matrix = self._matrix(X)
        out = np.empty((matrix.shape[0], len(self.classes)))
        for rows, labels, found in self._neighbour_labels(matrix):
            votes = self._votes(labels, found)
            out[rows] = votes / np.maximum(votes.sum(axis=1, keepdims=True), 1)
        return out

    def response_columns(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """SageMaker k-NN's answer as columns: ``predicted_label`` (a float)."""
        return {"predicted_label": self.predict_values(X).astype(np.float64)}

    def _neighbour_labels(self, X: np.ndarray) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
        """Row chunks with their neighbours' labels and found-masks, vote tables bounded."""
        step = max(1, _CELLS // max(self.k, len(self.classes)))
        for start in range(0, X.shape[0], step):
            _, idx = self.index.search(X[start : start + step], self.k)
            found = idx >= 0
            yield slice(start, start + step), self.arrays["labels"][np.where(found, idx, 0)], found

    def _votes(self, labels: np.ndarray, found: np.ndarray) -> np.ndarray:
        codes = np.searchsorted(self.classes, labels)
        votes = np.zeros((labels.shape[0], len(self.classes)))
        rows = np.arange(labels.shape[0])
        for j in range(labels.shape[1]):
            votes[rows, codes[:, j]] += found[:, j]
        return votes

    def _matrix(self, X: np.ndarray) -> np.ndarray:
        return feature_matrix(X, int(self.meta["hyperparameters"]["feature_dim"]))


# --- sampling and dimension reduction --------------------------------------------------------


def reservoir_sample(n_rows: int, size: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """Row numbers of a uniform sample of ``size`` rows, by reservoir sampling over mini-batches.

    Algorithm R vectorised per mini-batch: row ``t`` (0-based) beyond the first ``size``
    replaces slot ``j ~ U{0..t}`` when ``j < size``; within a batch the last row to pick
    a slot wins, exactly as when streaming row by row. Returned sorted.
    """
    reservoir = np.arange(min(size, n_rows))
    for start in range(size, n_rows, batch):
        rows = np.arange(start, min(n_rows, start + batch))
        slots = rng.integers(0, rows + 1)
        keep = slots < size
        slots, rows = slots[keep][::-1], rows[keep][::-1]
        _, last = np.unique(slots, return_index=True)  # first in reverse = last picked
        reservoir[slots[last]] = rows[last]
    return np.sort(reservoir)


def _projection(hps: dict[str, Any], d: int, rng: np.random.Generator) -> np.ndarray | None:
    kind, target = hps.get("dimension_reduction_type"), hps.get("dimension_reduction_target")
    if not kind:
        return None
    if kind == "sign":
        return rng.choice((-1.0, 1.0), size=(d, target)) / math.sqrt(target)
    # fjlt (subsampled randomised Hadamard transform): sqrt(D/t) * diag(signs) H[:, picked]
    padded = 1 << max(0, (d - 1).bit_length())
    signs = rng.choice((-1.0, 1.0), size=d)
    picked = rng.choice(padded, size=min(target, padded), replace=False)
    return signs[:, None] * _hadamard_columns(d, picked) * math.sqrt(1.0 / target)


def _hadamard_columns(n_rows: int, columns: np.ndarray) -> np.ndarray:
    """Rows ``0..n_rows-1`` of the chosen columns of a Sylvester Hadamard matrix (+-1)."""
    bits = np.arange(n_rows)[:, None] & columns[None, :]
    parity = np.zeros(bits.shape, dtype=np.int64)
    while bits.any():
        parity ^= bits & 1
        bits = bits >> 1
    return 1.0 - 2.0 * parity


# --- the index -------------------------------------------------------------------------------


def build_index(
    X: np.ndarray, y: np.ndarray, hps: dict[str, Any], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The model's arrays: labels, classes, projection and the index over the sample."""
    arrays: dict[str, np.ndarray] = {"labels": y.astype(np.float64)}
    arrays["classes"] = np.unique(y) if hps["predictor_type"] == "classifier" else np.zeros(0)
    projection = _projection(hps, X.shape[1], rng)
    if projection is not None:
        arrays["projection"] = projection
    vectors = _prepare(X, projection, hps["index_metric"])
    if hps["index_type"] == "faiss.Flat":
        arrays["vectors"] = vectors
        return arrays
    n = vectors.shape[0]
    nlists = hps["faiss_index_ivf_nlists"]
    nlists = max(1, round(math.sqrt(n))) if nlists == AUTO else min(nlists, n)
    centroids = _kmeans(vectors, nlists, rng)
    assign = _coarse_cost(vectors, centroids, hps["index_metric"]).argmin(axis=1)
    used = np.unique(assign)  # drop empty lists
    centroids = centroids[used]
    arrays["centroids"] = centroids
    arrays["assign"] = np.searchsorted(used, assign)
    if hps["index_type"] == "faiss.IVFFlat":
        arrays["vectors"] = vectors
        return arrays
    m = hps.get("faiss_index_pq_m") or _default_pq_m(vectors.shape[1])
    residuals = _pad(vectors, m) - _pad(centroids, m)[arrays["assign"]]
    codebooks, codes = _product_quantise(residuals, m, rng)
    arrays["codebooks"], arrays["codes"] = codebooks, codes
    return arrays


def _prepare(X: np.ndarray, projection: np.ndarray | None, metric: str) -> np.ndarray:
    vectors = X if projection is None else X @ projection
    if metric == "COSINE":
        norms = np.sqrt(sq_norms(vectors))
        vectors = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    return np.ascontiguousarray(vectors, dtype=np.float64)


def _kmeans(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means centroids trained on at most ``_TRAIN_PER_CENTROID * k`` rows.

    Random initial centroids and ``_KMEANS_ITER`` Lloyd iterations, as faiss trains them.
    """
    sample = X
    if X.shape[0] > _TRAIN_PER_CENTROID * k:
        sample = X[rng.choice(X.shape[0], _TRAIN_PER_CENTROID * k, replace=False)]
    weights = np.ones(len(sample))
    centers, _ = weighted_lloyd(sample, weights, k, rng, init="random", max_iter=_KMEANS_ITER)
    return centers


def _default_pq_m(dim: int) -> int:
    return max([m for m in PQ_M if m <= max(1, dim // 4)])


def _pad(X: np.ndarray, m: int) -> np.ndarray:
    extra = -X.shape[1] % m
    return np.pad(X, ((0, 0), (0, extra))) if extra else X


def _product_quantise(
    residuals: np.ndarray, m: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Codebooks ``(m, ksub, dsub)`` and one-byte codes ``(n, m)`` of the residuals."""
    n, dim = residuals.shape
    dsub, ksub = dim // m, min(256, n)
    codebooks = np.empty((m, ksub, dsub))
    codes = np.empty((n, m), dtype=np.uint8)
    for j in range(m):
        part = residuals[:, j * dsub : (j + 1) * dsub]
        codebooks[j] = _kmeans(part, ksub, rng)
        codes[:, j] = nearest(part, codebooks[j])[0]
    return codebooks, codes


def _coarse_cost(X: np.ndarray, centroids: np.ndarray, metric: str) -> np.ndarray:
    if metric == "INNER_PRODUCT":
        return -(X @ centroids.T)
    return sq_norms(centroids)[None, :] - 2.0 * (X @ centroids.T)


class _Index:
    """Search over the model's arrays; costs are lower-is-better (negated similarities)."""

    def __init__(self, arrays: dict[str, np.ndarray], kind: str, metric: str) -> None:
        self.arrays = arrays
        self.kind = kind
        self.metric = metric
        self.projection = arrays.get("projection")
        self.vectors = arrays.get("vectors")
        self.centroids = arrays.get("centroids")
        self.dim = (self.centroids if self.vectors is None else self.vectors).shape[1]
        self.norms = None if self.vectors is None else sq_norms(self.vectors)
        self.nlists = 0 if self.centroids is None else len(self.centroids)
        self.nprobe = 0
        if self.nlists:
            self.nprobe = min(self.nlists, max(1, math.ceil(math.sqrt(self.nlists))))
            assign = arrays["assign"]
            self.order = np.argsort(assign, kind="stable")
            self.bounds = np.searchsorted(assign[self.order], np.arange(self.nlists + 1))

    def search(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Costs and sample positions ``(n, k)`` of every row's best ``k``, best first."""
        Q = _prepare(X, self.projection, self.metric)
        n_sample = len(self.arrays["labels"])
        width = n_sample if not self.nlists else int(np.diff(self.bounds).max())
        step = max(1, _CELLS // max(1, width))
        costs = np.full((len(Q), k), np.inf)
        idx = np.full((len(Q), k), -1, dtype=np.int64)
        for start in range(0, len(Q), step):
            part = slice(start, start + step)
            search = self._flat if not self.nlists else self._ivf
            costs[part], idx[part] = search(Q[part], k)
        return costs, idx

    def _cost(self, Q: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
        vectors = self.vectors[rows]
        if self.metric == "L2":
            return self.norms[rows][None, :] - 2.0 * (Q @ vectors.T) + sq_norms(Q)[:, None]
        return -(Q @ vectors.T)

    def _flat(self, Q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        cost = self._cost(Q, slice(None))
        return _best(cost, np.broadcast_to(np.arange(cost.shape[1]), cost.shape), k)

    def _ivf(self, Q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        coarse = _coarse_cost(Q, self.centroids, self.metric)
        probes = np.argpartition(coarse, self.nprobe - 1, axis=1)[:, : self.nprobe]
        best_cost = np.full((len(Q), k), np.inf)
        best_idx = np.full((len(Q), k), -1, dtype=np.int64)
        for lst in np.unique(probes):
            queries = np.flatnonzero((probes == lst).any(axis=1))
            members = self.order[self.bounds[lst] : self.bounds[lst + 1]]
            if self.vectors is not None:
                cost = self._cost(Q[queries], members)
            else:
                cost = self._pq_cost(Q[queries], lst, members)
            cost = np.concatenate([best_cost[queries], cost], axis=1)
            cand = np.concatenate(
                [best_idx[queries], np.broadcast_to(members, (len(queries), len(members)))], axis=1
            )
            best_cost[queries], best_idx[queries] = _best(cost, cand, k)
        return best_cost, best_idx

    def _pq_cost(self, Q: np.ndarray, lst: int, members: np.ndarray) -> np.ndarray:
        codebooks, codes = self.arrays["codebooks"], self.arrays["codes"][members]
        m, _, dsub = codebooks.shape
        residual = _pad(Q, m) - _pad(self.centroids[lst : lst + 1], m)
        cost = np.zeros((len(Q), len(members)))
        for j in range(m):
            part = residual[:, j * dsub : (j + 1) * dsub]
            table = sq_norms(codebooks[j])[None, :] - 2.0 * (part @ codebooks[j].T)
            table += sq_norms(part)[:, None]
            cost += table[:, codes[:, j]]
        return cost


def _best(cost: np.ndarray, idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` lowest costs of every row (and their ids), sorted; padded with inf / -1."""
    n, width = cost.shape
    if width > k:
        part = np.argpartition(cost, k - 1, axis=1)[:, :k]
        cost, idx = np.take_along_axis(cost, part, 1), np.take_along_axis(idx, part, 1)
    elif width < k:
        cost = np.concatenate([cost, np.full((n, k - width), np.inf)], axis=1)
        idx = np.concatenate([idx, np.full((n, k - width), -1, dtype=np.int64)], axis=1)
    order = np.argsort(cost, axis=1, kind="stable")
    return np.take_along_axis(cost, order, 1), np.take_along_axis(idx, order, 1)
