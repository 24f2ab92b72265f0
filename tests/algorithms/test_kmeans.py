import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs

import workbench as wb
from workbench import datasets
from workbench.algorithms import get_algorithm
from workbench.algorithms._kmeans import MODEL_FILE
from workbench.exceptions import ValidationError
from workbench.training._inputs import TrainingInput, prepare_channels

from ._jobdir import make_job_dir

ALGO = get_algorithm("kmeans")


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits", size="small").drop(columns="label").to_numpy(float)


def _train(tmp_path, hps, channels, content_type="text/csv"):
    env = make_job_dir(tmp_path / "job", hps, channels, content_type)
    typed = ALGO.validate_hyperparameters(env.hyperparameters)
    ALGO.check_inputs(typed, env.channels)
    ALGO.train(env, typed)
    return env, ALGO.load(env.model_dir)


def _metrics(hps, out):
    definitions = ALGO.metric_definitions(ALGO.validate_hyperparameters(hps))
    return {
        d["Name"]: [
            float(m.group(1)) for m in map(re.compile(d["Regex"]).search, out.splitlines()) if m
        ]
        for d in definitions
    }


def test_loss_is_within_one_percent_of_scikit_learn_and_test_metrics_are_reported(
    tmp_path, capsys, digits
):
    train, test = digits[:400], digits[400:]
    hps = {"k": 10, "feature_dim": 64, "eval_metrics": '["msd", "ssd"]'}
    env, model = _train(tmp_path, hps, {"train": train, "test": test})
    metrics = _metrics(hps, capsys.readouterr().out)
    reference = SkKMeans(10, n_init=10, random_state=0).fit(train).inertia_
    train_ssd = _ssd(model, train)
    assert metrics["train:ssd"] == [pytest.approx(train_ssd, rel=1e-5)]
    assert train_ssd <= reference * 1.01
    assert len(metrics["train:msd"]) == 2  # the epoch's progress line, then the final model
    assert metrics["test:ssd"] == [pytest.approx(_ssd(model, test), rel=1e-5)]
    assert metrics["test:msd"] == [pytest.approx(_ssd(model, test) / 100, rel=1e-5)]
    assert model.centers.shape == (10, 64) and model.problem_type == "clustering"
    with np.load(env.model_dir / MODEL_FILE, allow_pickle=False) as npz:
        assert npz["centers"].shape == (10, 64)


def _ssd(model, X):
    return float(np.sum(model.response_columns(X)["distance_to_cluster"] ** 2))


def test_response_columns_and_predict_frame_answer_closest_cluster_and_distance(tmp_path):
    X, _ = make_blobs(300, 3, centers=[[0, 0, 0], [10, 10, 10], [-10, 10, 0]], random_state=1)
    _, model = _train(tmp_path, {"k": 3, "feature_dim": 3}, {"train": X})
    columns = model.response_columns(X[:5])
    assert list(columns) == ["closest_cluster", "distance_to_cluster"]
    assert columns["closest_cluster"].dtype == np.float64
    brute = np.linalg.norm(X[:5, None, :] - model.centers[None], axis=2)
    assert np.array_equal(columns["closest_cluster"], brute.argmin(axis=1).astype(float))
    assert np.allclose(columns["distance_to_cluster"], brute.min(axis=1))
    frame = model.predict_frame(X[:5])
    assert list(frame.columns) == ["closest_cluster", "distance_to_cluster"]
    assert frame["closest_cluster"].dtype == np.int64
    assert sorted(np.round(model.centers).tolist()) == [[-10, 10, 0], [0, 0, 0], [10, 10, 10]]


@pytest.mark.parametrize(
    "extra",
    [
        {"init_method": "kmeans++", "epochs": 3, "mini_batch_size": 50},
        {"half_life_time_size": 100, "mini_batch_size": 40, "extra_center_factor": 4},
        {"local_lloyd_init_method": "random", "local_lloyd_num_trials": 3},
    ],
)
def test_hyperparameter_variants_still_find_the_clusters(tmp_path, extra):
    X, _ = make_blobs(400, 4, centers=5, cluster_std=1.0, random_state=2)
    _, model = _train(tmp_path, {"k": 5, "feature_dim": 4, **extra}, {"train": X})
    reference = SkKMeans(5, n_init=10, random_state=0).fit(X).inertia_
    assert _ssd(model, X) <= reference * 1.01


