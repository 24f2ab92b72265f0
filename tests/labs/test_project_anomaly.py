import pytest

import workbench as wb

from ._project import run_project_lab


@pytest.mark.slow
def test_anomaly_detection_lab_runs_end_to_end(tmp_path, workspace):
    keys = {"training_job", "test_readings", "positive_share", "rcf_roc_auc", "zscore_roc_auc",
            "rcf_precision_at_k", "zscore_precision_at_k", "k", "threshold", "alarm_share",
            "alarm_precision", "alarm_recall", "test_f1", "endpoint_scores"}  # fmt: skip
    results = run_project_lab("01_anomaly_detection", tmp_path / "run", keys)
    # The forest ranks pre-failure readings high without labels, close to the z-score baseline
    assert results["rcf_roc_auc"] > 0.85
    assert results["rcf_roc_auc"] >= results["zscore_roc_auc"] - 0.03
    assert results["rcf_precision_at_k"] > 5 * results["positive_share"]
    # The three-sigma alarms are rare and much more precise than chance
    assert 0 < results["alarm_share"] < 0.15
    assert results["alarm_precision"] > 3 * results["positive_share"]
    assert 0 < results["test_f1"] <= 1
    # The endpoint answered SageMaker's {"scores": [...]}: strangest readings first
    high, low = results["endpoint_scores"][:2], results["endpoint_scores"][2:]
    assert min(high) > results["threshold"] > max(low)
    # The training job is in the caller's workspace
    job = wb.TrainingJob(results["training_job"])
    assert job.status == "Completed"
    assert workspace.catalog.exists("training-job", results["training_job"])
