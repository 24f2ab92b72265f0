"""Linear Learner vs scikit-learn's LogisticRegression (fraud) and Ridge (regression)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import check, trained


def run(fast: bool = False, seed: int = 0) -> list[dict[str, Any]]:
    from sklearn.datasets import make_regression
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import mean_squared_error, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import workbench as wb

    out = []
    fraud = wb.datasets.load("fraud", size="small" if fast else "medium", seed=seed)
    y = fraud.pop("is_fraud").to_numpy(dtype=float)
    X = fraud.to_numpy(dtype=float)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    hps = {"predictor_type": "binary_classifier", "epochs": 10, "num_models": 8,
           "mini_batch_size": 100}  # fmt: skip
    with trained("linear-learner", hps, {"train": np.column_stack([ytr, Xtr])}) as (model, _):
        auc = roc_auc_score(yte, model.predict_proba(Xte)[:, 1])
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    ref_auc = roc_auc_score(yte, reference.fit(Xtr, ytr).predict_proba(Xte)[:, 1])
    out.append(
        check(
            "linear-learner",
            "binary classifier ROC AUC on fraud within 1% of LogisticRegression",
            "roc_auc",
            auc,
            ref_auc,
            "sklearn LogisticRegression",
            auc >= ref_auc * 0.99,
        )
    )

    X, y = make_regression(
        2000 if fast else 10000, 20, n_informative=12, noise=10.0, random_state=seed
    )
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed)
    hps = {"predictor_type": "regressor", "epochs": 20, "num_models": 8, "mini_batch_size": 100}
    with trained("linear-learner", hps, {"train": np.column_stack([ytr, Xtr])}) as (model, _):
        rmse = mean_squared_error(yte, model.predict(Xte)) ** 0.5
    ref_rmse = mean_squared_error(yte, Ridge(alpha=1.0).fit(Xtr, ytr).predict(Xte)) ** 0.5
    out.append(
        check(
            "linear-learner",
            "regressor RMSE within 1% of Ridge",
            "rmse",
            rmse,
            ref_rmse,
            "sklearn Ridge",
            rmse <= ref_rmse * 1.01,
        )
    )
    return out
