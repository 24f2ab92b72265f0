import json
import re

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.algorithms import get_algorithm
from workbench.algorithms._text import (
    bag_of_words,
    decode_counts,
    npmi_coherence,
    read_counts,
    topic_purity,
)
from workbench.exceptions import ValidationError

from ._jobdir import make_job_dir

ALGO = get_algorithm("neural-topic-model")
FAST = {"optimizer": "adam", "learning_rate": 0.02, "mini_batch_size": 64}


@pytest.fixture(scope="module")
def corpus():
    docs = wb.datasets.load("text", size=1500, seed=0)
    counts, vocabulary = bag_of_words(docs["text"], vocabulary_size=300)
    return docs, counts, vocabulary


def _job(tmp_path, hps, channels, content_type="application/x-npy", vocabulary=None, aux=None):
    env = make_job_dir(tmp_path / "job", hps, channels, content_type)
    if content_type == "application/x-npy":
        for name, data in channels.items():
            columns = vocabulary or [f"f{i}" for i in range(np.asarray(data).shape[1])]
            schema = {"format": "workbench-frame", "columns": columns, "target": None}
            (env.channel_dir(name) / "schema.json").write_text(json.dumps(schema))
    if aux is not None:
        folder = env.channel_dir("auxiliary")
        folder.mkdir(parents=True)
        (folder / "vocab.txt").write_text("\n".join(aux) + "\n")
        config = env.config_dir / "inputdataconfig.json"
        data = json.loads(config.read_text())
        data["auxiliary"] = {"ContentType": "text/plain"}
        config.write_text(json.dumps(data))
        env.input_data_config["auxiliary"] = {"ContentType": "text/plain"}
    return env


def _train(env):
    typed = ALGO.validate_hyperparameters(env.hyperparameters)
    ALGO.check_inputs(typed, env.channels)
    ALGO.train(env, typed)
    return ALGO.load(env.model_dir)


def _series(hps, out):
    definitions = ALGO.metric_definitions(ALGO.validate_hyperparameters(hps))
    return {
        d["Name"]: [
            float(m.group(1)) for m in map(re.compile(d["Regex"]).search, out.splitlines()) if m
        ]
        for d in definitions
    }


def test_learns_the_corpus_topics_and_reports_sagemaker_losses(tmp_path, capsys, corpus):
    docs, counts, vocabulary = corpus
    X = counts.to_numpy(np.float64)
    hps = {"feature_dim": len(vocabulary), "num_topics": 6, "epochs": 40, **FAST}
    channels = {"train": X[:1200], "validation": X[1200:1400], "test": X[1400:]}
    env = _job(tmp_path, hps, channels, vocabulary=vocabulary)
    model = _train(env)
    series = _series(hps, capsys.readouterr().out)
    epochs = len(series["validation:total_loss"])
    assert 15 <= epochs <= 40  # no early stop during the KL warm-up (300 mini-batches)
    for channel in ("train", "validation"):
        assert len(series[f"{channel}:recons_loss"]) == len(series[f"{channel}:kld"]) == epochs
    total, recons, kld = (series[f"validation:{m}"] for m in ("total_loss", "recons_loss", "kld"))
    assert np.allclose(total, np.add(recons, kld), rtol=1e-4)
    assert min(total) < total[0] - 1.0  # it learned something
    assert [len(series[f"test:{m}"]) for m in ("total_loss", "recons_loss", "kld")] == [1, 1, 1]
    # topics: coherent words, documents' main topics match the true topics
    weights = model.transform(X)
    assert topic_purity(weights, docs["topic"]) > 0.7
    assert npmi_coherence(model.topic_word, X)[0] > 0.2
    assert set(model.topics(10)[0]) <= set(vocabulary)
    assert model.top_words(5).shape == (6, 5)
    # SageMaker's response and workbench's frame
    answer = model.response_columns(X[:3])
    assert list(answer) == ["topic_weights"]
    assert answer["topic_weights"].shape == (3, 6)
    assert np.allclose(answer["topic_weights"].sum(axis=1), 1.0)
    frame = model.predict_frame(counts.iloc[:3])
    assert list(frame.columns) == [f"topic_{i}" for i in range(6)]
    assert np.allclose(frame.to_numpy(), answer["topic_weights"])
    texts = model.predict_frame(docs["text"].iloc[:3])  # raw texts, counted over vocab.txt
    assert np.allclose(texts.to_numpy(), answer["topic_weights"])
    files = sorted(p.name for p in env.model_dir.iterdir())
    assert files == ["ntm-model.json", "ntm-model.npz", "vocab.txt"]  # no pickle


