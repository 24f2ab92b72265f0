import pytest

import workbench as wb
from workbench.exceptions import ResourceNotFound
from workbench.labs import latest_training_job


def test_finds_the_newest_completed_job_of_a_base_name(workspace, binary_frame):
    est = wb.Estimator(
        algorithm="xgboost",
        target="y",
        base_job_name="fraud-xgb",
        hyperparameters={"objective": "binary:logistic", "num_round": 2},
    )
    first = est.fit({"train": binary_frame}, logs=False)
    second = est.fit({"train": binary_frame}, logs=False)
    assert latest_training_job("fraud-xgb").name == second.name != first.name


def test_missing_job_says_which_lab_to_run(workspace):
    with pytest.raises(ResourceNotFound, match="fraud-xgb-<timestamp>.*Day 2 lab"):
        latest_training_job("fraud-xgb")
