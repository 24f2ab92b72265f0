import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import datasets
from workbench.algorithms import get_algorithm
from workbench.algorithms._blazingtext import TextRequest, _read_corpus, tokenize, write_corpus
from workbench.datasets import _text
from workbench.exceptions import ValidationError
from workbench.training._environment import TrainingEnvironment
from workbench.training._inputs import PreparedChannel

ALGO = get_algorithm("blazingtext")
SUPERVISED = {"mode": "supervised", "epochs": 10, "learning_rate": 0.5, "vector_dim": 20}
TOPIC_WORDS = {  # frequent nouns that belong to one topic only (workbench.datasets "text")
    "sports": ["team", "match", "goal", "coach", "league"],
    "finance": ["bank", "stock", "investor", "shares", "bond"],
    "technology": ["software", "app", "device", "smartphone", "computer"],
    "health": ["doctor", "patient", "hospital", "vaccine", "nurse"],
    "food": ["recipe", "chef", "kitchen", "dinner", "dessert"],
}


def _job(root: Path, hps: dict, channels: dict[str, tuple[str, str]]) -> TrainingEnvironment:
    """A SageMaker job folder whose channels hold one text file each: (text, content type)."""
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (root / "model").mkdir()
    data_config = {}
    for name, (text, content_type) in channels.items():
        folder = root / "input" / "data" / name
        folder.mkdir(parents=True)
        (folder / f"{name}.txt").write_text(text)
        data_config[name] = {"ContentType": content_type, "TrainingInputMode": "File"}
    (config / "hyperparameters.json").write_text(json.dumps({k: str(v) for k, v in hps.items()}))
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    return TrainingEnvironment.from_job_dir(root, "test-job")


def _train(root: Path, hps: dict, channels: dict[str, tuple[str, str]]):
    env = _job(root, hps, channels)
    typed = ALGO.validate_hyperparameters(env.hyperparameters)
    ALGO.check_inputs(typed, env.channels)
    ALGO.train(env, typed)
    return env, ALGO.load(env.model_dir)


def _corpus_text(texts, labels=None) -> str:
    return "".join(
        (f"__label__{label} " if labels is not None else "") + " ".join(tokenize(t)) + "\n"
        for t, label in zip(texts, labels if labels is not None else texts)
    )


def _series(hps: dict, out: str) -> dict[str, list[float]]:
    definitions = ALGO.metric_definitions(ALGO.validate_hyperparameters(hps))
    return {
        d["Name"]: [
            float(m.group(1)) for m in map(re.compile(d["Regex"]).search, out.splitlines()) if m
        ]
        for d in definitions
    }


@pytest.fixture(scope="module")
def texts() -> pd.DataFrame:
    return datasets.load("text", size=1250, seed=0)


@pytest.fixture(scope="module")
def classifier(texts, tmp_path_factory):
    """A supervised model trained on 1000 texts, validated on 250, and its job log."""
    import contextlib
    import io

    train, valid = texts.iloc[:1000], texts.iloc[1000:]
    channels = {
        "train": (_corpus_text(train.text, train.topic), "text/plain"),
        "validation": (_corpus_text(valid.text, valid.topic), "text/plain"),
    }
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        env, model = _train(tmp_path_factory.mktemp("supervised"), SUPERVISED, channels)
    return env, model, log.getvalue()


def test_write_corpus_tokenizes_and_writes_the_label_format(tmp_path):
    path = write_corpus(["Great match!", "Stocks fell, sharply."], ["sports", "big finance"],
                        tmp_path / "c.txt")  # fmt: skip
    assert path.read_text() == (
        "__label__sports great match !\n__label__big_finance stocks fell , sharply .\n"
    )
    assert write_corpus(["A b", "", None], path=tmp_path / "w.txt").read_text() == "a b\n"
    assert write_corpus([1.0], [3.0], tmp_path / "n.txt").read_text() == "__label__3 1 . 0\n"
    with pytest.raises(ValidationError, match=r"^labels:"):
        write_corpus(["a", "b"], ["x"], tmp_path / "bad.txt")
    with pytest.raises(ValidationError, match=r"^path:"):
        write_corpus(["a"])


