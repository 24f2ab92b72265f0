import pytest

from ._project import run_track


@pytest.mark.slow
def test_forecasting_track_runs_day2_then_day3(tmp_path, workspace):
    model, production = run_track("forecasting", tmp_path / "run")
    assert model["training_job"].startswith("forecasting-deepar-")
    assert (model["n_stores"], model["n_days"], model["prediction_length"]) == (10, 365, 14)
    # residual quantiles make the seasonal-naive baseline better than its point forecast alone
    assert model["naive_wql"] < model["naive_point_wql"]
    # DeepAR (with the promotions as a dynamic feature) clearly beats the baseline
    assert model["deepar_wql"] < 0.9 * model["naive_wql"], model
    assert model["deepar_rmse"] < model["naive_rmse"]
    # the job's test metric forecast the same days from the same history
    assert model["deepar_test_wql_metric"] == pytest.approx(model["deepar_wql"], abs=1e-3)
    assert 0.6 <= model["band_coverage_80"] <= 0.98
    assert 0.05 < model["promo_uplift"] < 0.8  # Exercise 1: what a promotion is worth
    # Day 3: the rebuilt baseline, and the endpoint forecast the days the job tested
    assert production["naive_wql"] == pytest.approx(model["naive_wql"], abs=1e-4)
    assert production["endpoint_wql"] == pytest.approx(model["deepar_wql"], abs=2e-3)
    assert 0 < production["latency_p50_ms"] <= production["latency_p95_ms"]
    assert production["batch_series"] == 10 and production["batch_matches_endpoint"] is True
    # accuracy monitoring on the captured forecasts: quiet, then the three shocked stores
    assert production["alarmed_stores_real"] == 0
    assert production["alarmed_stores_competitor"] == 3
    assert (production["retrain_real"], production["retrain_competitor"]) == (False, True)
