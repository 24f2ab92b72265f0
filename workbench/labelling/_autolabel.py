"""Automated labelling: Ground Truth's active-learning loop, from a few hundred objects.

1. A random ``initial_count`` items go to people; the rest are *held*.
2. Each round trains a classifier on the people's consolidated labels in a training job
   (script mode, ``scripts/autolabel_train.py``), cross-fitted: every human label is
   predicted once by a model that did not see it. Those out-of-fold predictions are the
   held-out validation set that calibrates the confidence threshold, so every human label
   serves both for training and for validation (Ground Truth sets aside a separate 10-20%
   of the data, which is why it needs 1,250+ objects).
3. The threshold is the lowest confidence at which the validation items at or above it
   are right often enough: the one-sided Wilson lower bound (``confidence_level``, 99% by
   default) of their accuracy must reach ``target_accuracy``. The bound, not the raw share,
   keeps a lucky streak on few items from passing: with 180 validation items a first round
   can look 3 points better than the model is, so until the bound passes nothing is
   auto-labelled and people label the next batch.
4. The model labels the held items at or above the threshold; the ``batch_size`` least
   confident of the rest go to people next (uncertainty sampling). Repeat until nothing is
   held, or people have labelled ``max_human_labeled_objects``.
"""

from __future__ import annotations

import fcntl
import math
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core import utcnow
from ..exceptions import ValidationError, WorkbenchError

if TYPE_CHECKING:
    from ._job import LabelingJob

__all__ = ["AutoLabeling", "run_round", "run_with", "report", "wilson_lower_bound"]

_SCRIPTS = Path(__file__).parent / "scripts"
_MODELS = ("auto", "svc", "logistic", "logistic-scaled", "hist-gradient-boosting")
_DEFAULT_MODEL = {"image": "svc", "text": "logistic", "record": "hist-gradient-boosting"}


@dataclass
class AutoLabeling:
    """Settings of automated labelling (Ground Truth's ``LabelingJobAlgorithmsConfig``).

    ``initial_count`` items (default 10% of the job, at least 100) are labelled by people
    first; then every round sends ``batch_size`` (default 3%, at least 20) of the least
    certain items to people. ``model`` is ``"auto"`` (an RBF SVM for images, logistic
    regression on TF-IDF for texts, gradient boosting for records) or one of those names.

    Example
    -------
    >>> AutoLabeling(target_accuracy=0.95).initial_for(1_797)
    180
    """

    target_accuracy: float = 0.95
    initial_count: int | None = None
    batch_size: int | None = None
    max_human_labeled_objects: int | None = None
    model: str = "auto"
    c: float = 10.0
    folds: int = 5
    confidence_level: float = 0.99
    seed: int = 0

    def check(self) -> None:
        t = self.target_accuracy
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0.5 <= t < 1:
            raise ValidationError("auto_labeling.target_accuracy", t, "a number in [0.5, 1)")
        for key in ("initial_count", "batch_size", "max_human_labeled_objects"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):  # fmt: skip
                raise ValidationError(f"auto_labeling.{key}", value, "a positive int or None")
        if self.model not in _MODELS:
            raise ValidationError("auto_labeling.model", self.model, "one of " + ", ".join(_MODELS))
        if isinstance(self.folds, bool) or not isinstance(self.folds, int) or self.folds < 2:
            raise ValidationError("auto_labeling.folds", self.folds, "an int >= 2")
        level = self.confidence_level
        if not isinstance(level, int | float) or not 0 <= level < 1:
            raise ValidationError("auto_labeling.confidence_level", level, "a number in [0, 1)")
        if not isinstance(self.c, int | float) or self.c <= 0:
            raise ValidationError("auto_labeling.c", self.c, "a positive number")

    def initial_for(self, n: int) -> int:
        return min(n, self.initial_count or max(100, round(0.1 * n)))

    def batch_for(self, n: int) -> int:
        return self.batch_size or max(20, round(0.03 * n))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AutoLabeling:
        return cls(**data)


