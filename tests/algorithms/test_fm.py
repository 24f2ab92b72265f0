import json
import re
import sys

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.algorithms import get_algorithm
from workbench.algorithms._fm import FactorizationMachinesModel, OneHotEncoding, encode_one_hot
from workbench.exceptions import ValidationError
from workbench.training._environment import TrainingEnvironment
from workbench.training._inputs import PreparedChannel

from ._jobdir import label_first, make_job_dir

ALGO = get_algorithm("factorization-machines")
FAST = {"mini_batch_size": 200, "linear_lr": 0.1, "factors_lr": 0.1, "linear_wd": 1e-4,
        "factors_wd": 1e-4, "factors_init_sigma": 0.1}  # fmt: skip


def _ratings(n_users=40, n_items=50, share=0.7, seed=0):
    """Biases + a strong rank-2 interaction: biases alone cannot explain the ratings."""
    rng = np.random.default_rng(seed)
    users, items = np.divmod(np.flatnonzero(rng.random(n_users * n_items) < share), n_items)
    p, q = rng.normal(0, 0.9, (n_users, 2)), rng.normal(0, 0.9, (n_items, 2))
    rating = (3.0 + rng.normal(0, 0.3, n_users)[users] + rng.normal(0, 0.3, n_items)[items]
              + np.einsum("ij,ij->i", p[users], q[items]) + rng.normal(0, 0.2, len(users)))  # fmt: skip
    df = pd.DataFrame({"user_id": users, "item_id": items, "rating": rating})
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _job(root, hps, files, content_type):
    """A job folder whose channels are the given files (LibSVM, JSON Lines, ...)."""
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (root / "model").mkdir()
    data_config = {}
    for channel, (name, text) in files.items():
        folder = root / "input" / "data" / channel
        folder.mkdir(parents=True)
        (folder / name).write_text(text)
        data_config[channel] = {"ContentType": content_type}
    (config / "hyperparameters.json").write_text(json.dumps({k: str(v) for k, v in hps.items()}))
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    return TrainingEnvironment.from_job_dir(root, "test-job")


def _train(env):
    typed = ALGO.validate_hyperparameters(env.hyperparameters)
    ALGO.check_inputs(typed, env.channels)
    ALGO.train(env, typed)
    return ALGO.load(env.model_dir)


def _series(hps, out):
    return {
        d["Name"]: [float(m.group(1)) for m in map(re.compile(d["Regex"]).search, out) if m]
        for d in ALGO.metric_definitions(ALGO.validate_hyperparameters(hps))
    }


def _libsvm(encoding, df, target="rating"):
    keys = encoding.keys(df)
    return "".join(
        f"{label:.10g} " + " ".join(f"{k}:1" for k in sorted(row) if k >= 0) + "\n"
        for label, row in zip(df[target].tolist(), keys.tolist(), strict=True)
    )


def _bias_rmse(train, test, penalty=3.0):
    mean = train["rating"].mean()
    users, items = train["user_id"].to_numpy(), train["item_id"].to_numpy()
    r = train["rating"].to_numpy()
    b_user, b_item = np.zeros(users.max() + 1), np.zeros(items.max() + 1)
    for _ in range(10):
        b_user = np.bincount(users, r - mean - b_item[items], len(b_user)) / (
            np.bincount(users, minlength=len(b_user)) + penalty
        )
        b_item = np.bincount(items, r - mean - b_user[users], len(b_item)) / (
            np.bincount(items, minlength=len(b_item)) + penalty
        )
    predicted = mean + b_user[test["user_id"]] + b_item[test["item_id"]]
    return float(np.sqrt(np.mean((test["rating"] - predicted) ** 2)))


