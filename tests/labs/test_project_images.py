import json

import pytest

import workbench as wb
from workbench.labs import run_lab


@pytest.mark.slow
def test_images_lab_runs_end_to_end(tmp_path, workspace):
    try:
        result = run_lab("projects/05_images", {"FAST": True}, run_dir=tmp_path / "run")
    finally:
        left = list(wb.list_endpoints()["name"])
        for name in left:  # never leave a server running, even if the lab failed
            wb.delete_endpoint(name)
    assert left == [], f"the lab left endpoints running: {left}"
    assert result.status == "Completed"
    assert [nb["lab"] for nb in result.notebooks] == ["projects/05_images"]
    results = json.loads((tmp_path / "run" / "05_images.json").read_text())
    assert results == result.notebooks[0]["results"]
    keys = {"n_images", "n_train", "n_test", "num_layers", "epochs", "baseline_accuracy",
            "cnn_accuracy", "top3_accuracy", "validation_accuracy", "most_confused",
            "endpoint_label", "endpoint_matches", "jobs"}  # fmt: skip
    assert keys <= set(results), sorted(keys - set(results))
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
    assert "cnn_accuracy" in result.summary_path.read_text()
