"""Bag-of-words helpers shared by the topic models (NTM and LDA).

Topic models read word-count vectors, one document per row and one column per word of the
vocabulary, as SageMaker's NTM and LDA do:

- ``text/csv``: dense counts with no label (``label_size=0`` is implied for topic models;
  ``header=present`` takes the words from the header row);
- ``application/x-npy``: workbench's frames (a DataFrame of counts; its columns are the words);
- ``application/x-parquet``: a Parquet table of counts;
- ``text/libsvm``: sparse ``<label> <word id>:<count> ...`` lines with zero-based word ids
  (the label is ignored);
- ``application/jsonlines``: SageMaker's sparse JSON records, one per line,
  ``{"features": {"keys": [3, 17], "values": [2, 1], "shape": [feature_dim]}}`` (also
  ``{"data": {"features": ...}}``, ``{"features": [dense counts]}`` or a bare list).

The optional ``auxiliary`` channel holds ``vocab.txt`` (``text/plain``, UTF-8, one word per
line in word-id order), as SageMaker's NTM reads it, so topics can be shown as words. The
vocabulary is stored in the model folder as ``vocab.txt`` too.

Example
-------
>>> counts, vocabulary = bag_of_words(["the team scored a goal", "the bank raised rates"],
...                                   min_df=1)
>>> vocabulary
['bank', 'goal', 'raised', 'rates', 'scored', 'team']
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ValidationError
from ._data import FRAME_CONTENT_TYPE, channel_files, parse_content_type, read_channel

__all__ = [
    "AUXILIARY_CONTENT_TYPE",
    "COUNT_CONTENT_TYPES",
    "REQUEST_CONTENT_TYPES",
    "VOCAB_FILE",
    "Corpus",
    "TopicModelBase",
    "bag_of_words",
    "check_count_channels",
    "decode_counts",
    "npmi_coherence",
    "read_corpus",
    "topic_purity",
    "vectorize",
]

VOCAB_FILE = "vocab.txt"
AUXILIARY_CONTENT_TYPE = "text/plain"
COUNT_CONTENT_TYPES = (
    "text/csv",
    FRAME_CONTENT_TYPE,
    "application/x-parquet",
    "text/libsvm",
    "application/jsonlines",
)
REQUEST_CONTENT_TYPES = (
    "text/csv",
    "application/json",
    "application/jsonlines",
    FRAME_CONTENT_TYPE,
)
_JSONLINES = {"application/jsonlines", "application/x-jsonlines", "application/json-lines"}
_LIBSVM = {"text/libsvm", "text/x-libsvm", "libsvm"}
_DEFAULT_NAME = re.compile(r"^f\d+$")
_TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W\d_]+\b"  # words of 2+ letters (any alphabet), no digits


# -- turning texts into counts -----------------------------------------------------------


def bag_of_words(
    texts: Any,
    vocabulary_size: int = 2000,
    min_df: int | float = 2,
    stop_words: str | list[str] | None = "english",
    sparse: bool = False,
) -> tuple[Any, list[str]]:
    """Word counts of ``texts`` and the vocabulary (the ``vocabulary_size`` most frequent words).

    Words are lower-cased runs of two or more letters, English stop words are dropped and a
    word must appear in ``min_df`` documents (a count, or a fraction of the documents).
    Returns a DataFrame of int64 counts whose columns are the words (``sparse=True``: a
    scipy CSR matrix) and the vocabulary in column order, ready for ``vocab.txt``.

    Example
    -------
    >>> import workbench as wb
    >>> docs = wb.datasets.load("text", size="small")
    >>> counts, vocabulary = bag_of_words(docs["text"], vocabulary_size=500)  # doctest: +SKIP
    >>> wb.Estimator(algorithm="ntm", hyperparameters={"feature_dim": len(vocabulary),
    ...              "num_topics": 6}).fit({"train": counts})  # doctest: +SKIP
    """
    from sklearn.feature_extraction.text import CountVectorizer

    docs = _texts(texts, "texts")
    if isinstance(vocabulary_size, bool) or not isinstance(vocabulary_size, (int, np.integer)):
        raise ValidationError("vocabulary_size", vocabulary_size, "a positive integer")
    if vocabulary_size < 1:
        raise ValidationError("vocabulary_size", vocabulary_size, "a positive integer")
    vectorizer = CountVectorizer(
        max_features=int(vocabulary_size),
        min_df=min_df,
        stop_words=stop_words,
        token_pattern=_TOKEN_PATTERN,
        dtype=np.int64,
    )
    try:
        counts = vectorizer.fit_transform(docs)
    except ValueError as exc:  # empty vocabulary, min_df too large, ...
        raise ValidationError(
            "texts", f"{len(docs)} documents", f"words to count ({exc})"
        ) from None
    vocabulary = [str(w) for w in vectorizer.get_feature_names_out()]
    if sparse:
        return counts.tocsr(), vocabulary
    import pandas as pd

    index = texts.index if isinstance(texts, pd.Series) else None
    return pd.DataFrame(counts.toarray(), columns=vocabulary, index=index), vocabulary


def vectorize(texts: Any, vocabulary: list[str]) -> Any:
    """Counts (scipy CSR, float64) of ``texts`` over a fixed ``vocabulary``; other words drop."""
    from sklearn.feature_extraction.text import CountVectorizer

    docs = _texts(texts, "texts")
    vectorizer = CountVectorizer(vocabulary=list(vocabulary), token_pattern=_TOKEN_PATTERN)
    return vectorizer.transform(docs).astype(np.float64).tocsr()


def _texts(texts: Any, field: str) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    try:
        docs = list(texts)
    except TypeError:
        raise ValidationError(field, type(texts).__name__, "a list or Series of strings") from None
    bad = [d for d in docs if not isinstance(d, str)]
    if bad or not docs:
        raise ValidationError(field, bad[:3] if bad else docs, "a non-empty list of strings")
    return docs


# -- reading channels ---------------------------------------------------------------------


@dataclass
class Corpus:
    """The count matrices of a topic model's channels and the vocabulary, if known."""

    counts: dict[str, Any]  # channel -> scipy CSR float64 (documents x words)
    vocabulary: list[str] | None