def test_declared_labels_are_dropped_and_undeclared_columns_are_features(tmp_path):
    X, y = make_blobs(200, 3, centers=2, random_state=3)
    labelled = np.column_stack([y, X])
    env = make_job_dir(tmp_path / "job", {"k": 2, "feature_dim": 3}, {"train": labelled})
    config = json.loads((env.config_dir / "inputdataconfig.json").read_text())
    config["train"]["ContentType"] = "text/csv;label_size=1"
    (env.config_dir / "inputdataconfig.json").write_text(json.dumps(config))
    env.input_data_config = config
    ALGO.train(env, ALGO.validate_hyperparameters({"k": 2, "feature_dim": 3}))
    assert ALGO.load(env.model_dir).centers.shape == (2, 3)
    # the same file without label_size: four features, and the error says how to declare it
    with pytest.raises(ValidationError, match="label_size=1") as info:
        _train(tmp_path / "plain", {"k": 2, "feature_dim": 3}, {"train": labelled})
    assert info.value.field == "hyperparameters['feature_dim']"
    _, model = _train(
        tmp_path / "npy", {"k": 2, "feature_dim": 3}, {"train": X}, "application/x-npy"
    )
    assert model.centers.shape == (2, 3)  # an npy frame without schema.json has no label


@pytest.mark.parametrize(
    ("hps", "field"),
    [
        ({"k": 3}, "feature_dim"),
        ({"feature_dim": 3}, "hyperparameters['k']"),
        ({"k": 3, "feature_dim": 3, "eval_metrics": '["msd", "mse"]'}, "eval_metrics"),
        ({"k": 3, "feature_dim": 3, "eval_metrics": "[msd"}, "eval_metrics"),
        ({"k": 3, "feature_dim": 3, "init_method": "kmeans||"}, "init_method"),
        ({"k": 3, "feature_dim": 3, "local_lloyd_tol": 2}, "local_lloyd_tol"),
        ({"k": 0, "feature_dim": 3}, "hyperparameters['k']"),
    ],
)
def test_bad_hyperparameters_are_refused(hps, field):
    with pytest.raises(ValidationError) as info:
        ALGO.validate_hyperparameters(hps)
    assert field in info.value.field


def test_eval_metrics_accept_sagemaker_json_lists_and_python_lists():
    for value in ('["msd","ssd"]', ["msd", "ssd"], "msd,ssd"):
        assert list(
            ALGO.validate_hyperparameters({"k": 2, "feature_dim": 2, "eval_metrics": value})[
                "eval_metrics"
            ]
        ) == ["msd", "ssd"]


def test_k_larger_than_the_rows_and_feature_dim_mismatch_are_refused_before_and_in_training(
    tmp_path,
):
    X = np.random.default_rng(0).normal(size=(20, 4))
    frame = pd.DataFrame(X, columns=list("abcd"))
    channels = prepare_channels({"train": frame}, supervised=False)
    with pytest.raises(ValidationError) as info:
        ALGO.check_data(ALGO.validate_hyperparameters({"k": 21, "feature_dim": 4}), channels)
    assert info.value.field == "hyperparameters['k']" and "20" in info.value.expected
    with pytest.raises(ValidationError) as info:
        ALGO.check_data(ALGO.validate_hyperparameters({"k": 2, "feature_dim": 5}), channels)
    assert info.value.field == "hyperparameters['feature_dim']"
    path = tmp_path / "train.csv"
    np.savetxt(path, X, delimiter=",")
    channels = prepare_channels({"train": TrainingInput(str(path))}, supervised=False)
    ALGO.check_data(ALGO.validate_hyperparameters({"k": 20, "feature_dim": 4}), channels)
    with pytest.raises(ValidationError, match=r"hyperparameters\['k'\]"):
        ALGO.check_data(ALGO.validate_hyperparameters({"k": 21, "feature_dim": 4}), channels)
    with pytest.raises(ValidationError, match=r"hyperparameters\['k'\]"):
        _train(tmp_path / "a", {"k": 21, "feature_dim": 4}, {"train": X})
    with pytest.raises(ValidationError, match="feature_dim"):
        _train(tmp_path / "b", {"k": 2, "feature_dim": 4}, {"train": X, "test": X[:, :3]})


def test_estimator_model_and_endpoint_answer_like_sagemaker(workspace):
    X, _ = make_blobs(300, 3, centers=3, random_state=4)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    job = wb.Estimator(algorithm="kmeans", hyperparameters={"k": 3, "feature_dim": 3}).fit(
        {"train": frame}, logs=False
    )
    model = job.model()
    predicted = model.predict(frame.head(4))
    assert list(predicted.columns) == ["closest_cluster", "distance_to_cluster"]
    from workbench.serving._handler import Call, Handler

    body = "\n".join(",".join(map(repr, row)) for row in X[:2].tolist()).encode()
    reply = Handler.load(model.name).invoke(Call(body, "text/csv", "application/json"))
    assert reply.status == 200, reply.body
    answer = json.loads(reply.body)
    assert list(answer) == ["predictions"]
    first = answer["predictions"][0]
    assert set(first) == {"closest_cluster", "distance_to_cluster"}
    assert first["closest_cluster"] == float(predicted["closest_cluster"].iloc[0])
    assert first["distance_to_cluster"] == pytest.approx(predicted["distance_to_cluster"].iloc[0])