def test_supervised_learns_topics_and_reports_sagemaker_metrics(classifier, texts):
    env, model, out = classifier
    series = _series(SUPERVISED, out)
    assert set(series) == {"train:loss", "train:accuracy", "validation:accuracy"}
    assert len(series["train:loss"]) == 10 and series["train:loss"][-1] < series["train:loss"][0]
    assert len(series["validation:accuracy"]) == 11  # every epoch, then the final model
    assert series["validation:accuracy"][-1] >= 0.85
    assert series["train:accuracy"][-1] >= 0.9
    assert sorted(p.name for p in env.model_dir.iterdir()) == ["model.json", "model.npz"]
    meta = json.loads((env.model_dir / "model.json").read_text())
    assert meta["labels"] == [f"__label__{t}" for t in sorted(set(texts.topic))]
    assert meta["normalized"] is True and "</s>" in meta["words"]  # fastText's end of line
    # the corpus was tokenized, so raw sentences are tokenized the same way
    valid = texts.iloc[1000:]
    assert np.mean(model.predict(valid.text) == valid.topic.to_numpy()) >= 0.85
    frame = model.predict_frame(valid.text)
    assert list(frame.columns) == ["predicted_label", "probability"]
    assert frame.index.equals(valid.index) and frame.probability.between(0, 1).all()
    assert model.predict_frame(valid[["text", "topic"]]).equals(frame)  # a frame's text column
    assert model.predict_proba(["the striker scored a goal"]).sum() == pytest.approx(1.0)
    assert model.problem_type == "multiclass_classification"


def test_supervised_answers_with_sagemakers_top_k_labels(classifier):
    _, model, _ = classifier
    assert model.response_envelope is None
    assert model.request_content_types == ("application/json", "application/jsonlines")
    body = json.dumps(
        {
            "instances": ["the chef baked bread", "the bank raised interest"],
            "configuration": {"k": 2},
        }
    )
    columns = model.response_columns(model.decode_request(body.encode(), "application/json"))
    assert list(columns) == ["prob", "label"]
    assert columns["label"][0][0] == "__label__food" and len(columns["label"][0]) == 2
    assert columns["label"][1][0] == "__label__finance"
    assert columns["prob"][0][0] >= columns["prob"][0][1] and sum(columns["prob"][0]) <= 1.0 + 1e-6
    lines = b'{"source": "the coach trained the team"}\n{"source": "a new app", "k": 3}\n'
    columns = model.response_columns(model.decode_request(lines, "application/jsonlines"))
    assert [len(x) for x in columns["label"]] == [1, 3]
    assert columns["label"][0] == ["__label__sports"]
    big_k = model.response_columns(TextRequest(["the doctor"], [50]))
    assert len(big_k["label"][0]) == 6  # k beyond the number of labels gives them all


@pytest.mark.parametrize(
    "body, content_type, field",
    [
        (b"not json", "application/json", "body"),
        (b'{"instances": "one sentence"}', "application/json", "instances"),
        (b'{"instances": [1, 2]}', "application/json", "instances"),
        (b'{"instances": ["a"], "configuration": {"k": 0}}', "application/json", "configuration.k"),
        (b'{"text": "a"}\n', "application/jsonlines", "line 1"),
        (b'{"source": "a", "k": "two"}\n', "application/jsonlines", "line 1 k"),
        (b"", "application/jsonlines", "body"),
        (b"a,b\n", "text/csv", "ContentType"),
    ],
)
def test_bad_requests_are_refused_naming_the_field(classifier, body, content_type, field):
    _, model, _ = classifier
    with pytest.raises(ValidationError) as error:
        model.decode_request(body, content_type)
    assert error.value.field == field


def test_augmented_manifest_jsonlines_with_integer_labels(tmp_path, texts):
    lines = [
        json.dumps({"source": " ".join(tokenize(t)), "label": int(y)})
        for t, y in zip(texts.text[:1000], texts.label[:1000])
    ]
    env, model = _train(
        tmp_path, SUPERVISED, {"train": ("\n".join(lines) + "\n", "application/jsonlines")}
    )
    assert model.classes.tolist() == [0, 1, 2, 3, 4, 5]
    predicted = model.predict(texts.text[1000:])
    assert predicted.dtype.kind == "i"
    assert np.mean(predicted == texts.label[1000:].to_numpy()) >= 0.85


