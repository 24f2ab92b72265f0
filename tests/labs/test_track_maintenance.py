import pytest

from ._project import run_track


@pytest.mark.slow
def test_maintenance_track_runs_day2_then_day3(tmp_path, workspace):
    model, production = run_track("maintenance", tmp_path / "run")
    # Day 2: the forest ranks pre-failure readings high without labels, close to the z-score baseline
    assert model["training_job"].startswith("maintenance-rcf-")
    assert model["rcf_roc_auc"] > 0.85
    assert model["rcf_roc_auc"] >= model["zscore_roc_auc"] - 0.03
    assert model["rcf_precision_at_k"] > 5 * model["positive_share"]
    # the three-sigma alarms are rare and much more precise than chance
    assert 0 < model["alarm_share"] < 0.15
    assert model["alarm_precision"] > 3 * model["positive_share"]
    assert 0 < model["test_f1"] <= 1
    assert model["rcf_256_roc_auc"] < model["rcf_roc_auc"]  # Exercise 1: masking
    # Day 3 rebuilt the same evaluation from the job's own channels
    assert production["rcf_roc_auc"] == pytest.approx(model["rcf_roc_auc"], abs=1e-3)
    assert production["threshold"] == pytest.approx(model["threshold"], rel=1e-4)
    # the endpoint answered SageMaker's {"scores": [...]}: strangest readings first
    high, low = production["endpoint_scores"][:2], production["endpoint_scores"][2:]
    assert min(high) > production["threshold"] > max(low)
    assert 0 < production["latency_p50_ms"] <= production["latency_p95_ms"]
    # Model Monitor: quiet on normal traffic, exactly the shifted sensor afterwards
    assert production["normal_drift"] == []
    assert production["drift_violations"] == ["vibration"]
    assert production["shifted_alarm_share"] > 2 * production["alarm_share"]
    assert production["batch_rows"] == model["test_readings"]
    assert production["batch_roc_auc"] == pytest.approx(model["rcf_roc_auc"], abs=1e-3)
    assert 0.015 <= production["budget_share"] <= 0.025
    assert production["budget_precision"] > 3 * model["positive_share"]
