"""DeepAR vs a seasonal-naive forecast on the daily store sales (mean weighted quantile loss).

The last ``prediction_length`` (14) days of every series of ``datasets.load("timeseries")``
are held out. DeepAR trains through the Algorithm API in a temporary job folder on the rest,
written as SageMaker's JSON Lines with ``promo`` as a dynamic feature (its future values are
known, as planned promotions are), and forecasts the held-out days from a long DataFrame
whose held-out values are blanked (``predict_frame``).

The reference is the seasonal-naive forecast with a season of 7 days (each held-out day gets
the value of the same weekday in the last observed week). Its quantiles are the point
forecast plus the empirical quantiles of that series' seasonal-naive residuals
``y[t] - y[t - 7]`` over its whole history: a probabilistic baseline, stronger than using the
point forecast as every quantile (also reported). Both are scored with SageMaker's
``wQuantileLoss[tau] = 2 sum(tau (y - q)+ + (1 - tau) (q - y)+) / sum |y|`` averaged over
the quantiles 0.1 .. 0.9. Pass rule: DeepAR's mean wQuantileLoss is below the baseline's.
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

PREDICTION_LENGTH = 14
SEASON = 7
QUANTILES = tuple(round(q, 1) for q in np.arange(1, 10) / 10)


def run(fast: bool = False, seed: int = 0) -> list[dict[str, Any]]:
    import workbench as wb
    from workbench.algorithms._deepar import weighted_quantile_loss

    df = wb.datasets.load("timeseries", size="small" if fast else "medium", seed=seed)
    hps = {
        "time_freq": "D",
        "context_length": 2 * PREDICTION_LENGTH,
        "prediction_length": PREDICTION_LENGTH,
        "epochs": 60 if fast else 40,
        "learning_rate": 0.005 if fast else 0.003,
        "num_eval_samples": 100,
    }
    forecast, logged = _deepar(df, hps)
    values = np.vstack([g["value"].to_numpy() for _, g in df.groupby("series_id", sort=True)])
    history, actual = values[:, :-PREDICTION_LENGTH], values[:, -PREDICTION_LENGTH:]
    naive = _seasonal_naive(history)
    residuals = history[:, SEASON:] - history[:, :-SEASON]

    def mean_wql(quantile_forecast: Any) -> float:
        return float(
            np.mean([weighted_quantile_loss(actual, quantile_forecast(q), q) for q in QUANTILES])
        )

    deepar = mean_wql(lambda q: forecast[str(q)])
    empirical = mean_wql(lambda q: naive + np.quantile(residuals, q, axis=1)[:, None])
    point = mean_wql(lambda q: naive)
    rmse = float(np.sqrt(np.mean((forecast["mean"] - actual) ** 2)))
    naive_rmse = float(np.sqrt(np.mean((naive - actual) ** 2)))
    n_series, n_days = values.shape
    where = f"{n_series} stores x {n_days} days, last {PREDICTION_LENGTH} held out"
    return [
        check(
            "forecasting-deepar",
            f"mean wQuantileLoss 0.1..0.9 ({where}; job's test:mean_wQuantileLoss "
            f"{logged:.4f}) beats seasonal naive with residual quantiles",
            "mean_wQuantileLoss",
            deepar,
            empirical,
            "seasonal naive (season 7) + empirical residual quantiles",
            deepar < empirical,
        ),
        check(
            "forecasting-deepar",
            "mean wQuantileLoss beats seasonal naive with every quantile = the point forecast",
            "mean_wQuantileLoss",
            deepar,
            point,
            "seasonal naive (season 7), point forecast as quantiles",
            deepar < point,
        ),
        check(
            "forecasting-deepar",
            "RMSE of the mean forecast beats seasonal naive",
            "RMSE",
            rmse,
            naive_rmse,
            "seasonal naive (season 7)",
            rmse < naive_rmse,
        ),
    ]


def _seasonal_naive(history: np.ndarray) -> np.ndarray:
    """Each forecast day gets the value of the same weekday in the last observed week."""
    steps = np.arange(PREDICTION_LENGTH)
    return history[:, history.shape[1] - SEASON + steps % SEASON]


def _deepar(df: Any, hps: dict[str, Any]) -> tuple[dict[str, np.ndarray], float]:
    """DeepAR's held-out forecasts ``{"mean": (n, h), "0.1": (n, h), ...}``, and the job's
    own ``test:mean_wQuantileLoss``."""
    from workbench.algorithms import get_algorithm
    from workbench.algorithms._deepar import to_series, write_series
    from workbench.training._environment import TrainingEnvironment

    algo = get_algorithm("forecasting-deepar")
    cutoff = df.groupby("series_id")["timestamp"].transform("max") - np.timedelta64(
        PREDICTION_LENGTH, "D"
    )
    train = df[df["timestamp"] <= cutoff]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "input" / "data"
        columns = ("series_id", "timestamp", "value", ["promo"])
        write_series(to_series(train, *columns), data / "train" / "train.json")
        write_series(to_series(df, *columns), data / "test" / "test.json")
        config = root / "input" / "config"
        config.mkdir(parents=True)
        (root / "model").mkdir()
        channels = {c: {"ContentType": "application/jsonlines"} for c in ("train", "test")}
        (config / "hyperparameters.json").write_text(
            json.dumps({k: str(v) for k, v in hps.items()})
        )
        (config / "inputdataconfig.json").write_text(json.dumps(channels))
        env = TrainingEnvironment.from_job_dir(root, "check-forecasting-deepar")
        typed = algo.validate_hyperparameters(env.hyperparameters)
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            algo.train(env, typed)
        model = algo.load(env.model_dir)
    future = df[["series_id", "timestamp", "value", "promo"]].copy()
    future.loc[df["timestamp"] > cutoff, "value"] = np.nan
    frame = model.predict_frame(future, quantiles=QUANTILES)
    n_series = frame["series_id"].nunique()
    forecast = {
        col: frame[col].to_numpy().reshape(n_series, PREDICTION_LENGTH)
        for col in ["mean", *map(str, QUANTILES)]
    }
    definitions = algo.metric_definitions(typed)
    regex = next(d["Regex"] for d in definitions if d["Name"] == "test:mean_wQuantileLoss")
    logged = float(re.search(regex, log.getvalue()).group(1))  # type: ignore[union-attr]
    return forecast, logged
