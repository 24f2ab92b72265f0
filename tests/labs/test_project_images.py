import pytest

import workbench as wb

from ._project import run_project_lab


@pytest.mark.slow
def test_images_lab_runs_end_to_end(tmp_path, workspace):
    keys = {"n_images", "n_train", "n_test", "num_layers", "epochs", "baseline_accuracy",
            "cnn_accuracy", "top3_accuracy", "validation_accuracy", "most_confused",
            "endpoint_label", "endpoint_matches", "jobs"}  # fmt: skip
    results = run_project_lab("05_images", tmp_path / "run", keys)
    assert results["n_images"] == 1797 and results["n_test"] == 360
    # the ResNet reads held-out digits at least as well as logistic regression on the pixels
    assert results["baseline_accuracy"] > 0.94
    assert results["cnn_accuracy"] >= 0.96
    assert results["cnn_accuracy"] >= results["baseline_accuracy"] - 0.01
    assert results["top3_accuracy"] >= max(results["cnn_accuracy"], 0.99)
    assert results["validation_accuracy"] >= 0.94
    assert results["endpoint_matches"] is True and 0 <= results["endpoint_label"] <= 9
    job = results["jobs"]["image_classification"]
    assert job in set(wb.list_training_jobs()["name"])  # in the caller's workspace
    assert "cnn_accuracy" in (tmp_path / "run" / "summary.md").read_text()