def test_lines_with_several_labels_count_when_any_label_matches(tmp_path):
    path = tmp_path / "multi.txt"
    path.write_text("__label__a __label__b x y\n\n__label__c z __label__d\n")
    corpus = _read_corpus([path], "text/plain", supervised=True, channel="train")
    assert corpus.lines == [["x", "y"], ["z"]]
    assert corpus.labels == [["__label__a", "__label__b"], ["__label__c", "__label__d"]]
    rows = ["__label__sports __label__food the chef cooked for the team"] * 20
    rows += ["__label__finance the bank cut rates"] * 20
    hps = dict(SUPERVISED, min_count=1, epochs=20)
    channels = {"train": ("\n".join(rows) + "\n", "text/plain")}
    channels["validation"] = channels["train"]
    env, model = _train(tmp_path / "job", hps, channels)
    assert model.classes.tolist() == ["finance", "food", "sports"]
    assert model.predict(["the chef cooked", "the bank cut"])[1] == "finance"


def test_early_stopping_stops_and_keeps_the_best_epoch(tmp_path, texts, capsys):
    hps = dict(SUPERVISED, epochs=40, early_stopping=True, patience=2, min_epochs=3)
    channels = {
        "train": (_corpus_text(texts.text[:600], texts.topic[:600]), "text/plain"),
        "validation": (_corpus_text(texts.text[600:800], texts.topic[600:800]), "text/plain"),
    }
    env, model = _train(tmp_path, hps, channels)
    out = capsys.readouterr().out
    per_epoch = _series(hps, out)["validation:accuracy"][:-1]
    assert "early stopping after epoch" in out and 3 <= len(per_epoch) < 40
    meta = json.loads((env.model_dir / "model.json").read_text())
    assert meta["epochs_trained"] == len(per_epoch)
    assert per_epoch[meta["best_epoch"] - 1] == max(per_epoch)
    assert _series(hps, out)["validation:accuracy"][-1] == max(per_epoch)  # the kept model


def _topic_agreement(model) -> tuple[float, float]:
    """Nearest-neighbour topic agreement of TOPIC_WORDS, and mean same - cross cosine.

    Vectors are centred first: small corpora give every vector a large shared component.
    """
    words = [w for ws in TOPIC_WORDS.values() for w in ws]
    topic = np.repeat(np.arange(len(TOPIC_WORDS)), 5)
    V = model.vectors_for(words) - model.vectors.mean(axis=0)
    V = V / np.linalg.norm(V, axis=1, keepdims=True)
    S = V @ V.T
    same = topic[:, None] == topic[None, :]
    gap = S[same & ~np.eye(len(words), dtype=bool)].mean() - S[~same].mean()
    np.fill_diagonal(S, -np.inf)
    return float(np.mean(topic[S.argmax(axis=1)] == topic)), float(gap)


@pytest.mark.parametrize("mode", ["skipgram", "cbow", "batch_skipgram"])
def test_word2vec_writes_vectors_txt_and_groups_topic_words(tmp_path, texts, capsys, mode):
    hps = {"mode": mode, "vector_dim": 20, "epochs": 5, "sampling_threshold": 0.001}
    channels = {"train": (_corpus_text(texts.text[:800]), "text/plain")}
    env, model = _train(tmp_path, dict(hps, word_ngrams=3), channels)
    out = capsys.readouterr().out
    assert f"mode={mode} ignores word_ngrams" in out
    assert [d["Name"] for d in ALGO.metric_definitions(hps)] == ["train:loss"]
    assert len(_series(hps, out)["train:loss"]) == 5
    assert "train:mean_rho is not reported" in out
    lines = (env.model_dir / "vectors.txt").read_text().splitlines()
    assert lines[0] == f"{len(lines) - 1} 20" and all(len(line.split()) == 21 for line in lines[1:])
    words = [line.split()[0] for line in lines[1:]]
    assert words[0] == "the" and "</s>" in words and words == model.words  # by frequency
    assert sorted(p.name for p in env.model_dir.iterdir()) == [
        "model.json",
        "vectors.npz",
        "vectors.txt",
    ]
    agreement, gap = _topic_agreement(model)
    assert agreement >= 0.9 and gap > 0.3, (agreement, gap)
    assert model.problem_type == "embedding" and model.response_envelope is None
    request = model.decode_request(b'{"instances": ["goal", "qwertyuiop"]}', "application/json")
    columns = model.response_columns(request)
    assert list(columns) == ["vector", "word"]
    assert columns["word"].tolist() == ["goal", "qwertyuiop"] and columns["vector"].shape == (2, 20)
    assert np.abs(columns["vector"][0]).sum() > 0 and not columns["vector"][1].any()  # OOV: zeros
    frame = model.predict_frame(["goal", "bank"])
    assert frame.index.tolist() == ["goal", "bank"] and frame.shape == (2, 20)
    sports = " ".join([_text._NOUNS["sports"], _text._VERBS["sports"], _text._ADJECTIVES["sports"]])
    assert model.most_similar("goal", topn=3).word.isin(sports.split()).sum() >= 2


