import numpy as np
import pandas as pd
import pytest

from workbench.exceptions import ValidationError
from workbench.labelling._consolidation import (
    Consolidation,
    box_iou,
    consolidate_boxes,
    consolidate_classification,
    consolidate_multilabel,
    consolidate_spans,
    dawid_skene,
    majority_vote,
)

CLASSES = ["cat", "dog", "bird"]


def _frame(rows):
    return pd.DataFrame(rows, columns=["item", "worker", "answer"])


def _simulate(n_items=600, k=5, seed=0):
    """3 answers per item from 6 workers: w0, w1 answer at random, w2..w5 are 90% right."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    accuracy = np.array([0.0, 0.0, 0.9, 0.9, 0.9, 0.9])
    rows = []
    for i in range(n_items):
        for w in rng.choice(6, size=3, replace=False):
            right = accuracy[w] > 0 and rng.random() < accuracy[w]
            wrong = rng.choice([c for c in range(k) if c != truth[i]])
            answer = truth[i] if right else (rng.integers(0, k) if accuracy[w] == 0 else wrong)
            rows.append((i, f"w{w}", int(answer)))
    return _frame(rows), truth


@pytest.mark.parametrize("method", ["majority_vote", "dawid_skene"])
def test_unanimous_answers(method):
    df = _frame([(i, w, c) for i, c in enumerate(CLASSES) for w in "abc"])
    result = consolidate_classification(df, CLASSES, method=method)
    assert isinstance(result, Consolidation) and result.method == method
    assert result.labels["label"].tolist() == CLASSES
    assert result.labels.index.name == "item" and result.labels["n_answers"].tolist() == [3] * 3
    assert (result.labels["confidence"] > 0.6).all()
    assert result.workers.index.tolist() == ["a", "b", "c"]
    assert (result.workers["n_answers"] == 3).all()


def test_majority_vote_ties_are_seeded_and_shares_are_confidence():
    df = _frame([(i, w, c) for i in range(40) for w, c in [("a", "cat"), ("b", "dog")]])
    first = majority_vote(df, CLASSES, seed=3).labels["label"]
    assert first.equals(majority_vote(df, CLASSES, seed=3).labels["label"])
    assert set(first) == {"cat", "dog"}  # tie-breaks are random, not always the first class
    assert (majority_vote(df, CLASSES).labels["confidence"] == 0.5).all()
    shares = majority_vote(df, CLASSES).posteriors
    assert shares.columns.tolist() == CLASSES and np.allclose(shares.sum(1), 1)


@pytest.mark.parametrize("method", ["majority_vote", "dawid_skene"])
def test_single_answer_has_zero_confidence(method):
    df = _frame([(1, "a", "dog"), (2, "a", "cat"), (2, "b", "cat")])
    labels = consolidate_classification(df, CLASSES, method=method).labels
    assert labels.loc[1, "label"] == "dog" and labels.loc[1, "confidence"] == 0.0
    assert labels.loc[2, "confidence"] > 0.5


def test_dawid_skene_beats_majority_vote_and_spots_spammers():
    df, truth = _simulate()
    classes = list(range(5))
    ds = dawid_skene(df, classes)
    mv = majority_vote(df, classes)
    ds_acc = (ds.labels["label"].to_numpy() == truth).mean()
    mv_acc = (mv.labels["label"].to_numpy() == truth).mean()
    assert ds_acc > mv_acc + 0.03 and ds_acc > 0.9
    accuracy = ds.workers["accuracy"]
    assert accuracy[["w0", "w1"]].max() < 0.4 < 0.8 < accuracy[["w2", "w3", "w4", "w5"]].min()
    assert np.allclose(ds.posteriors.to_numpy().sum(1), 1.0)
    assert ((ds.labels["confidence"] >= 0) & (ds.labels["confidence"] <= 1)).all()


def test_dawid_skene_with_perfect_workers_reproduces_truth():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, 50)
    df = _frame([(i, w, CLASSES[truth[i]]) for i in range(50) for w in ("a", "b", "c")])
    result = dawid_skene(df, CLASSES)
    assert result.labels["label"].tolist() == [CLASSES[t] for t in truth]
    assert (result.workers["accuracy"] > 0.9).all()
    assert (result.labels["confidence"] > 0.99).all()


def test_bad_label_names_the_field():
    df = _frame([(1, "a", "cat"), (1, "b", "fish")])
    with pytest.raises(ValidationError, match=r"answers\['answer'\].*fish"):
        dawid_skene(df, CLASSES)
    with pytest.raises(ValidationError, match="method"):
        consolidate_classification(df, CLASSES, method="vote")


def test_missing_column_is_named():
    with pytest.raises(ValidationError, match="Missing: \\['worker'\\]"):
        majority_vote(pd.DataFrame({"item": [1], "answer": ["cat"]}), CLASSES)


def test_empty_input_gives_empty_frames():
    empty = _frame([])
    for method in ("majority_vote", "dawid_skene"):
        result = consolidate_classification(empty, CLASSES, method=method)
        assert result.labels.empty
        assert result.labels.columns.tolist() == ["label", "confidence", "n_answers"]
        assert result.workers.columns.tolist() == ["accuracy", "n_answers"]
    assert consolidate_multilabel(empty, CLASSES).columns.tolist() == [
        "labels",
        "confidence_map",
        "n_answers",
    ]
    assert consolidate_boxes(empty).columns.tolist() == ["boxes", "n_answers"]
    assert consolidate_spans(empty).columns.tolist() == ["spans", "n_answers"]


@pytest.mark.parametrize("method", ["majority_vote", "dawid_skene"])
def test_multilabel(method):
    df = _frame(
        [
            (1, "a", ["cat", "dog"]),
            (1, "b", ["dog", "cat"]),
            (1, "c", ["cat"]),
            (2, "a", []),
            (2, "b", []),
            (2, "c", ["bird"]),
            (3, "a", ("bird", "cat")),
        ]
    )
    out = consolidate_multilabel(df, CLASSES, method=method)
    assert out.loc[1, "labels"] == ["cat", "dog"]
    assert set(out.loc[1, "confidence_map"]) == {"cat", "dog"}
    assert out.loc[1, "confidence_map"]["cat"] > 0.5
    assert out.loc[2, "labels"] == [] and out.loc[2, "confidence_map"] == {}
    assert out.loc[3, "labels"] == ["cat", "bird"]
    assert out.loc[3, "confidence_map"] == {"cat": 0.0, "bird": 0.0}
    assert out["n_answers"].tolist() == [3, 3, 1]
    with pytest.raises(ValidationError, match="answers"):
        consolidate_multilabel(_frame([(1, "a", ["fish"])]), CLASSES)


def test_box_iou_known_values():
    iou = box_iou(
        np.array([[0, 0, 2, 2]]), np.array([[0, 0, 2, 2], [5, 5, 1, 1], [1, 0, 2, 2], [0, 0, 0, 0]])
    )
    assert iou.shape == (1, 4)
    assert np.allclose(iou, [[1.0, 0.0, 1 / 3, 0.0]])
    assert box_iou(np.zeros((0, 4)), np.array([[0, 0, 1, 1]])).shape == (0, 1)


def _box(left, top, width=10.0, height=10.0, label="car"):
    return {"label": label, "left": left, "top": top, "width": width, "height": height}


def test_jittered_boxes_become_one_confident_box():
    rng = np.random.default_rng(0)
    answers = [[_box(*(np.array([50.0, 20.0]) + rng.normal(0, 0.5, 2)))] for _ in range(3)]
    out = consolidate_boxes(_frame([(7, w, a) for w, a in zip("abc", answers)]))
    (box,) = out.loc[7, "boxes"]
    assert box["label"] == "car"
    assert box["left"] == pytest.approx(np.mean([a[0]["left"] for a in answers]))
    assert box["top"] == pytest.approx(np.mean([a[0]["top"] for a in answers]))
    assert box["width"] == pytest.approx(10.0)
    assert box["confidence"] > 0.85


def test_box_from_one_worker_of_three_is_dropped_and_objects_stay_apart():
    df = _frame(
        [
            (1, "a", [_box(0, 0), _box(100, 100)]),
            (1, "b", [_box(1, 0), _box(101, 100), _box(300, 300)]),
            (1, "c", [_box(0, 1), _box(100, 101, label="bus")]),
            (2, "a", []),
            (2, "b", []),
            (3, "a", [_box(0, 0)]),
        ]
    )
    out = consolidate_boxes(df, min_support=0.5)
    boxes = out.loc[1, "boxes"]
    assert [(b["label"], round(b["left"])) for b in boxes] == [("car", 0), ("car", 100)]
    assert boxes[1]["confidence"] == pytest.approx(2 / 3 * 0.9, abs=0.05)
    assert out.loc[2, "boxes"] == []
    assert out.loc[3, "boxes"][0]["confidence"] == 0.0
    assert out["n_answers"].tolist() == [3, 2, 1]
    with pytest.raises(ValidationError, match="answers"):
        consolidate_boxes(_frame([(1, "a", [{"label": "car", "left": 0}])]))


def _span(start, end, label="PER"):
    return {"start": start, "end": end, "label": label}


def test_spans_cluster_with_mode_boundaries():
    df = _frame(
        [
            (1, "a", [_span(0, 5), _span(10, 20, "ORG")]),
            (1, "b", [_span(0, 5), _span(10, 20, "ORG")]),
            (1, "c", [_span(1, 6), _span(30, 35)]),
            (2, "a", [_span(3, 8)]),
        ]
    )
    out = consolidate_spans(df)
    assert out.loc[1, "spans"] == [
        {"start": 0, "end": 5, "label": "PER", "confidence": 1.0},
        {"start": 10, "end": 20, "label": "ORG", "confidence": pytest.approx(2 / 3)},
    ]
    assert out.loc[2, "spans"] == [{"start": 3, "end": 8, "label": "PER", "confidence": 0.0}]
    tie = _frame([(1, "a", [_span(0, 10)]), (1, "b", [_span(2, 10)])])
    starts = {consolidate_spans(tie, seed=s).loc[1, "spans"][0]["start"] for s in range(20)}
    assert starts == {0, 2}  # two-way tie, equally near the median: decided by the seed
    assert consolidate_spans(tie, seed=4).equals(consolidate_spans(tie, seed=4))
    with pytest.raises(ValidationError, match="answers"):
        consolidate_spans(_frame([(1, "a", [_span(5, 5)])]))
