import pytest

import workbench as wb

from ._project import run_project_lab


@pytest.mark.slow
def test_recommendation_lab_runs_end_to_end(tmp_path, workspace):
    keys = {"n_ratings", "n_users", "n_items", "feature_dim", "global_mean_rmse", "bias_rmse",
            "fm_rmse", "fm_test_rmse_metric", "top_pick_rating", "average_test_rating", "user",
            "recommended_items", "endpoint_matches", "jobs"}  # fmt: skip
    results = run_project_lab("02_recommendation", tmp_path / "run", keys)
    # one-hot users and items: feature_dim is the catalogue size
    assert results["feature_dim"] <= results["n_users"] + results["n_items"]
    # the biases beat the mean; FM's pairwise factors clearly beat the biases
    assert results["bias_rmse"] < results["global_mean_rmse"] - 0.1
    assert results["fm_rmse"] < results["bias_rmse"] - 0.03
    assert results["fm_test_rmse_metric"] == pytest.approx(results["fm_rmse"], abs=1e-3)
    # the top-ranked held-out item is one the user really liked better than average
    assert results["top_pick_rating"] > results["average_test_rating"] + 0.3
    assert len(results["recommended_items"]) == 10
    assert results["endpoint_matches"] is True
    job = results["jobs"]["fm"]
    assert job in set(wb.list_training_jobs()["name"])  # in the caller's workspace
    assert "fm_rmse" in (tmp_path / "run" / "summary.md").read_text()