def test_subwords_give_out_of_vocabulary_words_a_vector(tmp_path, texts):
    hps = {"mode": "skipgram", "subwords": True, "vector_dim": 20, "epochs": 3, "max_char": 5}
    env, model = _train(tmp_path, hps, {"train": (_corpus_text(texts.text[:500]), "text/plain")})
    assert "goalkeepers" not in model.index and "goalkeeper" in model.index
    assert np.abs(model.vectors_for(["goalkeepers"])).sum() > 0
    assert model.most_similar("goalkeepers", topn=1).word.tolist() == ["goalkeeper"]
    arrays = np.load(env.model_dir / "vectors.npz", allow_pickle=False)
    assert set(arrays.files) == {"vectors", "ngram_buckets", "ngram_vectors"}
    assert len(arrays["ngram_buckets"]) < 20_000  # buckets=2000000 allocates only those used


@pytest.mark.parametrize(
    "hps, field",
    [
        ({"mode": "glove"}, "hyperparameters['mode']"),
        ({}, "hyperparameters['mode']"),
        ({"mode": "supervised", "vector_dim": 0}, "hyperparameters['vector_dim']"),
        ({"mode": "skipgram", "vector_dim": 1001}, "hyperparameters['vector_dim']"),
        ({"mode": "skipgram", "subwords": True, "min_char": 7}, "hyperparameters['min_char']"),
        ({"mode": "supervised", "learning_rate": 0}, "hyperparameters['learning_rate']"),
        ({"mode": "cbow", "sampling_threshold": 0}, "hyperparameters['sampling_threshold']"),
    ],
)
def test_bad_hyperparameters_are_refused(hps, field):
    with pytest.raises(ValidationError) as error:
        ALGO.validate_hyperparameters(hps)
    assert error.value.field == field


def test_channels_are_checked_against_the_mode():
    supervised = ALGO.validate_hyperparameters({"mode": "supervised", "early_stopping": True})
    with pytest.raises(ValidationError) as error:
        ALGO.check_inputs(supervised, ["train"])
    assert error.value.field == "hyperparameters['early_stopping']"
    skipgram = ALGO.validate_hyperparameters({"mode": "skipgram"})
    with pytest.raises(ValidationError) as error:
        ALGO.check_inputs(skipgram, ["train", "validation"])
    assert error.value.field == "inputs"
    assert ALGO.problem_type(skipgram) == "embedding"
    assert ALGO.problem_type(supervised) == "multiclass_classification"


def _prepared(tmp_path: Path, name: str, text: str, content_type: str = "text/plain"):
    path = tmp_path / f"{name}.txt"
    path.write_text(text)
    return PreparedChannel(name=name, content_type=content_type, source=path, files=[path])


BAD_DATA = [
    ("supervised", "__label__a x y\nno label here\n", "text/plain",
     "channel 'train' file train.txt line 2"),
    ("supervised", "\n \n", "text/plain", "channel 'train'"),
    ("skipgram", "", "text/plain", "channel 'train'"),
    ("supervised", "__label__a x x x\n__label__a x x\n", "text/plain", "channel 'train' labels"),
    ("supervised", "__label__a x\n__label__b y\n", "text/plain", "hyperparameters['min_count']"),
    ("skipgram", "x y z\n", "text/plain", "hyperparameters['min_count']"),
    ("supervised", '{"source": "x y"}\n', "application/jsonlines",
     "channel 'train' file train.txt line 1"),
    ("skipgram", "not json\n", "application/jsonlines", "channel 'train' file train.txt line 1"),
    ("skipgram", "1,2,3\n", "text/csv", "channel 'train' ContentType"),
]  # fmt: skip


