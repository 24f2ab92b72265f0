"""PCA (regular and randomized) vs scikit-learn's PCA: variance of the top components."""

from __future__ import annotations

from typing import Any

from ._common import check, trained


def run(fast: bool = False, seed: int = 0) -> list[dict[str, Any]]:
    from sklearn.datasets import make_low_rank_matrix
    from sklearn.decomposition import PCA

    import workbench as wb

    digits = wb.datasets.load("digits", size="small" if fast else "medium", seed=seed)
    X_digits = digits.drop(columns="label").to_numpy(dtype=float)
    X_wide = make_low_rank_matrix(
        1000 if fast else 4000, 300, effective_rank=30, tail_strength=0.3, random_state=seed
    )
    out = []
    for name, X, k in (("digits", X_digits, 10), ("low-rank 300-column matrix", X_wide, 20)):
        reference = PCA(k, svd_solver="full").fit(X).explained_variance_.sum()
        for mode in ("regular", "randomized"):
            hps = {"feature_dim": X.shape[1], "num_components": k, "algorithm_mode": mode}
            with trained("pca", hps, {"train": X}) as (model, _):
                variance = float(model.explained_variance.sum())
            out.append(
                check(
                    "pca",
                    f"{mode} mode: variance of {k} components on {name} within 1% of sklearn",
                    "explained_variance",
                    variance,
                    reference,
                    "sklearn PCA(svd_solver='full')",
                    variance >= reference * 0.99,
                )
            )
    return out
