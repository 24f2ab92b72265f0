"""Answer consolidation: several annotators' answers become one label per item.

Follows SageMaker Ground Truth's documented behaviour:

* classification uses a modified Dawid & Skene (1979) EM that learns a confusion matrix
  per worker (majority vote is the equal-weight alternative);
* bounding boxes are matched across workers by IoU, then averaged;
* named-entity spans are clustered by Jaccard similarity, with mode/median boundaries.

As in Ground Truth, an item answered by a single worker keeps that worker's label with
confidence 0.0. ``answers`` is always a long frame with columns ``item``, ``worker`` and
``answer``; items come out sorted by id.

Dawid-Skene prior: every row of a worker's confusion matrix gets Dirichlet pseudo-counts
``prior_strength / K`` on each cell plus ``prior_strength`` more on the diagonal, i.e.
``2 * prior_strength`` imagined answers with prior accuracy ``(1 + 1/K) / 2`` (0.75 for
two classes, 0.55 for ten): better than chance, weak enough for real answers to dominate,
and no cell is ever 0. Class priors get ``prior_strength`` pseudo-items per class.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ValidationError

__all__ = [
    "Consolidation",
    "majority_vote",
    "dawid_skene",
    "consolidate_classification",
    "consolidate_multilabel",
    "box_iou",
    "consolidate_boxes",
    "consolidate_spans",
]

_COLUMNS = ("item", "worker", "answer")
_ANSWER = "answers['answer']"
_METHODS = ("dawid_skene", "majority_vote")
_BOX_KEYS = ("left", "top", "width", "height")


@dataclass
class Consolidation:
    """The result of consolidating classification answers.

    Attributes
    ----------
    labels : DataFrame indexed by ``item``: ``label``, ``confidence`` (0..1), ``n_answers``.
    workers : DataFrame indexed by ``worker``: ``accuracy`` (estimated probability the
        worker answers correctly; NaN when unknown) and ``n_answers``.
    posteriors : items x classes probabilities (vote shares for majority vote); rows sum to 1.
    method : ``"majority_vote"`` or ``"dawid_skene"``.
    """

    labels: pd.DataFrame
    workers: pd.DataFrame
    posteriors: pd.DataFrame | None = None
    method: str = ""


# --------------------------------------------------------------------------- checks


def _check_answers(answers: Any) -> pd.DataFrame:
    if not isinstance(answers, pd.DataFrame):
        raise ValidationError(
            "answers", type(answers).__name__, "a DataFrame with columns item, worker, answer"
        )
    missing = [c for c in _COLUMNS if c not in answers.columns]
    if missing:
        raise ValidationError(
            "answers.columns",
            list(answers.columns),
            "columns 'item', 'worker' and 'answer'",
            hint=f"Missing: {missing}.",
        )
    for column in ("item", "worker"):
        n_null = int(answers[column].isna().sum())
        if n_null:
            raise ValidationError(
                f"answers[{column!r}]",
                None,
                f"a {column} id on every row",
                hint=f"{n_null} row(s) have none.",
            )
    return answers


def _check_classes(classes: Any) -> pd.Index:
    if isinstance(classes, str | bytes) or not isinstance(
        classes, Sequence | np.ndarray | pd.Index
    ):
        raise ValidationError("classes", classes, "a sequence of class labels")
    index = pd.Index(list(classes), tupleize_cols=False)
    if len(index) == 0:
        raise ValidationError("classes", list(classes), "at least one class")
    if not index.is_unique:
        raise ValidationError("classes", list(classes), "distinct class labels")
    return index


def _check_method(method: Any) -> str:
    if method not in _METHODS:
        raise ValidationError("method", method, f"one of {list(_METHODS)}")
    return method


def _check_fraction(value: Any, name: str, *, allow_zero: bool = True) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    low_ok = ok and (value >= 0 if allow_zero else value > 0)
    if not (low_ok and value <= 1):
        raise ValidationError(name, value, f"a number in {'[0' if allow_zero else '(0'}, 1]")
    return float(value)


def _codes(values: pd.Series, name: str) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and unique ids, sorted when the ids sort (else first-seen order)."""
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(values)
    return codes.astype(np.intp), pd.Index(uniques, name=name, tupleize_cols=False)


