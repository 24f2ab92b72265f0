import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_regression
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

import workbench as wb
from workbench import datasets
from workbench.algorithms import get_algorithm
from workbench.algorithms._knn import META_FILE, MODEL_FILE, reservoir_sample
from workbench.exceptions import ValidationError
from workbench.training._inputs import TrainingInput, prepare_channels

from ._jobdir import label_first, make_job_dir

ALGO = get_algorithm("knn")


@pytest.fixture(scope="module")
def digits():
    df = datasets.load("digits", size="small")
    X = df.drop(columns="label").to_numpy(float)
    y = df["label"].to_numpy(float)
    return X[:400], y[:400], X[400:], y[400:]


def _hps(**extra):
    return {
        "k": 5,
        "sample_size": 10_000,
        "feature_dim": 64,
        "predictor_type": "classifier",
        **extra,
    }


def _train(tmp_path, hps, channels, content_type="text/csv"):
    env = make_job_dir(tmp_path / "job", hps, channels, content_type)
    typed = ALGO.validate_hyperparameters(env.hyperparameters)
    ALGO.check_inputs(typed, env.channels)
    ALGO.train(env, typed)
    return env, ALGO.load(env.model_dir)


def _metric(hps, out, name):
    definitions = ALGO.metric_definitions(ALGO.validate_hyperparameters(hps))
    regex = next(d["Regex"] for d in definitions if d["Name"] == name)
    return [float(m.group(1)) for m in map(re.compile(regex).search, out.splitlines()) if m]


def test_classifier_matches_scikit_learn_and_reports_test_accuracy(tmp_path, capsys, digits):
    X, y, Xt, yt = digits
    hps = _hps()
    env, model = _train(tmp_path, hps, {"train": label_first(X, y), "test": label_first(Xt, yt)})
    reference = KNeighborsClassifier(5).fit(X, y).score(Xt, yt)
    accuracy = _metric(hps, capsys.readouterr().out, "test:accuracy")
    assert len(accuracy) == 1 and accuracy[0] == pytest.approx(reference, abs=0.01)
    assert {d["Name"] for d in ALGO.metric_definitions(ALGO.validate_hyperparameters(hps))} == {
        "test:accuracy"
    }
    assert model.problem_type == "multiclass_classification"
    columns = model.response_columns(Xt[:3])
    assert set(columns) == {"predicted_label"} and columns["predicted_label"].dtype == np.float64
    proba = model.predict_proba(Xt)
    assert proba.shape == (100, 10) and np.allclose(proba.sum(axis=1), 1)
    assert np.array_equal(model.classes[proba.argmax(axis=1)], model.predict(Xt))
    with np.load(env.model_dir / MODEL_FILE, allow_pickle=False) as npz:  # no pickle inside
        assert npz["labels"].shape == (400,)
    assert json.loads((env.model_dir / META_FILE).read_text())["index_type"] == "faiss.Flat"


def test_regressor_on_npy_frames_matches_scikit_learn_mse(tmp_path, capsys):
    X, y = make_regression(500, 6, noise=10.0, random_state=0)
    hps = {"k": 7, "sample_size": 1000, "feature_dim": 6, "predictor_type": "regressor"}
    _, model = _train(
        tmp_path,
        hps,
        {"train": label_first(X[:400], y[:400]), "test": label_first(X[400:], y[400:])},
        content_type="application/x-npy",
    )
    reference = np.mean(
        (KNeighborsRegressor(7).fit(X[:400], y[:400]).predict(X[400:]) - y[400:]) ** 2
    )
    mse = _metric(hps, capsys.readouterr().out, "test:mse")
    assert mse == [pytest.approx(reference, rel=0.01)]
    assert model.problem_type == "regression"
    with pytest.raises(AttributeError, match="predict_proba"):
        model.predict_proba(X[:2])


@pytest.mark.parametrize(
    "extra",
    [
        {"index_type": "faiss.IVFFlat"},
        {"index_type": "faiss.IVFFlat", "index_metric": "INNER_PRODUCT"},
        {"index_type": "faiss.IVFPQ", "faiss_index_pq_m": 8, "faiss_index_ivf_nlists": 4},
        {
            "index_metric": "COSINE",
            "dimension_reduction_type": "sign",
            "dimension_reduction_target": 24,
        },
        {"dimension_reduction_type": "fjlt", "dimension_reduction_target": 24},
    ],
)
def test_ivf_indexes_metrics_and_dimension_reduction_keep_accuracy(tmp_path, digits, extra):
    X, y, Xt, yt = digits
    _, model = _train(tmp_path, _hps(**extra), {"train": label_first(X, y)})
    floor = 0.7 if extra.get("index_metric") == "INNER_PRODUCT" else 0.85  # IP is no distance
    assert np.mean(model.predict(Xt) == yt) > floor
    reloaded = ALGO.load(tmp_path / "job" / "model")
    assert np.array_equal(reloaded.predict(Xt), model.predict(Xt))
    if "dimension_reduction_target" in extra:
        assert model.index.dim == 24
    if extra.get("index_type") == "faiss.IVFPQ":
        assert "vectors" not in model.arrays and model.arrays["codes"].shape == (400, 8)


