"""Linear Learner: schema, training against scikit-learn baselines, metrics and model files."""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import r2_score

from workbench.algorithms import get_algorithm
from workbench.algorithms._linear_learner import META_FILE, MODEL_FILE, LinearLearner
from workbench.exceptions import ValidationError
from workbench.training._environment import TrainingEnvironment

Split = tuple[np.ndarray, np.ndarray]


def _job(tmp_path: Path, hyperparameters: dict[str, Any], **channels: Split) -> TrainingEnvironment:
    """A job folder in SageMaker's layout with label-first, header-less CSV channels."""
    job_dir = tmp_path / "job"
    config = job_dir / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(
        json.dumps({key: str(value) for key, value in hyperparameters.items()})
    )
    input_config = {
        name: {
            "ContentType": "text/csv",
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
        for name in channels
    }
    (config / "inputdataconfig.json").write_text(json.dumps(input_config))
    for name, (X, y) in channels.items():
        folder = job_dir / "input" / "data" / name
        folder.mkdir(parents=True)
        np.savetxt(folder / f"{name}.csv", np.column_stack([y, X]), delimiter=",", fmt="%.17g")
    (job_dir / "model").mkdir()
    (job_dir / "output").mkdir()
    return TrainingEnvironment.from_job_dir(job_dir, "test-job")


def _train(env: TrainingEnvironment) -> LinearLearner:
    algo = get_algorithm("linear-learner")
    algo.train(env, algo.validate_hyperparameters(env.hyperparameters))
    return algo


def _splits(X: np.ndarray, y: np.ndarray, n_train: int, n_val: int) -> tuple[Split, ...]:
    a, b = n_train, n_train + n_val
    return (X[:a], y[:a]), (X[a:b], y[a:b]), (X[b:], y[b:])


def _printed_metrics(algo: LinearLearner, env: TrainingEnvironment, out: str) -> dict:
    """``{"validation:recall": [values...]}`` found in ``out`` by the metric definitions."""
    hps = algo.validate_hyperparameters(env.hyperparameters)
    found = {}
    for definition in algo.metric_definitions(hps):
        values = [float(v) for v in re.findall(definition["Regex"], out)]
        if values:
            found[definition["Name"]] = values
    return found


@pytest.fixture(scope="module")
def binary_data() -> tuple[Split, ...]:
    X, y = make_classification(
        n_samples=6000, n_features=20, n_informative=8, n_redundant=4, random_state=0
    )
    return _splits(X, y, 4000, 1000)


# --- hyperparameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"predictor_type": "regressor", "learnin_rate": "0.1"}, "learnin_rate"),
        ({"predictor_type": "regressor", "epochs": "ten"}, "epochs"),
        ({"predictor_type": "regressor", "epochs": "0"}, "epochs"),
        ({"predictor_type": "regressor", "quantile": "1.0"}, "quantile"),
        ({"predictor_type": "regressor", "use_bias": "maybe"}, "use_bias"),
        ({"predictor_type": "ranker"}, "predictor_type"),
        ({"epochs": "5"}, "predictor_type"),
        ({"predictor_type": "multiclass_classifier"}, "num_classes"),
        ({"predictor_type": "multiclass_classifier", "num_classes": "2"}, "num_classes"),
        ({"predictor_type": "regressor", "loss": "softmax_loss"}, "loss"),
        ({"predictor_type": "binary_classifier", "loss": "squared_loss"}, "loss"),
        ({"predictor_type": "binary_classifier", "positive_example_weight_mult": "-1"},
         "positive_example_weight_mult"),
        ({"predictor_type": "binary_classifier", "positive_example_weight_mult": "lots"},
         "positive_example_weight_mult"),
    ],
)  # fmt: skip
def test_invalid_hyperparameters_raise_validation_error_naming_the_field(
    values: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        get_algorithm("linear-learner").validate_hyperparameters(values)
    assert field in str(info.value)
    assert field in info.value.field


def test_hyperparameters_are_typed_with_sagemaker_defaults() -> None:
    hps = get_algorithm("linear-learner").validate_hyperparameters(
        {"predictor_type": "binary_classifier", "learning_rate": "0.05", "wd": "auto",
         "positive_example_weight_mult": "balanced", "sagemaker_region": "us-east-1"}
    )  # fmt: skip
    assert hps["learning_rate"] == 0.05
    assert hps["wd"] == "auto"
    assert hps["epochs"] == 15 and hps["mini_batch_size"] == 1000
    assert hps["optimizer"] == "auto" and hps["normalize_data"] is True
    assert hps["binary_classifier_model_selection_criteria"] == "accuracy"


def test_problem_type_follows_predictor_type() -> None:
    algo = get_algorithm("linear-learner")
    assert algo.problem_type({"predictor_type": "binary_classifier"}) == "binary_classification"
    assert algo.problem_type({"predictor_type": "regressor"}) == "regression"
    assert (
        algo.problem_type({"predictor_type": "multiclass_classifier", "num_classes": 3})
        == "multiclass_classification"
    )


# --- training against scikit-learn --------------------------------------------------------


def test_binary_classifier_matches_logistic_regression(tmp_path: Path, binary_data) -> None:
    train, validation, test = binary_data
    env = _job(tmp_path, {"predictor_type": "binary_classifier"},
               train=train, validation=validation)  # fmt: skip
    model = _train(env).load(env.model_dir)
    baseline = LogisticRegression(max_iter=1000).fit(*train).score(*test)
    accuracy = float(np.mean(model.predict(test[0]) == test[1]))
    assert accuracy >= baseline - 0.02
    proba = model.predict_proba(test[0])
    assert proba.shape == (len(test[1]), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:, 1], model.score(test[0]))
    assert model.problem_type == "binary_classification"
    assert model.feature_names == [f"f{i}" for i in range(20)]


