"""Factorization Machines vs a user/item-bias baseline on the ratings (held-out RMSE).

The ratings are one-hot encoded (user, item) pairs written as LibSVM, the format a user
hands to ``TrainingInput(path, content_type="text/libsvm")``; FM trains through the
Algorithm API in a temporary job folder. The baseline is the global mean plus regularised
user and item biases (alternating least squares on the training part), with its
regularisation chosen on the test part: the baseline's best case.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._common import check

_BIAS_PENALTIES = (1.0, 3.0, 5.0, 10.0, 25.0)


def run(fast: bool = False, seed: int = 0) -> list[dict[str, Any]]:
    import workbench as wb

    ratings = wb.datasets.load("ratings", size="medium", seed=seed)
    held_out = np.random.default_rng(seed).random(len(ratings)) < 0.2
    train, test = ratings[~held_out], ratings[held_out]
    hps = {
        "num_factors": 8,
        "predictor_type": "regressor",
        "epochs": 8 if fast else 25,
        "mini_batch_size": 1000,
        "linear_lr": 0.04 if fast else 0.02,
        "factors_lr": 0.04 if fast else 0.02,
        "linear_wd": 3e-4,
        "factors_wd": 5e-4,
        "factors_init_sigma": 0.05,
    }
    rmse, logged = _fm_rmse(train, test, hps)
    baseline = min(_bias_rmse(train, test, penalty) for penalty in _BIAS_PENALTIES)
    return [
        check(
            "factorization-machines",
            f"regressor RMSE on held-out ratings (test:rmse {logged:.4f}) beats user/item biases",
            "rmse",
            rmse,
            baseline,
            "global mean + regularised user and item biases",
            rmse < baseline,
        )
    ]


def _fm_rmse(train: Any, test: Any, hps: dict[str, Any]) -> tuple[float, float]:
    """Held-out RMSE of the trained model's predictions, and the job's own test:rmse line."""
    from workbench.algorithms import get_algorithm
    from workbench.algorithms._fm import encode_one_hot
    from workbench.training._environment import TrainingEnvironment

    algo = get_algorithm("factorization-machines")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "input" / "data"
        encoding = encode_one_hot(
            train, ["user_id", "item_id"], target="rating", path=data / "train" / "train.libsvm"
        )
        encoding.write_libsvm(test, data / "test" / "test.libsvm", target="rating")
        config = root / "input" / "config"
        config.mkdir(parents=True)
        (root / "model").mkdir()
        hps = dict(hps, feature_dim=encoding.feature_dim)
        channels = {c: {"ContentType": "text/libsvm"} for c in ("train", "test")}
        (config / "hyperparameters.json").write_text(
            json.dumps({k: str(v) for k, v in hps.items()})
        )
        (config / "inputdataconfig.json").write_text(json.dumps(channels))
        env = TrainingEnvironment.from_job_dir(root, "check-factorization-machines")
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            algo.train(env, algo.validate_hyperparameters(env.hyperparameters))
        model = algo.load(env.model_dir)
    predicted = model.predict(encoding.transform(test))
    rmse = float(np.sqrt(np.mean((test["rating"].to_numpy(dtype=float) - predicted) ** 2)))
    regex = next(d["Regex"] for d in algo.metric_definitions(hps) if d["Name"] == "test:rmse")
    logged = float(re.search(regex, log.getvalue()).group(1))  # type: ignore[union-attr]
    return rmse, logged


def _bias_rmse(train: Any, test: Any, penalty: float, sweeps: int = 15) -> float:
    """RMSE of mean + b_user + b_item, fitted by alternating ridge updates on ``train``."""
    users, items = train["user_id"].to_numpy(), train["item_id"].to_numpy()
    rating = train["rating"].to_numpy(dtype=float)
    n_users = int(max(users.max(), test["user_id"].max())) + 1
    n_items = int(max(items.max(), test["item_id"].max())) + 1
    mean = rating.mean()
    b_user, b_item = np.zeros(n_users), np.zeros(n_items)
    user_counts = np.bincount(users, minlength=n_users) + penalty
    item_counts = np.bincount(items, minlength=n_items) + penalty
    for _ in range(sweeps):
        b_user = np.bincount(users, rating - mean - b_item[items], n_users) / user_counts
        b_item = np.bincount(items, rating - mean - b_user[users], n_items) / item_counts
    predicted = mean + b_user[test["user_id"].to_numpy()] + b_item[test["item_id"].to_numpy()]
    return float(np.sqrt(np.mean((test["rating"].to_numpy(dtype=float) - predicted) ** 2)))
