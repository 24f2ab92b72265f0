"""Random Cut Forest vs scikit-learn's IsolationForest: ROC AUC on planted anomalies.

Two data sets, each split in half (train / test, both with anomalies, as unsupervised
training data would have them); both models train on the train half with default sizes
(100 trees of 256 rows) and score the test half; the labels only grade the scores.

- ``mixture``: 8 features from a mixture of 5 anisotropic Gaussians living on a 3-D
  subspace plus a little noise, and 1.5% anomalies whose every feature is within the data's
  range but which lie off the subspace (or between clusters).
- ``maintenance``: the five sensors of the predictive-maintenance data (temperature,
  vibration, pressure, rpm, torque), standardised, with faults injected into 1.5% of the
  readings: a spike, drop or stuck sensor of 4 to 8 standard deviations on one or two
  sensors. The machines' own wear drift stays in the data, labelled normal.

Pass rule: RCF's ROC AUC >= 0.9 on each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import check, trained

_ANOMALY_SHARE = 0.015
_SENSORS = ["temperature", "vibration", "pressure", "rpm", "torque"]


def run(fast: bool = False, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    cases = [
        ("mixture of 5 Gaussians on a 3-D subspace, 8 features", _mixture(6000 if fast else 20000, rng)),
        ("maintenance sensors with injected faults", _maintenance(fast, seed, rng)),
    ]  # fmt: skip
    return [_case(name, X, y, seed) for name, (X, y) in cases]


def _case(name: str, X: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score

    half = len(y) // 2
    train, test = slice(0, half), slice(half, None)
    hps = {"feature_dim": X.shape[1]}
    channels = {"train": np.column_stack([y[train], X[train]])}
    with trained("randomcutforest", hps, channels) as (model, _):
        auc = roc_auc_score(y[test], model.response_columns(X[test])["score"])
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(X[train])
    reference = roc_auc_score(y[test], -forest.score_samples(X[test]))
    share = f"{y.mean():.1%}"
    return check(
        "randomcutforest",
        f"ROC AUC >= 0.9 on {name} ({len(y)} rows, {share} anomalies)",
        "roc_auc",
        auc,
        reference,
        "sklearn IsolationForest(100 trees, 256 samples)",
        auc >= 0.9,
    )


def _mixture(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Clusters on a random 3-D subspace of 8-D space; anomalies off it, inside the ranges."""
    d, latent, k = 8, 3, 5
    basis = np.linalg.qr(rng.normal(size=(d, latent)))[0]  # orthonormal columns
    centres = rng.normal(0.0, 4.0, (k, latent))
    scales = rng.uniform(0.4, 1.5, (k, latent))
    n_anomalies = int(round(n * _ANOMALY_SHARE))
    n_normal = n - n_anomalies
    cluster = rng.integers(0, k, n_normal)
    z = centres[cluster] + rng.normal(size=(n_normal, latent)) * scales[cluster]
    normal = z @ basis.T + rng.normal(0.0, 0.15, (n_normal, d))
    anomalies = _off_manifold(normal, basis, n_anomalies, rng)
    X = np.vstack([normal, anomalies])
    y = np.r_[np.zeros(n_normal), np.ones(n_anomalies)]
    order = rng.permutation(n)
    return X[order], y[order]


def _off_manifold(
    normal: np.ndarray, basis: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Points within every feature's range whose distance to the subspace is >= 1.5."""
    low, high = np.percentile(normal, 2, axis=0), np.percentile(normal, 98, axis=0)
    found = np.empty((0, normal.shape[1]))
    while len(found) < n:
        candidates = rng.uniform(low, high, (50 * n, normal.shape[1]))
        residual = candidates - candidates @ basis @ basis.T
        found = np.vstack([found, candidates[np.linalg.norm(residual, axis=1) >= 1.5]])
    return found[:n]


def _maintenance(fast: bool, seed: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Standardised sensor readings; 1.5% of rows get a fault on one or two sensors."""
    import workbench as wb

    frame = wb.datasets.load("maintenance", size="medium", seed=seed)
    if fast:
        frame = frame.iloc[:12_000]
    X = frame[_SENSORS].to_numpy(dtype=np.float64)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = np.zeros(len(X))
    faulty = rng.choice(len(X), size=int(round(len(X) * _ANOMALY_SHARE)), replace=False)
    for row in faulty:
        sensors = rng.choice(len(_SENSORS), size=rng.integers(1, 3), replace=False)
        X[row, sensors] += rng.choice([-1.0, 1.0], size=sensors.size) * rng.uniform(
            4, 8, sensors.size
        )
    y[faulty] = 1.0
    order = rng.permutation(len(y))
    return X[order], y[order]