def _class_codes(values: Sequence[Any], classes: pd.Index) -> np.ndarray:
    """Position of each value in ``classes``; unknown values raise naming the answer column."""
    target = np.empty(len(values), dtype=object)
    for pos, value in enumerate(values):  # element-wise: answers may themselves be lists
        target[pos] = value
    try:
        codes = classes.get_indexer(pd.Index(target, dtype=object, tupleize_cols=False))
    except TypeError:
        codes = np.array([_hashable_code(v, classes) for v in target], dtype=np.intp)
    if (codes < 0).any():
        bad: list[Any] = []
        for value in target[codes < 0]:
            if len(bad) < 10 and not any(value is b or _same(value, b) for b in bad):
                bad.append(value)
        raise ValidationError(_ANSWER, bad, f"one of the classes {classes.tolist()}")
    return codes.astype(np.intp)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _hashable_code(value: Any, classes: pd.Index) -> int:
    try:
        return classes.get_loc(value) if value in classes else -1
    except TypeError:
        return -1


# --------------------------------------------------------------------------- helpers


def _vote_counts(item: np.ndarray, label: np.ndarray, n_items: int, k: int) -> np.ndarray:
    return np.bincount(item * k + label, minlength=n_items * k).reshape(n_items, k).astype(float)


def _distinct_workers(item: np.ndarray, worker: np.ndarray, n_items: int) -> np.ndarray:
    pairs = np.unique(np.stack([item, worker], axis=1), axis=0) if len(item) else np.empty((0, 2))
    return np.bincount(pairs[:, 0].astype(np.intp), minlength=n_items)


def _result(
    items: pd.Index,
    workers: pd.Index,
    classes: pd.Index,
    post: np.ndarray,
    label: np.ndarray,
    n_answers: np.ndarray,
    worker_accuracy: np.ndarray,
    worker_answers: np.ndarray,
    method: str,
) -> Consolidation:
    confidence = np.where(n_answers == 1, 0.0, post[np.arange(len(items)), label])
    labels = pd.DataFrame(
        {
            "label": np.asarray(classes.take(label)),
            "confidence": confidence.astype(float),
            "n_answers": n_answers.astype(np.int64),
        },
        index=items,
    )
    table = pd.DataFrame(
        {"accuracy": worker_accuracy.astype(float), "n_answers": worker_answers.astype(np.int64)},
        index=workers,
    )
    posteriors = pd.DataFrame(post, index=items, columns=classes)
    return Consolidation(labels=labels, workers=table, posteriors=posteriors, method=method)


def _prepare(answers: Any, classes: Any) -> tuple:
    frame = _check_answers(answers)
    index = _check_classes(classes)
    item, items = _codes(frame["item"], "item")
    worker, workers = _codes(frame["worker"], "worker")
    label = _class_codes(frame["answer"].tolist(), index)
    return index, item, items, worker, workers, label


# --------------------------------------------------------------------------- classification


