"""SageMaker's built-in K-Means (web-scale k-means), implemented in numpy.

As in SageMaker, training has two stages:

1. A streaming mini-batch pass (Sculley's web-scale k-means) over the training channel
   with ``K = k * extra_center_factor`` centres: each mini-batch is assigned to its
   nearest centres and every centre moves towards the mean of its points with a
   per-centre learning rate of (points in this batch) / (points seen so far), the
   history decaying with ``half_life_time_size``.
2. A local reduction from ``K`` to ``k`` centres: Lloyd's algorithm on the ``K`` centres
   weighted by their cluster sizes, ``local_lloyd_num_trials`` times from a weighted
   k-means++ (or random) start, keeping the trial with the lowest weighted loss.
3. (workbench) A refinement: Lloyd iterations over the training data from the reduced
   centres, until the loss changes by less than ``local_lloyd_tol`` (at most
   ``local_lloyd_max_iter``). The ``K`` centres summarise the data coarsely where clusters
   touch, so the reduction alone ends 1-3% above the loss of scikit-learn's
   ``KMeans(n_init=10)`` on such data (uniform points, k=40 on digits); refined it is
   within 1%. Each iteration is one pass over the rows with ``k`` (not ``K``) centres.

Metrics are ``#quality_metric`` lines: ``train:msd`` per epoch (against the ``K``
centres, as progress), then ``train:msd`` / ``train:ssd`` and, with a ``test`` channel,
``test:msd`` / ``test:ssd`` (SageMaker's tuning metrics) of the final ``k`` centres, for
the metrics named in ``eval_metrics``. Endpoints answer
``{"predictions": [{"closest_cluster": 1.0, "distance_to_cluster": 7.6}]}``.

Where workbench differs from SageMaker, and why:

- Data: channels are read into memory and each epoch visits the rows in a fresh random
  order (SageMaker streams files in order); a seed fixed at 0 makes jobs repeatable.
- Labels: K-Means learns without labels. ``text/csv`` and Parquet channels have no label
  column unless the content type declares one (``text/csv;label_size=1`` or
  ``;target=<column>``), and a declared label is ignored, so label-first data prepared for
  a supervised algorithm can be reused by declaring its label. DataFrames need no target.
- ``auto`` values SageMaker does not document: ``extra_center_factor=auto`` is
  ``ceil(200 / k)`` clipped to 4..20 (at least 200 centres for small k, never more
  centres than rows) and ``local_lloyd_num_trials=auto`` is 10.
- The reduction works on each streaming centre's final mean and size (one more
  assignment pass), seeds with greedy k-means++ (several candidates per step, as
  scikit-learn), and is followed by the refinement of step 3.
- The model is ``kmeans-model.npz`` (centres) plus ``kmeans-model.json``, not an MXNet
  parameter file.

The module also holds the numpy helpers k-NN shares (chunked distances, weighted Lloyd,
the ``k`` check); reading feature rows is in ``_feature_rows``.
"""

from __future__ import annotations

import json
import math
import time
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
from ._schema import AUTO, Hyperparameter, HyperparameterSchema

if TYPE_CHECKING:
    from ..training._environment import TrainingEnvironment

__all__ = ["KMeans", "KMeansModel", "MODEL_FILE", "META_FILE"]

MODEL_FILE = "kmeans-model.npz"
META_FILE = "kmeans-model.json"
MODEL_FORMAT = "workbench-kmeans"
EVAL_METRICS = ("msd", "ssd")
_SEED = 0
_AUTO_TRIALS = 10
_CELLS = 2_000_000  # distance-matrix cells computed at once (16 MB of float64)
_LOG = "[kmeans]"

H = Hyperparameter
# fmt: off
SCHEMA = HyperparameterSchema((
    H("feature_dim", "int", None, "Number of features in the input data.",
      required=True, low=1, tunable=False),
    H("k", "int", None, "Number of clusters.", required=True, low=1, tunable=False),
    H("epochs", "int", 1, "Passes over the training data.", low=1, high=10_000),
    H("mini_batch_size", "int", 5000, "Rows per mini-batch of the streaming pass.",
      low=1, high=10_000_000),
    H("init_method", "str", "random", "How the streaming pass picks its first centres.",
      choices=("random", "kmeans++")),
    H("extra_center_factor", "int", AUTO,
      "The streaming pass keeps k * extra_center_factor centres (auto = ceil(200 / k) "
      "clipped to 4..20).", low=1, allow_auto=True),
    H("half_life_time_size", "int", 0,
      "Points after which a point's weight in a centre's mean halves (0 = no decay).",
      low=0, tunable=False),
    H("local_lloyd_init_method", "str", "kmeans++",
      "Initialisation of the Lloyd reduction to k centres.",
      choices=("random", "kmeans++"), tunable=False),
    H("local_lloyd_max_iter", "int", 300, "Maximum Lloyd iterations of the reduction.",
      low=1, tunable=False),
    H("local_lloyd_num_trials", "int", AUTO,
      "Lloyd runs of the reduction; the lowest loss wins (auto = 10).",
      low=1, allow_auto=True, tunable=False),
    H("local_lloyd_tol", "float", 0.0001,
      "Relative loss change that stops the reduction's Lloyd runs.", low=0, high=1,
      tunable=False),
    H("eval_metrics", "list", ("msd",),
      "Metrics reported for the final model: msd (mean squared distance), ssd (sum).",
      choices=EVAL_METRICS, tunable=False),
))
# fmt: on


