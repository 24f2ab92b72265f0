"""SageMaker's built-in BlazingText: fastText text classification and word2vec, in numpy.

``mode`` picks the task, as in SageMaker:

- ``supervised``: fastText's classifier. A sentence is the average of the embeddings of
  its words (plus the ``</s>`` end-of-line token fastText adds) and of its hashed word
  n-grams (2 to ``word_ngrams`` words, fastText's hash); a linear layer and a softmax
  give the label probabilities. SGD with a linearly decaying learning rate, the
  gradient of the input rows divided by the sentence length (fastText's update), over
  small shuffled mini-batches rather than fastText's lock-free threads.
- ``skipgram``, ``cbow``, ``batch_skipgram``: word2vec with negative sampling
  (``negative_samples`` words drawn from the unigram distribution to the power 0.75),
  subsampling of frequent words (fastText's rule with ``sampling_threshold``), dynamic
  windows of 1 to ``window_size`` words within a line, and optionally fastText's subword
  vectors (character n-grams of ``min_char`` to ``max_char`` characters of ``<word>``).
  Training runs over vectorised mini-batches of (input, target, negatives);
  ``batch_skipgram`` shares its negatives between ``batch_size`` consecutive pairs
  (BlazingText's negative sample sharing).

Input (SageMaker's): a ``train`` channel (and for ``supervised`` an optional
``validation`` channel) of ``text/plain`` files, one sentence per line, tokens separated
by spaces; supervised lines carry ``__label__<name>`` tokens. ``application/jsonlines``
reads SageMaker's augmented manifest lines ``{"source": "...", "label": 1}`` (the
attribute names are fixed to ``source`` and ``label``). :func:`write_corpus` writes a
DataFrame's texts (and labels) in that format. A line with several labels trains, like
fastText, on one of them drawn at random each epoch, and counts as correct when the top
prediction is any of them.

Metrics: supervised ``train:loss`` and ``validation:accuracy`` each epoch, then
``train:accuracy`` and ``validation:accuracy`` of the final model (SageMaker tunes on
``validation:accuracy``). Word2vec ``train:loss`` each epoch. SageMaker's word2vec metric
``train:mean_rho`` is the Spearman correlation with the WordSimilarity-353 list, which is
not available offline: workbench does not emit it (``evaluation`` only prints a note), so
tune word2vec on ``train:loss`` or on a downstream task.

Model folder (no pickle): supervised ``model.npz`` (word, n-gram and output matrices) and
``model.json`` (labels, vocabulary, hyperparameters) in place of fastText's ``model.bin``;
word2vec ``vectors.txt`` (word2vec text format, readable by gensim's
``KeyedVectors.load_word2vec_format``), ``vectors.npz`` and ``model.json``.

Inference (SageMaker's): ``application/json`` ``{"instances": ["a sentence", ...],
"configuration": {"k": 2}}`` is answered with a bare list ``[{"prob": [0.8, 0.15],
"label": ["__label__1", "__label__2"]}, ...]``; ``application/jsonlines`` lines
``{"source": "...", "k": 2}``. Word2vec: ``{"instances": ["word1", "word2"]}`` gives
``[{"vector": [...], "word": "word1"}, ...]``; a word out of the vocabulary gets the
average of its subword vectors with ``subwords=true``, else zeros. When every training
line is already in :func:`tokenize`'s form (lower case, punctuation split off, as
:func:`write_corpus` writes), requests are tokenized the same way; otherwise they are
split on whitespace as in SageMaker.

Where workbench deviates: ``buckets`` keeps fastText's hash (``hash % buckets``) but only
the buckets that occur in the training data get a row, so ``buckets=2000000`` does not
allocate 2M x ``vector_dim`` floats; a bucket first seen at inference is a zero vector
(fastText's is an untrained random vector, also mean zero), counted in the average as in
fastText. ``vector_dim`` is capped at 1000 (SageMaker's tuning range is 32-300). Training
is seeded (SageMaker's is not) and single-process. Hyperparameters of the other task
(``window_size`` in supervised mode, ``word_ngrams`` for word2vec, ...) are accepted and
ignored with a note in the log, since SageMaker's tuning ranges mix the word2vec modes.

As with fastText, a corpus of a few thousand lines needs a larger ``learning_rate`` (or
more epochs) than SageMaker's default 0.05: the output layer starts at zero.

Example
-------
>>> import workbench as wb
>>> from workbench.algorithms._blazingtext import write_corpus
>>> df = wb.datasets.load("text", size="small")
>>> write_corpus(df.text[:1600], df.topic[:1600], "train.txt")       # doctest: +SKIP
>>> write_corpus(df.text[1600:], df.topic[1600:], "validation.txt")  # doctest: +SKIP
>>> est = wb.Estimator(algorithm="blazingtext",
...                    hyperparameters={"mode": "supervised", "epochs": 10, "learning_rate": 0.5})
>>> job = est.fit({
...     "train": wb.TrainingInput("train.txt", content_type="text/plain"),
...     "validation": wb.TrainingInput("validation.txt", content_type="text/plain"),
... })                                                                 # doctest: +SKIP
>>> job.model().predict(["The striker scored a late goal."])          # doctest: +SKIP
  predicted_label  probability
0          sports     0.98...
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.algorithms._base import Algorithm, quality_metric_line, quality_metric_regex
from workbench.algorithms._data import FRAME_SCHEMA, channel_files, parse_content_type
from workbench.algorithms._schema import Hyperparameter, HyperparameterSchema
from workbench.exceptions import ValidationError

if TYPE_CHECKING:
    from workbench.training._environment import TrainingEnvironment

__all__ = [
    "BlazingText",
    "TextClassifierModel",
    "WordVectorsModel",
    "TextRequest",
    "tokenize",
    "write_corpus",
]

MODES = ("supervised", "skipgram", "cbow", "batch_skipgram")
TEXT = "text/plain"
JSONLINES = "application/jsonlines"
_JSON = "application/json"
_JSONLINES_ALIASES = (JSONLINES, "application/json-lines", "application/x-jsonlines")
LABEL_PREFIX = "__label__"
EOS = "</s>"
MODEL_FORMAT = "workbench-blazingtext"
META_FILE = "model.json"
CLASSIFIER_FILE = "model.npz"
VECTORS_FILE = "vectors.npz"
VECTORS_TEXT = "vectors.txt"

_SEED = 0
_LOG = "[blazingtext]"
_MAX_DIM = 1000
_SUPERVISED_BATCH = 32  # sentences per SGD step; fastText updates after every sentence
_WORD2VEC_BATCH = 1024  # (input, target) pairs per SGD step
_EVAL_ROWS = 4096  # sentences scored at once when predicting
_CHECK_BYTES = 64 * 2**20  # check_data reads at most this much of a channel in the kernel
_NEGATIVE_POWER = 0.75
_NGRAM_MULTIPLIER = np.uint64(116049371)  # fastText's word n-gram hash
_TOKEN = re.compile(r"\w+|[^\w\s]")
_INT_LABEL = re.compile(r"-?\d+")

_SUPERVISED_ONLY = ("word_ngrams", "early_stopping", "patience", "min_epochs")
_WORD2VEC_ONLY = (
    "window_size", "negative_samples", "sampling_threshold", "subwords", "min_char",
    "max_char", "batch_size", "evaluation",
)  # fmt: skip


def _h(name: str, kind: str, default: Any, doc: str, **options: Any) -> Hyperparameter:
    """A hyperparameter; only those SageMaker lets automatic model tuning change are tunable."""
    options.setdefault("tunable", False)
    return Hyperparameter(name, kind, default, doc, **options)


# fmt: off
SCHEMA = HyperparameterSchema((
    _h("mode", "str", None, "supervised (text classification) or a word2vec architecture: "
       "skipgram, cbow, batch_skipgram.", required=True, choices=MODES, tunable=True),
    _h("epochs", "int", 5, "Passes over the training data (the maximum with early_stopping).",
       low=1, tunable=True),
    _h("learning_rate", "float", 0.05, "Initial SGD step size; it decays linearly to 0.",
       low=0, low_open=True, tunable=True),
    _h("vector_dim", "int", 100, "Dimension of the word vectors / embedding layer.",
       low=1, high=_MAX_DIM, tunable=True),
    _h("min_count", "int", 5, "Words that appear fewer times are discarded.", low=0,
       tunable=True),
    _h("buckets", "int", 2_000_000, "Hash buckets for word n-grams (supervised) or subwords.",
       low=1, tunable=True),
    _h("word_ngrams", "int", 2, "Supervised: longest word n-gram used as a feature.", low=1,
       tunable=True),
    _h("early_stopping", "bool", False, "Supervised: stop when validation accuracy has not "
       "improved for `patience` epochs."),
    _h("patience", "int", 4, "Supervised: epochs without progress before early stopping.",
       low=1),
    _h("min_epochs", "int", 5, "Supervised: epochs trained before early stopping may stop.",
       low=1),
    _h("window_size", "int", 5, "Word2vec: words on each side of the target in the context.",
       low=1, tunable=True),
    _h("negative_samples", "int", 5, "Word2vec: negative samples per positive pair.", low=1,
       tunable=True),
    _h("sampling_threshold", "float", 0.0001, "Word2vec: words more frequent than this are "
       "randomly down-sampled (recommended range (0, 1e-3]).", low=0, high=1, low_open=True,
       tunable=True),
    _h("subwords", "bool", False, "Word2vec: learn character n-gram (subword) vectors too."),
    _h("min_char", "int", 3, "Word2vec: shortest subword, in characters.", low=1),
    _h("max_char", "int", 6, "Word2vec: longest subword, in characters.", low=1),
    _h("batch_size", "int", 11, "batch_skipgram: pairs that share their negative samples.",
       low=1, tunable=True),
    _h("evaluation", "bool", True, "Word2vec: evaluate on WordSimilarity-353 (not available "
       "offline in workbench; a note is printed)."),
))
# fmt: on


# --- corpus files ------------------------------------------------------------------------


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words and punctuation marks.

    The preprocessing of SageMaker's BlazingText examples (``nltk.word_tokenize`` and
    ``lower()``), without nltk's contraction rules.

    Example
    -------
    >>> tokenize("The team won, 3-1!")
    ['the', 'team', 'won', ',', '3', '-', '1', '!']
    """
    return _TOKEN.findall(str(text).lower())