def majority_vote(answers: pd.DataFrame, classes: Sequence[Any], *, seed: int = 0) -> Consolidation:
    """Consolidate single-label answers by majority vote (every worker weighs the same).

    Ties are broken uniformly at random with ``numpy.random.default_rng(seed)``. Confidence
    is the share of answers agreeing with the label (0.0 for single-answer items); a
    worker's accuracy is their agreement with the labels of items with two or more answers.

    Example
    -------
    >>> df = pd.DataFrame({"item": [1, 1, 1], "worker": ["a", "b", "c"],
    ...                    "answer": ["cat", "cat", "dog"]})
    >>> majority_vote(df, ["cat", "dog"]).labels.loc[1, "label"]
    'cat'
    """
    index, item, items, worker, workers, label = _prepare(answers, classes)
    n_items, k = len(items), len(index)
    counts = _vote_counts(item, label, n_items, k)
    n_answers = counts.sum(1)
    rng = np.random.default_rng(seed)
    tied = counts == counts.max(1, keepdims=True)
    chosen = np.argmax(np.where(tied, rng.random(counts.shape), -1.0), axis=1)
    post = counts / np.maximum(n_answers, 1)[:, None]
    multi = (n_answers >= 2)[item]
    hits = np.bincount(
        worker[multi], weights=(label == chosen[item])[multi], minlength=len(workers)
    )
    seen = np.bincount(worker[multi], minlength=len(workers))
    accuracy = np.where(seen > 0, hits / np.maximum(seen, 1), np.nan)
    return _result(
        items,
        workers,
        index,
        post,
        chosen,
        n_answers,
        accuracy,
        np.bincount(worker, minlength=len(workers)),
        "majority_vote",
    )


