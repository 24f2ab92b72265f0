import pytest

from ._project import run_track


@pytest.mark.slow
def test_recommendation_track_runs_day2_then_day3(tmp_path, workspace):
    model, production = run_track("recommendation", tmp_path / "run")
    # Day 2: one-hot users and items; feature_dim is the catalogue size
    assert model["training_job"].startswith("recommendation-fm-")
    assert model["feature_dim"] <= model["n_users"] + model["n_items"]
    # the biases beat the mean; FM's pairwise factors clearly beat the biases
    assert model["bias_rmse"] < model["global_mean_rmse"] - 0.1
    assert model["fm_rmse"] < model["bias_rmse"] - 0.03
    assert model["fm_test_rmse_metric"] == pytest.approx(model["fm_rmse"], abs=1e-3)
    # the top-ranked held-out item is one the user really liked better than average
    assert model["top_pick_rating"] > model["average_test_rating"] + 0.3
    assert len(model["recommended_items"]) == 10
    assert model["heavy_user_fm_rmse"] < model["light_user_fm_rmse"]  # Exercise 1
    # Day 3 rebuilt the same data (fingerprints) and baselines
    assert production["bias_rmse"] == model["bias_rmse"]
    assert production["fm_rmse"] == pytest.approx(model["fm_rmse"], abs=1e-3)
    # the endpoint answered SageMaker's sparse JSON like the model: the same top 10
    assert production["endpoint_matches"] is True
    assert production["user"] == model["user"]
    assert production["recommended_items"] == model["recommended_items"]
    assert 0 < production["latency_p50_ms"] <= production["latency_p95_ms"]
    # cold-start monitoring on captured pairs, and the retraining decision
    assert production["normal_cold_start_share"] < 0.02
    assert 0.25 < production["campaign_cold_start_share"] < 0.55
    assert (production["retrain_normal"], production["retrain_campaign"]) == (False, True)
    assert production["batch_rmse"] == pytest.approx(model["fm_rmse"], abs=1e-3)