def write_corpus(
    texts: Iterable[Any], labels: Iterable[Any] | None = None, path: str | os.PathLike | None = None
) -> Path:
    """Write texts (and labels) as a BlazingText corpus: one tokenized sentence per line.

    With ``labels`` each line starts with ``__label__<label>`` (whitespace in a label
    becomes ``_``), SageMaker's supervised format; without, lines are plain sentences for
    word2vec (empty ones are left out). Returns the path, ready for
    ``TrainingInput(path, content_type="text/plain")``.

    Example
    -------
    >>> path = write_corpus(["Great match!", "Stocks fell."], ["sports", "finance"],
    ...                     "corpus.txt")                               # doctest: +SKIP
    >>> path.read_text()                                                # doctest: +SKIP
    '__label__sports great match !\\n__label__finance stocks fell .\\n'
    """
    if path is None:
        raise ValidationError("path", None, "the file to write, e.g. 'train.txt'")
    texts = ["" if _missing(t) else str(t) for t in texts]
    lines = [" ".join(tokenize(t)) for t in texts]
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(texts):
            raise ValidationError(
                "labels", f"{len(labels)} labels", f"one label per text ({len(texts)})"
            )
        if any(_missing(label) for label in labels):
            raise ValidationError("labels", "missing values", "a label for every text")
        lines = [
            " ".join(filter(None, (LABEL_PREFIX + _label_name(label), line)))
            for label, line in zip(labels, lines)
        ]
    else:
        lines = [line for line in lines if line]
    if not lines:
        raise ValidationError("texts", "no text", "at least one non-empty text")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _label_name(label: Any) -> str:
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        label = int(label)
    return "_".join(str(label).split())


@dataclass
class _Corpus:
    """The non-blank lines of a channel: their tokens and (supervised) their labels."""

    lines: list[list[str]]
    labels: list[list[str]] | None
    truncated: bool = False


def _content_base(content_type: str | None, channel: str) -> str:
    base, _ = parse_content_type(content_type or TEXT)
    if base in _JSONLINES_ALIASES:
        return JSONLINES
    if base != TEXT:
        raise ValidationError(
            f"channel {channel!r} ContentType",
            content_type,
            f"{TEXT} (one sentence per line) or {JSONLINES} (augmented manifest lines)",
            hint="Write a DataFrame with write_corpus(texts, labels, path) and pass "
            "TrainingInput(path, content_type='text/plain').",
        )
    return base


def _read_corpus(
    files: list[Path],
    content_type: str | None,
    *,
    supervised: bool,
    channel: str,
    max_bytes: int | None = None,
) -> _Corpus:
    """Read a channel's files, raising ValidationError naming the file and line of a bad one."""
    base = _content_base(content_type, channel)
    corpus = _Corpus([], [] if supervised else None)
    budget = max_bytes if max_bytes is not None else math.inf
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as handle:
            for lineno, raw in enumerate(handle, 1):
                budget -= len(raw)
                if budget < 0:
                    corpus.truncated = True
                    return corpus
                where = f"channel {channel!r} file {f.name} line {lineno}"
                if base == JSONLINES:
                    parsed = _manifest_line(raw, supervised, where)
                else:
                    parsed = _text_line(raw, supervised, where)
                if parsed is None:
                    continue
                corpus.lines.append(parsed[0])
                if corpus.labels is not None:
                    corpus.labels.append(parsed[1])
    return corpus


def _text_line(raw: str, supervised: bool, where: str) -> tuple[list[str], list[str]] | None:
    tokens = raw.split()
    if not tokens:
        return None
    if not supervised:
        return tokens, []
    labels = [t for t in tokens if t.startswith(LABEL_PREFIX)]
    if not labels:
        raise ValidationError(
            where,
            raw.strip()[:80],
            f"a line with a {LABEL_PREFIX}<name> token (SageMaker's supervised format)",
            hint="write_corpus(texts, labels, path) writes this format.",
        )
    return [t for t in tokens if not t.startswith(LABEL_PREFIX)], labels