def _ds_m_step(
    post: np.ndarray, item: np.ndarray, cell: np.ndarray, n_workers: int, prior_strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """Class priors (K) and confusion matrices (W x true K x answered K) from posteriors.

    ``cell[a, t]`` is the flat position of [worker of a, true class t, answer of a]; each
    answer adds its item's posterior over true classes to its worker's answered column.
    """
    k = post.shape[1]
    weights = np.take(post, item, axis=0).ravel()
    counts = np.bincount(cell.ravel(), weights=weights, minlength=n_workers * k * k)
    # Dirichlet pseudo-counts: prior_strength spread over each row, as much again on the diagonal
    counts = counts.reshape(n_workers, k, k) + prior_strength * (1.0 / k + np.eye(k))
    confusion = counts / counts.sum(2, keepdims=True)
    class_prior = post.sum(0) + prior_strength
    return class_prior / class_prior.sum(), confusion


def _ds_e_step(
    class_prior: np.ndarray, confusion: np.ndarray, cell: np.ndarray, slot: np.ndarray, n_items: int
) -> np.ndarray:
    """Posterior over true classes per item (n_items x K); ``slot`` = item * K + true class."""
    k = len(class_prior)
    per_answer = np.log(confusion).ravel()[cell]  # (answers, K): log P(answer | true class)
    loglik = np.bincount(slot, weights=per_answer.ravel(), minlength=n_items * k)
    log_post = np.log(class_prior) + loglik.reshape(n_items, k)
    log_post -= log_post.max(1, keepdims=True)
    post = np.exp(log_post)
    return post / post.sum(1, keepdims=True)


def dawid_skene(
    answers: pd.DataFrame,
    classes: Sequence[Any],
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    prior_strength: float = 1.0,
) -> Consolidation:
    """Consolidate single-label answers with Dawid-Skene EM (Ground Truth's default).

    Each worker gets a confusion matrix (probability of answering ``l`` when the truth is
    ``k``), learnt jointly with the true-class posteriors, starting from vote shares. A
    Dirichlet prior (see the module docstring; scaled by ``prior_strength > 0``) keeps
    workers with few answers stable. Iterates until posteriors move less than ``tol``.
    The label is the most probable class (ties: first in ``classes``); confidence is its
    posterior (0.0 for single-answer items); worker accuracy is
    ``sum_k prior_k * confusion[k, k]``.

    Example
    -------
    >>> df = pd.DataFrame({"item": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"],
    ...                    "answer": ["cat", "cat", "dog", "dog"]})
    >>> dawid_skene(df, ["cat", "dog"]).labels["label"].tolist()
    ['cat', 'dog']
    """
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValidationError("max_iter", max_iter, "a positive integer")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ValidationError("tol", tol, "a non-negative number")
    if (
        isinstance(prior_strength, bool)
        or not isinstance(prior_strength, numbers.Real)
        or not 0 < prior_strength < np.inf
    ):
        raise ValidationError("prior_strength", prior_strength, "a positive number")
    index, item, items, worker, workers, label = _prepare(answers, classes)
    n_items, n_workers, k = len(items), len(workers), len(index)
    counts = _vote_counts(item, label, n_items, k)
    n_answers = counts.sum(1)
    post = counts / np.maximum(n_answers, 1)[:, None]
    cell = (worker * k * k + label)[:, None] + np.arange(k) * k
    slot = (item[:, None] * k + np.arange(k)).ravel()
    for _ in range(max_iter):  # max_iter >= 1, so class_prior and confusion get bound
        class_prior, confusion = _ds_m_step(post, item, cell, n_workers, prior_strength)
        new = _ds_e_step(class_prior, confusion, cell, slot, n_items)
        change = float(np.abs(new - post).max()) if new.size else 0.0
        post = new
        if change < tol:
            break
    accuracy = (class_prior * np.diagonal(confusion, axis1=1, axis2=2)).sum(1)
    return _result(
        items,
        workers,
        index,
        post,
        np.argmax(post, axis=1),
        n_answers,
        accuracy,
        np.bincount(worker, minlength=n_workers),
        "dawid_skene",
    )


def consolidate_classification(
    answers: pd.DataFrame,
    classes: Sequence[Any],
    *,
    method: str = "dawid_skene",
    seed: int = 0,
) -> Consolidation:
    """Consolidate single-label answers with ``"dawid_skene"`` or ``"majority_vote"``.

    ``seed`` only matters for majority-vote tie-breaks.

    Example
    -------
    >>> df = pd.DataFrame({"item": [1, 1], "worker": ["a", "b"], "answer": ["cat", "dog"]})
    >>> consolidate_classification(df, ["cat", "dog"], method="majority_vote").method
    'majority_vote'
    """
    if _check_method(method) == "majority_vote":
        return majority_vote(answers, classes, seed=seed)
    return dawid_skene(answers, classes)


def _tick_matrix(values: Sequence[Any], classes: pd.Index) -> np.ndarray:
    """(answers x K) booleans: did the worker tick each class?"""
    lengths = []
    flat: list[Any] = []
    for value in values:
        if isinstance(value, str | bytes | Mapping) or not isinstance(
            value, list | tuple | set | frozenset | np.ndarray
        ):
            raise ValidationError(_ANSWER, value, "a list of classes (possibly empty)")
        lengths.append(len(value))
        flat.extend(value)
    ticks = np.zeros((len(lengths), len(classes)), dtype=bool)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    ticks[rows, _class_codes(flat, classes)] = True
    return ticks


def consolidate_multilabel(
    answers: pd.DataFrame, classes: Sequence[Any], *, method: str = "dawid_skene"
) -> pd.DataFrame:
    """Consolidate multi-label answers: one binary question per class.

    Each answer is a list of the classes that apply (empty: none apply). Every class is
    consolidated on its own as a yes/no question with ``method``; a class is chosen when
    its probability is above 0.5. Items with a single answer keep that worker's classes
    with confidence 0.0.

    Returns a DataFrame indexed by ``item``: ``labels`` (chosen classes in ``classes``
    order), ``confidence_map`` (chosen class -> probability) and ``n_answers``.

    Example
    -------
    >>> df = pd.DataFrame({"item": [1, 1, 1], "worker": ["a", "b", "c"],
    ...                    "answer": [["sky", "sea"], ["sky"], ["sky", "sea"]]})
    >>> consolidate_multilabel(df, ["sky", "sea", "sand"], method="majority_vote").loc[1, "labels"]
    ['sky', 'sea']
    """
    frame = _check_answers(answers)
    index = _check_classes(classes)
    _check_method(method)
    ticks = _tick_matrix(frame["answer"].tolist(), index)
    item, items = _codes(frame["item"], "item")
    n_answers = np.bincount(item, minlength=len(items))
    probs = np.zeros((len(items), len(index)))
    for k in range(len(index)):
        binary = pd.DataFrame(
            {
                "item": frame["item"].to_numpy(),
                "worker": frame["worker"].to_numpy(),
                "answer": ticks[:, k],
            }
        )
        result = consolidate_classification(binary, [False, True], method=method)
        probs[:, k] = result.posteriors.iloc[:, 1].to_numpy()
    chosen = probs > 0.5
    single = n_answers[item] == 1
    chosen[item[single]] = ticks[single]
    probs[n_answers == 1] = 0.0
    labels, maps = [], []
    for row, prob in zip(chosen, probs):
        picked = np.flatnonzero(row)
        labels.append([index[k] for k in picked])
        maps.append({index[k]: float(prob[k]) for k in picked})
    return pd.DataFrame(
        {
            "labels": pd.Series(labels, index=items, dtype=object),
            "confidence_map": pd.Series(maps, index=items, dtype=object),
            "n_answers": pd.Series(n_answers.astype(np.int64), index=items),
        },
        index=items,
    )


# --------------------------------------------------------------------------- boxes and spans


def _as_boxes(boxes: Any, name: str) -> np.ndarray:
    arr = np.asarray(boxes, dtype=float)
    if arr.size == 0:
        arr = arr.reshape(0, 4)
    elif arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValidationError(
            name, f"shape {np.shape(boxes)}", "rows of [left, top, width, height]"
        )
    return arr


def _iou_ltrb(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes given as [left, top, right, bottom] rows."""
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection-over-union of boxes given as ``[left, top, width, height]`` rows.

    Returns a ``len(a) x len(b)`` matrix; boxes with zero area have IoU 0 with everything.

    Example
    -------
    >>> box_iou([[0, 0, 2, 2]], [[0, 0, 2, 2], [1, 0, 2, 2], [5, 5, 1, 1]]).round(3).tolist()
    [[1.0, 0.333, 0.0]]
    """
    a, b = _as_boxes(a, "a"), _as_boxes(b, "b")
    to_ltrb = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    return _iou_ltrb(a @ to_ltrb, b @ to_ltrb)


def _jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise character Jaccard of [start, end) spans."""
    overlap = np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0])
    overlap = np.clip(overlap, 0, None)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - overlap
    return np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)


def _assign(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one rows-to-columns matching maximising the total score (Hungarian)."""
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:  # greedy fallback: best remaining pair first
        rows, cols, score = [], [], score.astype(float).copy()
        while score.size and (score > 0).any():
            r, c = np.unravel_index(np.argmax(score), score.shape)
            rows.append(r)
            cols.append(c)
            score[r, :], score[:, c] = 0.0, 0.0
        return np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)
    return linear_sum_assignment(score, maximize=True)


def _cluster(
    workers: np.ndarray,
    shapes: np.ndarray,
    similarity: Callable[[np.ndarray, np.ndarray], np.ndarray],
    threshold: float,
) -> list[np.ndarray]:
    """Group shapes (rows) so that no cluster holds two shapes of one worker.

    Workers are taken in turn; each one's shapes are matched one-to-one to the existing
    clusters (Hungarian assignment on the similarity with each cluster's mean shape, pairs
    below ``threshold`` scored 0); matched pairs at or above ``threshold`` join, the other
    shapes open new clusters.
    """
    members: list[list[int]] = []
    means = np.empty((0, shapes.shape[1]))
    for w in np.unique(workers):
        rows = np.flatnonzero(workers == w)
        joined = np.zeros(len(rows), dtype=bool)
        if members:
            sim = similarity(shapes[rows], means)
            for r, c in zip(*_assign(np.where(sim >= threshold, sim, 0.0))):
                if sim[r, c] >= threshold:
                    members[c].append(rows[r])
                    joined[r] = True
        members.extend([row] for row in rows[~joined])
        means = np.array([shapes[m].mean(0) for m in members])
    return [np.array(m) for m in members]


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


def _flatten(
    frame: pd.DataFrame, parse: Callable[[Any], tuple[Any, list[float]]], width: int
) -> tuple:
    """Item codes, worker codes, labels and shapes of every drawn box/span, plus item stats."""
    item, items = _codes(frame["item"], "item")
    worker, _ = _codes(frame["worker"], "worker")
    rows, labels, shapes = [], [], []
    for row, value in enumerate(frame["answer"].tolist()):
        if isinstance(value, str | bytes | Mapping) or not isinstance(
            value, list | tuple | np.ndarray
        ):
            raise ValidationError(_ANSWER, value, "a list of dicts (possibly empty)")
        for entry in value:
            label, shape = parse(entry)
            rows.append(row)
            labels.append(label)
            shapes.append(shape)
    rows = np.array(rows, dtype=np.intp)
    n_answers = np.bincount(item, minlength=len(items))
    n_workers = _distinct_workers(item, worker, len(items))
    shapes = np.array(shapes, dtype=float).reshape(-1, width)
    return items, item[rows], worker[rows], labels, shapes, n_answers, n_workers


def _parse_box(entry: Any) -> tuple[Any, list[float]]:
    expected = "a dict with label, left, top, width and height (width, height >= 0)"
    if not isinstance(entry, Mapping) or "label" not in entry:
        raise ValidationError(_ANSWER, entry, expected)
    values = [entry.get(key) for key in _BOX_KEYS]
    if not all(_number(v) for v in values) or values[2] < 0 or values[3] < 0:
        raise ValidationError(_ANSWER, entry, expected)
    left, top, width, height = (float(v) for v in values)
    return entry["label"], [left, top, left + width, top + height]


def _parse_span(entry: Any) -> tuple[Any, list[float]]:
    expected = "a dict with integer start < end (start >= 0) and a label"
    if not isinstance(entry, Mapping) or "label" not in entry:
        raise ValidationError(_ANSWER, entry, expected)
    start, end = entry.get("start"), entry.get("end")
    ints = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (start, end))
    if not ints or not 0 <= start < end:
        raise ValidationError(_ANSWER, entry, expected)
    return entry["label"], [float(start), float(end)]