def test_mxnet_is_imported_only_when_training():
    import subprocess

    code = "import sys, workbench.algorithms._fm; print('mxnet' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_regressor_on_one_hot_libsvm_beats_biases_and_reports_sagemaker_metrics(tmp_path, capsys):
    df = _ratings()
    train, validation, test = df.iloc[:1000], df.iloc[1000:1200], df.iloc[1200:]
    encoding = encode_one_hot(df, ["user_id", "item_id"])
    hps = dict(FAST, feature_dim=encoding.feature_dim, num_factors=4,
               predictor_type="regressor", epochs=10)  # fmt: skip
    files = {
        c: (f"{c}.libsvm", _libsvm(encoding, part))
        for c, part in (("train", train), ("validation", validation), ("test", test))
    }
    env = _job(tmp_path, hps, files, "text/libsvm")
    model = _train(env)
    series = _series(hps, capsys.readouterr().out.splitlines())
    assert set(series) == {"train:rmse", "validation:rmse", "test:rmse"}
    assert len(series["train:rmse"]) == len(series["validation:rmse"]) == 10  # every epoch
    assert len(series["test:rmse"]) == 1  # the tuning metric, once at the end
    rmse = float(np.sqrt(np.mean((model.predict(encoding.transform(test)) - test["rating"]) ** 2)))
    assert series["test:rmse"][0] == pytest.approx(rmse, rel=1e-4)
    assert rmse < 0.8 * _bias_rmse(train, test)  # the interactions are learned
    assert model.problem_type == "regression"
    assert list(model.response_columns(encoding.transform(test.head(3)))) == ["score"]
    # the model is numpy arrays and JSON, no pickle
    with np.load(env.model_dir / "factorization-machines-model.npz", allow_pickle=False) as npz:
        assert npz["factors"].shape == (encoding.feature_dim, 4)
    meta = json.loads((env.model_dir / "factorization-machines-model.json").read_text())
    assert meta["feature_dim"] == encoding.feature_dim and meta["predictor_type"] == "regressor"


def test_binary_classifier_on_sparse_json_lines(tmp_path, capsys):
    df = _ratings(seed=1)
    df["liked"] = (df["rating"] > df["rating"].median()).astype(int)
    encoding = encode_one_hot(df, ["user_id", "item_id"])
    keys = encoding.keys(df)

    def lines(rows):
        return "".join(
            json.dumps({"features": {"keys": sorted(keys[i].tolist()),
                                     "shape": [encoding.feature_dim], "values": [1.0, 1.0]},
                        "label": float(df["liked"].iloc[i])}) + "\n"
            for i in rows
        )  # fmt: skip

    hps = dict(FAST, feature_dim=encoding.feature_dim, num_factors=4,
               predictor_type="binary_classifier", epochs=10)  # fmt: skip
    files = {
        "train": ("a.jsonl", lines(range(1200))),
        "test": ("b.jsonl", lines(range(1200, len(df)))),
    }
    model = _train(_job(tmp_path, hps, files, "application/jsonlines"))
    series = _series(hps, capsys.readouterr().out.splitlines())
    names = {f"{c}:{m}" for c in ("train", "validation", "test") for m in
             ("binary_classification_accuracy", "binary_classification_cross_entropy",
              "binary_f_beta")}  # fmt: skip
    assert set(series) == names
    assert len(series["train:binary_classification_accuracy"]) == 10
    assert series["validation:binary_f_beta"] == []  # no validation channel
    assert series["test:binary_classification_accuracy"][0] > 0.75
    assert series["test:binary_classification_cross_entropy"][0] < 0.6
    test = df.iloc[1200:]
    columns = model.response_columns(encoding.transform(test))
    assert list(columns) == ["score", "predicted_label"]
    assert set(np.unique(columns["predicted_label"])) == {0.0, 1.0}
    assert np.all((columns["score"] >= 0) & (columns["score"] <= 1))
    accuracy = np.mean(columns["predicted_label"] == test["liked"])
    assert accuracy == pytest.approx(series["test:binary_classification_accuracy"][0], abs=1e-6)
    assert model.predict_proba(encoding.transform(test)).shape == (len(test), 2)
    assert model.problem_type == "binary_classification"