def _manifest_line(raw: str, supervised: bool, where: str) -> tuple[list[str], list[str]] | None:
    if not raw.strip():
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        raise ValidationError(where, raw.strip()[:80], "a JSON object per line") from None
    if not isinstance(record, dict) or not isinstance(record.get("source"), str):
        raise ValidationError(where, raw.strip()[:80], 'a JSON object with a "source" string')
    if not supervised:
        return record["source"].split(), []
    label = record.get("label")
    labels = label if isinstance(label, list) else [label]
    if not labels or any(_missing(x) or isinstance(x, (dict, list, bool)) for x in labels):
        raise ValidationError(
            where, raw.strip()[:80], 'a "label" (a number or string, or a list of them)'
        )
    return record["source"].split(), [LABEL_PREFIX + _label_name(x) for x in labels]


def _is_normalized(lines: list[list[str]], sample: int = 2000) -> bool:
    """Whether the lines are already in :func:`tokenize`'s form (checked on a sample)."""
    step = max(1, len(lines) // sample)
    return all(tokenize(" ".join(toks)) == toks for toks in lines[::step])


# --- hashing ---------------------------------------------------------------------------


def _fnv1a(strings: list[str]) -> np.ndarray:
    """fastText's 32-bit FNV-1a hash of each string's UTF-8 bytes (bytes sign-extended)."""
    if not strings:
        return np.zeros(0, dtype=np.uint32)
    encoded = [s.encode("utf-8") for s in strings]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    width = max(1, int(lengths.max()))
    matrix = np.array(encoded, dtype=f"S{width}").view(np.uint8).reshape(len(encoded), width)
    signed = matrix.astype(np.int8).astype(np.int32).view(np.uint32)
    h = np.full(len(encoded), 2166136261, dtype=np.uint32)
    prime = np.uint32(16777619)
    for j in range(width):
        active = lengths > j
        h[active] = (h[active] ^ signed[active, j]) * prime
    return h


def _buckets(strings: list[str], buckets: int) -> np.ndarray:
    """The hash bucket of each string (fastText's ``hash(s) % bucket``)."""
    return (_fnv1a(strings).astype(np.uint64) % np.uint64(buckets)).astype(np.int64)


def _char_ngrams(word: str, min_char: int, max_char: int) -> list[str]:
    """fastText's character n-grams of ``<word>``."""
    w = "<" + word + ">"
    size = len(w)
    return [
        w[i : i + n]
        for i in range(size)
        for n in range(min_char, max_char + 1)
        if i + n <= size and not (n == 1 and (i == 0 or i + n == size))
    ]


def _word_ngram_buckets(
    hashes: np.ndarray, line_of: np.ndarray, n: int, buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(line, bucket)`` of every word n-gram of 2..n words, as fastText's addWordNgrams."""
    h = hashes.astype(np.int32).astype(np.int64).view(np.uint64)  # fastText keeps int32 hashes
    acc = h
    lines, found = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for k in range(2, n + 1):
        m = len(h) - (k - 1)
        if m <= 0:
            break
        acc = acc[:m] * _NGRAM_MULTIPLIER + h[k - 1 : k - 1 + m]
        same = line_of[:m] == line_of[k - 1 : k - 1 + m]
        lines.append(line_of[:m][same])
        found.append((acc[same] % np.uint64(buckets)).astype(np.int64))
    return np.concatenate(lines), np.concatenate(found)


# --- vocabulary and sparse bags ----------------------------------------------------------


@dataclass
class _Vocabulary:
    words: list[str]
    counts: np.ndarray
    index: dict[str, int]

    @classmethod
    def build(cls, lines: list[list[str]], min_count: int) -> _Vocabulary:
        """Words seen at least ``min_count`` times (with ``</s>`` once per line), by count."""
        counter = Counter(t for toks in lines for t in toks)
        counter[EOS] += len(lines)
        kept = sorted(((w, c) for w, c in counter.items() if c >= min_count), key=lambda x: -x[1])
        words = [w for w, _ in kept]
        return cls(
            words, np.array([c for _, c in kept], np.int64), {w: i for i, w in enumerate(words)}
        )

    def __len__(self) -> int:
        return len(self.words)


def _flatten(
    lines: list[list[str]], vocab: _Vocabulary
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every token with ``</s>`` ending each line (as fastText reads), its line and its id.

    Ids are -1 for tokens out of the vocabulary.
    """
    tokens = [t for toks in lines for t in (*toks, EOS)]
    line_of = np.repeat(np.arange(len(lines)), [len(toks) + 1 for toks in lines])
    ids = np.fromiter((vocab.index.get(t, -1) for t in tokens), np.int64, len(tokens))
    return tokens, line_of, ids


@dataclass
class _Bags:
    """Rows of a matrix grouped per example (CSR): ``rows[offsets[i]:offsets[i + 1]]``."""

    rows: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_pairs(cls, example: np.ndarray, rows: np.ndarray, n: int) -> _Bags:
        order = np.argsort(example, kind="stable")
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(example, minlength=n), out=offsets[1:])
        return cls(rows[order].astype(np.int64), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def take(self, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat rows of the selected examples, the start of each in them, and their lengths."""
        starts = self.offsets[selected]
        lengths = self.offsets[selected + 1] - starts
        begins = np.cumsum(lengths) - lengths
        flat = np.repeat(starts - begins, lengths) + np.arange(int(lengths.sum()))
        return self.rows[flat], begins, lengths


def _segment_matrix(lengths: np.ndarray, weights: np.ndarray) -> Any:
    """Sparse ``(segments, rows)`` matrix summing consecutive row segments with ``weights``.

    A sparse product costs in proportion to the rows; ``np.add.reduceat`` along rows and
    ``np.cumsum`` along axis 0 were measured 5-50x slower for hundreds of segments.
    """
    import scipy.sparse as sp

    n = int(lengths.sum())
    indptr = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return sp.csr_matrix((weights, np.arange(n), indptr), shape=(len(lengths), n))


def _mean_rows(matrix: np.ndarray, rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The mean of ``matrix[rows]`` over each consecutive segment of ``lengths`` rows."""
    if len(rows) == len(lengths):  # one row per segment
        return matrix[rows]
    weights = np.repeat((1.0 / lengths).astype(matrix.dtype), lengths)
    return _segment_matrix(lengths, weights) @ matrix[rows]


def _scatter_add(
    target: np.ndarray,
    index: np.ndarray,
    values: np.ndarray,
    columns: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> None:
    """``target[index[i]] += weights[i] * values[columns[i]]``, repeated indices summed.

    One sparse product (np.add.at is 20x slower); ``columns`` defaults to ``0..n-1`` and
    ``weights`` to ones, so ``_scatter_add(E, rows, grads)`` is ``E[rows] += grads``.
    """
    import scipy.sparse as sp

    n = len(index)
    if n == 0:
        return
    order = np.argsort(index, kind="stable")
    sorted_index = index[order]
    new = np.ones(n, bool)
    np.not_equal(sorted_index[1:], sorted_index[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    data = np.ones(n, values.dtype) if weights is None else weights[order]
    cols = order if columns is None else columns[order]
    S = sp.csr_matrix((data, cols, np.append(starts, n)), shape=(len(starts), len(values)))
    target[sorted_index[starts]] += S @ values


def _averaging_matrix(rows: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``rows`` and M with ``h = M.T @ E[distinct]`` the mean of each segment.

    ``M[u, b]`` is (occurrences of distinct row u in segment b) / (length of b), so
    ``M @ grad_h`` is also fastText's update of each input row (the hidden gradient
    divided by the sentence length), with repeated rows summed.
    """
    distinct, inverse = np.unique(rows, return_inverse=True)
    n = len(lengths)
    segment = np.repeat(np.arange(n), lengths)
    weights = np.repeat(1.0 / lengths, lengths)
    M = np.bincount(inverse * n + segment, weights=weights, minlength=len(distinct) * n)
    return distinct, M.reshape(len(distinct), n).astype(np.float32)


class _BucketRows:
    """Maps hash buckets to matrix rows: only buckets seen in training have one."""

    def __init__(self, known: np.ndarray, first_row: int, missing_row: int) -> None:
        self.known = np.asarray(known, np.int64)
        self.first_row = first_row
        self.missing_row = missing_row

    def rows(self, buckets: np.ndarray) -> np.ndarray:
        if not len(self.known):
            return np.full(len(buckets), self.missing_row, np.int64)
        i = np.minimum(np.searchsorted(self.known, buckets), len(self.known) - 1)
        return np.where(self.known[i] == buckets, self.first_row + i, self.missing_row)


# --- supervised: fastText's classifier ---------------------------------------------------


@dataclass
class _TextFeatures:
    """How sentences become rows of the input matrix: vocabulary and hashed word n-grams."""

    vocab: _Vocabulary
    word_ngrams: int
    buckets: int
    bucket_rows: _BucketRows | None = None

    def bags(self, lines: list[list[str]], *, fit: bool = False) -> _Bags:
        """Each line's word rows and n-gram rows (``fit`` gives rows to its n-gram buckets)."""
        tokens, line_of, ids = _flatten(lines, self.vocab)
        known = ids >= 0
        example, rows = [line_of[known]], [ids[known]]
        if self.word_ngrams > 1:
            unique = list(dict.fromkeys(tokens))
            position = {t: i for i, t in enumerate(unique)}
            hashes = _fnv1a(unique)[[position[t] for t in tokens]]
            lines_of_ngram, buckets = _word_ngram_buckets(
                hashes, line_of, self.word_ngrams, self.buckets
            )
            if fit:
                self.bucket_rows = _BucketRows(np.unique(buckets), len(self.vocab), -1)
            assert self.bucket_rows is not None
            example.append(lines_of_ngram)
            rows.append(self.bucket_rows.rows(buckets))
        return _Bags.from_pairs(np.concatenate(example), np.concatenate(rows), len(lines))

    @property
    def n_rows(self) -> int:
        extra = len(self.bucket_rows.known) if self.bucket_rows is not None else 0
        return len(self.vocab) + extra


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _probabilities(E: np.ndarray, W: np.ndarray, bags: _Bags) -> np.ndarray:
    out = np.empty((len(bags), W.shape[0]), np.float32)
    for start in range(0, len(bags), _EVAL_ROWS):
        selected = np.arange(start, min(start + _EVAL_ROWS, len(bags)))
        rows, _, lengths = bags.take(selected)
        out[selected] = _softmax(_mean_rows(E, rows, lengths) @ W.T)
    return out


def _accuracy(prob: np.ndarray, labels: _Bags) -> float:
    """Share of sentences whose top label is one of theirs (fastText's precision at 1)."""
    predicted = np.argmax(prob, axis=1)
    counts = np.diff(labels.offsets)
    hit = np.repeat(predicted, counts) == labels.rows
    return float(np.logical_or.reduceat(hit, labels.offsets[:-1]).mean())


@dataclass
class _Fit:
    E: np.ndarray
    W: np.ndarray
    epochs: int
    best_epoch: int


def _train_classifier(
    bags: _Bags,
    labels: _Bags,
    n_rows: int,
    n_labels: int,
    hps: dict[str, Any],
    validation: tuple[_Bags, _Bags] | None,
    rng: np.random.Generator,
) -> _Fit:
    dim, epochs, lr0 = hps["vector_dim"], hps["epochs"], hps["learning_rate"]
    E = rng.uniform(-1.0 / dim, 1.0 / dim, (n_rows + 1, dim)).astype(np.float32)
    E[-1] = 0.0  # the row of n-gram buckets never seen in training
    W = np.zeros((n_labels, dim), np.float32)
    n = len(bags)
    counts = np.diff(labels.offsets)
    total, done = epochs * n, 0
    best, best_epoch, since_best = -1.0, 0, 0
    kept: tuple[np.ndarray, np.ndarray] | None = None
    epoch = 0
    for epoch in range(1, epochs + 1):
        loss = 0.0
        pick = labels.rows[labels.offsets[:-1] + (rng.random(n) * counts).astype(np.int64)]
        for batch in np.array_split(rng.permutation(n), max(1, n // _SUPERVISED_BATCH)):
            lr = np.float32(lr0 * max(0.0, 1.0 - done / total))
            done += len(batch)
            rows, _, lengths = bags.take(batch)
            distinct, M = _averaging_matrix(rows, lengths)
            h = M.T @ E[distinct]
            g = _softmax(h @ W.T)
            y = pick[batch]
            loss -= float(np.log(np.maximum(g[np.arange(len(batch)), y], 1e-30)).sum())
            g[np.arange(len(batch)), y] -= 1.0
            grad_h = g @ W
            W -= lr * (g.T @ h)
            E[distinct] -= lr * (M @ grad_h)
        print(quality_metric_line("train", "loss", loss / n, epoch), flush=True)
        if validation is None:
            continue
        accuracy = _accuracy(_probabilities(E, W, validation[0]), validation[1])
        print(quality_metric_line("validation", "accuracy", accuracy, epoch), flush=True)
        if accuracy > best:
            best, best_epoch, since_best = accuracy, epoch, 0
            if hps["early_stopping"]:
                kept = (E.copy(), W.copy())
        else:
            since_best += 1
        if hps["early_stopping"] and epoch >= hps["min_epochs"] and since_best >= hps["patience"]:
            print(
                f"{_LOG} early stopping after epoch {epoch}: validation accuracy has not "
                f"improved for {since_best} epochs; keeping epoch {best_epoch}",
                flush=True,
            )
            if kept is not None:
                E, W = kept
            break
    return _Fit(E, W, epoch, best_epoch or epoch)


# --- word2vec ----------------------------------------------------------------------------


@dataclass
class _Subwords:
    """Each vocabulary word's rows: itself and (with subwords) its character n-gram buckets."""

    bags: _Bags
    bucket_rows: _BucketRows | None

    @classmethod
    def build(cls, vocab: _Vocabulary, hps: dict[str, Any]) -> _Subwords:
        n = len(vocab)
        if not hps["subwords"]:
            return cls(_Bags(np.arange(n, dtype=np.int64), np.arange(n + 1, dtype=np.int64)), None)
        grams = [
            [] if w == EOS else _char_ngrams(w, hps["min_char"], hps["max_char"])
            for w in vocab.words
        ]
        flat = [g for gs in grams for g in gs]
        buckets = _buckets(flat, hps["buckets"])
        known = np.unique(buckets)
        bucket_rows = _BucketRows(known, n, -1)
        word_of = np.repeat(np.arange(n), [len(gs) for gs in grams])
        example = np.concatenate([np.arange(n), word_of])
        rows = np.concatenate([np.arange(n), bucket_rows.rows(buckets)])
        return cls(_Bags.from_pairs(example, rows, n), bucket_rows)

    @property
    def n_rows(self) -> int:
        return len(self.bags) + (len(self.bucket_rows.known) if self.bucket_rows else 0)


def _corpus_ids(lines: list[list[str]], vocab: _Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """Vocabulary ids of the known tokens (``</s>`` ending each line) and the line of each."""
    _, line_of, ids = _flatten(lines, vocab)
    known = ids >= 0
    return ids[known], line_of[known]


def _keep_probability(counts: np.ndarray, threshold: float) -> np.ndarray:
    """fastText's subsampling: keep a word of frequency f with probability sqrt(t/f) + t/f."""
    f = counts / counts.sum()
    return np.sqrt(threshold / f) + threshold / f


def _context_pairs(
    ids: np.ndarray, line_of: np.ndarray, window: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(position, context word) pairs of one epoch, with windows of 1..window words."""
    reach = rng.integers(1, window + 1, size=len(ids))
    centers, contexts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    positions = np.arange(len(ids))
    for d in range(1, window + 1):
        same = line_of[d:] == line_of[:-d]
        forward = same & (reach[:-d] >= d)  # the word d places after the centre
        backward = same & (reach[d:] >= d)  # the word d places before it
        centers += [positions[:-d][forward], positions[d:][backward]]
        contexts += [ids[d:][forward], ids[:-d][backward]]
    return np.concatenate(centers), np.concatenate(contexts)


class _Word2Vec:
    """Negative-sampling training of word (and subword) vectors over mini-batches."""

    def __init__(self, vocab: _Vocabulary, hps: dict[str, Any], rng: np.random.Generator):
        self.vocab, self.hps, self.rng = vocab, hps, rng
        self.subwords = _Subwords.build(vocab, hps)
        dim = hps["vector_dim"]
        self.E = rng.uniform(-1.0 / dim, 1.0 / dim, (self.subwords.n_rows, dim)).astype(np.float32)
        self.W = np.zeros((len(vocab), dim), np.float32)
        weights = vocab.counts.astype(np.float64) ** _NEGATIVE_POWER
        self.negative_cdf = np.cumsum(weights / weights.sum())
        self.keep = _keep_probability(vocab.counts.astype(np.float64), hps["sampling_threshold"])

    def fit(self, ids: np.ndarray, line_of: np.ndarray) -> None:
        hps = self.hps
        epochs = hps["epochs"]
        for epoch in range(1, epochs + 1):
            kept = self.rng.random(len(ids)) < self.keep[ids]
            examples = self._examples(ids[kept], line_of[kept])
            n = len(examples[0])
            loss = 0.0
            if n == 0:
                print(
                    f"{_LOG} epoch {epoch}: no (word, context) pair after subsampling", flush=True
                )
                continue
            for i, batch in enumerate(
                np.array_split(self.rng.permutation(n), max(1, n // _WORD2VEC_BATCH))
            ):
                progress = (epoch - 1 + i * _WORD2VEC_BATCH / max(n, 1)) / epochs
                lr = np.float32(hps["learning_rate"] * max(0.0, 1.0 - progress))
                loss += self._step(examples, batch, lr)
            print(quality_metric_line("train", "loss", loss / max(n, 1), epoch), flush=True)

    def _examples(self, ids: np.ndarray, line_of: np.ndarray) -> tuple[np.ndarray, _Bags]:
        """Targets and the input bags (vocabulary ids) that predict them."""
        centers, contexts = _context_pairs(ids, line_of, self.hps["window_size"], self.rng)
        if self.hps["mode"] != "cbow":  # skip-gram: the centre word predicts each context word
            return contexts, _Bags(ids[centers], np.arange(len(centers) + 1, dtype=np.int64))
        has_context = np.unique(centers)  # CBOW: the mean of the context predicts the centre
        example = np.searchsorted(has_context, centers)
        return ids[has_context], _Bags.from_pairs(example, contexts, len(has_context))

    def _negatives(self, n: int) -> np.ndarray:
        k = self.hps["negative_samples"]
        if self.hps["mode"] != "batch_skipgram":
            draws = np.searchsorted(self.negative_cdf, self.rng.random((n, k)))
        else:  # negative sample sharing: one draw per group of batch_size pairs
            groups = -(-n // self.hps["batch_size"])
            shared = np.searchsorted(self.negative_cdf, self.rng.random((groups, k)))
            draws = np.repeat(shared, self.hps["batch_size"], axis=0)[:n]
        return np.minimum(draws, len(self.vocab) - 1)

    def _step(self, examples: tuple[np.ndarray, _Bags], batch: np.ndarray, lr: np.float32) -> float:
        targets, inputs = examples
        words, begins, lengths = inputs.take(batch)
        rows, row_begins, row_lengths = self.subwords.bags.take(words)
        per_example = np.add.reduceat(row_lengths, begins)
        h = _mean_rows(self.E, rows, per_example)
        t = np.concatenate([targets[batch, None], self._negatives(len(batch))], axis=1)
        out = self.W[t]
        score = np.einsum("pd,pkd->pk", h, out)
        sign = np.full(t.shape, -1.0, np.float32)
        sign[:, 0] = 1.0
        loss = float(np.logaddexp(0.0, -sign * score).sum())
        g = lr * ((sign + 1.0) / 2.0 - 1.0 / (1.0 + np.exp(-score)))
        g[:, 1:][t[:, 1:] == t[:, :1]] = 0.0  # a negative that is the target teaches nothing
        grad_h = np.einsum("pk,pkd->pd", g, out)
        pairs = np.arange(len(batch))
        _scatter_add(self.W, t.ravel(), h, np.repeat(pairs, t.shape[1]), g.ravel())
        _scatter_add(self.E, rows, grad_h, np.repeat(pairs, per_example))
        return loss

    def word_vectors(self) -> np.ndarray:
        """Each vocabulary word's vector: its row, or the mean of its rows with subwords."""
        bags = self.subwords.bags
        rows, _, lengths = bags.take(np.arange(len(bags)))
        return _mean_rows(self.E, rows, lengths).astype(np.float32)


def _write_vectors_text(path: Path, words: list[str], vectors: np.ndarray) -> None:
    """word2vec's text format: ``<count> <dim>``, then ``word v1 v2 ...`` per line."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"{len(words)} {vectors.shape[1]}\n")
        row_format = " ".join(["%.6g"] * vectors.shape[1])
        for word, row in zip(words, vectors.tolist()):
            handle.write(word + " " + row_format % tuple(row) + "\n")


# --- the algorithm -----------------------------------------------------------------------


class BlazingText(Algorithm):
    """SageMaker's built-in BlazingText (``algorithm="blazingtext"``), in numpy."""

    name = "blazingtext"
    title = "BlazingText"
    description = (
        "fastText text classification (mode=supervised) and word2vec word vectors "
        "(skipgram, cbow, batch_skipgram) on text files (SageMaker's BlazingText)."
    )
    hyperparameters = SCHEMA
    channels = ("train", "validation")
    required_channels = ("train",)
    content_types = (TEXT, JSONLINES)
    preload = ("numpy",)
    supervised = False  # labels live in the text lines, not in a target column

    def check_hyperparameters(self, hps: dict[str, Any]) -> None:
        if hps["mode"] != "supervised" and hps["subwords"] and hps["min_char"] > hps["max_char"]:
            raise ValidationError(
                "hyperparameters['min_char']",
                hps["min_char"],
                f"at most max_char ({hps['max_char']})",
            )

    def check_inputs(self, hps: dict[str, Any], channels: list[str]) -> None:
        self.check_channels(channels)
        if hps["mode"] != "supervised" and "validation" in channels:
            raise ValidationError(
                "inputs",
                channels,
                f"only a 'train' channel for mode {hps['mode']!r} (SageMaker's word2vec "
                "takes no validation channel)",
            )
        if hps["mode"] == "supervised" and hps["early_stopping"] and "validation" not in channels:
            raise ValidationError(
                "hyperparameters['early_stopping']",
                True,
                "false when there is no 'validation' channel",
                hint="Early stopping watches validation:accuracy; add a validation channel.",
            )

    def check_data(self, hps: dict[str, Any], channels: list[Any]) -> None:
        supervised = hps["mode"] == "supervised"
        corpora = {}
        for chan in channels:
            if chan.matrix is not None or chan.frame is not None:
                raise ValidationError(
                    f"inputs[{chan.name!r}]",
                    "DataFrame",
                    "a text file of sentences (BlazingText reads text, not feature columns)",
                    hint="write_corpus(df.text, df.label, 'train.txt') from "
                    "workbench.algorithms._blazingtext, then "
                    "TrainingInput('train.txt', content_type='text/plain').",
                )
            files = [f for f in chan.files if f.name != FRAME_SCHEMA]
            corpora[chan.name] = _read_corpus(
                files,
                chan.content_type,
                supervised=supervised,
                channel=chan.name,
                max_bytes=_CHECK_BYTES,
            )
        _check_corpora(hps, corpora, in_job=False)

    def problem_type(self, hps: dict[str, Any]) -> str:
        return "multiclass_classification" if hps.get("mode") == "supervised" else "embedding"

    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        names = [("train", "loss")]
        if hps.get("mode") == "supervised":
            names += [("train", "accuracy"), ("validation", "accuracy")]
        return [{"Name": f"{c}:{m}", "Regex": quality_metric_regex(c, m)} for c, m in names]

    def train(self, env: TrainingEnvironment, hps: dict[str, Any]) -> None:
        started = time.perf_counter()
        mode = hps["mode"]
        supervised = mode == "supervised"
        ignored = _SUPERVISED_ONLY if not supervised else _WORD2VEC_ONLY
        unused = sorted(k for k in env.hyperparameters if k in ignored)
        if unused:
            print(f"{_LOG} mode={mode} ignores {', '.join(unused)}", flush=True)
        corpora = {
            channel: _read_corpus(
                channel_files(env.channel_dir(channel)),
                env.content_type(channel),
                supervised=supervised,
                channel=channel,
            )
            for channel in self.channels
            if channel in env.input_data_config
        }
        _check_corpora(hps, corpora, in_job=True)
        if supervised:
            model = _fit_classifier(corpora, hps)
        else:
            model = _fit_word2vec(corpora["train"], hps)
        model.save(env.model_dir)
        print(f"{_LOG} done in {time.perf_counter() - started:.2f}s", flush=True)

    def load(self, model_dir: Path) -> TextClassifierModel | WordVectorsModel:
        meta = _read_meta(Path(model_dir))
        if meta["mode"] == "supervised":
            return TextClassifierModel.load(Path(model_dir))
        return WordVectorsModel.load(Path(model_dir))


def _check_corpora(hps: dict[str, Any], corpora: dict[str, _Corpus], *, in_job: bool) -> None:
    """Checks shared by the kernel (check_data) and the job (train)."""
    for channel, corpus in corpora.items():
        if not corpus.lines:
            raise ValidationError(f"channel {channel!r}", "no text", "at least one non-empty line")
    train = corpora["train"]
    if train.truncated:
        return  # the kernel read part of it; the job checks the rest
    counts = Counter(t for toks in train.lines for t in toks)
    needed = 1 if hps["mode"] == "supervised" else 2
    top = sorted(counts.values(), reverse=True)[:needed]
    if len(top) < needed:
        raise ValidationError(
            "channel 'train'", f"{len(top)} distinct word(s)", f"at least {needed} distinct words"
        )
    if top[-1] < hps["min_count"]:
        raise ValidationError(
            "hyperparameters['min_count']",
            hps["min_count"],
            f"at most {top[-1]}, so that {needed} word(s) of the 'train' channel are kept",
        )
    if hps["mode"] != "supervised":
        return
    assert train.labels is not None
    known = {label for labels in train.labels for label in labels}
    if len(known) < 2:
        raise ValidationError(
            "channel 'train' labels", sorted(known), "at least 2 distinct __label__ values"
        )
    validation = corpora.get("validation")
    if validation is not None and validation.labels is not None:
        unseen = sorted({x for labels in validation.labels for x in labels} - known)
        if unseen:
            message = (
                f"{_LOG} warning: channel 'validation' has labels the 'train' channel does not: "
                f"{', '.join(unseen[:10])}; their lines count as errors in validation:accuracy"
            )
            if in_job:
                print(message, flush=True)
            else:
                warnings.warn(message, UserWarning, stacklevel=3)


def _sorted_labels(labels: set[str]) -> list[str]:
    """Labels by number when they all are numbers, else by name (the probability columns)."""
    names = [x[len(LABEL_PREFIX) :] for x in labels]
    if all(_INT_LABEL.fullmatch(x) for x in names):
        return [LABEL_PREFIX + x for x in sorted(names, key=int)]
    return sorted(labels)


def _label_bags(label_lists: list[list[str]], index: dict[str, int]) -> _Bags:
    """Each line's label indices (-1 for a label unknown to the model)."""
    flat = np.array([index.get(x, -1) for labels in label_lists for x in labels], np.int64)
    example = np.repeat(np.arange(len(label_lists)), [len(x) for x in label_lists])
    return _Bags.from_pairs(example, flat, len(label_lists))


def _fit_classifier(corpora: dict[str, _Corpus], hps: dict[str, Any]) -> TextClassifierModel:
    rng = np.random.default_rng(_SEED)
    train = corpora["train"]
    assert train.labels is not None
    vocab = _Vocabulary.build(train.lines, hps["min_count"])
    labels = _sorted_labels({x for labels in train.labels for x in labels})
    label_index = {x: i for i, x in enumerate(labels)}
    features = _TextFeatures(vocab, hps["word_ngrams"], hps["buckets"])
    bags = features.bags(train.lines, fit=True)
    n_rows = features.n_rows
    if features.bucket_rows is not None:
        features.bucket_rows.missing_row = n_rows
    print(
        f"{_LOG} supervised: {len(bags)} sentences, {len(vocab)} words, {len(labels)} labels, "
        f"{n_rows - len(vocab)} word n-gram buckets in use (of {hps['buckets']}), "
        f"vector_dim={hps['vector_dim']}",
        flush=True,
    )
    validation = None
    valid = corpora.get("validation")
    if valid is not None and valid.labels is not None:
        validation = (features.bags(valid.lines), _label_bags(valid.labels, label_index))
    train_labels = _label_bags(train.labels, label_index)
    fit = _train_classifier(bags, train_labels, n_rows, len(labels), hps, validation, rng)
    accuracy = _accuracy(_probabilities(fit.E, fit.W, bags), train_labels)
    print(quality_metric_line("train", "accuracy", accuracy), flush=True)
    if validation is not None:
        accuracy = _accuracy(_probabilities(fit.E, fit.W, validation[0]), validation[1])
        print(quality_metric_line("validation", "accuracy", accuracy), flush=True)
    known = features.bucket_rows.known if features.bucket_rows is not None else np.zeros(0)
    arrays = {
        "word_vectors": fit.E[: len(vocab)],
        "ngram_buckets": known.astype(np.int64),
        "ngram_vectors": fit.E[len(vocab) : n_rows],
        "output": fit.W,
    }
    meta = _meta(hps, vocab, train) | {
        "labels": labels,
        "word_ngrams": hps["word_ngrams"],
        "epochs_trained": fit.epochs,
        "best_epoch": fit.best_epoch,
    }
    return TextClassifierModel(arrays, meta)


def _fit_word2vec(corpus: _Corpus, hps: dict[str, Any]) -> WordVectorsModel:
    rng = np.random.default_rng(_SEED)
    vocab = _Vocabulary.build(corpus.lines, hps["min_count"])
    ids, line_of = _corpus_ids(corpus.lines, vocab)
    trainer = _Word2Vec(vocab, hps, rng)
    print(
        f"{_LOG} {hps['mode']}: {len(corpus.lines)} lines, {len(ids)} tokens, {len(vocab)} words"
        + (f", {trainer.subwords.n_rows - len(vocab)} subword buckets" if hps["subwords"] else "")
        + f", vector_dim={hps['vector_dim']}",
        flush=True,
    )
    trainer.fit(ids, line_of)
    if hps["evaluation"]:
        print(
            f"{_LOG} evaluation: the WordSimilarity-353 list is not available offline, so "
            "train:mean_rho is not reported (use train:loss)",
            flush=True,
        )
    arrays = {"vectors": trainer.word_vectors()}
    if trainer.subwords.bucket_rows is not None:
        arrays["ngram_buckets"] = trainer.subwords.bucket_rows.known
        arrays["ngram_vectors"] = trainer.E[len(vocab) :]
    return WordVectorsModel(arrays, _meta(hps, vocab, corpus))


def _meta(hps: dict[str, Any], vocab: _Vocabulary, corpus: _Corpus) -> dict[str, Any]:
    return {
        "format": MODEL_FORMAT,
        "format_version": 1,
        "algorithm": BlazingText.name,
        "mode": hps["mode"],
        "vector_dim": hps["vector_dim"],
        "buckets": hps["buckets"],
        "subwords": bool(hps["subwords"]) and hps["mode"] != "supervised",
        "min_char": hps["min_char"],
        "max_char": hps["max_char"],
        "normalized": _is_normalized(corpus.lines),
        "words": vocab.words,
        "word_counts": vocab.counts.tolist(),
        "hyperparameters": {k: v for k, v in hps.items() if not k.startswith("_")},
    }


def _read_meta(model_dir: Path) -> dict[str, Any]:
    path = model_dir / META_FILE
    if not path.exists():
        raise ValidationError("model folder", str(model_dir), f"a BlazingText {META_FILE}")
    meta = json.loads(path.read_text())
    if meta.get("format") != MODEL_FORMAT:
        raise ValidationError(f"model {META_FILE}", meta.get("format"), f"format {MODEL_FORMAT!r}")
    return meta


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


# --- inference ---------------------------------------------------------------------------


@dataclass
class TextRequest:
    """A decoded inference request: the sentences (or words) and each one's top-k."""

    instances: list[str]
    k: list[int]


def _k(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValidationError(where, value, "a positive integer")
    if value < 1:
        raise ValidationError(where, value, "a positive integer")
    return int(value)


def _decode(body: bytes | str, content_type: str | None) -> TextRequest:
    """SageMaker's BlazingText requests: JSON ``instances`` or JSON Lines ``source`` records."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
    base, _ = parse_content_type(content_type or _JSON)
    if base in _JSONLINES_ALIASES:
        instances, ks = [], []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise ValidationError(f"line {i}", line[:80], "a JSON object") from None
            if not isinstance(record, dict) or not isinstance(record.get("source"), str):
                raise ValidationError(
                    f"line {i}", line[:80], 'a JSON object with a "source" string'
                )
            instances.append(record["source"])
            ks.append(_k(record.get("k", 1), f"line {i} k"))
        if not instances:
            raise ValidationError("body", text[:80], 'JSON lines like {"source": "..."}')
        return TextRequest(instances, ks)
    if base != _JSON:
        raise ValidationError("ContentType", content_type, f"{_JSON} or {JSONLINES}")
    try:
        payload = json.loads(text)
    except ValueError:
        raise ValidationError("body", text[:80], 'JSON like {"instances": ["..."]}') from None
    if isinstance(payload, list):
        payload = {"instances": payload}
    if not isinstance(payload, dict) or not isinstance(payload.get("instances"), list):
        raise ValidationError("instances", payload, 'a JSON object {"instances": [strings]}')
    instances = payload["instances"]
    if not instances or not all(isinstance(x, str) for x in instances):
        raise ValidationError("instances", instances, "a non-empty list of strings")
    configuration = payload.get("configuration") or {}
    if not isinstance(configuration, dict):
        raise ValidationError("configuration", configuration, 'an object like {"k": 2}')
    k = _k(configuration.get("k", 1), "configuration.k")
    return TextRequest(list(instances), [k] * len(instances))


def _as_request(inputs: Any) -> TextRequest:
    if isinstance(inputs, TextRequest):
        return inputs
    if isinstance(inputs, str):
        inputs = [inputs]
    columns = list(getattr(inputs, "columns", []))
    if columns:  # a DataFrame: its only column, or its "text" / "source" column
        name = next((c for c in ("text", "source", "word") if c in columns), None)
        if name is None and len(columns) != 1:
            raise ValidationError(
                "inputs", columns[:10], "a list of strings, or a DataFrame with a 'text' column"
            )
        inputs = inputs[name if name is not None else columns[0]]
    items = list(inputs.tolist() if hasattr(inputs, "tolist") else inputs)
    items = [x[0] if isinstance(x, (list, tuple)) and len(x) == 1 else x for x in items]
    if not all(isinstance(x, str) for x in items):
        raise ValidationError("inputs", items[:3], "a list (or Series) of strings")
    return TextRequest(items, [1] * len(items))


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


class _TextModel:
    """What both kinds of BlazingText model share."""

    response_envelope = None  # SageMaker answers with a bare list of records
    request_content_types = (_JSON, JSONLINES)
    tabular = False  # Model.predict hands over the texts (or words) unchanged
    feature_names: list[str] | None = None

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.arrays = arrays
        self.meta = meta
        self.mode: str = meta["mode"]
        self.words: list[str] = list(meta["words"])
        self.index = {w: i for i, w in enumerate(self.words)}
        self.normalized: bool = bool(meta.get("normalized"))

    def decode_request(self, body: bytes | str, content_type: str | None) -> TextRequest:
        """SageMaker's request formats; raises ValidationError (HTTP 400) for bad bodies."""
        return _decode(body, content_type)

    def _save(self, model_dir: Path, array_file: str) -> None:
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        np.savez(model_dir / array_file, **self.arrays)
        (model_dir / META_FILE).write_text(json.dumps(self.meta))


class TextClassifierModel(_TextModel):
    """A trained BlazingText text classifier (``mode="supervised"``).

    Example
    -------
    >>> model = BlazingText().load("model-folder")                     # doctest: +SKIP
    >>> model.predict_frame(["the striker scored twice"])              # doctest: +SKIP
      predicted_label  probability
    0          sports     0.97...
    """

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        super().__init__(arrays, meta)
        self.labels: list[str] = list(meta["labels"])
        names = [x[len(LABEL_PREFIX) :] for x in self.labels]
        numeric = all(_INT_LABEL.fullmatch(x) for x in names)
        self.classes = np.array(
            [int(x) for x in names] if numeric else names, dtype=None if numeric else object
        )
        self.problem_type = (
            "binary_classification" if len(names) == 2 else "multiclass_classification"
        )
        words = arrays["word_vectors"]
        self._E = np.concatenate(
            [words, arrays["ngram_vectors"], np.zeros((1, words.shape[1]), np.float32)]
        )
        vocab = _Vocabulary(self.words, np.zeros(len(self.words), np.int64), self.index)
        missing_row = len(self._E) - 1  # n-gram buckets unseen in training: zeros
        bucket_rows = _BucketRows(arrays["ngram_buckets"], len(self.words), missing_row)
        self._features = _TextFeatures(
            vocab, int(meta["word_ngrams"]), int(meta["buckets"]), bucket_rows
        )

    @classmethod
    def load(cls, model_dir: Path) -> TextClassifierModel:
        meta = _read_meta(Path(model_dir))
        return cls(_load_arrays(Path(model_dir) / CLASSIFIER_FILE), meta)

    def save(self, model_dir: Path) -> None:
        """Write ``model.npz`` and ``model.json``."""
        self._save(model_dir, CLASSIFIER_FILE)

    def _tokens(self, text: str) -> list[str]:
        return tokenize(text) if self.normalized else text.split()

    def predict_proba(self, texts: Any) -> np.ndarray:
        """Label probabilities ``(n, n_labels)``, columns in the order of ``classes``."""
        request = _as_request(texts)
        bags = self._features.bags([self._tokens(t) for t in request.instances])
        return _probabilities(self._E, self.arrays["output"], bags)

    def predict(self, texts: Any) -> np.ndarray:
        """The most likely label of each text (label names without ``__label__``)."""
        return self.classes[np.argmax(self.predict_proba(texts), axis=1)]

    def predict_frame(self, texts: Any) -> Any:
        """``predicted_label`` and its ``probability`` for each text, as a DataFrame."""
        import pandas as pd

        prob = self.predict_proba(texts)
        best = np.argmax(prob, axis=1)
        index = texts.index if isinstance(texts, (pd.Series, pd.DataFrame)) else None
        return pd.DataFrame(
            {
                "predicted_label": self.classes[best],
                "probability": prob[np.arange(len(best)), best],
            },
            index=index,
        )

    def response_columns(self, inputs: Any) -> dict[str, np.ndarray]:
        """SageMaker's answer: ``prob`` and ``label`` lists of the top k labels of each text."""
        request = _as_request(inputs)
        prob = self.predict_proba(request)
        order = np.argsort(-prob, axis=1, kind="stable")
        probs, labels = [], []
        for i, k in enumerate(request.k):
            top = order[i, : min(k, len(self.labels))]
            probs.append([float(p) for p in prob[i, top]])
            labels.append([self.labels[j] for j in top])
        return {"prob": _objects(probs), "label": _objects(labels)}


class WordVectorsModel(_TextModel):
    """Trained BlazingText word vectors (``mode`` skipgram, cbow or batch_skipgram).

    Example
    -------
    >>> model = BlazingText().load("model-folder")                     # doctest: +SKIP
    >>> model.most_similar("goal", topn=3)                             # doctest: +SKIP
    """

    problem_type = "embedding"

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        super().__init__(arrays, meta)
        self.vectors: np.ndarray = arrays["vectors"]
        self.subwords: bool = bool(meta.get("subwords"))

    @classmethod
    def load(cls, model_dir: Path) -> WordVectorsModel:
        meta = _read_meta(Path(model_dir))
        return cls(_load_arrays(Path(model_dir) / VECTORS_FILE), meta)

    def save(self, model_dir: Path) -> None:
        """Write ``vectors.txt`` (word2vec text format), ``vectors.npz`` and ``model.json``."""
        self._save(model_dir, VECTORS_FILE)
        _write_vectors_text(Path(model_dir) / VECTORS_TEXT, self.words, self.vectors)

    def vectors_for(self, words: Any) -> np.ndarray:
        """``(n, vector_dim)`` vectors; out-of-vocabulary words from subwords, else zeros."""
        request = _as_request(words)
        out = np.zeros((len(request.instances), self.vectors.shape[1]), np.float32)
        for i, word in enumerate(request.instances):
            key = word.strip().lower() if self.normalized else word.strip()
            if key in self.index:
                out[i] = self.vectors[self.index[key]]
            elif self.subwords and key:
                out[i] = self._oov_vector(key)
        return out

    def _oov_vector(self, word: str) -> np.ndarray:
        """fastText's vector of an unknown word: the mean of its character n-gram vectors."""
        grams = _char_ngrams(word, int(self.meta["min_char"]), int(self.meta["max_char"]))
        if not grams:
            return np.zeros(self.vectors.shape[1], np.float32)
        buckets = _buckets(grams, int(self.meta["buckets"]))
        known = self.arrays["ngram_buckets"]
        i = np.minimum(np.searchsorted(known, buckets), max(len(known) - 1, 0))
        found = known[i] == buckets if len(known) else np.zeros(len(buckets), bool)
        return self.arrays["ngram_vectors"][i[found]].sum(axis=0) / len(grams)

    def most_similar(self, word: str, topn: int = 10) -> Any:
        """The ``topn`` vocabulary words closest to ``word`` by cosine similarity."""
        import pandas as pd

        v = self.vectors_for([word])[0]
        norms = np.linalg.norm(self.vectors, axis=1) * max(float(np.linalg.norm(v)), 1e-12)
        similarity = self.vectors @ v / np.maximum(norms, 1e-12)
        order = [i for i in np.argsort(-similarity) if self.words[i] != word][:topn]
        return pd.DataFrame(
            {"word": [self.words[i] for i in order], "similarity": similarity[order]}
        )

    def predict_frame(self, words: Any) -> Any:
        """One row per word, indexed by the word, with columns ``v0``, ``v1``, ..."""
        import pandas as pd

        request = _as_request(words)
        vectors = self.vectors_for(request)
        columns = [f"v{i}" for i in range(vectors.shape[1])]
        return pd.DataFrame(
            vectors, index=pd.Index(request.instances, name="word"), columns=columns
        )

    def response_columns(self, inputs: Any) -> dict[str, np.ndarray]:
        """SageMaker's answer: each word's ``vector`` and the ``word``."""
        request = _as_request(inputs)
        return {"vector": self.vectors_for(request), "word": _objects(list(request.instances))}
