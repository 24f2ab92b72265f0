import pytest

import workbench as wb

from ._project import run_project_lab


@pytest.mark.slow
def test_forecasting_lab_runs_end_to_end(tmp_path, workspace):
    keys = {"n_stores", "n_days", "prediction_length", "naive_wql", "naive_point_wql",
            "deepar_wql", "deepar_test_wql_metric", "naive_rmse", "deepar_rmse",
            "band_coverage_80", "endpoint_matches", "jobs"}  # fmt: skip
    results = run_project_lab("03_forecasting", tmp_path / "run", keys)
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
    assert "deepar_wql" in (tmp_path / "run" / "summary.md").read_text()