def wilson_lower_bound(correct: np.ndarray, n: np.ndarray, z: float) -> np.ndarray:
    """One-sided Wilson score lower bound of a proportion ``correct / n``."""
    n = np.asarray(n, dtype=np.float64)
    p = np.asarray(correct, dtype=np.float64) / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def choose_threshold(
    confidence: np.ndarray, correct: np.ndarray, target: float, level: float
) -> tuple[float, dict[str, float]]:
    """The lowest confidence whose validation items at or above it pass ``target``.

    Returns ``(threshold, facts)``; the threshold is ``inf`` when no cut passes.
    """
    from scipy.stats import norm

    order = np.argsort(-confidence, kind="stable")
    conf, ok = confidence[order], correct[order].astype(np.float64)
    n = np.arange(1, len(conf) + 1)
    hits = np.cumsum(ok)
    # Only cut between distinct confidences: ties stay on the same side of the threshold.
    last_of_value = np.r_[conf[1:] != conf[:-1], True]
    z = float(norm.ppf(level)) if level > 0 else 0.0
    bound = wilson_lower_bound(hits, n, z)
    passing = np.flatnonzero((bound >= target) & last_of_value)
    if len(passing) == 0:
        return math.inf, {"validation_items": len(conf), "validation_accuracy": float(ok.mean())}
    k = passing[-1]
    return float(conf[k]), {
        "validation_items": len(conf),
        "validation_accuracy": float(ok.mean()),
        "validation_above_threshold": int(k + 1),
        "accuracy_above_threshold": float(hits[k] / (k + 1)),
        "accuracy_lower_bound": float(bound[k]),
    }


@contextmanager
def _round_lock(folder: Path):
    """One round at a time per job, across processes (released if the process dies)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "round.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkbenchError("An automated-labelling round of this job is running") from None
        yield


def release_initial(job: LabelingJob) -> None:
    """Send the first random ``initial_count`` items to people; hold the rest."""
    config = job.auto_labeling
    assert config is not None
    held = [r["item"] for r in job._started().items() if r["state"] == "held"]
    rng = np.random.default_rng(config.seed)
    count = config.initial_for(len(held))
    chosen = rng.choice(np.array(held), size=count, replace=False) if held else []
    job._started().set_states((int(i), "open", 0.0, 0, None, None) for i in chosen)
    _save_rounds(job, [])


def _save_rounds(job: LabelingJob, rounds: list[dict[str, Any]]) -> None:
    job.workspace.catalog.update("labeling-job", str(job.name), extra={"rounds": rounds})


def _features(job: LabelingJob) -> Any:
    cached = getattr(job, "_feature_cache", None)
    if cached is None:
        from ._features import featurize

        cached = featurize(job, job.items)
        for item, reason in cached.failed.items():
            job.fail_item(item, reason)
        job._feature_cache = cached  # type: ignore[attr-defined]
    return cached


def _write_channel(folder: Path, matrix: Any, labels: np.ndarray | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if hasattr(matrix, "tocsr"):
        from scipy import sparse

        sparse.save_npz(folder / "X.npz", matrix.tocsr())
    else:
        np.save(folder / "X.npy", np.asarray(matrix))
    if labels is not None:
        np.save(folder / "y.npy", labels.astype(np.int64))
    return folder


def train_cross_fitted(
    job: LabelingJob, items: np.ndarray, codes: np.ndarray, pool: np.ndarray, tag: str
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Run the training job: out-of-fold probabilities of ``items``, pool probabilities."""
    from ..training import Estimator, TrainingInput

    config = job.auto_labeling
    model = config.model if config else "auto"
    folds = config.folds if config else 5
    c = config.c if config else 10.0
    seed = config.seed if config else job.seed
    if model == "auto":
        model = _DEFAULT_MODEL[job._media(job.task)]
    features = _features(job)
    row_of = {int(item): row for row, item in enumerate(features.items)}
    base = job.folder / "rounds" / tag
    train = _write_channel(base / "train", features.matrix[[row_of[i] for i in items]], codes)
    channels = {"train": TrainingInput(str(train), content_type="application/octet-stream",
                                       origin=("labeling-job", str(job.name)))}  # fmt: skip
    if len(pool):
        pool_dir = _write_channel(base / "pool", features.matrix[[row_of[i] for i in pool]])
        channels["pool"] = TrainingInput(str(pool_dir), content_type="application/octet-stream")
    estimator = Estimator(
        entry_point="autolabel_train.py",
        source_dir=str(_SCRIPTS),
        hyperparameters={
            "model": model,
            "c": c,
            "folds": folds,
            "seed": seed,
            "n_classes": len(job.labels or []),
        },  # fmt: skip
        metric_definitions=[
            {"Name": "validation:accuracy", "Regex": r"validation:accuracy=([0-9.]+)"}
        ],
        base_job_name=f"{job.name}"[:40] + f"-{tag}",
        workspace=job.workspace,
    )
    training = estimator.fit(channels, wait=True, logs=False)
    out = training.job_dir / "output" / "data"
    oof = np.load(out / "oof_proba.npy")
    pool_proba = np.load(out / "pool_proba.npy") if len(pool) else None
    return oof, pool_proba, training.name


