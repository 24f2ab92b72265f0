import re

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import roc_auc_score

from workbench.algorithms import get_algorithm, read_channel
from workbench.exceptions import ValidationError

from ._jobdir import label_first, make_job_dir

ALGO = get_algorithm("xgboost")


def _train(tmp_path, hps, channels, content_type="text/csv"):
    env = make_job_dir(tmp_path / "job", hps, channels, content_type)
    typed = ALGO.validate_hyperparameters(env.hyperparameters)
    ALGO.check_inputs(typed, env.channels)
    ALGO.train(env, typed)
    return env, ALGO.load(env.model_dir)


def test_binary_logistic_on_label_first_csv_reports_sagemaker_metrics(tmp_path, capsys):
    X, y = make_classification(600, 8, random_state=0)
    hps = {"objective": "binary:logistic", "num_round": 20, "eval_metric": "auc,logloss"}
    env, model = _train(
        tmp_path,
        hps,
        {"train": label_first(X[:400], y[:400]), "validation": label_first(X[400:], y[400:])},
    )
    out = capsys.readouterr().out
    definitions = ALGO.metric_definitions(ALGO.validate_hyperparameters(hps))
    names = {d["Name"] for d in definitions}
    assert names == {"train:auc", "train:logloss", "validation:auc", "validation:logloss"}
    for d in definitions:
        values = [
            float(m.group(1)) for m in map(re.compile(d["Regex"]).search, out.splitlines()) if m
        ]
        assert len(values) == 20, d["Name"]
    assert roc_auc_score(y[400:], model.predict_proba(X[400:])[:, 1]) > 0.9
    assert set(model.predict(X[400:])) <= {0, 1}
    assert (env.model_dir / "xgboost-model.ubj").exists()  # XGBoost's own format, no pickle


def _series(hps, out):
    definitions = ALGO.metric_definitions(ALGO.validate_hyperparameters(hps))
    return {
        d["Name"]: [
            float(m.group(1)) for m in map(re.compile(d["Regex"]).search, out.splitlines()) if m
        ]
        for d in definitions
    }


@pytest.mark.parametrize("early_stopping", [None, 50])
def test_a_tuning_trial_evaluates_its_objective_every_round_and_the_rest_once(
    tmp_path, capsys, early_stopping
):
    X, y = make_classification(600, 8, random_state=0)
    channels = {"train": label_first(X[:400], y[:400]), "validation": label_first(X[400:], y[400:])}
    hps = {"objective": "binary:logistic", "num_round": 20, "eval_metric": "auc,logloss"}
    _train(tmp_path / "plain", hps, channels)
    plain = _series(hps, capsys.readouterr().out)
    tuned = dict(hps, _tuning_objective_metric="validation:auc")
    if early_stopping:
        tuned["early_stopping_rounds"] = early_stopping
    _, model = _train(tmp_path / "tuned", tuned, channels)
    series = _series(tuned, capsys.readouterr().out)
    assert len(series["validation:auc"]) == 20  # the objective, every round
    assert len(series["train:auc"]) == len(series["train:logloss"]) == 1  # once, at the end
    # early stopping watches the last metric on validation, so that one is evaluated too
    assert len(series["validation:logloss"]) == (20 if early_stopping else 1)
    if not early_stopping:  # the values printed once are the plain job's last values
        assert series["train:logloss"][-1] == pytest.approx(plain["train:logloss"][-1], abs=1e-5)
        assert series["validation:logloss"][-1] == pytest.approx(
            plain["validation:logloss"][-1], abs=1e-5
        )
        assert model.booster.num_boosted_rounds() == 20


def test_metric_regexes_also_match_cloudwatch_tab_encoding():
    d = ALGO.metric_definitions({"objective": "binary:logistic", "eval_metric": "auc"})
    regex = next(x["Regex"] for x in d if x["Name"] == "validation:auc")
    assert re.search(regex, "[4]#011train-auc:0.91#011validation-auc:0.88").group(1) == "0.88"