def _groups(item: np.ndarray, labels: list[Any]) -> dict[tuple[int, Any], np.ndarray]:
    """Row positions of each (item code, label) pair, in first-seen order."""
    groups: dict[tuple[int, Any], list[int]] = {}
    for pos, (code, label) in enumerate(zip(item.tolist(), labels)):
        try:
            groups.setdefault((code, label), []).append(pos)
        except TypeError:
            raise ValidationError(_ANSWER, label, "hashable labels") from None
    return {key: np.array(value, dtype=np.intp) for key, value in groups.items()}


def _output(
    items: pd.Index, column: str, values: list[list[dict]], n_answers: np.ndarray
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            column: pd.Series(values, index=items, dtype=object),
            "n_answers": pd.Series(n_answers.astype(np.int64), index=items),
        },
        index=items,
    )


def consolidate_boxes(
    answers: pd.DataFrame, *, iou_threshold: float = 0.5, min_support: float = 0.5
) -> pd.DataFrame:
    """Consolidate bounding boxes: match boxes across workers by IoU, then average them.

    Per item and label, workers are taken in turn and their boxes matched one-to-one to
    the clusters so far (Hungarian assignment against each cluster's mean box; a match
    needs IoU >= ``iou_threshold``); unmatched boxes start new clusters, so one worker
    gives at most one box per cluster. A cluster is kept when the share of the item's
    workers in it is >= ``min_support``. The box is the mean of members' left, top, right
    and bottom; its confidence is support share x mean IoU of members with it (0.0 for
    single-answer items).

    Returns a DataFrame indexed by ``item``: ``boxes`` (dicts with label, left, top,
    width, height, confidence, sorted by top then left) and ``n_answers``.

    Example
    -------
    >>> df = pd.DataFrame({"item": [1, 1], "worker": ["a", "b"], "answer": [
    ...     [{"label": "car", "left": 0, "top": 0, "width": 10, "height": 10}],
    ...     [{"label": "car", "left": 2, "top": 0, "width": 10, "height": 10}]]})
    >>> consolidate_boxes(df).loc[1, "boxes"][0]["left"]
    1.0
    """
    frame = _check_answers(answers)
    iou_threshold = _check_fraction(iou_threshold, "iou_threshold", allow_zero=False)
    min_support = _check_fraction(min_support, "min_support")
    items, item, worker, labels, shapes, n_answers, n_workers = _flatten(frame, _parse_box, 4)
    out: list[list[dict]] = [[] for _ in range(len(items))]
    for (code, label), pos in _groups(item, labels).items():
        for members in _cluster(worker[pos], shapes[pos], _iou_ltrb, iou_threshold):
            support = len(members) / n_workers[code]
            if support < min_support - 1e-12:
                continue
            box = shapes[pos[members]].mean(0)
            iou = float(_iou_ltrb(shapes[pos[members]], box[None, :]).mean())
            confidence = 0.0 if n_answers[code] == 1 else support * iou
            out[code].append(
                {
                    "label": label,
                    "left": float(box[0]),
                    "top": float(box[1]),
                    "width": float(box[2] - box[0]),
                    "height": float(box[3] - box[1]),
                    "confidence": float(confidence),
                }
            )
    out = [sorted(boxes, key=lambda b: (b["top"], b["left"])) for boxes in out]
    return _output(items, "boxes", out, n_answers)