def test_dense_csv_channels_learn_a_feature_interaction(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1200, 4))
    y = 1.0 + X[:, 0] + 2.0 * X[:, 1] * X[:, 2]
    hps = dict(FAST, feature_dim=4, num_factors=2, predictor_type="regressor", epochs=20)
    env = make_job_dir(tmp_path, hps, {"train": label_first(X[:1000], y[:1000])})
    model = _train(env)
    rmse = float(np.sqrt(np.mean((model.predict(X[1000:]) - y[1000:]) ** 2)))
    assert rmse < 0.3 * y.std()  # a linear model cannot go below the interaction's spread
    assert model.feature_names == ["f0", "f1", "f2", "f3"]
    frame = model.predict_frame(X[1000:1003])
    assert list(frame.columns) == ["score"] and len(frame) == 3
    with pytest.raises(ValidationError, match="feature_dim"):
        model.predict(X[:3, :3])


def test_sparse_and_dense_json_requests_are_decoded():
    arrays = {"bias": np.array([1.0]), "linear": np.arange(5, dtype=np.float32),
              "factors": np.ones((5, 2), dtype=np.float32)}  # fmt: skip
    meta = {"format": "workbench-factorization-machines", "predictor_type": "regressor",
            "feature_dim": 5}  # fmt: skip
    model = FactorizationMachinesModel(arrays, meta)
    sparse = {"instances": [{"data": {"features": {"keys": [1, 3], "shape": [5],
                                                   "values": [1.0, 2.0]}}}]}  # fmt: skip
    X = model.decode_request(json.dumps(sparse).encode(), "application/json")
    # 1 + (1*1 + 3*2) + <v1, v3> * 1 * 2 = 8 + 2 * 2
    assert model.response_columns(X)["score"].tolist() == [12.0]
    dense = {
        "instances": [{"features": [0, 1, 0, 2, 0]}, {"data": {"features": {"values": [0] * 5}}}]
    }
    assert model.response_columns(model.decode_request(json.dumps(dense), "application/json"))[
        "score"
    ].tolist() == [12.0, 1.0]
    lines = b'{"data": {"features": {"keys": [4], "shape": [5], "values": [1]}}}\n{"features": [0,0,0,0,0]}\n'
    assert model.decode_request(lines, "application/jsonlines").shape == (2, 5)
    assert model.score(np.array([[0, 1, 0, 2, 0]])).tolist() == [12.0]
    for bad in (
        {"instances": [{"data": {"features": {"keys": [5], "shape": [5], "values": [1]}}}]},
        {"instances": [{"data": {"features": {"keys": [1], "shape": [6], "values": [1]}}}]},
        {"instances": [{"features": [1, 2, 3]}]},
    ):
        with pytest.raises(ValidationError, match="feature_dim"):
            model.decode_request(json.dumps(bad), "application/json")
    with pytest.raises(ValidationError, match="one value per key"):
        model.decode_request(
            json.dumps({"instances": [{"data": {"features": {"keys": [1, 2], "values": [1]}}}]}),
            "application/json",
        )
    with pytest.raises(ValidationError, match="JSON"):
        model.decode_request(b"{not json", "application/json")


@pytest.mark.parametrize(
    ("hps", "field"),
    [
        ({"num_factors": 4, "predictor_type": "regressor"}, "feature_dim"),
        ({"feature_dim": 10, "predictor_type": "regressor"}, "num_factors"),
        ({"feature_dim": 10, "num_factors": 4}, "predictor_type"),
        ({"feature_dim": 10, "num_factors": 4, "predictor_type": "multiclass_classifier"},
         "predictor_type"),
        ({"feature_dim": 10, "num_factors": 4, "predictor_type": "regressor",
          "factors_init_method": "uniform"}, "factors_init_scale"),
        ({"feature_dim": 10, "num_factors": 4, "predictor_type": "regressor",
          "bias_init_method": "constant"}, "bias_init_value"),
        ({"feature_dim": 10, "num_factors": 4, "predictor_type": "regressor", "factors_lr": -1},
         "factors_lr"),
    ],
)  # fmt: skip
def test_bad_hyperparameters_are_refused(hps, field):
    with pytest.raises(ValidationError, match=field):
        ALGO.validate_hyperparameters(hps)


