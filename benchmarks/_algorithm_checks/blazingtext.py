"""BlazingText vs references on workbench's six-topic ``text`` dataset (80/20 split).

- supervised: test accuracy against scikit-learn's LogisticRegression on TF-IDF features
  of the same split; passes within 2 points or better.
- skipgram and cbow: nearest-neighbour topic agreement of 48 topic words (the 8 most
  frequent nouns of each topic that belong to that topic only): the share whose nearest
  other word by cosine is of the same topic, against random vectors of the same shape;
  passes at 0.8 or more and at least 0.4 above random.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._common import check

# The full run uses SageMaker's defaults (with the 10 epochs of its DBPedia example for the
# classifier). The 1600 texts of the fast run need fastText's usual small-data learning
# rate to leave the start, and less subsampling of a 32k-word corpus (1e-3 is the top of
# SageMaker's recommended range) for CBOW to see enough pairs.
_SUPERVISED = {"mode": "supervised", "epochs": 10}
_SUPERVISED_FAST = {"mode": "supervised", "epochs": 10, "learning_rate": 0.5}
_WORD2VEC: dict[str, Any] = {}
_WORD2VEC_FAST = {"sampling_threshold": 0.001}


def _train(hyperparameters: dict[str, Any], channels: dict[str, Path]) -> Any:
    """Train BlazingText on text/plain channels in a temporary job folder; return the model."""
    from workbench.algorithms import get_algorithm
    from workbench.training._environment import TrainingEnvironment

    algo = get_algorithm("blazingtext")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = root / "input" / "config"
        config.mkdir(parents=True)
        (root / "model").mkdir()
        data_config = {}
        for channel, path in channels.items():
            folder = root / "input" / "data" / channel
            folder.mkdir(parents=True)
            (folder / path.name).write_bytes(path.read_bytes())
            data_config[channel] = {"ContentType": "text/plain"}
        strings = {k: str(v) for k, v in hyperparameters.items()}
        (config / "hyperparameters.json").write_text(json.dumps(strings))
        (config / "inputdataconfig.json").write_text(json.dumps(data_config))
        env = TrainingEnvironment.from_job_dir(root, "check-blazingtext")
        with contextlib.redirect_stdout(io.StringIO()):
            algo.train(env, algo.validate_hyperparameters(env.hyperparameters))
        return algo.load(env.model_dir)


def _topic_words() -> tuple[list[str], np.ndarray]:
    from workbench.datasets import _text

    owners: dict[str, int] = {}
    for nouns in _text._NOUNS.values():
        for word in nouns.split():
            owners[word] = owners.get(word, 0) + 1
    words, topics = [], []
    for i, nouns in enumerate(_text._NOUNS.values()):
        mine = [w for w in nouns.split() if owners[w] == 1][:8]  # listed by frequency
        words += mine
        topics += [i] * len(mine)
    return words, np.array(topics)


def _agreement(vectors: np.ndarray, topics: np.ndarray) -> float:
    V = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    S = V @ V.T
    np.fill_diagonal(S, -np.inf)
    return float(np.mean(topics[S.argmax(axis=1)] == topics))


def run(fast: bool = False, seed: int = 0) -> list[dict[str, Any]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    import workbench as wb
    from workbench.algorithms._blazingtext import write_corpus

    size = "small" if fast else "medium"
    df = wb.datasets.load("text", size=size, seed=seed)
    order = np.random.default_rng(seed).permutation(len(df))
    cut = int(0.8 * len(df))
    train, test = df.iloc[order[:cut]], df.iloc[order[cut:]]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        train_file = write_corpus(train.text, train.topic, Path(tmp) / "train.txt")
        hps = _SUPERVISED_FAST if fast else _SUPERVISED
        model = _train(hps, {"train": train_file})
        accuracy = float(np.mean(model.predict(test.text) == test.topic.to_numpy()))
        tfidf = TfidfVectorizer()
        reference = LogisticRegression(max_iter=1000).fit(
            tfidf.fit_transform(train.text), train.topic
        )
        ref_accuracy = float(reference.score(tfidf.transform(test.text), test.topic))
        settings = ", ".join(f"{k}={v}" for k, v in hps.items() if k != "mode")
        out.append(
            check(
                "blazingtext",
                f"supervised test accuracy on text/{size} ({settings}) within 2 points of sklearn",
                "accuracy",
                accuracy,
                ref_accuracy,
                "sklearn LogisticRegression on TF-IDF",
                accuracy >= ref_accuracy - 0.02,
            )
        )
        corpus = write_corpus(train.text, path=Path(tmp) / "corpus.txt")
        words, topics = _topic_words()
        extra = _WORD2VEC_FAST if fast else _WORD2VEC
        settings = ", ".join(f"{k}={v}" for k, v in extra.items()) or "defaults"
        for mode in ("skipgram", "cbow"):
            vectors = _train({"mode": mode, **extra}, {"train": corpus}).vectors_for(words)
            score = _agreement(vectors, topics)
            rng = np.random.default_rng(seed)
            baseline = _agreement(rng.normal(size=vectors.shape), topics)
            out.append(
                check(
                    "blazingtext",
                    f"{mode} nearest-neighbour topic agreement of {len(words)} topic words on "
                    f"text/{size} ({settings}) >= 0.8 and 0.4 above random",
                    "topic_agreement",
                    score,
                    baseline,
                    "random vectors",
                    score >= max(0.8, baseline + 0.4),
                )
            )
    return out
