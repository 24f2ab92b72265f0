"""K-Means vs scikit-learn's KMeans(n_init=10): sum of squared distances on the same data."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import check, trained


def run(fast: bool = False, seed: int = 0) -> list[dict[str, Any]]:
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_blobs

    import workbench as wb

    digits = wb.datasets.load("digits", size="small" if fast else "medium", seed=seed)
    X_digits = digits.drop(columns="label").to_numpy(dtype=float)
    X_blobs, _ = make_blobs(
        2000 if fast else 20000, 8, centers=12, cluster_std=2.5, random_state=seed
    )
    cases = [
        ("digits", X_digits, 10, {}),
        ("blobs", X_blobs, 12, {"init_method": "kmeans++", "epochs": 3, "mini_batch_size": 1000}),
    ]
    out = []
    for name, X, k, extra in cases:
        hps = {"k": k, "feature_dim": X.shape[1], "eval_metrics": '["msd","ssd"]', **extra}
        with trained("kmeans", hps, {"train": X}) as (model, _):
            ssd = float(np.sum(model.response_columns(X)["distance_to_cluster"] ** 2))
        reference = KMeans(k, n_init=10, random_state=seed).fit(X).inertia_
        settings = ", ".join(f"{key}={value}" for key, value in extra.items()) or "defaults"
        out.append(
            check(
                "kmeans",
                f"ssd on {name} (k={k}, {settings}) at most 1% above sklearn",
                "ssd",
                ssd,
                reference,
                "sklearn KMeans(n_init=10)",
                ssd <= reference * 1.01,
            )
        )
    return out
