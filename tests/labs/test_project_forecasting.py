import json

import pytest

import workbench as wb
from workbench.labs import run_lab


@pytest.mark.slow
def test_forecasting_lab_runs_end_to_end(tmp_path, workspace):
    try:
        result = run_lab("projects/03_forecasting", {"FAST": True}, run_dir=tmp_path / "run")
    finally:
        left = list(wb.list_endpoints()["name"])
        for name in left:  # never leave a server running, even if the lab failed
            wb.delete_endpoint(name)
    assert left == [], f"the lab left endpoints running: {left}"
    assert result.status == "Completed"
    assert [nb["lab"] for nb in result.notebooks] == ["projects/03_forecasting"]
    results = json.loads((tmp_path / "run" / "03_forecasting.json").read_text())
    assert results == result.notebooks[0]["results"]
    keys = {"n_stores", "n_days", "prediction_length", "naive_wql", "naive_point_wql",
            "deepar_wql", "deepar_test_wql_metric", "naive_rmse", "deepar_rmse",
            "band_coverage_80", "endpoint_matches", "jobs"}  # fmt: skip
    assert keys <= set(results), sorted(keys - set(results))
    assert (results["n_stores"], results["n_days"], results["prediction_length"]) == (10, 365, 14)
    # residual quantiles make the seasonal-naive baseline better than its point forecast alone
    assert results["naive_wql"] < results["naive_point_wql"]
    # DeepAR (with the promotions as a dynamic feature) clearly beats the baseline
    assert results["deepar_wql"] < 0.9 * results["naive_wql"], results
    assert results["deepar_rmse"] < results["naive_rmse"]
    # the job's test metric forecast the same days from the same history
    assert results["deepar_test_wql_metric"] == pytest.approx(results["deepar_wql"], abs=1e-3)
    assert 0.6 <= results["band_coverage_80"] <= 0.98
    assert results["endpoint_matches"] is True
    job = results["jobs"]["deepar"]
    assert job in set(wb.list_training_jobs()["name"])  # in the caller's workspace
    assert "deepar_wql" in result.summary_path.read_text()
