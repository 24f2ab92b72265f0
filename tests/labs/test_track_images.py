import pytest

from ._project import run_track


@pytest.mark.slow
def test_images_track_runs_day2_then_day3(tmp_path, workspace):
    model, production = run_track("images", tmp_path / "run")
    assert model["training_job"].startswith("images-ic-")
    assert model["n_images"] == 1797 and model["n_test"] == 360
    # the ResNet reads held-out digits at least as well as logistic regression on the pixels
    assert model["baseline_accuracy"] > 0.94
    assert model["cnn_accuracy"] >= 0.96
    assert model["cnn_accuracy"] >= model["baseline_accuracy"] - 0.01
    assert model["top3_accuracy"] >= max(model["cnn_accuracy"], 0.99)
    assert model["validation_accuracy"] >= 0.94
    assert model["confidence_wrong"] < model["confidence_right"]  # Exercise 1
    # Day 3: the same test images (rebuilt split), the same accuracy through batch transform
    assert production["baseline_accuracy"] == model["baseline_accuracy"]
    assert production["batch_accuracy"] == pytest.approx(model["cnn_accuracy"], abs=1e-3)
    # the endpoint read a PNG sent as bytes
    assert production["endpoint_label"] == production["endpoint_true_label"]
    assert production["endpoint_accuracy"] >= 0.93
    assert 0 < production["latency_p50_ms"] <= production["latency_p95_ms"]
    # confidence monitoring without labels: rotated scans raise the doubtful share
    assert production["normal_doubtful_share"] <= 0.15 < production["rotated_doubtful_share"]
    assert production["auto_accuracy"] >= 0.995 and production["review_share"] < 0.2