def test_label_less_csv_with_a_vocab_file_and_batch_norm(tmp_path, capsys, corpus):
    _, counts, vocabulary = corpus
    X = counts.to_numpy(np.float64)[:300]
    hps = {"feature_dim": len(vocabulary), "num_topics": 3, "epochs": 2, "batch_norm": True}
    hps.update(encoder_layers="20,10", encoder_layers_activation="tanh", sub_sample=0.5)
    hps.update(optimizer="rmsprop", clip_gradient=5, rescale_gradient=0.5, weight_decay=1e-4)
    env = _job(tmp_path, hps, {"train": X}, "text/csv", aux=vocabulary)
    model = _train(env)
    assert model.vocabulary == vocabulary
    assert (env.model_dir / "vocab.txt").read_text().split() == vocabulary
    out = capsys.readouterr().out
    assert "topic 0: " in out and len(_series(hps, out)["train:total_loss"]) == 2
    assert "validation:total_loss" in {d["Name"] for d in ALGO.metric_definitions(hps)}
    weights = model.transform(X[:5])  # NumPy inference with the batch-norm running stats
    assert weights.shape == (5, 3) and np.allclose(weights.sum(axis=1), 1.0)


def test_sparse_channels_read_like_dense(tmp_path):
    dense = np.array([[0, 2, 0, 1], [3, 0, 0, 0], [0, 0, 1, 1]], dtype=float)
    libsvm = tmp_path / "libsvm"
    libsvm.mkdir()
    (libsvm / "part.libsvm").write_text("0 1:2 3:1\n0 0:3\n0 2:1 3:1\n")
    jsonl = tmp_path / "jsonl"
    jsonl.mkdir()
    records = [
        {"features": {"keys": [1, 3], "values": [2, 1], "shape": [4]}},
        {"data": {"features": {"keys": [0], "values": [3], "shape": [4]}}},
        {"features": [0, 0, 1, 1]},
    ]
    (jsonl / "part.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    for folder, content_type in ((libsvm, "text/libsvm"), (jsonl, "application/jsonlines")):
        matrix, names = read_counts(folder, content_type, "train", 4)
        assert np.array_equal(matrix.toarray(), dense) and names is None
    with pytest.raises(ValidationError) as err:
        read_counts(libsvm, "text/libsvm", "train", 3)  # word id 3 is out of range
    assert err.value.field == "channel 'train' libsvm"


def test_requests_in_sagemaker_formats_decode_to_the_same_counts():
    row = [0.0, 2.0, 0.0, 1.0]
    sparse = {"data": {"features": {"keys": [1, 3], "values": [2, 1], "shape": [4]}}}
    bodies = {
        "text/csv": b"0,2,0,1\n0,2,0,1\n",
        "application/json": json.dumps({"instances": [{"features": row}, sparse]}).encode(),
        "application/jsonlines": (json.dumps(row) + "\n" + json.dumps(sparse) + "\n").encode(),
    }
    for content_type, body in bodies.items():
        assert np.array_equal(decode_counts(body, content_type, 4), [row, row]), content_type
    with pytest.raises(ValidationError, match="4 counts"):
        decode_counts(b"1,2,3\n", "text/csv", 4)
    with pytest.raises(ValidationError, match="word ids"):
        decode_counts(b'{"features": {"keys": [7], "values": [1]}}', "application/json", 4)
    with pytest.raises(ValidationError, match="counts >= 0"):
        decode_counts(b"0,-1,0,0\n", "text/csv", 4)


def test_bag_of_words_and_npmi():
    texts = pd.Series(["The team scored a goal.", "The bank raised rates.", "A goal!"])
    counts, vocabulary = bag_of_words(texts, min_df=1)
    assert vocabulary == ["bank", "goal", "raised", "rates", "scored", "team"]
    assert counts["goal"].tolist() == [1, 0, 1] and list(counts.columns) == vocabulary
    sparse, _ = bag_of_words(texts, min_df=1, sparse=True)
    assert np.array_equal(sparse.toarray(), counts.to_numpy())
    together = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    assert npmi_coherence(np.array([[2.0, 1.0, 0.0]]), together, top_n=2)[0] == pytest.approx(1.0)
    assert npmi_coherence(np.array([[2.0, 0.0, 1.0]]), together, top_n=2)[0] == -1.0
    with pytest.raises(ValidationError):
        bag_of_words([1, 2])


@pytest.mark.parametrize(
    "hps, field",
    [
        ({"feature_dim": 4, "num_topics": 5}, "hyperparameters['num_topics']"),
        ({"feature_dim": 4, "num_topics": 1}, "hyperparameters['num_topics']"),
        ({"feature_dim": 4}, "hyperparameters['num_topics']"),
        ({"feature_dim": 4, "num_topics": 2, "encoder_layers": "10,x"}, "hyperparameters['encoder_layers']"),
        ({"feature_dim": 4, "num_topics": 2, "optimizer": "lbfgs"}, "hyperparameters['optimizer']"),
    ],
)  # fmt: skip
def test_bad_hyperparameters_are_refused(hps, field):
    with pytest.raises(ValidationError) as err:
        ALGO.validate_hyperparameters(hps)
    assert err.value.field == field


@pytest.mark.parametrize(
    "data, hps, aux, field",
    [
        ([[1, 0, 2], [0, 1, 0]], {"feature_dim": 4}, None, "hyperparameters['feature_dim']"),
        ([[1, 0, 2, 0], [0, -1, 0, 1]], {}, None, "channel 'train' counts"),
        ([[1, 0, 2.5, 0], [0, 1, 0, 1]], {}, None, "channel 'train' counts"),
        ([[1, 0, 2, 0], [0, 1, 0, 1]], {}, ["a", "b", "c"], "channel 'auxiliary' vocab.txt"),
    ],
)
def test_bad_data_is_refused_before_training(tmp_path, data, hps, aux, field):
    hps = {"feature_dim": 4, "num_topics": 2, **hps}
    env = _job(tmp_path, hps, {"train": np.array(data, dtype=float)}, "text/csv", aux=aux)
    with pytest.raises(ValidationError) as err:
        _train(env)
    assert err.value.field == field
    assert not (env.model_dir / "ntm-model.npz").exists()


def test_kernel_side_checks_of_prepared_channels(tmp_path):
    from workbench.training._inputs import TrainingInput, prepare_channels

    hps = ALGO.validate_hyperparameters({"feature_dim": 3, "num_topics": 2})
    good = pd.DataFrame({"a": [1, 0], "b": [0, 2], "c": [1, 1]})
    ALGO.check_data(hps, prepare_channels({"train": good}, supervised=False))
    cases = {
        "hyperparameters['feature_dim']": {"train": good[["a", "b"]]},
        "channel 'train' counts": {"train": good - 1},
    }
    vocab = tmp_path / "aux"
    vocab.mkdir()
    (vocab / "vocab.txt").write_text("a\nb\n")
    cases["channel 'auxiliary' vocab.txt"] = {
        "train": good,
        "auxiliary": TrainingInput(str(vocab), content_type="text/plain"),
    }
    for field, inputs in cases.items():
        with pytest.raises(ValidationError) as err:
            ALGO.check_data(hps, prepare_channels(inputs, supervised=False))
        assert err.value.field == field


def test_estimator_trains_predicts_and_serves_topic_weights(workspace, corpus):
    from workbench.serving._handler import Call, Handler

    docs, counts, vocabulary = corpus
    hps = {"feature_dim": len(vocabulary), "num_topics": 6, "epochs": 3, **FAST}
    est = wb.Estimator(algorithm="ntm", hyperparameters=hps)
    job = est.fit({"train": counts.iloc[:1200], "validation": counts.iloc[1200:]}, logs=False)
    model = job.model()
    frame = model.predict(counts.iloc[:4])
    assert list(frame.columns) == [f"topic_{i}" for i in range(6)]
    assert np.allclose(frame.sum(axis=1), 1.0)
    assert model.predict(list(docs["text"].iloc[:2])).shape == (2, 6)
    handler = Handler.load(model.name)
    record = {"features": {"keys": [0, 5], "values": [1, 2], "shape": [len(vocabulary)]}}
    body = json.dumps({"instances": [record, {"features": counts.iloc[0].tolist()}]})
    reply = handler.invoke(Call(body.encode(), "application/json", "application/json"))
    assert reply.status == 200, reply.body
    answer = json.loads(reply.body)
    assert list(answer) == ["predictions"] and len(answer["predictions"]) == 2
    assert list(answer["predictions"][0]) == ["topic_weights"]
    assert np.allclose(answer["predictions"][1]["topic_weights"], frame.iloc[0], atol=1e-6)