def read_corpus(env: Any, feature_dim: int, channels: tuple[str, ...]) -> Corpus:
    """Read and check the count channels of a training job and its vocabulary.

    The vocabulary comes from the ``auxiliary`` channel's ``vocab.txt``, else from the
    column names of the train channel (a DataFrame of counts or a CSV header).
    """
    counts: dict[str, Any] = {}
    names: list[str] | None = None
    for channel in channels:
        if channel not in env.input_data_config:
            continue
        matrix, columns = read_counts(
            env.channel_dir(channel), env.content_type(channel), channel, feature_dim
        )
        counts[channel] = matrix
        if channel == "train":
            names = columns
    vocabulary = None
    if "auxiliary" in env.input_data_config:
        vocabulary = read_vocabulary(env.channel_dir("auxiliary"), feature_dim)
    elif names is not None and len(set(names)) == len(names):
        vocabulary = names
    return Corpus(counts, vocabulary)


def read_counts(
    channel_dir: str | Path, content_type: str | None, channel: str, feature_dim: int
) -> tuple[Any, list[str] | None]:
    """One channel as a CSR count matrix (float64) and its word columns (None if unnamed)."""
    import scipy.sparse as sp

    path = Path(channel_dir)
    base, params = parse_content_type(content_type)
    if base == AUXILIARY_CONTENT_TYPE:
        raise ValidationError(
            f"channel {channel!r} ContentType",
            content_type,
            f"word counts ({', '.join(COUNT_CONTENT_TYPES)}); text/plain is for the "
            "'auxiliary' channel's vocab.txt",
        )
    if base in _LIBSVM:
        matrix, names = _read_libsvm(path, channel, feature_dim), None
    elif base in _JSONLINES:
        matrix, names = _read_jsonlines(path, channel, feature_dim), None
    else:
        if base in ("", "text/csv", "text/x-csv", "application/x-parquet", "application/parquet"):
            if "label_size" not in params and "target" not in params:
                content_type = (content_type or "text/csv") + ";label_size=0"
        data = read_channel(path, content_type, channel=channel, require_label=False)
        default = all(_DEFAULT_NAME.match(n) for n in data.feature_names)
        names = None if default else list(data.feature_names)
        matrix = data.X
        _check_width(matrix.shape[1], feature_dim, channel)
    check_counts(matrix, channel)
    if matrix.shape[0] == 0:
        raise ValidationError(f"channel {channel!r}", str(path), "at least one document")
    return sp.csr_matrix(matrix, dtype=np.float64), names