class KMeans(Algorithm):
    """SageMaker's built-in K-Means (``algorithm="kmeans"``), in numpy.

    Example
    -------
    >>> from workbench.algorithms import get_algorithm
    >>> algo = get_algorithm("kmeans")
    >>> algo.validate_hyperparameters({"k": 3, "feature_dim": 4})["eval_metrics"]
    ('msd',)
    """

    name = "kmeans"
    title = "K-Means"
    description = (
        "Clustering: a streaming mini-batch pass with extra centres, reduced to k by a "
        "local Lloyd's algorithm (SageMaker's web-scale k-means)."
    )
    hyperparameters = SCHEMA
    channels = ("train", "test")
    supervised = False

    def validate_hyperparameters(self, values: dict[str, Any]) -> dict[str, Any]:
        """Also accepts ``eval_metrics`` as SageMaker's JSON list, e.g. ``'["msd","ssd"]'``."""
        values = dict(values)
        metrics = values.get("eval_metrics")
        if isinstance(metrics, str) and metrics.strip().startswith("["):
            try:
                values["eval_metrics"] = [str(m) for m in json.loads(metrics)]
            except (ValueError, TypeError):
                raise ValidationError(
                    "hyperparameters['eval_metrics']", metrics, SCHEMA["eval_metrics"].allowed
                ) from None
        return super().validate_hyperparameters(values)

    def check_data(self, hps: dict[str, Any], channels: list[Any]) -> None:
        for chan in channels:
            n_features, n_rows = channel_shape(chan, supervised=False)
            if n_features is not None:
                check_feature_dim(hps, n_features, chan.name, supervised=False)
            if chan.name == "train" and n_rows is not None:
                check_k_rows(hps, n_rows)

    def problem_type(self, hps: dict[str, Any]) -> str:
        return "clustering"

    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        metrics = list(hps.get("eval_metrics") or ("msd",))
        return [
            {"Name": f"{c}:{m}", "Regex": quality_metric_regex(c, m)}
            for c in ("train", "test")
            for m in metrics
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
        check_k_rows(hps, X.shape[0])
        final = fit_kmeans(X, hps, np.random.default_rng(_SEED))
        model = KMeansModel(final, _meta(hps, data["train"].feature_names))
        for channel, d in data.items():
            _, d2 = nearest(d.X, final)
            values = {"msd": float(d2.mean()), "ssd": float(d2.sum())}
            for metric in hps["eval_metrics"]:
                print(quality_metric_line(channel, metric, values[metric]), flush=True)
        model.save(env.model_dir)
        print(f"{_LOG} done in {time.perf_counter() - started:.2f}s", flush=True)

    def load(self, model_dir: Path) -> KMeansModel:
        return KMeansModel.load(Path(model_dir))


class KMeansModel:
    """k cluster centres with SageMaker's K-Means inference answer.

    Example
    -------
    >>> model = KMeansModel(np.array([[0.0, 0.0], [3.0, 4.0]]), {"feature_names": None})
    >>> model.response_columns(np.array([[3.0, 0.0]]))["closest_cluster"].tolist()
    [0.0]
    """

    problem_type = "clustering"

    def __init__(self, centers: np.ndarray, meta: dict[str, Any]) -> None:
        self.centers = np.asarray(centers, dtype=np.float64)
        self.meta = meta
        self.feature_names: list[str] | None = meta.get("feature_names")

    @classmethod
    def load(cls, model_dir: Path) -> KMeansModel:
        arrays, meta = load_arrays(model_dir, MODEL_FILE, META_FILE, MODEL_FORMAT)
        centers = arrays["centers"]
        return cls(centers, meta)

    def save(self, model_dir: Path) -> None:
        """Write ``kmeans-model.npz`` (the centres) and ``kmeans-model.json``."""
        save_arrays(model_dir, MODEL_FILE, META_FILE, {"centers": self.centers}, self.meta)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Index of the closest centre of every row, shape ``(n,)``."""
        return nearest(self._matrix(X), self.centers)[0]

    def response_columns(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """``closest_cluster`` (as a float, like SageMaker) and the Euclidean distance to it."""
        labels, d2 = nearest(self._matrix(X), self.centers)
        return {"closest_cluster": labels.astype(np.float64), "distance_to_cluster": np.sqrt(d2)}

    def predict_frame(self, X: np.ndarray) -> Any:
        """The answer as a DataFrame: ``closest_cluster`` (int) and ``distance_to_cluster``."""
        import pandas as pd

        labels, d2 = nearest(self._matrix(X), self.centers)
        return pd.DataFrame({"closest_cluster": labels, "distance_to_cluster": np.sqrt(d2)})

    def _matrix(self, X: np.ndarray) -> np.ndarray:
        return feature_matrix(X, self.centers.shape[1])


def fit_kmeans(X: np.ndarray, hps: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """The ``k`` centres: streaming pass, local Lloyd reduction, refinement (printing progress)."""
    k = hps["k"]
    n_centers = _n_centers(hps, X.shape[0])
    print(
        f"{_LOG} {X.shape[0]} rows x {X.shape[1]} features: streaming pass with "
        f"{n_centers} centres, {hps['epochs']} epoch(s) of mini-batches of "
        f"{hps['mini_batch_size']}, then a local Lloyd reduction to k={k}",
        flush=True,
    )
    centers, weights = _stream(X, n_centers, hps, rng)
    trials = hps["local_lloyd_num_trials"]
    trials = _AUTO_TRIALS if trials == AUTO else trials
    max_iter, tol = hps["local_lloyd_max_iter"], hps["local_lloyd_tol"]
    init = hps["local_lloyd_init_method"]
    final, loss = weighted_lloyd(
        centers, weights, k, rng, init=init, max_iter=max_iter, tol=tol, n_trials=trials
    )
    print(
        f"{_LOG} reduced {len(centers)} centres to {k} ({trials} trials, weighted loss {loss:.6g})",
        flush=True,
    )
    before = float(nearest(X, final)[1].sum())
    final, after = _lloyd(X, np.ones(X.shape[0]), final, max_iter, tol)
    print(f"{_LOG} refined on the training data: ssd {before:.6g} -> {after:.6g}", flush=True)
    return final


def _meta(hps: dict[str, Any], feature_names: list[str]) -> dict[str, Any]:
    return {
        "format": MODEL_FORMAT,
        "problem_type": "clustering",
        "feature_names": feature_names,
        "k": hps["k"],
        "feature_dim": hps["feature_dim"],
        "hyperparameters": {k: v for k, v in hps.items() if not k.startswith("_")},
    }


def _n_centers(hps: dict[str, Any], n_rows: int) -> int:
    k = hps["k"]
    factor = hps["extra_center_factor"]
    if factor == AUTO:
        factor = min(20, max(4, math.ceil(200 / k)))
    return max(k, min(k * factor, n_rows))


# --- the streaming pass ----------------------------------------------------------------------


def _stream(
    X: np.ndarray, n_centers: int, hps: dict[str, Any], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Mini-batch k-means with ``n_centers`` centres; returns the centres and cluster sizes."""
    n = X.shape[0]
    batch = hps["mini_batch_size"]
    half_life = hps["half_life_time_size"]
    order = rng.permutation(n)
    seed_rows = X[order[: max(batch, n_centers)]]
    if hps["init_method"] == "kmeans++":
        centers = kmeans_pp(seed_rows, n_centers, rng)
    else:
        centers = seed_rows[rng.choice(len(seed_rows), n_centers, replace=False)].copy()
    counts = np.zeros(n_centers)
    for epoch in range(hps["epochs"]):
        if epoch:
            order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch):
            rows = X[order[start : start + batch]]
            labels, d2 = nearest(rows, centers)
            total += float(d2.sum())
            sums, sizes = cluster_sums(rows, labels, n_centers)
            if half_life:
                counts *= 0.5 ** (len(rows) / half_life)
            counts += sizes
            moved = sizes > 0
            rate = sizes[moved] / counts[moved]
            means = sums[moved] / sizes[moved, None]
            centers[moved] += rate[:, None] * (means - centers[moved])
        print(quality_metric_line("train", "msd", total / n, epoch=epoch), flush=True)
    # Summarise the data by each centre's points: their mean and count. Then the weighted
    # loss of any k centres equals the data's loss up to points whose centre's points would
    # be split between two of the k centres.
    labels, _ = nearest(X, centers)
    sums, sizes = cluster_sums(X, labels, n_centers)
    keep = sizes > 0
    return sums[keep] / sizes[keep, None], sizes[keep]