def test_regressor_matches_ridge(tmp_path: Path) -> None:
    X, y = make_regression(n_samples=4000, n_features=15, noise=20.0, bias=50.0, random_state=1)
    train, validation, test = _splits(X, y, 2500, 750)
    env = _job(tmp_path, {"predictor_type": "regressor"}, train=train, validation=validation)
    model = _train(env).load(env.model_dir)
    baseline = r2_score(test[1], Ridge().fit(*train).predict(test[0]))
    assert r2_score(test[1], model.predict(test[0])) >= baseline - 0.02
    np.testing.assert_array_equal(model.score(test[0]), model.predict(test[0]))
    with pytest.raises(AttributeError, match="regressor"):
        model.predict_proba(test[0])


def test_multiclass_classifier_matches_logistic_regression(tmp_path: Path) -> None:
    X, y = make_classification(
        n_samples=5000, n_features=20, n_informative=10, n_classes=4,
        n_clusters_per_class=1, random_state=2,
    )  # fmt: skip
    train, validation, test = _splits(X, y, 3500, 750)
    env = _job(tmp_path, {"predictor_type": "multiclass_classifier", "num_classes": 4},
               train=train, validation=validation)  # fmt: skip
    model = _train(env).load(env.model_dir)
    baseline = LogisticRegression(max_iter=2000).fit(*train).score(*test)
    assert float(np.mean(model.predict(test[0]) == test[1])) >= baseline - 0.03
    proba = model.predict_proba(test[0])
    assert proba.shape == (len(test[1]), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_trains_without_validation_channel(tmp_path: Path, binary_data) -> None:
    train, _, test = binary_data
    env = _job(tmp_path, {"predictor_type": "binary_classifier", "num_models": 4,
                          "optimizer": "sgd", "epochs": 5}, train=train)  # fmt: skip
    model = _train(env).load(env.model_dir)
    assert float(np.mean(model.predict(test[0]) == test[1])) > 0.8


@pytest.mark.parametrize(
    "loss",
    ["absolute_loss", "huber_loss", "quantile_loss", "eps_insensitive_squared_loss",
     "eps_insensitive_absolute_loss"],
)  # fmt: skip
def test_regression_losses_fit_a_linear_signal(tmp_path: Path, loss: str) -> None:
    X, y = make_regression(n_samples=1500, n_features=5, noise=5.0, random_state=3)
    train, validation, test = _splits(X, y, 1000, 250)
    env = _job(tmp_path, {"predictor_type": "regressor", "loss": loss, "optimizer": "rmsprop",
                          "mini_batch_size": 100}, train=train, validation=validation)  # fmt: skip
    model = _train(env).load(env.model_dir)
    assert r2_score(test[1], model.predict(test[0])) > 0.95


# --- metrics, model files, errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("hyperparameters", "expected"),
    [
        ({"predictor_type": "binary_classifier", "loss": "hinge_loss",
          "binary_classifier_model_selection_criteria": "f_beta"},
         {"validation:binary_classification_accuracy", "test:roc_auc_score", "test:recall"}),
        ({"predictor_type": "regressor"}, {"validation:rmse", "test:mse", "test:absolute_loss"}),
        ({"predictor_type": "multiclass_classifier", "num_classes": 3},
         {"validation:multiclass_accuracy", "test:macro_f_beta", "test:dcg"}),
    ],
)  # fmt: skip
def test_printed_metrics_match_metric_definitions(
    tmp_path: Path, capsys, hyperparameters: dict[str, Any], expected: set[str]
) -> None:
    if hyperparameters["predictor_type"] == "regressor":
        X, y = make_regression(n_samples=1200, n_features=6, noise=1.0, random_state=4)
    else:
        k = hyperparameters.get("num_classes", 2)
        X, y = make_classification(
            n_samples=1200, n_features=6, n_informative=4, n_classes=k, random_state=4
        )
    train, validation, test = _splits(X, y, 800, 200)
    env = _job(tmp_path, {**hyperparameters, "epochs": 3},
               train=train, validation=validation, test=test)  # fmt: skip
    algo = _train(env)
    out = capsys.readouterr().out
    definitions = algo.metric_definitions(algo.validate_hyperparameters(env.hyperparameters))
    seen = _printed_metrics(algo, env, out)
    assert set(seen) == {d["Name"] for d in definitions}  # every channel is present
    assert expected <= set(seen)
    assert len(seen["train:objective_loss"]) == len(seen["validation:objective_loss"]) - 1 >= 1
    assert all(math.isfinite(v) for values in seen.values() for v in values)
    lines = [line for line in out.splitlines() if line.startswith("#quality_metric")]
    assert all(any(re.search(d["Regex"], line) for d in definitions) for line in lines)
    assert "chose model" in out