def _human_labels(job: LabelingJob) -> tuple[np.ndarray, np.ndarray]:
    """Items people finished and their consolidated labels as class indices."""
    consolidated = job.consolidate()
    complete = {r["item"] for r in job._started().items() if r["state"] == "complete"}
    frame = consolidated[consolidated.index.isin(complete)]
    index = {label: i for i, label in enumerate(job.labels or [])}
    items = frame.index.to_numpy(dtype=np.int64)
    codes = np.array([index[label] for label in frame["label"]], dtype=np.int64)
    return items, codes


def run_round(job: LabelingJob) -> dict[str, Any]:
    """One round of the loop (see the module docstring); returns the round's report."""
    config = job.auto_labeling
    if config is None:
        raise ValidationError("auto_labeling", None, "a job created with auto_labeling=...")
    store = job._started()
    if job.status != "InProgress":
        raise ValidationError("status", job.status, "an InProgress job")
    with _round_lock(job.folder):
        states = store.state_counts()
        if states.get("open", 0):
            raise ValidationError(
                "round",
                f"{states['open']} item(s) still open",
                "every item of the current human batch answered before the next round",
            )
        rounds = list(job.record["extra"].get("rounds", []))
        number = len(rounds) + 1
        held = np.array([r["item"] for r in store.items() if r["state"] == "held"], dtype=int)
        if len(held) == 0:
            job._maybe_complete()
            return {"round": number, "auto_labeled": 0, "next_batch": 0, "done": True}
        _features(job)  # fails unreadable items before anything is trained
        held = np.array([r["item"] for r in store.items() if r["state"] == "held"], dtype=int)
        items, codes = _human_labels(job)
        report: dict[str, Any] = {"round": number, "time": utcnow(), "human_labels": len(items)}
        threshold, pool_proba = math.inf, None
        if len(np.unique(codes)) >= 2 and len(items) >= 10:
            oof, pool_proba, training_job = train_cross_fitted(
                job, items, codes, held, f"round{number:03d}"
            )
            correct = oof.argmax(axis=1) == codes
            threshold, facts = choose_threshold(
                oof.max(axis=1), correct, config.target_accuracy, config.confidence_level
            )
            report.update(facts, training_job=training_job)
        report["threshold"] = None if math.isinf(threshold) else threshold
        labels = list(job.labels or [])
        auto_rows, rest = [], held
        if pool_proba is not None:
            confidence = pool_proba.max(axis=1)
            passing = confidence >= threshold
            best = pool_proba.argmax(axis=1)
            auto_rows = [
                (int(i), "auto", 0.0, number, labels[int(b)], float(c))
                for i, b, c in zip(held[passing], best[passing], confidence[passing], strict=True)
            ]
            rest, rest_conf = held[~passing], confidence[~passing]
            order = np.argsort(rest_conf, kind="stable")  # least confident first
            rest, rest_conf = rest[order], rest_conf[order]
        else:
            rng = np.random.default_rng(config.seed + number)
            rest = rng.permutation(held)
            rest_conf = np.zeros(len(rest))
        store.set_states(auto_rows)
        humans_so_far = len(items)
        budget = config.max_human_labeled_objects
        size = config.batch_for(len(job.items))
        if budget is not None:
            size = max(0, min(size, budget - humans_so_far))
        batch = rest[:size]
        store.set_states(
            (int(i), "open", float(1 - c), number, None, None)
            for i, c in zip(batch, rest_conf[:size], strict=True)
        )
        left = rest[size:]
        if len(batch) == 0 and len(left):
            reason = "not labelled: the human budget (max_human_labeled_objects) is used up"
            job.fail_items([int(i) for i in left], reason)
        report.update(auto_labeled=len(auto_rows), next_batch=len(batch), held=len(left))
        report["done"] = len(batch) == 0
        rounds.append(report)
        _save_rounds(job, rounds)
        job._record_counts()
        if report["done"]:
            job._maybe_complete()
        return report


