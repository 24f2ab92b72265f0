"""SageMaker's built-in Random Cut Forest (``algorithm="randomcutforest"``), in numpy.

A robust random cut forest (Guha, Mishra, Roy and Schrijvers, ICML 2016). Each tree is
built on a uniform sample of ``num_samples_per_tree`` training rows: while a node holds
more than one distinct point, a cut dimension is drawn with probability proportional to
its range (max - min over the node's points) and a cut value uniformly in that range.
Like SageMaker, the forest draws ``num_trees x num_samples_per_tree`` rows without
replacement and deals them out to the trees (disjoint samples); when the data has fewer
rows, each tree draws its own sample (what reservoir sampling gives, without the stream).

The anomaly score of a point in one tree is its **collusive displacement** (CoDisp) if it
were inserted: insertion walks down from the root and at each node draws a random cut on
the node's bounding box extended by the point; a cut that falls outside the node's own
box separates the point there, as a new leaf beside the whole node. CoDisp is then the
largest ``size(sibling) / size(subtree holding the point)`` over the new leaf's ancestors
(exactly as the ``rrcf`` package computes it). workbench uses the **expectation** of this
random insertion, not one draw: at a node with box ``[lo, hi]`` the point is separated
with probability ``sum(max(lo - x, 0) + max(x - hi, 0)) / sum(max(hi, x) - min(lo, x))``,
else it follows the node's cut, so a tree's score is
``sum_v P(separated at v) * max(size(v), ancestor terms)`` along the point's path. Scores
are therefore deterministic and less noisy than one insertion. The forest's score is the
mean over trees: about 1-5 for ordinary points, up to ``num_samples_per_tree`` for points
far outside the data. (SageMaker's scores are on a similar scale, but its exact formula is
not published; its docs describe the score as inversely related to the insertion depth.)

Trees are flat arrays (cut dimension, cut value, children, subtree sizes, per-node boxes);
building works level by level on all trees at once, and scoring moves every (point, tree)
pair one level down per numpy step: no Python loop per point or per tree. Boxes are float32
(rounded outwards, relative to the data's centre), about ``2 x num_samples_per_tree`` nodes
of ``8 x feature_dim`` bytes per tree; scoring costs ``trees x depth x feature_dim`` per
row (100,000 rows x 100 trees x 8 features: about 18 s on one core).

Channels: ``train`` (unlabelled: CSV with ``label_size=0``, or frames without a target; a
label column present is ignored) and an optional ``test`` channel with 0/1 anomaly labels
first, which yields ``test:f1`` (SageMaker's tuning metric), ``test:precision``,
``test:recall`` (``eval_metrics`` ``precision_recall_fscore``), ``test:accuracy``
(``accuracy``) and, in workbench only, ``test:roc_auc_score``. SageMaker labels a test point
anomalous when its score is more than three standard deviations above the mean score (the
"three-sigma limit heuristic" of its tuning docs): workbench takes that mean and standard
deviation over the test scores, as the docs describe, and also stores the training scores'
mean + 3 std as the model's ``threshold`` for flagging new data.

Deviations from SageMaker: no RecordIO-protobuf input (CSV, Parquet and frames instead); no
sharding over instances; a fixed random seed, so the same data gives the same forest. When
``num_samples_per_tree`` exceeds the training rows, SageMaker trains anyway; workbench
does too, with every tree on all rows, and warns.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.algorithms._artifacts import load_arrays, save_arrays
from workbench.algorithms._base import Algorithm, quality_metric_line, quality_metric_regex
from workbench.algorithms._data import LabeledData, parse_content_type, read_channel
from workbench.algorithms._schema import Hyperparameter, HyperparameterSchema
from workbench.exceptions import ValidationError

if TYPE_CHECKING:
    from workbench.training._environment import TrainingEnvironment

__all__ = ["RandomCutForest", "RandomCutForestModel", "MODEL_FILE", "META_FILE"]

MODEL_FILE = "randomcutforest-model.npz"
META_FILE = "randomcutforest-model.json"
MODEL_FORMAT = "workbench-randomcutforest"
MODEL_FORMAT_VERSION = 1

EVAL_METRICS = ("accuracy", "precision_recall_fscore")
_SEED = 0
_SIGMAS = 3.0
_MAX_THRESHOLD_ROWS = 100_000  # training rows scored for the threshold statistics
_CELLS_PER_STEP = 1 << 18  # (point, tree) pairs x features moved down per numpy step
_NEGLIGIBLE = 1e-9  # stop following a path once the chance of still being on it is this small
_Q_FLOOR = 1e-5  # separation chances below this are float32 rounding of a point inside a box
_TINY = np.float32(1e-30)
_LOG = "[randomcutforest]"
_NODE_ARRAYS = ("cut_dim", "cut_value", "left", "right", "size", "lower", "upper")

SCHEMA = HyperparameterSchema(
    (
        Hyperparameter(
            "feature_dim", "int", None, "Number of features in the data.",
            required=True, low=1, high=10_000, tunable=False,
        ),
        Hyperparameter(
            "eval_metrics", "list", list(EVAL_METRICS),
            "Metrics of the labelled test channel: accuracy, precision_recall_fscore.",
            choices=EVAL_METRICS, tunable=False,
        ),
        Hyperparameter(
            "num_samples_per_tree", "int", 256,
            "Training rows sampled for each tree (about 1 / the expected anomaly rate).",
            low=1, high=2048,
        ),
        Hyperparameter(
            "num_trees", "int", 100, "Number of trees; more trees give less noisy scores.",
            low=50, high=1000,
        ),
    )
)  # fmt: skip


class RandomCutForest(Algorithm):
    """SageMaker's Random Cut Forest anomaly detector (``algorithm="randomcutforest"``).

    Example
    -------
    >>> import workbench as wb
    >>> est = wb.Estimator(algorithm="randomcutforest",
    ...                    hyperparameters={"feature_dim": 5, "num_trees": 100})
    >>> job = est.fit({"train": readings_df})                      # doctest: +SKIP
    >>> job.model().predict(new_readings_df)["score"]              # doctest: +SKIP
    """

    name = "randomcutforest"
    title = "Random Cut Forest"
    description = (
        "Unsupervised anomaly detection: a forest of random cut trees scores how much a "
        "point would displace the trees' structure (SageMaker's Random Cut Forest)."
    )
    hyperparameters = SCHEMA
    channels = ("train", "test")
    required_channels = ("train",)
    preload = ("numpy", "pandas")
    supervised = False

    def problem_type(self, hps: dict[str, Any]) -> str:
        return "anomaly_detection"

    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        wanted = hps.get("eval_metrics") or list(EVAL_METRICS)
        names = []
        if "precision_recall_fscore" in wanted:
            names += ["f1", "precision", "recall"]
        if "accuracy" in wanted:
            names.append("accuracy")
        names.append("roc_auc_score")
        return [{"Name": f"test:{m}", "Regex": quality_metric_regex("test", m)} for m in names]

    def check_labels(self, y: np.ndarray, hps: dict[str, Any], channel: str) -> None:
        if channel == "test":
            _check_anomaly_labels(y)

    def check_data(self, hps: dict[str, Any], channels: list[Any]) -> None:
        """Feature count against ``feature_dim``, test labels, and enough training rows."""
        for chan in channels:
            width = _prepared_width(chan)
            if width is not None and width != hps["feature_dim"]:
                raise _feature_dim_error(hps["feature_dim"], width, chan.name)
            if chan.matrix is not None:
                features = chan.matrix[:, 1:] if chan.target else chan.matrix
                _check_finite(features, chan.name)
            if chan.name == "test":
                _check_prepared_test(chan)
            elif chan.name == "train" and (chan.n_rows or np.inf) < hps["num_samples_per_tree"]:
                # SageMaker trains anyway, and so does workbench: each tree gets all the rows.
                message = _cap_message(hps["num_samples_per_tree"], chan.n_rows)
                warnings.warn(message, UserWarning, stacklevel=2)

    def train(self, env: TrainingEnvironment, hps: dict[str, Any]) -> None:
        started = time.perf_counter()
        data = self._read(env, hps)
        train = data["train"]
        n_rows, n_features = train.X.shape
        samples = hps["num_samples_per_tree"]
        if samples > n_rows:
            print(f"{_LOG} warning: {_cap_message(samples, n_rows)}", flush=True)
            samples = n_rows
        rng = np.random.default_rng(_SEED)
        forest = _Forest.build(_sample_trees(train.X, hps["num_trees"], samples, rng), rng)
        print(
            f"{_LOG} built {hps['num_trees']} trees of {samples} sampled rows "
            f"({n_rows} rows x {n_features} features) in {time.perf_counter() - started:.2f}s",
            flush=True,
        )
        mean, std = _score_statistics(forest, train.X, rng)
        print(
            f"{_LOG} training scores: mean={mean:.4g}, std={std:.4g}, "
            f"threshold (mean + 3 std)={mean + _SIGMAS * std:.4g}",
            flush=True,
        )
        meta = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "algorithm": self.name,
            "problem_type": "anomaly_detection",
            "feature_dim": n_features,
            "feature_names": train.feature_names,
            "num_trees": hps["num_trees"],
            "num_samples_per_tree": samples,
            "score": "expected collusive displacement (CoDisp), mean over trees",
            "train_score_mean": mean,
            "train_score_std": std,
            "threshold": mean + _SIGMAS * std,
            "hyperparameters": dict(hps),
        }
        model = RandomCutForestModel(forest, meta)
        if "test" in data:
            test = data["test"]
            for metric, value in _test_metrics(model.score(test.X), test.y, hps).items():
                print(quality_metric_line("test", metric, value), flush=True)
        model.save(env.model_dir)
        print(f"{_LOG} done in {time.perf_counter() - started:.2f}s", flush=True)

    def load(self, model_dir: Path) -> RandomCutForestModel:
        return RandomCutForestModel.load(Path(model_dir))

    def _read(self, env: TrainingEnvironment, hps: dict[str, Any]) -> dict[str, LabeledData]:
        data = {}
        for channel in self.channels:
            if channel not in env.input_data_config:
                continue
            d = read_channel(
                env.channel_dir(channel),
                env.content_type(channel),
                channel=channel,
                require_label=channel == "test",
            )
            if d.X.shape[1] != hps["feature_dim"]:
                raise _feature_dim_error(hps["feature_dim"], d.X.shape[1], channel)
            _check_finite(d.X, channel)
            if channel == "test":
                _check_anomaly_labels(d.y)
            data[channel] = d
        return data


class RandomCutForestModel:
    """A trained random cut forest; answers with SageMaker's ``{"scores": [{"score": ...}]}``."""

    response_envelope = "scores"
    problem_type = "anomaly_detection"

    def __init__(self, forest: _Forest, meta: dict[str, Any]) -> None:
        self.forest = forest
        self.meta = meta
        self.feature_names: list[str] | None = meta.get("feature_names")
        self.feature_dim = int(meta["feature_dim"])
        #: Training scores' mean + 3 standard deviations: scores above it are anomalous.
        self.threshold = float(meta["threshold"])

    @classmethod
    def load(cls, model_dir: Path) -> RandomCutForestModel:
        arrays, meta = load_arrays(model_dir, MODEL_FILE, META_FILE, MODEL_FORMAT)
        forest = _Forest(**arrays)
        return cls(forest, meta)

    def save(self, model_dir: Path) -> None:
        """Write ``randomcutforest-model.npz`` (the trees) and ``randomcutforest-model.json``."""
        save_arrays(model_dir, MODEL_FILE, META_FILE, self.forest.arrays(), self.meta)

    def score(self, X: Any) -> np.ndarray:
        """Anomaly scores ``(n,)``: mean expected CoDisp over the trees (higher = stranger)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != self.feature_dim:
            raise ValidationError(
                "X", f"shape {X.shape}", f"{self.feature_dim} feature columns (feature_dim)"
            )
        _check_finite(X, None)
        return self.forest.score(X)

    def response_columns(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """SageMaker RCF's endpoint answer as columns: ``score``."""
        return {"score": self.score(X)}

    def predict_frame(self, X: Any) -> Any:
        """The scores as a DataFrame with one ``score`` column."""
        import pandas as pd

        return pd.DataFrame({"score": self.score(X)})


