"""Numeric features of labelling items, for the automated-labelling model.

* images: grey levels in 0..1, resized to ``side x side`` (the images' own size when they
  all share one of at most 32 pixels, else 32), row-major;
* texts: TF-IDF (sublinear term frequency, words of 2+ letters, at most 20,000 terms),
  fitted on every item of the job, kept sparse;
* records: the numeric columns as they are and the others one-hot encoded (at most 50
  values each); missing values stay NaN (the tabular model handles them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._manifest import Item, load_image

if TYPE_CHECKING:
    import pandas as pd

    from ._job import LabelingJob

__all__ = ["Features", "featurize"]

_MAX_SIDE = 32
_MAX_TERMS = 20_000
_MAX_LEVELS = 50


@dataclass
class Features:
    """A feature matrix (dense ndarray or SciPy CSR) for ``items`` (their ids), by row."""

    matrix: Any
    items: np.ndarray
    names: list[str]
    failed: dict[int, str]

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        dense = self.matrix.toarray() if hasattr(self.matrix, "toarray") else self.matrix
        return pd.DataFrame(dense, columns=self.names)


def featurize(job: LabelingJob, items: list[Item]) -> Features:
    """Features of ``items``; items that cannot be read are returned in ``failed``."""
    media = job._media(job.task)
    if media == "image":
        return _images(items)
    if media == "text":
        return _texts(items)
    return _records(items)


def _images(items: list[Item]) -> Features:
    pictures: list[tuple[int, Any]] = []
    failed: dict[int, str] = {}
    for item in items:
        try:
            assert item.image_path is not None
            pictures.append((item.item, load_image(item.image_path).convert("L")))
        except (OSError, ValueError, AssertionError) as exc:
            failed[item.item] = f"unreadable image {item.image_path}: {exc}"
    sizes = {p.size for _, p in pictures}
    shape = (_MAX_SIDE, _MAX_SIDE)
    if len(sizes) == 1 and max(next(iter(sizes))) <= _MAX_SIDE:
        shape = next(iter(sizes))  # all images share one small size: keep it
    rows = []
    for _, picture in pictures:
        if picture.size != shape:
            picture = picture.resize(shape)
        rows.append(np.asarray(picture, dtype=np.float32).ravel() / 255.0)
    width = shape[0] * shape[1]
    matrix = np.vstack(rows) if rows else np.zeros((0, width), dtype=np.float32)
    names = [f"pixel_{i}" for i in range(width)]
    return Features(matrix, np.array([i for i, _ in pictures], dtype=np.int64), names, failed)


def _texts(items: list[Item]) -> Features:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [item.text or "" for item in items]
    vectorizer = TfidfVectorizer(sublinear_tf=True, max_features=_MAX_TERMS, dtype=np.float32)
    try:
        matrix = vectorizer.fit_transform(texts).tocsr()
        names = [f"tfidf_{w}" for w in vectorizer.get_feature_names_out()]
    except ValueError:  # no words at all (empty texts)
        from scipy import sparse

        matrix, names = sparse.csr_matrix((len(texts), 1), dtype=np.float32), ["tfidf_"]
    return Features(matrix, np.array([i.item for i in items], dtype=np.int64), names, {})


def _records(items: list[Item]) -> Features:
    import pandas as pd

    frame = pd.DataFrame([item.record for item in items])
    parts, names = [], []
    for column in frame.columns:
        values = frame[column]
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() >= values.notna().sum() * 0.95:
            parts.append(numeric.to_numpy(dtype=np.float64))
            names.append(str(column))
            continue
        top = values.astype("string").value_counts().index[:_MAX_LEVELS]
        for level in top:
            parts.append((values.astype("string") == level).fillna(False).to_numpy(np.float64))
            names.append(f"{column}={level}")
    matrix = np.column_stack(parts) if parts else np.zeros((len(items), 0))
    return Features(matrix, np.array([i.item for i in items], dtype=np.int64), names, {})