def test_ivf_search_finds_most_true_neighbours(tmp_path, digits):
    X, y, Xt, _ = digits
    _, flat = _train(tmp_path / "flat", _hps(), {"train": label_first(X, y)})
    _, ivf = _train(
        tmp_path / "ivf", _hps(index_type="faiss.IVFFlat"), {"train": label_first(X, y)}
    )
    truth, found = flat.kneighbors(Xt)[1], ivf.kneighbors(Xt)[1]
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(truth, found)])
    assert ivf.index.nlists == 20 and ivf.index.nprobe == 5
    assert 0.8 < recall <= 1.0


def test_reservoir_sampling_is_uniform_and_keeps_sample_size_rows(tmp_path, digits):
    rng = np.random.default_rng(1)
    counts = np.zeros(30)
    for _ in range(1500):
        rows = reservoir_sample(30, 6, 4, rng)
        assert len(set(rows)) == 6 and rows.max() < 30
        counts[rows] += 1
    assert np.allclose(counts / 1500, 0.2, atol=0.05)  # 0.05 is 5 standard deviations
    X, y, Xt, yt = digits
    _, model = _train(
        tmp_path, _hps(sample_size=150, mini_batch_size=64), {"train": label_first(X, y)}
    )
    assert model.arrays["labels"].shape == (150,)
    assert np.mean(model.predict(Xt) == yt) > 0.8


@pytest.mark.parametrize(
    ("hps", "field"),
    [
        (_hps(k=20, sample_size=10), "hyperparameters['k']"),
        (_hps(dimension_reduction_type="sign"), "dimension_reduction_target"),
        (_hps(dimension_reduction_target=8), "dimension_reduction_type"),
        (
            _hps(dimension_reduction_type="fjlt", dimension_reduction_target=64),
            "dimension_reduction_target",
        ),
        (_hps(index_type="faiss.IVFPQ", index_metric="COSINE"), "index_metric"),
        (_hps(faiss_index_pq_m=5), "faiss_index_pq_m"),
        ({"k": 5, "sample_size": 100, "feature_dim": 3}, "predictor_type"),
        (_hps(predictor_type="ranker"), "predictor_type"),
    ],
)
def test_bad_hyperparameters_are_refused(hps, field):
    with pytest.raises(ValidationError) as info:
        ALGO.validate_hyperparameters(hps)
    assert field in info.value.field


def _frame(X, y):
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    df["y"] = y
    return df


def test_check_data_refuses_feature_dim_and_k_against_the_data_before_training(tmp_path, digits):
    X, y, _, _ = digits
    channels = prepare_channels({"train": _frame(X[:30], y[:30])}, target="y")
    with pytest.raises(ValidationError) as info:
        ALGO.check_data(ALGO.validate_hyperparameters(_hps(feature_dim=63)), channels)
    assert info.value.field == "hyperparameters['feature_dim']" and "64" in info.value.expected
    with pytest.raises(ValidationError) as info:
        ALGO.check_data(ALGO.validate_hyperparameters(_hps(k=31)), channels)
    assert info.value.field == "hyperparameters['k']" and "30" in info.value.expected
    ALGO.check_data(ALGO.validate_hyperparameters(_hps(k=30)), channels)
    path = tmp_path / "train.csv"  # a label-first CSV file: its head says 64 features
    np.savetxt(path, label_first(X[:30], y[:30]), delimiter=",", fmt="%g")
    channels = prepare_channels({"train": TrainingInput(str(path), content_type="text/csv")})
    with pytest.raises(ValidationError, match="feature_dim"):
        ALGO.check_data(ALGO.validate_hyperparameters(_hps(feature_dim=65)), channels)
    with pytest.raises(ValidationError, match=r"hyperparameters\['k'\]"):
        ALGO.check_data(ALGO.validate_hyperparameters(_hps(k=40)), channels)


def test_training_refuses_feature_dim_and_k_against_the_files(tmp_path, digits):
    X, y, _, _ = digits
    with pytest.raises(ValidationError, match="feature_dim"):
        _train(tmp_path / "a", _hps(feature_dim=10), {"train": label_first(X, y)})
    with pytest.raises(ValidationError, match=r"hyperparameters\['k'\].*the number of rows"):
        _train(tmp_path / "b", _hps(k=12), {"train": label_first(X[:10], y[:10])})


def test_estimator_model_and_endpoint_answer_like_sagemaker(workspace, digits):
    X, y, Xt, yt = digits
    hps = _hps()
    job = wb.Estimator(algorithm="knn", target="y", hyperparameters=hps).fit(
        {"train": _frame(X, y), "test": _frame(Xt, yt)}, logs=False
    )
    model = job.model()
    test = _frame(Xt, yt).drop(columns="y")
    predicted = model.predict(test)
    assert np.mean(predicted.to_numpy() == yt) > 0.9
    from workbench.serving._handler import Call, Handler

    body = "\n".join(",".join(f"{v:g}" for v in row) for row in Xt[:2]).encode()
    reply = Handler.load(model.name).invoke(Call(body, "text/csv", "application/json"))
    assert reply.status == 200, reply.body
    answer = json.loads(reply.body)
    assert list(answer) == ["predictions"] and len(answer["predictions"]) == 2
    assert set(answer["predictions"][0]) == {"predicted_label"}
    assert answer["predictions"][0]["predicted_label"] == float(predicted.iloc[0])