def _check_width(width: int, feature_dim: int, channel: str) -> None:
    if width != feature_dim:
        raise ValidationError(
            "hyperparameters['feature_dim']",
            feature_dim,
            f"{width}, the number of word columns of channel {channel!r}",
            hint="feature_dim is the vocabulary size: one column per word.",
        )


def check_counts(matrix: Any, channel: str) -> None:
    """Word counts must be finite non-negative integers (dense or scipy sparse)."""
    values = matrix.data if hasattr(matrix, "tocsr") else np.asarray(matrix)
    field = f"channel {channel!r} counts"
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValidationError(field, "missing or infinite values", "finite word counts")
    bad = values < 0
    if bad.any():
        raise ValidationError(
            field, _examples(values[bad]), "non-negative integer word counts (no negatives)"
        )
    bad = values != np.round(values)
    if bad.any():
        raise ValidationError(
            field,
            _examples(values[bad]),
            "non-negative integer word counts",
            hint="Topic models read raw counts, not TF-IDF or normalised frequencies.",
        )


def _examples(values: np.ndarray) -> list[float]:
    return sorted({float(v) for v in values.ravel()[:1000]})[:5]


def read_vocabulary(channel_dir: str | Path, feature_dim: int | None = None) -> list[str]:
    """The words of the auxiliary channel's ``vocab.txt`` (one per line, UTF-8)."""
    path = Path(channel_dir)
    files = [f for f in channel_files(path) if f.name == VOCAB_FILE] if path.exists() else []
    if not files:
        raise ValidationError(
            "channel 'auxiliary'",
            [f.name for f in channel_files(path)] if path.exists() else str(path),
            f"a file named {VOCAB_FILE} (one word per line)",
        )
    try:
        text = files[0].read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationError(
            f"channel 'auxiliary' {VOCAB_FILE}", str(files[0]), "UTF-8 text"
        ) from None
    words = [w.strip() for w in text.splitlines()]
    while words and not words[-1]:
        words.pop()
    if feature_dim is not None and len(words) != feature_dim:
        raise ValidationError(
            f"channel 'auxiliary' {VOCAB_FILE}",
            f"{len(words)} words",
            f"{feature_dim} words, one per word id (feature_dim={feature_dim})",
        )
    return words


def write_vocabulary(model_dir: Path, vocabulary: list[str]) -> None:
    (Path(model_dir) / VOCAB_FILE).write_text("\n".join(vocabulary) + "\n", encoding="utf-8")


def _read_libsvm(path: Path, channel: str, feature_dim: int) -> Any:
    import scipy.sparse as sp
    from sklearn.datasets import load_svmlight_files

    files = channel_files(path)
    try:
        parts = load_svmlight_files(
            [str(f) for f in files], n_features=feature_dim, zero_based=True
        )
    except ValueError as exc:
        raise ValidationError(
            f"channel {channel!r} libsvm",
            str(exc)[:160],
            f"lines '<label> <word id>:<count> ...' with zero-based word ids < {feature_dim} "
            "(feature_dim)",
        ) from None
    return sp.vstack(parts[0::2]).tocsr()


