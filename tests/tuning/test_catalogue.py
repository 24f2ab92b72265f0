"""Tuning an algorithm of the catalogue that learns without labels, on its test:* metric."""

import pytest

import workbench as wb
from workbench.exceptions import ValidationError
from workbench.tuning import CategoricalParameter, HyperparameterTuner, IntegerParameter


def test_kmeans_is_tuned_on_test_msd_and_the_smallest_wins(workspace) -> None:
    pixels = wb.datasets.load("digits", size="small", seed=0).drop(columns="label")
    est = wb.Estimator(algorithm="kmeans", hyperparameters={"k": 10, "feature_dim": 64})
    ranges = {
        "extra_center_factor": IntegerParameter(2, 8),
        "init_method": CategoricalParameter(["random", "kmeans++"]),
    }
    tuner = HyperparameterTuner(
        est, "test:msd", ranges, objective_type="Minimize", max_jobs=3, random_seed=0
    )
    tuner.fit({"train": pixels.iloc[:400], "test": pixels.iloc[400:]})
    frame = tuner.analytics().dataframe()
    assert (frame.TrainingJobStatus == "Completed").all() and len(frame) == 3
    best = frame.loc[frame.FinalObjectiveValue.idxmin(), "TrainingJobName"]
    assert tuner.best_training_job() == best
    assert 0 < frame.FinalObjectiveValue.min() < 2000  # mean squared distance on 0..16 pixels


def test_a_metric_the_algorithm_does_not_emit_is_refused(workspace) -> None:
    est = wb.Estimator(algorithm="kmeans", hyperparameters={"k": 10, "feature_dim": 64})
    with pytest.raises(ValidationError, match="objective_metric_name"):
        HyperparameterTuner(
            est, "validation:auc", {"extra_center_factor": IntegerParameter(2, 8)}, max_jobs=2
        ).fit({"train": wb.datasets.load("digits", size="small").drop(columns="label")})
