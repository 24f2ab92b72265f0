import json
import re

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.algorithms import get_algorithm
from workbench.algorithms._lda import infer_mixture, spectral_lda
from workbench.algorithms._text import bag_of_words, topic_purity
from workbench.exceptions import ValidationError

from ._jobdir import make_job_dir

ALGO = get_algorithm("lda")


def _planted(n_docs=4000, words=25, seed=0):
    """An LDA corpus from 4 known topics, each on its own 12 words plus a little noise."""
    rng = np.random.default_rng(seed)
    k, vocab = 4, 60
    beta = np.full((k, vocab), 0.02 / vocab)
    for t in range(k):
        beta[t, 12 * t : 12 * t + 12] += 0.98 / 12
    beta /= beta.sum(axis=1, keepdims=True)
    alpha = np.full(k, 0.25)  # alpha0 = 1
    theta = rng.dirichlet(alpha, size=n_docs)
    counts = np.stack([rng.multinomial(words, p) for p in theta @ beta])
    return counts.astype(float), beta, theta


def _job(tmp_path, hps, channels):
    env = make_job_dir(tmp_path / "job", hps, channels, "text/csv")  # label-less CSV
    return env


def _train(env):
    typed = ALGO.validate_hyperparameters(env.hyperparameters)
    ALGO.check_inputs(typed, env.channels)
    ALGO.train(env, typed)
    return ALGO.load(env.model_dir)


def test_spectral_method_recovers_planted_topics_and_prior():
    counts, beta, theta = _planted()
    fit = spectral_lda(counts, 4, alpha0=1.0, chunk=1000)
    # match each true topic to its closest recovered topic
    distance = np.abs(beta[:, None, :] - fit["beta"][None, :, :]).sum(axis=2)
    match = distance.argmin(axis=1)
    assert sorted(match) == [0, 1, 2, 3]
    assert distance.min(axis=1).max() < 0.15  # L1 distance between distributions
    assert fit["alpha"].sum() == pytest.approx(1.0, rel=0.3)
    mixtures = infer_mixture(counts[:500], fit["beta"], fit["alpha"])
    assert np.allclose(mixtures.sum(axis=1), 1.0)
    assert np.abs(mixtures[:, match] - theta[:500]).mean() < 0.08


def test_trains_on_the_text_corpus_reports_test_pwll_and_answers_topic_mixture(tmp_path, capsys):
    docs = wb.datasets.load("text", size=2000, seed=1)
    counts, vocabulary = bag_of_words(docs["text"], vocabulary_size=300)
    X = counts.to_numpy(np.float64)
    hps = {"num_topics": 6, "feature_dim": len(vocabulary), "mini_batch_size": 500}
    model = _train(_job(tmp_path, hps, {"train": X[:1800], "test": X[1800:]}))
    out = capsys.readouterr().out
    [definition] = ALGO.metric_definitions(ALGO.validate_hyperparameters(hps))
    assert definition["Name"] == "test:pwll"
    values = [float(m.group(1)) for m in map(re.compile(definition["Regex"]).search, out.splitlines()) if m]  # fmt: skip
    assert len(values) == 1
    unigram = X[:1800].sum(axis=0) / X[:1800].sum()
    baseline = (X[1800:] * np.log(unigram + 1e-12)).sum() / X[1800:].sum()
    assert values[0] > baseline + 0.3  # topics explain the test documents far better
    assert values[0] == pytest.approx(model.pwll(X[1800:]), abs=1e-4)  # 6 significant digits
    assert topic_purity(model.transform(X), docs["topic"]) > 0.85
    answer = model.response_columns(X[:3])
    assert list(answer) == ["topic_mixture"] and answer["topic_mixture"].shape == (3, 6)
    assert np.allclose(answer["topic_mixture"].sum(axis=1), 1.0)
    assert model.vocabulary is None and model.topics(3)[0][0].isdigit()  # CSV: word ids
    files = sorted(p.name for p in (tmp_path / "job" / "model").iterdir())
    assert files == ["lda-model.json", "lda-model.npz"]


@pytest.mark.parametrize(
    "hps, field",
    [
        ({"num_topics": 5, "feature_dim": 4, "mini_batch_size": 10}, "hyperparameters['num_topics']"),
        ({"num_topics": 1, "feature_dim": 4, "mini_batch_size": 10}, "hyperparameters['num_topics']"),
        ({"num_topics": 2, "feature_dim": 4}, "hyperparameters['mini_batch_size']"),
        ({"num_topics": 2, "mini_batch_size": 10}, "hyperparameters['feature_dim']"),
        ({"num_topics": 2, "feature_dim": 4, "mini_batch_size": 10, "alpha0": 0}, "hyperparameters['alpha0']"),
    ],
)  # fmt: skip
def test_bad_hyperparameters_are_refused(hps, field):
    with pytest.raises(ValidationError) as err:
        ALGO.validate_hyperparameters(hps)
    assert err.value.field == field


@pytest.mark.parametrize(
    "data, field",
    [
        ([[1, 0, 2], [0, 1, 0]], "hyperparameters['feature_dim']"),
        ([[1, 0, 2, 0], [0, -1, 0, 1]], "channel 'train' counts"),
        ([[1, 0, 0.5, 0], [0, 1, 0, 1]], "channel 'train' counts"),
    ],
)
def test_bad_data_is_refused_before_training(tmp_path, data, field):
    hps = {"num_topics": 2, "feature_dim": 4, "mini_batch_size": 2}
    env = _job(tmp_path, hps, {"train": np.array(data, dtype=float)})
    with pytest.raises(ValidationError) as err:
        _train(env)
    assert err.value.field == field


def test_more_topics_than_the_corpus_supports_is_a_clear_error():
    counts, _, _ = _planted(n_docs=300)
    with pytest.raises(ValidationError) as err:
        spectral_lda(counts[:, :12], 12, alpha0=50.0)  # one topic's words only
    assert err.value.field == "hyperparameters['num_topics']"


def test_estimator_trains_predicts_and_serves_topic_mixtures(workspace, tmp_path):
    from workbench.serving._handler import Call, Handler

    counts, _, _ = _planted(n_docs=1500)
    words = [f"w{i}" for i in range(counts.shape[1])]
    frame = pd.DataFrame(counts.astype(int), columns=words)
    vocab = tmp_path / "vocab"
    vocab.mkdir()
    (vocab / "vocab.txt").write_text("\n".join(words) + "\n")
    hps = {"num_topics": 4, "feature_dim": 60, "mini_batch_size": 1500}
    est = wb.Estimator(algorithm="lda", hyperparameters=hps)
    aux = wb.TrainingInput(str(vocab), content_type="text/plain")
    job = est.fit({"train": frame.iloc[:1400], "test": frame.iloc[1400:], "auxiliary": aux}, logs=False)  # fmt: skip
    model = job.model()
    assert model.feature_names == words  # vocab.txt, stored in the model folder
    predicted = model.predict(frame.iloc[:3])
    assert list(predicted.columns) == [f"topic_{i}" for i in range(4)]
    assert np.allclose(predicted.sum(axis=1), 1.0)
    handler = Handler.load(model.name)
    body = ",".join(str(int(v)) for v in counts[0]) + "\n"
    reply = handler.invoke(Call(body.encode(), "text/csv", "application/json"))
    assert reply.status == 200, reply.body
    answer = json.loads(reply.body)
    assert list(answer) == ["predictions"] and list(answer["predictions"][0]) == ["topic_mixture"]
    assert np.allclose(answer["predictions"][0]["topic_mixture"], predicted.iloc[0], atol=1e-6)