def _read_jsonlines(path: Path, channel: str, feature_dim: int) -> Any:
    import scipy.sparse as sp

    rows, cols, vals = [], [], []
    n = 0
    for f in channel_files(path):
        with open(f, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                where = f"channel {channel!r} file {f.name} line {number}"
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValidationError(where, line[:80], f"a JSON record ({exc})") from None
                keys, values = _item_counts(item, feature_dim, where)
                rows.append(np.full(len(keys), n))
                cols.append(keys)
                vals.append(values)
                n += 1
    if n == 0:
        raise ValidationError(f"channel {channel!r}", str(path), "at least one JSON record")
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, feature_dim),
    )
    matrix.sum_duplicates()
    return matrix


# -- requests and in-kernel inputs ---------------------------------------------------------


def _item_counts(item: Any, feature_dim: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Word ids and counts of one SageMaker JSON record (dense or sparse)."""
    features = item
    if isinstance(item, dict):
        if isinstance(item.get("data"), dict):
            features = item["data"].get("features")
        else:
            features = item.get("features")
    if isinstance(features, dict):
        values = features.get("values")
        keys = features.get("keys")
        shape = features.get("shape")
        if not isinstance(values, list):
            raise ValidationError(where, _short(item), "'features' with a 'values' list")
        if shape is not None and list(shape) != [feature_dim]:
            raise ValidationError(
                f"{where} shape", shape, f"[{feature_dim}] (the vocabulary size, feature_dim)"
            )
        if keys is None:
            features = values
        else:
            if not isinstance(keys, list) or len(keys) != len(values):
                raise ValidationError(
                    f"{where} keys", _short(keys), "a list of word ids as long as 'values'"
                )
            k = _numbers(keys, f"{where} keys")
            v = _numbers(values, f"{where} values")
            if len(k) and (k.min() < 0 or k.max() >= feature_dim or np.any(k != np.round(k))):
                raise ValidationError(
                    f"{where} keys", _short(keys), f"integer word ids in [0, {feature_dim - 1}]"
                )
            return k.astype(np.int64), v
    if not isinstance(features, list):
        raise ValidationError(
            where,
            _short(item),
            "a list of counts, {'features': [...]} or "
            "{'features': {'keys': [...], 'values': [...], 'shape': [feature_dim]}}",
        )
    dense = _numbers(features, where)
    if len(dense) != feature_dim:
        raise ValidationError(
            where, f"{len(dense)} values", f"{feature_dim} counts, one per word (feature_dim)"
        )
    keys = np.flatnonzero(dense)
    return keys, dense[keys]


def _numbers(values: Any, where: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(where, _short(values), "numbers") from None
    if out.ndim != 1:
        raise ValidationError(where, _short(values), "a flat list of numbers")
    return out


def _short(value: Any) -> Any:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "..."


def decode_counts(body: bytes, content_type: str, feature_dim: int) -> np.ndarray:
    """An inference request as a float64 count matrix ``(records, feature_dim)``.

    ``text/csv`` (dense rows), ``application/json`` (``{"instances": [...]}`` of dense or
    sparse records, or one record), ``application/jsonlines`` (one record per line) and
    ``application/x-npy``. Raises ValidationError (HTTP 400) for anything else.
    """
    base, _ = parse_content_type(content_type)
    if base == FRAME_CONTENT_TYPE:
        try:
            matrix = np.load(io.BytesIO(body), allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ValidationError("request body", "bytes", f"a .npy array ({exc})") from None
        matrix = np.atleast_2d(np.asarray(matrix, dtype=np.float64))
        return _check_request(matrix, feature_dim)
    text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else str(body)
    if base in ("text/csv", "text/x-csv"):
        rows = [line for line in text.splitlines() if line.strip()]
        try:
            matrix = np.array([[float(c) for c in r.split(",")] for r in rows], dtype=np.float64)
        except ValueError:
            raise ValidationError(
                "text/csv request", rows[0][:80] if rows else "", "rows of word counts"
            ) from None
        if matrix.ndim != 2:
            raise ValidationError("text/csv request", "ragged rows", "rows of equal length")
        return _check_request(matrix, feature_dim)
    if base == "application/json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError("application/json request", text[:80], f"JSON ({exc})") from None
        if isinstance(obj, dict) and "instances" in obj:
            items = obj["instances"]
        elif isinstance(obj, dict):
            items = [obj]
        elif isinstance(obj, list) and obj and all(isinstance(v, (int, float)) for v in obj):
            items = [obj]
        else:
            items = obj
        if not isinstance(items, list) or not items:
            raise ValidationError(
                "application/json request", _short(obj), "{'instances': [records]}"
            )
        return _items_matrix(items, feature_dim, "application/json instance")
    if base in _JSONLINES:
        items = []
        for line in text.splitlines():
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValidationError(
                        "application/jsonlines request", line[:80], f"JSON ({exc})"
                    ) from None
        if not items:
            raise ValidationError("application/jsonlines request", "", "one record per line")
        return _items_matrix(items, feature_dim, "application/jsonlines record")
    raise ValidationError(
        "Content-Type", content_type, "one of " + ", ".join(REQUEST_CONTENT_TYPES)
    )


def _items_matrix(items: list[Any], feature_dim: int, what: str) -> np.ndarray:
    matrix = np.zeros((len(items), feature_dim))
    for i, item in enumerate(items):
        keys, values = _item_counts(item, feature_dim, f"{what} {i}")
        np.add.at(matrix[i], keys, values)
    return _check_request(matrix, feature_dim)


def _check_request(matrix: np.ndarray, feature_dim: int) -> np.ndarray:
    if matrix.ndim != 2 or matrix.shape[1] != feature_dim:
        raise ValidationError(
            "request", f"shape {matrix.shape}", f"{feature_dim} counts per record (feature_dim)"
        )
    if not np.all(np.isfinite(matrix)) or (matrix < 0).any():
        raise ValidationError("request counts", "negative or missing values", "counts >= 0")
    return matrix


def as_counts(inputs: Any, vocabulary: list[str] | None, feature_dim: int) -> tuple[Any, Any]:
    """What ``Model.predict`` was given as a count matrix, and the index to answer with.

    Accepts a DataFrame of counts (word columns are put in vocabulary order), a NumPy array
    or scipy sparse matrix of counts, or raw texts (a string, list or Series of strings),
    which are counted over the model's vocabulary.
    """
    import pandas as pd
    import scipy.sparse as sp

    if isinstance(inputs, str) or (
        isinstance(inputs, (list, tuple, pd.Series, np.ndarray))
        and len(inputs) > 0
        and all(isinstance(v, str) for v in (inputs if not isinstance(inputs, str) else [inputs]))
    ):
        if not vocabulary:
            raise ValidationError(
                "X", "texts", "word counts (this model has no vocabulary to count texts with)"
            )
        index = inputs.index if isinstance(inputs, pd.Series) else None
        return vectorize(inputs, vocabulary), index
    if isinstance(inputs, pd.DataFrame):
        columns = [str(c) for c in inputs.columns]
        if vocabulary and set(vocabulary) <= set(columns):
            frame = inputs.set_axis(columns, axis=1)[vocabulary]
        elif len(columns) == feature_dim:
            frame = inputs
        else:
            raise ValidationError(
                "X columns",
                f"{len(columns)} columns",
                f"{feature_dim} word-count columns"
                + (" (the model's vocabulary words)" if vocabulary else ""),
            )
        matrix = frame.to_numpy(dtype=np.float64, na_value=np.nan)
        _check_request(matrix, feature_dim)
        return matrix, inputs.index
    if sp.issparse(inputs):
        matrix = sp.csr_matrix(inputs, dtype=np.float64)
        if matrix.shape[1] != feature_dim:
            raise ValidationError("X", f"shape {matrix.shape}", f"{feature_dim} columns")
        if matrix.nnz and (not np.all(np.isfinite(matrix.data)) or (matrix.data < 0).any()):
            raise ValidationError("X counts", "negative or missing values", "counts >= 0")
        return matrix, None
    try:
        matrix = np.asarray(inputs, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(
            "X", type(inputs).__name__, "word counts or texts (a string or list of strings)"
        ) from None
    return _check_request(np.atleast_2d(matrix), feature_dim), None


def check_count_channels(hps: dict[str, Any], channels: list[Any]) -> None:
    """Kernel-side checks of prepared channels: widths, counts and the vocabulary file."""
    feature_dim = hps["feature_dim"]
    for chan in channels:
        base, params = parse_content_type(chan.content_type)
        if chan.name == "auxiliary":
            if chan.matrix is not None or chan.source is None:
                raise ValidationError(
                    "inputs['auxiliary']",
                    "a DataFrame",
                    f"a folder or file holding {VOCAB_FILE} (text/plain, one word per line)",
                )
            folder = chan.source if chan.source.is_dir() else chan.source.parent
            if chan.source.is_file() and chan.source.name != VOCAB_FILE:
                raise ValidationError(
                    "inputs['auxiliary']", chan.source.name, f"a file named {VOCAB_FILE}"
                )
            read_vocabulary(folder, feature_dim)
            continue
        if base == AUXILIARY_CONTENT_TYPE:
            raise ValidationError(
                f"inputs[{chan.name!r}] content_type",
                chan.content_type,
                "word counts; text/plain is for the 'auxiliary' channel's vocab.txt",
            )
        if chan.matrix is not None:
            matrix = chan.matrix[:, 1:] if chan.target is not None else chan.matrix
            _check_width(matrix.shape[1], feature_dim, chan.name)
            check_counts(matrix, chan.name)
        elif base in ("text/csv", "text/x-csv") and chan.files:
            first = chan.files[0]
            with open(first, encoding="utf-8", errors="replace") as handle:
                line = handle.readline().rstrip("\r\n")
            width = len(line.split(",")) if line else feature_dim
            if params.get("label_size", "0") != "0" or params.get("target"):
                width -= 1
            _check_width(width, feature_dim, chan.name)


# -- topic quality ------------------------------------------------------------------------


def npmi_coherence(
    topic_word: np.ndarray, counts: Any, top_n: int = 10
) -> tuple[float, list[float]]:
    """Mean NPMI coherence of each topic's ``top_n`` words on a corpus' documents.

    For two words, NPMI = log(p(a, b) / (p(a) p(b))) / -log p(a, b), with probabilities of
    appearing in (co-occurring in) a document of ``counts``; -1 for words never seen
    together, 1 for words always seen together. A topic's score is the mean over its pairs
    of top words (Bouma 2009; Lau et al. 2014). Returns the mean over topics and each topic's.

    Example
    -------
    >>> import numpy as np
    >>> round(npmi_coherence(np.array([[1.0, 0.9, 0.0]]), np.array([[1, 1, 0], [0, 0, 1]]),
    ...                      top_n=2)[0], 3)
    1.0
    """
    import scipy.sparse as sp

    topic_word = np.atleast_2d(np.asarray(topic_word, dtype=np.float64))
    present = sp.csc_matrix(counts) > 0
    n_docs = present.shape[0]
    per_topic = []
    for row in topic_word:
        top = np.argsort(-row, kind="stable")[:top_n]
        sub = present[:, top].astype(np.float64)
        joint = np.asarray((sub.T @ sub).todense()) / n_docs
        single = np.diag(joint).copy()
        scores = []
        for i in range(len(top)):
            for j in range(i + 1, len(top)):
                p = joint[i, j]
                if p <= 0 or single[i] <= 0 or single[j] <= 0:
                    scores.append(-1.0)
                elif p >= 1.0:
                    scores.append(1.0)
                else:
                    scores.append(float(np.log(p / (single[i] * single[j])) / -np.log(p)))
        per_topic.append(float(np.mean(scores)) if scores else 0.0)
    return float(np.mean(per_topic)), per_topic


def topic_purity(weights: np.ndarray, labels: Any) -> float:
    """Share of documents whose main topic's most common true label is their own.

    Each document goes to its heaviest topic; each topic counts the documents of its most
    common label (clustering purity). 1.0 means every topic holds one true label.
    """
    weights = np.asarray(weights)
    labels = np.asarray(labels)
    assigned = weights.argmax(axis=1)
    _, codes = np.unique(labels, return_inverse=True)
    total = 0
    for topic in np.unique(assigned):
        total += np.bincount(codes[assigned == topic]).max()
    return float(total / len(labels))


def topic_uniqueness(topic_word: np.ndarray, top_n: int = 10) -> float:
    """Topic uniqueness (Nan et al. 2019): 1.0 when no top word is shared between topics."""
    top = np.argsort(-np.asarray(topic_word), axis=1, kind="stable")[:, :top_n]
    counts = np.bincount(top.ravel(), minlength=np.asarray(topic_word).shape[1])
    return float(np.mean(1.0 / counts[top]))


# -- what NTM and LDA models share --------------------------------------------------------


class TopicModelBase:
    """Shared behaviour of trained topic models: words of topics, requests and predict.

    Subclasses set ``feature_dim``, ``num_topics``, ``vocabulary``, ``topic_word`` (topics x
    words, higher = more typical) and implement ``transform(counts) -> (n, k)`` and
    ``response_columns``.
    """

    problem_type = "topic_modeling"
    tabular = False  # Model.predict hands over what it is given: counts or texts
    request_content_types = REQUEST_CONTENT_TYPES
    feature_dim: int
    num_topics: int
    vocabulary: list[str] | None
    topic_word: np.ndarray

    @property
    def feature_names(self) -> list[str] | None:
        return list(self.vocabulary) if self.vocabulary else None

    def transform(self, counts: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode_request(self, body: bytes, content_type: str) -> np.ndarray:
        """An inference request as a count matrix (SageMaker's dense or sparse records)."""
        return decode_counts(body, content_type, self.feature_dim)

    def predict_frame(self, inputs: Any) -> Any:
        """Topic weights ``topic_0`` .. ``topic_{k-1}`` of counts or texts, one row each."""
        import pandas as pd

        matrix, index = as_counts(inputs, self.vocabulary, self.feature_dim)
        weights = self.transform(matrix)
        columns = [f"topic_{i}" for i in range(self.num_topics)]
        return pd.DataFrame(weights, columns=columns, index=index)

    def top_words(self, n: int = 10) -> Any:
        """The ``n`` most typical words of each topic: a DataFrame, one row per topic.

        Without a vocabulary (no ``vocab.txt`` and no word columns) the words are ids.
        """
        import pandas as pd

        rows = self.topics(n)
        return pd.DataFrame(
            rows,
            index=pd.Index([f"topic_{i}" for i in range(len(rows))], name="topic"),
            columns=[f"word_{j}" for j in range(len(rows[0]) if rows else 0)],
        )

    def topics(self, n: int = 10) -> list[list[str]]:
        """Each topic's ``n`` most typical words (word ids as strings without a vocabulary)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValidationError("n", n, "a positive integer")
        top = np.argsort(-self.topic_word, axis=1, kind="stable")[:, : int(n)]
        words = self.vocabulary or [str(i) for i in range(self.feature_dim)]
        return [[words[j] for j in row] for row in top]
