"""k-NN vs scikit-learn's KNeighborsClassifier (digits) and KNeighborsRegressor (regression)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import check, trained


def run(fast: bool = False, seed: int = 0) -> list[dict[str, Any]]:
    from sklearn.datasets import make_regression
    from sklearn.metrics import mean_squared_error
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    import workbench as wb

    out = []
    digits = wb.datasets.load("digits", size="small" if fast else "medium", seed=seed)
    y = digits.pop("label").to_numpy(dtype=float)
    X = digits.to_numpy(dtype=float)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    ref_acc = KNeighborsClassifier(5).fit(Xtr, ytr).score(Xte, yte)
    for index_type in ("faiss.Flat", "faiss.IVFFlat"):
        hps = {"k": 5, "predictor_type": "classifier", "sample_size": len(Xtr),
               "feature_dim": X.shape[1], "index_type": index_type}  # fmt: skip
        with trained("knn", hps, {"train": np.column_stack([ytr, Xtr])}) as (model, _):
            acc = float(np.mean(model.predict(Xte) == yte))
        out.append(
            check(
                "knn",
                f"classifier accuracy on digits ({index_type}, k=5) within 1% of sklearn",
                "accuracy",
                acc,
                ref_acc,
                "sklearn KNeighborsClassifier(5)",
                acc >= ref_acc * 0.99,
            )
        )

    X, y = make_regression(
        2000 if fast else 8000, 10, n_informative=8, noise=10.0, random_state=seed
    )
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed)
    hps = {"k": 10, "predictor_type": "regressor", "sample_size": len(Xtr), "feature_dim": 10}
    with trained("knn", hps, {"train": np.column_stack([ytr, Xtr])}) as (model, _):
        mse = mean_squared_error(yte, model.predict(Xte))
    ref_mse = mean_squared_error(yte, KNeighborsRegressor(10).fit(Xtr, ytr).predict(Xte))
    out.append(
        check(
            "knn",
            "regressor MSE on make_regression (k=10) within 1% of sklearn",
            "mse",
            mse,
            ref_mse,
            "sklearn KNeighborsRegressor(10)",
            mse <= ref_mse * 1.01,
        )
    )
    return out