@pytest.mark.parametrize("mode, text, content_type, field", BAD_DATA)
def test_bad_corpora_are_refused_in_the_kernel_and_in_the_job(
    tmp_path, mode, text, content_type, field
):
    hps = ALGO.validate_hyperparameters({"mode": mode})
    with pytest.raises(ValidationError) as error:
        ALGO.check_data(hps, [_prepared(tmp_path, "train", text, content_type)])
    assert error.value.field == field
    with pytest.raises(ValidationError) as error:
        _train(tmp_path / "job", {"mode": mode}, {"train": (text, content_type)})
    assert error.value.field == field


def test_dataframes_are_refused_with_a_pointer_to_write_corpus(texts):
    hps = ALGO.validate_hyperparameters({"mode": "supervised"})
    channel = PreparedChannel(name="train", content_type="application/x-npy", frame=texts)
    with pytest.raises(ValidationError, match="write_corpus") as error:
        ALGO.check_data(hps, [channel])
    assert error.value.field == "inputs['train']"


def test_validation_labels_unseen_in_training_warn_and_count_as_errors(tmp_path, capsys):
    train = "__label__a red red red\n__label__b blue blue blue\n" * 10
    valid = "__label__a red red\n__label__c green\n"
    hps = {"mode": "supervised", "min_count": 1, "epochs": 20, "learning_rate": 0.5}
    channels = [_prepared(tmp_path, "train", train), _prepared(tmp_path, "validation", valid)]
    with pytest.warns(UserWarning, match="__label__c"):
        ALGO.check_data(ALGO.validate_hyperparameters(hps), channels)
    channels = {"train": (train, "text/plain"), "validation": (valid, "text/plain")}
    _, model = _train(tmp_path / "job", hps, channels)
    out = capsys.readouterr().out
    assert "warning: channel 'validation' has labels" in out
    assert _series(hps, out)["validation:accuracy"][-1] == pytest.approx(0.5)
    assert model.problem_type == "binary_classification"


def test_importing_the_module_loads_neither_mxnet_nor_scipy():
    code = (
        "import sys, workbench.algorithms._blazingtext; "
        "print('mxnet' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_estimator_fit_model_and_endpoint_answer_like_sagemaker(workspace, tmp_path, texts):
    import workbench as wb
    from workbench.serving._handler import Call, Handler

    path = write_corpus(texts.text[:1000], texts.topic[:1000], tmp_path / "train.txt")
    est = wb.Estimator(algorithm="blazingtext", hyperparameters=SUPERVISED)
    job = est.fit({"train": wb.TrainingInput(str(path), content_type="text/plain")}, logs=False)
    assert job.describe()["TrainingJobStatus"] == "Completed"
    model = job.model()
    predicted = model.predict(texts.text[1000:1010])
    labels = predicted["predicted_label"] if isinstance(predicted, pd.DataFrame) else predicted
    assert np.mean(np.asarray(labels) == texts.topic[1000:1010].to_numpy()) >= 0.7
    handler = Handler.load(model.name)
    body = json.dumps({"instances": ["the chef baked bread"], "configuration": {"k": 2}})
    reply = handler.invoke(Call(body.encode(), "application/json", "application/json"))
    assert reply.status == 200, reply.body
    answer = json.loads(reply.body)
    assert isinstance(answer, list) and set(answer[0]) == {"prob", "label"}
    assert answer[0]["label"][0] == "__label__food" and len(answer[0]["prob"]) == 2
    bad = handler.invoke(Call(b'{"instances": 3}', "application/json", "application/json"))
    assert bad.status == 400
    lines = b'{"source": "the bank raised interest"}\n{"source": "a new app", "k": 2}\n'
    reply = handler.invoke(Call(lines, "application/jsonlines", "application/jsonlines"))
    assert reply.status == 200, reply.body
    records = [json.loads(line) for line in reply.body.decode().splitlines()]
    assert [len(r["label"]) for r in records] == [1, 2]
    assert records[0]["label"] == ["__label__finance"] and set(records[1]) == {"prob", "label"}