def test_a_test_objective_needs_a_test_channel():
    hps = {"feature_dim": 10, "num_factors": 4, "predictor_type": "regressor",
           "_tuning_objective_metric": "test:rmse"}  # fmt: skip
    typed = ALGO.validate_hyperparameters(hps)
    with pytest.raises(ValidationError, match="'test' channel"):
        ALGO.check_inputs(typed, ["train"])
    ALGO.check_inputs(typed, ["train", "test"])


def test_sagemaker_defaults_and_tunable_hyperparameters():
    hps = ALGO.validate_hyperparameters(
        {"feature_dim": 10, "num_factors": 4, "predictor_type": "regressor"}
    )
    assert (hps["epochs"], hps["mini_batch_size"]) == (1, 1000)
    assert (hps["bias_lr"], hps["linear_lr"], hps["factors_lr"]) == (0.1, 0.001, 0.0001)
    assert (hps["bias_wd"], hps["linear_wd"], hps["factors_wd"]) == (0.01, 0.001, 0.00001)
    assert hps["factors_init_method"] == "normal" and hps["factors_init_sigma"] == 0.001
    tunable = {p.name for p in ALGO.hyperparameters if p.tunable}
    assert {"factors_lr", "linear_wd", "mini_batch_size", "epochs", "bias_init_sigma"} <= tunable
    assert not {"feature_dim", "num_factors", "predictor_type", "factors_init_method"} & tunable
    assert [get_algorithm(n).name for n in ("fm", "factorization_machines")] == [ALGO.name] * 2


def test_bad_data_is_refused_before_and_during_training(tmp_path):
    hps = {"feature_dim": 3, "num_factors": 2, "predictor_type": "binary_classifier"}
    typed = ALGO.validate_hyperparameters(hps)
    matrix = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
    ok = PreparedChannel("train", "application/x-npy", target="y", matrix=matrix, n_rows=2)
    ALGO.check_data(typed, [ok])
    wide = PreparedChannel("train", "application/x-npy", target="y",
                           matrix=np.column_stack([matrix, matrix[:, 1]]), n_rows=2)  # fmt: skip
    with pytest.raises(ValidationError, match="feature_dim"):
        ALGO.check_data(typed, [wide])
    with pytest.raises(ValidationError, match="0 or 1"):
        ALGO.check_labels(np.array([0.0, 3.0]), typed, "train")
    # the same checks on files, in the kernel (check_data) and in the job (train)
    big_key = tmp_path / "big.libsvm"
    big_key.write_text("1 0:1 3:1\n0 1:1\n")
    chan = PreparedChannel("train", "text/libsvm", source=big_key, files=[big_key])
    with pytest.raises(ValidationError, match=r"feature_dim.*key 3"):
        ALGO.check_data(typed, [chan])
    with pytest.raises(ValidationError, match="feature_dim"):
        _train(
            _job(tmp_path / "a", hps, {"train": ("t.libsvm", big_key.read_text())}, "text/libsvm")
        )
    labels = tmp_path / "labels.libsvm"
    labels.write_text("3 0:1\n0 1:1\n")
    with pytest.raises(ValidationError, match="0 or 1"):
        ALGO.check_data(
            typed, [PreparedChannel("train", "text/libsvm", source=labels, files=[labels])]
        )
    with pytest.raises(ValidationError, match="0 or 1"):
        _train(
            _job(tmp_path / "b", hps, {"train": ("t.libsvm", labels.read_text())}, "text/libsvm")
        )
    with pytest.raises(ValidationError, match="feature_dim"):
        _train(
            make_job_dir(tmp_path / "c", hps, {"train": label_first(np.ones((4, 4)), np.ones(4))})
        )
    csv = tmp_path / "wide.csv"
    csv.write_text("1,0,1,0,1\n0,1,0,1,0\n")
    with pytest.raises(ValidationError, match=r"feature_dim.*4 feature columns"):
        ALGO.check_data(typed, [PreparedChannel("train", "text/csv", source=csv, files=[csv])])
    record = '{"features": {"keys": [0], "shape": [4], "values": [1]}, "label": 1}\n'
    with pytest.raises(ValidationError, match="feature_dim"):
        _train(_job(tmp_path / "d", hps, {"train": ("t.jsonl", record)}, "application/jsonlines"))