def test_multiclass_softprob_and_regression(tmp_path):
    X, y = make_classification(500, 6, n_informative=4, n_classes=3, random_state=1)
    hps = {"objective": "multi:softprob", "num_class": 3, "num_round": 10}
    _, model = _train(tmp_path / "m", hps, {"train": label_first(X, y)})
    proba = model.predict_proba(X)
    assert proba.shape == (500, 3) and np.allclose(proba.sum(axis=1), 1)
    assert (model.predict(X) == y).mean() > 0.8
    Xr, yr = make_regression(400, 5, noise=1.0, random_state=2)
    _, reg = _train(tmp_path / "r", {"num_round": 30}, {"train": label_first(Xr, yr)})
    assert reg.problem_type == "regression"
    assert np.corrcoef(reg.predict(Xr), yr)[0, 1] > 0.9
    with pytest.raises(AttributeError, match="predict_proba"):
        reg.predict_proba(Xr)


def test_early_stopping_keeps_the_best_iteration(tmp_path, capsys):
    X, y = make_classification(400, 5, flip_y=0.3, random_state=3)
    hps = {"objective": "binary:logistic", "num_round": 300, "early_stopping_rounds": 5, "eta": 0.5}
    env, model = _train(
        tmp_path,
        hps,
        {"train": label_first(X[:300], y[:300]), "validation": label_first(X[300:], y[300:])},
    )
    assert "Best iteration" in capsys.readouterr().out
    assert model.booster.num_boosted_rounds() < 300


def test_npy_frame_channels_are_read(tmp_path):
    X, y = make_classification(300, 4, random_state=4)
    _, model = _train(
        tmp_path,
        {"objective": "binary:logistic", "num_round": 5},
        {"train": label_first(X, y)},
        content_type="application/x-npy",
    )
    assert model.predict(X).shape == (300,)


@pytest.mark.parametrize(
    ("hps", "field"),
    [
        ({"num_round": 5, "objective": "multi:softprob"}, "num_class"),
        ({"num_round": 5, "num_class": 3}, "num_class"),
        ({"num_round": 5, "eval_metric": "auc,nonsense"}, "eval_metric"),
        ({"num_round": 5, "max_depth": -1}, "max_depth"),
        ({"num_round": 5, "eta": 2}, "eta"),
        ({"objective": "binary:logistic"}, "num_round"),
    ],
)
def test_bad_hyperparameters_are_refused(hps, field):
    with pytest.raises(ValidationError, match=field):
        ALGO.validate_hyperparameters(hps)


def test_early_stopping_needs_a_validation_channel():
    typed = ALGO.validate_hyperparameters({"num_round": 5, "early_stopping_rounds": 2})
    with pytest.raises(ValidationError, match="validation"):
        ALGO.check_inputs(typed, ["train"])


def test_labels_are_checked_against_the_objective():
    typed = ALGO.validate_hyperparameters({"num_round": 5, "objective": "binary:logistic"})
    with pytest.raises(ValidationError, match="0 or 1"):
        ALGO.check_labels(np.array([0.0, 2.0]), typed, "train")
    typed = ALGO.validate_hyperparameters(
        {"num_round": 5, "objective": "multi:softmax", "num_class": 3}
    )
    with pytest.raises(ValidationError, match="0..2"):
        ALGO.check_labels(np.array([0.0, 3.0]), typed, "train")


def test_csv_with_a_header_row_gets_a_clear_error(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    (folder / "t.csv").write_text("label,a,b\n1,2,3\n")
    with pytest.raises(ValidationError, match="no header row"):
        read_channel(folder, "text/csv", channel="train")
    data = read_channel(folder, "text/csv;header=present;target=label", channel="train")
    assert data.feature_names == ["a", "b"] and data.y.tolist() == [1.0]


def test_non_numeric_columns_are_refused(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    (folder / "t.csv").write_text("y,a,b\n1,x,3\n0,y,4\n")
    with pytest.raises(ValidationError, match="numeric columns only"):
        read_channel(folder, "text/csv;header=present;target=y", channel="train")