# --- the forest ----------------------------------------------------------------------------


@dataclass
class _Forest:
    """All trees in flat node arrays; ``roots[t]`` is tree t's root, leaves have ``cut_dim -1``.

    ``size`` counts the sampled points under a node (duplicates included); ``lower`` and
    ``upper`` are the node's bounding box, stored as float32 relative to ``shift`` (the
    centre of the data, so large offsets such as timestamps keep their precision) and
    rounded outwards so that every point stays inside its boxes.
    """

    roots: np.ndarray
    cut_dim: np.ndarray
    cut_value: np.ndarray
    left: np.ndarray
    right: np.ndarray
    size: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    shift: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @property
    def n_trees(self) -> int:
        return int(self.roots.size)

    @classmethod
    def build(cls, samples: np.ndarray, rng: np.random.Generator) -> _Forest:
        """Random cut trees on ``samples`` (trees, rows, features), all trees level by level.

        Each tree's points are a contiguous segment of ``order``; splitting a node
        partitions its segment in place, so every level is a few whole-array operations.
        """
        n_trees, m, d = samples.shape
        points = samples.reshape(n_trees * m, d)
        capacity = n_trees * (2 * m - 1)
        f = cls(
            roots=np.arange(n_trees, dtype=np.int32),
            cut_dim=np.full(capacity, -1, dtype=np.int32),
            cut_value=np.zeros(capacity),
            left=np.full(capacity, -1, dtype=np.int32),
            right=np.full(capacity, -1, dtype=np.int32),
            size=np.zeros(capacity, dtype=np.int32),
            lower=np.empty((capacity, d), dtype=np.float32),
            upper=np.empty((capacity, d), dtype=np.float32),
            shift=(points.min(axis=0) + points.max(axis=0)) / 2.0,
        )
        order = np.arange(n_trees * m)
        starts, lengths = np.arange(n_trees) * m, np.full(n_trees, m)
        ids, next_id = f.roots.astype(np.int64), n_trees
        while ids.size:
            starts, lengths, ids, next_id = f._split_level(
                points, order, starts, lengths, ids, next_id, rng
            )
        return f._trimmed(next_id)

    def _split_level(
        self, points: np.ndarray, order: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
        ids: np.ndarray, next_id: int, rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:  # fmt: skip
        """Box and size every node of one level; cut those with two or more distinct points."""
        offsets = np.cumsum(lengths) - lengths
        seg = np.repeat(np.arange(ids.size), lengths)
        pos = starts[seg] + np.arange(seg.size) - offsets[seg]
        pts = points[order[pos]]
        lo = np.minimum.reduceat(pts, offsets, axis=0)
        hi = np.maximum.reduceat(pts, offsets, axis=0)
        self.lower[ids] = _float32(lo - self.shift, np.float32(-np.inf))
        self.upper[ids] = _float32(hi - self.shift, np.float32(np.inf))
        self.size[ids] = lengths
        extent = hi - lo
        cum = np.cumsum(extent, axis=1)
        split = np.flatnonzero((lengths > 1) & (cum[:, -1] > 0))
        if split.size == 0:
            return starts[:0], lengths[:0], ids[:0], next_id
        dim, cut = _random_cuts(lo[split], hi[split], extent[split], cum[split], rng)
        # Stable partition of each split segment: left (x <= cut) first, then right.
        local = np.full(ids.size, -1)
        local[split] = np.arange(split.size)
        member = local[seg] >= 0
        k, p = local[seg[member]], pos[member]
        is_left = pts[member, dim[k]] <= cut[k]
        n_left = np.bincount(k, weights=is_left, minlength=split.size).astype(np.int64)
        lefts_before = np.cumsum(is_left) - is_left
        first = np.searchsorted(k, np.arange(split.size))
        left_rank = lefts_before - lefts_before[first][k]
        rank = p - starts[split][k]
        dest = np.where(is_left, left_rank, n_left[k] + rank - left_rank)
        order[starts[split][k] + dest] = order[p].copy()
        parents = ids[split]
        children = next_id + np.arange(2 * split.size)
        self.cut_dim[parents], self.cut_value[parents] = dim, cut
        self.left[parents], self.right[parents] = children[0::2], children[1::2]
        new_starts = np.empty(2 * split.size, dtype=np.int64)
        new_lengths = np.empty(2 * split.size, dtype=np.int64)
        new_starts[0::2], new_lengths[0::2] = starts[split], n_left
        new_starts[1::2], new_lengths[1::2] = starts[split] + n_left, lengths[split] - n_left
        return new_starts, new_lengths, children, next_id + 2 * split.size

    def _trimmed(self, n_nodes: int) -> _Forest:
        """The same forest with arrays cut to the nodes in use."""
        kept = {name: getattr(self, name)[:n_nodes].copy() for name in _NODE_ARRAYS}
        return _Forest(roots=self.roots, shift=self.shift, **kept)

    def score(self, X: np.ndarray) -> np.ndarray:
        """Mean expected CoDisp over the trees for every row of ``X`` (float64, 2-D)."""
        n, d = X.shape
        out = np.zeros(n)
        rows = max(1, _CELLS_PER_STEP // max(d, 8) // self.n_trees)
        for start in range(0, n, rows):
            block = np.ascontiguousarray(X[start : start + rows], dtype=np.float64)
            out[start : start + block.shape[0]] = self._block_codisp(block)
        return out / self.n_trees

    def _block_codisp(self, X: np.ndarray) -> np.ndarray:
        """Sum over trees of the expected CoDisp of each row, following all paths at once.

        Every (row, tree) pair moves one node down per step. ``reach`` is the chance that
        the insertion has not separated the row yet; ``ancestors`` the largest
        ``size(sibling) / (size(child) + 1)`` on the path so far (the CoDisp terms of the
        nodes above a new leaf, whose subtree sizes grow by one).
        """
        n, d = X.shape
        t = self._tables()
        centred = (X - self.shift).astype(np.float32)
        signed = np.concatenate([centred, -centred], axis=1)  # max(-lower, -x) = -min(lower, x)
        ones = np.ones(2 * d, dtype=np.float32)
        pair = np.arange(n * self.n_trees)
        point = pair // self.n_trees
        node = np.tile(self.roots.astype(np.intp), n)
        reach = np.ones(pair.size, dtype=np.float32)  # float32 state: 20% faster, 1e-7 off
        ancestors = np.zeros(pair.size, dtype=np.float32)
        score = np.zeros(pair.size, dtype=np.float32)
        done = np.zeros(pair.size)
        flat = X.ravel()
        box = np.empty((pair.size, 2 * d), dtype=np.float32)
        mine = np.empty_like(box)
        while pair.size:
            # span: the node's box extended by x, summed over dims; outside = span - extent.
            b, x = box[: pair.size], mine[: pair.size]
            np.take(t.boxes, node, axis=0, out=b)
            np.take(signed, point, axis=0, out=x)
            span = np.maximum(b, x, out=b) @ ones
            q = (span - t.extent[node]) / np.maximum(span, _TINY)  # a leaf's own point: 0 / 0
            q *= q > _Q_FLOOR  # float32 rounding of a point inside the box, not a cut
            score += reach * q * np.maximum(t.size[node], ancestors)
            reach *= 1 - q
            dim = self.cut_dim[node]
            leaf = dim < 0
            # At a leaf the remaining chance is a duplicate of the leaf's point: no new leaf,
            # and the duplicate's own path terms are its CoDisp.
            score += (reach * ancestors) * leaf
            keep = ~leaf & (reach > _NEGLIGIBLE)
            if not keep.all():
                done[pair[~keep]] = score[~keep]
                pair, point, node, reach, ancestors, score, dim = (
                    a[keep] for a in (pair, point, node, reach, ancestors, score, dim)
                )
            go = 2 * node + (flat[point * d + dim] > self.cut_value[node])
            np.maximum(ancestors, t.terms[go], out=ancestors)
            node = t.children[go]
        return done.reshape(n, self.n_trees).sum(axis=1)

    def _tables(self) -> _ScoringTables:
        if getattr(self, "_tables_cache", None) is None:
            self._tables_cache = _ScoringTables.of(self)
        return self._tables_cache


@dataclass
class _ScoringTables:
    """Per-node lookups of the scoring loop, each fetched with one gather per step.

    ``boxes`` rows are ``[upper, -lower]`` and ``extent`` their sums (the box's side
    lengths); ``children[2v + s]`` and ``terms[2v + s]`` are node v's child on side s
    (0 left, 1 right) and that child's CoDisp term ``size(sibling) / (size(child) + 1)``.
    """

    boxes: np.ndarray
    extent: np.ndarray
    size: np.ndarray
    children: np.ndarray
    terms: np.ndarray

    @classmethod
    def of(cls, forest: _Forest) -> _ScoringTables:
        boxes = np.concatenate([forest.upper, -forest.lower], axis=1)
        size = forest.size.astype(np.float32)
        children = np.stack([forest.left, forest.right], axis=1).astype(np.intp)
        internal = children[:, 0] >= 0
        terms = np.zeros((size.size, 2), dtype=np.float32)
        left, right = size[children[internal, 0]], size[children[internal, 1]]
        terms[internal, 0], terms[internal, 1] = right / (left + 1), left / (right + 1)
        return cls(
            boxes=boxes,
            extent=boxes @ np.ones(boxes.shape[1], dtype=np.float32),
            size=size,
            children=children.ravel(),
            terms=terms.ravel(),
        )


def _float32(values: np.ndarray, outward: np.float32) -> np.ndarray:
    """``values`` as float32, moved one step towards ``outward`` where rounding went inwards."""
    out = values.astype(np.float32)
    inward = (out > values) if outward < 0 else (out < values)
    out[inward] = np.nextafter(out[inward], outward)
    return out


def _random_cuts(
    lo: np.ndarray, hi: np.ndarray, extent: np.ndarray, cum: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One cut per box: dimension with probability extent / total, value uniform in it."""
    r = rng.random(lo.shape[0]) * cum[:, -1]
    dim = np.minimum((cum <= r[:, None]).sum(axis=1), lo.shape[1] - 1)
    rows = np.arange(lo.shape[0])
    flat = extent[rows, dim] <= 0  # r landed on the very top (rounding): take the widest
    dim[flat] = np.argmax(extent[flat], axis=1)
    low, high = lo[rows, dim], hi[rows, dim]
    cut = low + np.clip(r - (cum[rows, dim] - extent[rows, dim]), 0.0, None)
    # x <= cut goes left: keep the cut below the top so both sides get points.
    return dim.astype(np.int32), np.minimum(cut, np.nextafter(high, -np.inf))


def _score_statistics(
    forest: _Forest, X: np.ndarray, rng: np.random.Generator
) -> tuple[float, float]:
    """Mean and standard deviation of the training scores (on a sample of large data)."""
    if X.shape[0] > _MAX_THRESHOLD_ROWS:
        X = X[np.sort(rng.choice(X.shape[0], _MAX_THRESHOLD_ROWS, replace=False))]
    scores = forest.score(X)
    return float(scores.mean()), float(scores.std())


def _sample_trees(X: np.ndarray, n_trees: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_trees, m, d)`` rows: disjoint samples when the data allows, else one per tree."""
    n = X.shape[0]
    if n >= n_trees * m:
        rows = rng.choice(n, size=n_trees * m, replace=False).reshape(n_trees, m)
    elif m == n:
        rows = np.tile(np.arange(n), (n_trees, 1))
    else:  # one draw per tree, not per row
        rows = np.stack([rng.choice(n, size=m, replace=False) for _ in range(n_trees)])
    return X[rows]


# --- checks and metrics ---------------------------------------------------------------------


def _feature_dim_error(feature_dim: int, width: int, channel: str) -> ValidationError:
    return ValidationError(
        "hyperparameters['feature_dim']",
        feature_dim,
        f"{width}, the number of feature columns of channel {channel!r}",
        hint="A CSV train channel without labels needs content_type 'text/csv;label_size=0'.",
    )


def _cap_message(samples: int, n_rows: int) -> str:
    return (
        f"num_samples_per_tree={samples} is more than the {n_rows} rows of channel 'train'; "
        f"each tree is built on all {n_rows} rows."
    )


def _check_finite(X: np.ndarray, channel: str | None) -> None:
    if not np.all(np.isfinite(X)):
        field = "X" if channel is None else f"channel {channel!r} features"
        raise ValidationError(
            field,
            "missing or infinite values",
            "finite numbers (Random Cut Forest does not impute)",
        )


def _check_anomaly_labels(y: np.ndarray | None) -> None:
    if y is None:
        raise ValidationError(
            "channel 'test'", None, "0/1 anomaly labels in the first column (text/csv;label_size=1)"
        )
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise ValidationError(
            "channel 'test' labels",
            sorted(set(y[bad].tolist()))[:5],
            "0 (normal) or 1 (anomaly)",
        )


def _check_prepared_test(chan: Any) -> None:
    if chan.matrix is not None and not chan.target:
        raise ValidationError(
            "inputs['test'] target",
            None,
            "the name of the 0/1 anomaly label column of the test channel",
            hint="Pass Estimator(target=...) or TrainingInput(test_df, target=...).",
        )
    if chan.labels is not None:
        _check_anomaly_labels(chan.labels)


def _prepared_width(chan: Any) -> int | None:
    """Feature columns of a prepared channel, when known without reading the data."""
    if chan.matrix is not None:
        return int(chan.matrix.shape[1]) - (1 if chan.target else 0)
    base, params = parse_content_type(chan.content_type)
    if base not in ("text/csv", "text/x-csv") or not chan.files:
        return None
    if chan.columns and params.get("header") == "present":
        return len(chan.columns) - (1 if params.get("target") else 0)
    label_size = int(params.get("label_size", "1"))
    with open(chan.files[0], encoding="utf-8", errors="replace") as handle:
        first = handle.readline().strip()
    return len(first.split(",")) - label_size if first else None


def _test_metrics(scores: np.ndarray, y: np.ndarray, hps: dict[str, Any]) -> dict[str, float]:
    """SageMaker's test metrics, with test scores above mean + 3 std labelled anomalous."""
    predicted = scores > scores.mean() + _SIGMAS * scores.std()
    positive = y == 1
    tp = float(np.sum(predicted & positive))
    precision = tp / float(predicted.sum()) if predicted.any() else 0.0
    recall = tp / float(positive.sum()) if positive.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out: dict[str, float] = {}
    if "precision_recall_fscore" in hps["eval_metrics"]:
        out.update(f1=f1, precision=precision, recall=recall)
    if "accuracy" in hps["eval_metrics"]:
        out["accuracy"] = float(np.mean(predicted == positive))
    out["roc_auc_score"] = _roc_auc(positive, scores)
    return out


def _roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve from average ranks (ties count half)."""
    n_pos = float(positive.sum())
    n_neg = float(positive.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