def _mode(values: np.ndarray, rng: np.random.Generator) -> int:
    """Most common value; ties go to the value nearest the median, then to chance."""
    uniques, counts = np.unique(values, return_counts=True)
    tied = uniques[counts == counts.max()]
    if len(tied) > 1:
        distance = np.abs(tied - np.median(values))
        tied = tied[distance == distance.min()]
    return int(tied[0] if len(tied) == 1 else rng.choice(tied))


def consolidate_spans(
    answers: pd.DataFrame,
    *,
    jaccard_threshold: float = 0.5,
    min_support: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """Consolidate named-entity spans: cluster by character Jaccard, vote on boundaries.

    Per item and label, spans are clustered like boxes (one span per worker per cluster,
    Jaccard with the cluster's mean span >= ``jaccard_threshold``); clusters whose worker
    share is >= ``min_support`` are kept. Start and end are each the mode of the members'
    (ties: nearest the median, then random with ``seed``); confidence is the support share
    (0.0 for single-answer items).

    Returns a DataFrame indexed by ``item``: ``spans`` (dicts with start, end, label,
    confidence, sorted by start) and ``n_answers``.

    Example
    -------
    >>> df = pd.DataFrame({"item": [1, 1, 1], "worker": ["a", "b", "c"], "answer": [
    ...     [{"start": 0, "end": 5, "label": "PER"}], [{"start": 0, "end": 5, "label": "PER"}],
    ...     [{"start": 0, "end": 6, "label": "PER"}]]})
    >>> consolidate_spans(df).loc[1, "spans"][0]["end"]
    5
    """
    frame = _check_answers(answers)
    jaccard_threshold = _check_fraction(jaccard_threshold, "jaccard_threshold", allow_zero=False)
    min_support = _check_fraction(min_support, "min_support")
    rng = np.random.default_rng(seed)
    items, item, worker, labels, shapes, n_answers, n_workers = _flatten(frame, _parse_span, 2)
    out: list[list[dict]] = [[] for _ in range(len(items))]
    for (code, label), pos in _groups(item, labels).items():
        for members in _cluster(worker[pos], shapes[pos], _jaccard, jaccard_threshold):
            support = len(members) / n_workers[code]
            if support < min_support - 1e-12:
                continue
            spans = shapes[pos[members]].astype(np.int64)
            start = _mode(spans[:, 0], rng)
            end = max(_mode(spans[:, 1], rng), start + 1)
            confidence = 0.0 if n_answers[code] == 1 else support
            out[code].append(
                {"start": start, "end": end, "label": label, "confidence": float(confidence)}
            )
    out = [sorted(spans, key=lambda s: (s["start"], s["end"])) for spans in out]
    return _output(items, "spans", out, n_answers)