def test_model_files_load_without_pickle_and_reproduce_training_predictions(
    tmp_path: Path, capsys, binary_data
) -> None:
    train, validation, test = binary_data
    env = _job(tmp_path, {"predictor_type": "binary_classifier"},
               train=train, validation=validation, test=test)  # fmt: skip
    algo = _train(env)
    printed = _printed_metrics(algo, env, capsys.readouterr().out)
    assert sorted(p.name for p in env.model_dir.iterdir()) == sorted([MODEL_FILE, META_FILE])
    with zipfile.ZipFile(env.model_dir / MODEL_FILE) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(env.model_dir / MODEL_FILE, allow_pickle=False) as arrays:
        assert arrays["weights"].shape == (20, 1)
        assert all(arrays[name].dtype != object for name in arrays.files)
    meta = json.loads((env.model_dir / META_FILE).read_text())
    assert meta["problem_type"] == "binary_classification"
    assert 0.0 <= meta["threshold"] <= 1.0
    assert meta["chosen_model"]["num_models"] == 32  # auto learning_rate, wd and l1
    model = algo.load(env.model_dir)
    for channel, (X, y) in (("validation", validation), ("test", test)):
        accuracy = float(np.mean(model.predict(X) == y))
        assert accuracy == pytest.approx(printed[f"{channel}:binary_classification_accuracy"][0],
                                         abs=1e-6)  # fmt: skip
    np.testing.assert_array_equal(model.predict(test[0]), algo.load(env.model_dir).predict(test[0]))


def test_early_stopping_ends_training_when_no_model_improves(tmp_path: Path, binary_data) -> None:
    train, validation, _ = binary_data
    env = _job(tmp_path, {"predictor_type": "binary_classifier", "num_models": 1,
                          "learning_rate": 0.05, "wd": 0, "l1": 0, "epochs": 60,
                          "early_stopping_patience": 1, "early_stopping_tolerance": 0.01},
               train=train, validation=validation)  # fmt: skip
    _train(env)
    meta = json.loads((env.model_dir / META_FILE).read_text())
    assert meta["epochs_trained"] < 60
    assert meta["chosen_model"]["num_models"] == 1


def test_feature_dim_mismatch_raises(tmp_path: Path, binary_data) -> None:
    train, _, _ = binary_data
    env = _job(tmp_path, {"predictor_type": "binary_classifier", "feature_dim": 5}, train=train)
    with pytest.raises(ValidationError, match="feature_dim"):
        _train(env)


def test_binary_labels_other_than_0_and_1_raise(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(50, 3))
    y = np.array([0, 1, 2, 1, 0] * 10, dtype=float)
    env = _job(tmp_path, {"predictor_type": "binary_classifier"}, train=(X, y))
    with pytest.raises(ValidationError, match="channel 'train' labels"):
        _train(env)


def test_multiclass_labels_out_of_range_raise() -> None:
    algo = get_algorithm("linear-learner")
    hps = algo.validate_hyperparameters({"predictor_type": "multiclass_classifier",
                                         "num_classes": "3"})  # fmt: skip
    with pytest.raises(ValidationError, match="channel 'validation' labels"):
        algo.check_labels(np.array([0.0, 1.0, 3.0]), hps, "validation")
    with pytest.raises(ValidationError, match="channel 'train' labels"):
        algo.check_labels(np.array([0.0, 1.5]), hps, "train")


def test_balanced_positive_weight_raises_recall_on_imbalanced_data(tmp_path: Path) -> None:
    X, y = make_classification(
        n_samples=6000, n_features=10, n_informative=4, weights=[0.95, 0.05],
        class_sep=0.6, flip_y=0.0, random_state=5,
    )  # fmt: skip
    train, validation, test = _splits(X, y, 4000, 1000)
    recalls = {}
    for mult in ("1.0", "balanced"):
        env = _job(tmp_path / mult, {"predictor_type": "binary_classifier",
                                     "positive_example_weight_mult": mult},
                   train=train, validation=validation)  # fmt: skip
        predicted = _train(env).load(env.model_dir).predict(test[0])
        recalls[mult] = float(np.mean(predicted[test[1] == 1]))
    assert recalls["balanced"] > recalls["1.0"] + 0.1