def run_with(job: LabelingJob, annotators: list[Any], *, max_rounds: int = 100) -> dict[str, Any]:
    """Let (simulated) annotators answer everything open; run rounds until the job ends."""
    for _ in range(max_rounds):
        while sum(annotator.work(job) for annotator in annotators):
            pass
        if job.auto_labeling is None or job.status != "InProgress":
            break
        if job._started().state_counts().get("open", 0):
            break  # nobody left who may answer the open items
        if run_round(job).get("done"):
            break
    return job.progress()


def report(job: LabelingJob) -> dict[str, Any]:
    """Items labelled by people and by the model, with the estimated accuracy of each.

    People: the mean Dawid-Skene posterior of their consolidated labels. Model: the
    validation accuracy above each round's threshold, weighted by the items that round
    labelled (and the weighted Wilson lower bound).
    """
    counters = job.label_counters()
    rounds = job.record["extra"].get("rounds", [])
    from ._consolidation import consolidate_classification

    answers = job.answers().rename(columns={"annotator": "worker"})
    result = consolidate_classification(answers, list(job.labels or []), method=job.consolidation)
    complete = {r["item"] for r in job._started().items() if r["state"] == "complete"}
    posteriors = result.posteriors if result.posteriors is not None else result.labels[[]]
    # The posterior of the chosen label (Ground Truth reports 0.0 with one answer; the
    # posterior still estimates how likely the label is right).
    human = posteriors[posteriors.index.isin(complete)].max(axis=1).rename("confidence").to_frame()
    weights = np.array([r.get("auto_labeled", 0) for r in rounds], dtype=float)
    accuracy = [r.get("accuracy_above_threshold", np.nan) for r in rounds]
    bounds = [r.get("accuracy_lower_bound", np.nan) for r in rounds]
    machine = weights.sum()
    total = counters["TotalLabeled"] + counters["Unlabeled"] + counters["FailedNonRetryableError"]
    return {
        "items": total,
        "human_labeled": counters["HumanLabeled"],
        "machine_labeled": counters["MachineLabeled"],
        "unlabeled": counters["Unlabeled"],
        "failed": counters["FailedNonRetryableError"],
        "machine_share": counters["MachineLabeled"] / total if total else 0.0,
        "human_answers": int(sum(job.progress()["answers_by_annotator"].values())),
        "human_estimated_accuracy": float(human["confidence"].mean()) if len(human) else None,
        "machine_estimated_accuracy": (
            float(np.nansum(weights * np.array(accuracy)) / machine) if machine else None
        ),
        "machine_accuracy_lower_bound": (
            float(np.nansum(weights * np.array(bounds)) / machine) if machine else None
        ),
        "rounds": len(rounds),
        "threshold_by_round": [r.get("threshold") for r in rounds],
    }