def test_encode_one_hot_writes_libsvm_and_encodes_new_rows(tmp_path):
    df = pd.DataFrame({"user": ["b", "a", "b"], "item": [30, 10, 20], "stars": [5, 3, 4]})
    encoding = encode_one_hot(df, ["user", "item"], target="stars", path=tmp_path / "x.libsvm")
    assert encoding.offsets == {"user": 0, "item": 2} and encoding.feature_dim == 5
    assert (tmp_path / "x.libsvm").read_text() == "5 1:1 4:1\n3 0:1 2:1\n4 1:1 3:1\n"
    new = pd.DataFrame({"user": ["a", "z"], "item": [20, 10]})
    X = encoding.transform(new)
    assert X.shape == (2, 5) and X.toarray().tolist() == [[1, 0, 0, 1, 0], [0, 0, 1, 0, 0]]
    body = encoding.instances(new.head(1))
    assert body == {"instances": [{"data": {"features": {"keys": [0, 3], "shape": [5],
                                                         "values": [1.0, 1.0]}}}]}  # fmt: skip
    assert OneHotEncoding.from_dict(json.loads(json.dumps(encoding.to_dict()))) == encoding
    with pytest.raises(ValidationError, match="target"):
        encode_one_hot(df, ["user"], path=tmp_path / "y.libsvm")
    with pytest.raises(ValidationError, match="columns"):
        encode_one_hot(df, ["nope"])


def test_estimator_model_and_endpoint_answer_like_sagemaker(workspace, tmp_path):
    from workbench.serving._handler import Call, Handler
    from workbench.training import TrainingInput

    df = _ratings(n_users=20, n_items=20, share=0.8, seed=3)
    encoding = encode_one_hot(df, ["user_id", "item_id"], target="rating",
                              path=tmp_path / "train.libsvm")  # fmt: skip
    hps = dict(FAST, feature_dim=encoding.feature_dim, num_factors=2, predictor_type="regressor",
               epochs=5)  # fmt: skip
    est = wb.Estimator(
        algorithm="factorization-machines",
        hyperparameters=hps,
        keep_alive_period_in_seconds=0,  # a cold job imports MXNet only, not the warm pool's set
    )
    job = est.fit(
        {"train": TrainingInput(str(tmp_path / "train.libsvm"), content_type="text/libsvm")},
        logs=False,
    )
    assert job.describe()["TrainingJobStatus"] == "Completed"
    model = job.model()
    sparse = encoding.transform(df.head(2))
    predicted = model.predict(sparse)  # scipy sparse rows, never densified
    assert len(predicted) == 2
    dense = sparse.toarray()
    assert model.predict(dense).tolist() == pytest.approx(predicted.tolist())
    handler = Handler.load(model.name)
    body = json.dumps(encoding.instances(df.head(2))).encode()
    reply = handler.invoke(Call(body, "application/json", "application/json"))
    assert reply.status == 200, reply.body
    answer = json.loads(reply.body)
    assert list(answer) == ["predictions"] and set(answer["predictions"][0]) == {"score"}
    assert [p["score"] for p in answer["predictions"]] == pytest.approx(list(predicted), rel=1e-5)
    csv = "\n".join(",".join(str(v) for v in row) for row in dense.tolist()).encode()
    reply = handler.invoke(Call(csv, "text/csv", "application/json"))
    assert reply.status == 200, reply.body
    bad = json.dumps({"instances": [{"data": {"features": {"keys": [10_000], "shape": [10_001],
                                                          "values": [1]}}}]}).encode()  # fmt: skip
    reply = handler.invoke(Call(bad, "application/json", "application/json"))
    assert reply.status == 400 and b"feature_dim" in reply.body