# --- shared numpy helpers (also used by k-NN and PCA) -----------------------------------------


def sq_norms(X: np.ndarray) -> np.ndarray:
    """Squared Euclidean norm of every row."""
    return np.einsum("ij,ij->i", X, X)


def nearest(
    X: np.ndarray, centers: np.ndarray, center_norms: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Index of and squared distance to the closest centre of every row, in bounded chunks."""
    n = X.shape[0]
    c_norms = sq_norms(centers) if center_norms is None else center_norms
    labels = np.empty(n, dtype=np.int64)
    d2 = np.empty(n)
    step = max(1, _CELLS // max(1, centers.shape[0]))
    for start in range(0, n, step):
        rows = X[start : start + step]
        dist = c_norms[None, :] - 2.0 * (rows @ centers.T)
        best = np.argmin(dist, axis=1)
        labels[start : start + step] = best
        d2[start : start + step] = dist[np.arange(len(rows)), best] + sq_norms(rows)
    np.maximum(d2, 0.0, out=d2)
    return labels, d2


def cluster_sums(
    X: np.ndarray, labels: np.ndarray, k: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster (weighted) sums of rows and total weights, without ``np.add.at``."""
    w = np.ones(len(labels)) if weights is None else weights
    sizes = np.bincount(labels, weights=w, minlength=k)
    sums = np.zeros((k, X.shape[1]))
    order = np.argsort(labels, kind="stable")
    present = np.flatnonzero(np.bincount(labels, minlength=k))
    starts = np.searchsorted(labels[order], present)
    weighted = X[order] if weights is None else X[order] * w[order, None]
    sums[present] = np.add.reduceat(weighted, starts, axis=0)
    return sums, sizes


def kmeans_pp(
    X: np.ndarray, k: int, rng: np.random.Generator, weights: np.ndarray | None = None
) -> np.ndarray:
    """Greedy k-means++ seeding (weighted by ``weights`` when given): ``k`` rows of ``X``.

    Each step draws ``2 + ln k`` candidates with probability proportional to weight times
    squared distance to the nearest chosen centre and keeps the one lowering the weighted
    potential most (as scikit-learn does), which avoids most poor starts.
    """
    n = X.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    norms = sq_norms(X)
    first = rng.choice(n, p=w / w.sum())
    chosen = [first]
    d2 = np.maximum(norms - 2.0 * (X @ X[first]) + norms[first], 0.0)
    n_local = 2 + int(math.log(k)) if k > 1 else 1
    for _ in range(1, k):
        p = w * d2
        total = p.sum()
        if total <= 0:
            candidates = rng.choice(n, size=1)
        else:
            candidates = np.searchsorted(np.cumsum(p), rng.random(n_local) * total)
            candidates = np.minimum(candidates, n - 1)
        dist = norms[None, :] - 2.0 * (X[candidates] @ X.T) + norms[candidates, None]
        new_d2 = np.minimum(d2[None, :], np.maximum(dist, 0.0))
        best = int(np.argmin(new_d2 @ w))
        chosen.append(int(candidates[best]))
        d2 = new_d2[best]
    return X[chosen].astype(np.float64, copy=True)


def weighted_lloyd(
    X: np.ndarray,
    weights: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    init: str = "kmeans++",
    max_iter: int = 300,
    tol: float = 1e-4,
    n_trials: int = 1,
) -> tuple[np.ndarray, float]:
    """Lloyd's algorithm on weighted points, best of ``n_trials``: centres and weighted loss."""
    best: tuple[np.ndarray, float] | None = None
    for _ in range(n_trials):
        if init == "kmeans++" or np.count_nonzero(weights) < k:
            centers = kmeans_pp(X, k, rng, weights)
        else:
            centers = X[rng.choice(X.shape[0], k, replace=False, p=weights / weights.sum())]
        centers, loss = _lloyd(X, weights, centers.copy(), max_iter, tol)
        if best is None or loss < best[1]:
            best = (centers, loss)
    assert best is not None
    return best


def _lloyd(
    X: np.ndarray, w: np.ndarray, centers: np.ndarray, max_iter: int, tol: float
) -> tuple[np.ndarray, float]:
    k = centers.shape[0]
    previous = np.inf
    for _ in range(max_iter):
        labels, d2 = nearest(X, centers)
        loss = float(w @ d2)
        sums, sizes = cluster_sums(X, labels, k, w)
        empty = sizes <= 0
        centers[~empty] = sums[~empty] / sizes[~empty, None]
        if empty.any():  # re-seed empty clusters at the points costing the most
            far = np.argsort(w * d2)[::-1][: int(empty.sum())]
            centers[empty] = X[far]
        if not empty.any() and np.isfinite(previous) and previous - loss <= tol * previous:
            break
        previous = loss
    labels, d2 = nearest(X, centers)
    return centers, float(w @ d2)


def check_k_rows(hps: dict[str, Any], n_rows: int) -> None:
    """``k`` cannot exceed the number of training rows."""
    if hps.get("k") is not None and hps["k"] > n_rows:
        raise ValidationError(
            "hyperparameters['k']",
            hps["k"],
            f"at most {n_rows}, the number of rows of channel 'train'",
        )
