"""NTM and LDA vs scikit-learn's LatentDirichletAllocation on the text corpus (6 topics).

The corpus (``text``, medium: 20,000 short documents; small with ``fast``) becomes a bag of
words (``bag_of_words``: English stop words out, words in 2+ documents); 90% of the documents
train every model, the other 10% are NTM's validation channel and LDA's test channel. Topic
quality is the NPMI coherence of each topic's 10 top words, measured on the training
documents' co-occurrence (``npmi_coherence``). Pass rule: a model's coherence is at least
scikit-learn LDA's minus 0.05. Topic recovery (purity of each document's main topic against
its true ``topic``) is reported too and passes within 0.10 of scikit-learn's.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from workbench.algorithms import get_algorithm
from workbench.algorithms._text import bag_of_words, npmi_coherence, topic_purity
from workbench.datasets import load
from workbench.training._environment import TrainingEnvironment

NUM_TOPICS = 6
COHERENCE_MARGIN = 0.05
PURITY_MARGIN = 0.10
REFERENCE = "sklearn LatentDirichletAllocation"


def run(fast: bool = False, seed: int = 0) -> list[dict[str, Any]]:
    """Check rows for NTM and LDA (coherence and purity) against scikit-learn's LDA."""
    from sklearn.decomposition import LatentDirichletAllocation

    size = "small" if fast else "medium"
    docs = load("text", size=size, seed=seed)
    counts, vocabulary = bag_of_words(docs["text"])
    order = np.random.default_rng(seed).permutation(len(docs))
    cut = int(0.9 * len(docs))
    train_rows, held_rows = order[:cut], order[cut:]
    train = counts.iloc[train_rows].to_numpy(dtype=np.float64)
    held = counts.iloc[held_rows].to_numpy(dtype=np.float64)
    labels = docs["topic"].to_numpy()[train_rows]

    reference = LatentDirichletAllocation(NUM_TOPICS, random_state=seed)
    ref_weights = reference.fit_transform(train)
    ref_coherence = npmi_coherence(reference.components_, train)[0]
    ref_purity = topic_purity(ref_weights, labels)

    ntm_hps = {
        "feature_dim": len(vocabulary),
        "num_topics": NUM_TOPICS,
        "optimizer": "adam",
        "learning_rate": 0.01,
        "epochs": 150 if fast else 60,
        "num_patience_epochs": 10 if fast else 5,
        "mini_batch_size": 64 if fast else 256,
    }
    lda_hps = {
        "feature_dim": len(vocabulary),
        "num_topics": NUM_TOPICS,
        "mini_batch_size": len(train),
    }
    where = f"text corpus ({size}, {len(docs)} documents, {len(vocabulary)} words), 6 topics"
    rows = []
    for name, hps, channels in (
        ("ntm", ntm_hps, {"train": train, "validation": held}),
        ("lda", lda_hps, {"train": train, "test": held}),
    ):
        model = _train(name, hps, channels, vocabulary)
        coherence = npmi_coherence(model.topic_word, train)[0]
        purity = topic_purity(model.transform(train), labels)
        rows.append(
            {
                "algorithm": name,
                "check": f"{where}: NPMI coherence of top-10 words >= {REFERENCE} - "
                f"{COHERENCE_MARGIN}",
                "metric": "npmi_coherence",
                "score": round(coherence, 4),
                "reference": round(ref_coherence, 4),
                "reference_name": REFERENCE,
                "passed": bool(coherence >= ref_coherence - COHERENCE_MARGIN),
            }
        )
        rows.append(
            {
                "algorithm": name,
                "check": f"{where}: topic recovery, purity of main topics vs true topic "
                f"(information; within {PURITY_MARGIN})",
                "metric": "topic_purity",
                "score": round(purity, 4),
                "reference": round(ref_purity, 4),
                "reference_name": REFERENCE,
                "passed": bool(purity >= ref_purity - PURITY_MARGIN),
            }
        )
    return rows


def _train(
    name: str, hps: dict[str, Any], channels: dict[str, np.ndarray], vocabulary: list[str]
) -> Any:
    """Train one algorithm in a throwaway job folder (npy frames with word columns)."""
    import contextlib
    import io

    algorithm = get_algorithm(name)
    with tempfile.TemporaryDirectory() as folder:
        env = _job_dir(Path(folder), hps, channels, vocabulary)
        typed = algorithm.validate_hyperparameters(env.hyperparameters)
        algorithm.check_inputs(typed, env.channels)
        with contextlib.redirect_stdout(io.StringIO()):  # the job log; print only errors
            algorithm.train(env, typed)
        return algorithm.load(env.model_dir)


def _job_dir(
    root: Path, hps: dict[str, Any], channels: dict[str, np.ndarray], vocabulary: list[str]
) -> TrainingEnvironment:
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (root / "model").mkdir()
    data_config = {}
    for channel, matrix in channels.items():
        folder = root / "input" / "data" / channel
        folder.mkdir(parents=True)
        np.save(folder / "data.npy", matrix, allow_pickle=False)
        schema = {"format": "workbench-frame", "columns": vocabulary, "target": None}
        (folder / "schema.json").write_text(json.dumps(schema))
        data_config[channel] = {"ContentType": "application/x-npy"}
    (config / "hyperparameters.json").write_text(json.dumps({k: str(v) for k, v in hps.items()}))
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    return TrainingEnvironment.from_job_dir(root, f"check-{hps.get('num_topics')}")


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    for row in run():
        print(row)
    print(f"{time.perf_counter() - started:.1f}s")
