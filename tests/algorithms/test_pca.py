import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA as SkPCA

import workbench as wb
from workbench import datasets
from workbench.algorithms import get_algorithm
from workbench.algorithms._pca import MODEL_FILE
from workbench.exceptions import ValidationError
from workbench.training._inputs import prepare_channels

from ._jobdir import make_job_dir

ALGO = get_algorithm("pca")


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits", size="small").drop(columns="label").to_numpy(float)


def _train(tmp_path, hps, channels, content_type="text/csv"):
    env = make_job_dir(tmp_path / "job", hps, channels, content_type)
    typed = ALGO.validate_hyperparameters(env.hyperparameters)
    ALGO.check_inputs(typed, env.channels)
    ALGO.train(env, typed)
    return env, ALGO.load(env.model_dir)


def _metric(out, name):
    regex = next(d["Regex"] for d in ALGO.metric_definitions({}) if d["Name"] == name)
    return [float(m.group(1)) for m in map(re.compile(regex).search, out.splitlines()) if m]


@pytest.mark.parametrize("mode", ["regular", "randomized"])
def test_explained_variance_is_within_one_percent_of_scikit_learn(tmp_path, capsys, digits, mode):
    train, test = digits[:400], digits[400:]
    hps = {"feature_dim": 64, "num_components": 5, "algorithm_mode": mode, "mini_batch_size": 64}
    env, model = _train(tmp_path, hps, {"train": train, "test": test})
    reference = SkPCA(5, svd_solver="full").fit(train)
    ratio = model.explained_variance.sum() / reference.explained_variance_.sum()
    assert 0.99 <= ratio <= 1.0 + 1e-9
    assert np.allclose(model.components @ model.components.T, np.eye(5), atol=1e-8)
    assert np.all(np.diff(model.explained_variance) <= 0)  # first component first
    if mode == "regular":  # the same components as scikit-learn's, up to sign
        assert np.allclose(np.abs(model.components), np.abs(reference.components_), atol=1e-6)
    out = capsys.readouterr().out
    train_ratio = _metric(out, "train:explained_variance_ratio")
    assert train_ratio == [pytest.approx(reference.explained_variance_ratio_.sum() * ratio)]
    assert len(_metric(out, "test:explained_variance_ratio")) == 1
    assert out.count("[pca] component") == 5
    with np.load(env.model_dir / MODEL_FILE, allow_pickle=False) as npz:
        assert npz["components"].shape == (5, 64)


def test_randomized_mode_with_explicit_extra_components(tmp_path, digits):
    hps = {"feature_dim": 64, "num_components": 3, "algorithm_mode": "randomized"}
    _, model = _train(tmp_path, {**hps, "extra_components": 2}, {"train": digits})
    reference = SkPCA(3).fit(digits).explained_variance_.sum()
    assert model.explained_variance.sum() >= 0.99 * reference


def test_projection_response_and_frame(tmp_path, digits):
    hps = {"feature_dim": 64, "num_components": 3}
    _, model = _train(tmp_path, hps, {"train": digits})
    reference = SkPCA(3, svd_solver="full").fit(digits)
    expected = reference.transform(digits[:4])
    columns = model.response_columns(digits[:4])
    assert list(columns) == ["projection"] and columns["projection"].shape == (4, 3)
    assert np.allclose(np.abs(columns["projection"]), np.abs(expected), atol=1e-6)
    assert model.response_envelope == "projections"
    frame = model.predict_frame(digits[:4])
    assert list(frame.columns) == ["projection_0", "projection_1", "projection_2"]
    assert model.problem_type == "dimensionality_reduction"


def test_subtract_mean_false_projects_the_raw_rows(tmp_path):
    X = np.random.default_rng(0).normal(size=(300, 4)) + np.array([5.0, 0, 0, 0])
    _, model = _train(
        tmp_path, {"feature_dim": 4, "num_components": 1, "subtract_mean": "false"}, {"train": X}
    )
    assert np.allclose(model.mean, 0)
    first = np.linalg.svd(X, full_matrices=False)[2][0]  # uncentred: dominated by the offset
    assert abs(model.components[0] @ first) == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(model.transform(X[:3]), X[:3] @ model.components.T)


@pytest.mark.parametrize(
    ("hps", "field"),
    [
        ({"feature_dim": 4, "num_components": 5}, "num_components"),
        ({"num_components": 2}, "feature_dim"),
        ({"feature_dim": 4}, "num_components"),
        ({"feature_dim": 4, "num_components": 2, "algorithm_mode": "fast"}, "algorithm_mode"),
        ({"feature_dim": 4, "num_components": 2, "extra_components": -2}, "extra_components"),
    ],
)
def test_bad_hyperparameters_are_refused(hps, field):
    with pytest.raises(ValidationError) as info:
        ALGO.validate_hyperparameters(hps)
    assert field in info.value.field


def test_feature_dim_mismatch_is_refused_before_and_in_training(tmp_path):
    X = np.random.default_rng(1).normal(size=(50, 6))
    channels = prepare_channels({"train": pd.DataFrame(X)}, supervised=False)
    hps = ALGO.validate_hyperparameters({"feature_dim": 5, "num_components": 2})
    with pytest.raises(ValidationError) as info:
        ALGO.check_data(hps, channels)
    assert info.value.field == "hyperparameters['feature_dim']" and "6" in info.value.expected
    with pytest.raises(ValidationError, match="feature_dim"):
        _train(tmp_path, {"feature_dim": 5, "num_components": 2}, {"train": X})


def test_estimator_model_and_endpoint_answer_like_sagemaker(workspace, digits):
    frame = pd.DataFrame(digits, columns=[f"p{i}" for i in range(64)])
    job = wb.Estimator(
        algorithm="pca", hyperparameters={"feature_dim": 64, "num_components": 2}
    ).fit({"train": frame}, logs=False)
    model = job.model()
    predicted = model.predict(frame.head(3))
    assert list(predicted.columns) == ["projection_0", "projection_1"]
    from workbench.serving._handler import Call, Handler

    body = json.dumps({"instances": digits[:2].tolist()}).encode()
    reply = Handler.load(model.name).invoke(Call(body, "application/json", "application/json"))
    assert reply.status == 200, reply.body
    answer = json.loads(reply.body)
    assert list(answer) == ["projections"] and len(answer["projections"]) == 2
    assert list(answer["projections"][0]) == ["projection"]
    assert answer["projections"][0]["projection"] == pytest.approx(
        predicted.iloc[0].tolist(), abs=1e-9
    )
