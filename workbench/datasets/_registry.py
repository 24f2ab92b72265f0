"""The dataset registry: names, sizes, cards and the loaders behind them.

Each dataset lives in a private module that exposes ``CARD`` (a plain dict with the dataset
card) and ``generate(n_rows, rng)`` (a pandas DataFrame of exactly ``n_rows`` rows). The
registry below maps names to those modules explicitly; nothing registers itself on import.
"""

from __future__ import annotations

import operator
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ValidationError
from . import _digits, _fraud, _maintenance, _marketing, _ratings, _text, _timeseries

__all__ = ["describe", "list_datasets", "load", "load_images"]

# name -> module with CARD and generate(n_rows, rng). Filled explicitly, in catalogue order.
_DATASETS: dict[str, ModuleType] = {
    "fraud": _fraud,
    "maintenance": _maintenance,
    "marketing": _marketing,
    "digits": _digits,
    "text": _text,
    "timeseries": _timeseries,
    "ratings": _ratings,
}
_SIZE_NAMES = ("small", "medium", "large")
_SIZE_RULE = '"small", "medium", "large" or a positive int (number of rows)'


def _resolve(name: object) -> str:
    """The registry key of dataset ``name``, or ValidationError listing the valid names."""
    key = name.strip().lower() if isinstance(name, str) else name
    if not isinstance(key, str) or key not in _DATASETS:
        raise ValidationError("name", name, "one of " + ", ".join(_DATASETS))
    return key


def _n_rows(module: ModuleType, size: object) -> int:
    """Resolve ``size`` (a size name or a positive int) to a row count."""
    if isinstance(size, str):
        key = size.strip().lower()
        if key in _SIZE_NAMES:
            return int(module.CARD["sizes"][key])
        raise ValidationError("size", size, _SIZE_RULE)
    if isinstance(size, bool | np.bool_):
        raise ValidationError("size", size, _SIZE_RULE)
    try:
        n = operator.index(size)  # ints and NumPy integers; rejects floats and strings
    except TypeError:
        raise ValidationError("size", size, _SIZE_RULE) from None
    if n <= 0:
        raise ValidationError("size", size, _SIZE_RULE, hint="The row count must be at least 1.")
    return n


def _rng(seed: object) -> np.random.Generator:
    """``numpy.random.default_rng(seed)`` for a non-negative int seed."""
    if isinstance(seed, bool | np.bool_):
        raise ValidationError("seed", seed, "a non-negative int")
    try:
        value = operator.index(seed)
    except TypeError:
        raise ValidationError("seed", seed, "a non-negative int") from None
    if value < 0:
        raise ValidationError("seed", seed, "a non-negative int")
    return np.random.default_rng(value)


def load(name: str, size: str | int = "small", seed: int = 0) -> pd.DataFrame:
    """Load (generate) a built-in dataset as a DataFrame.

    Parameters
    ----------
    name : str
        One of ``list_datasets()["name"]``: fraud, maintenance, marketing, digits, text,
        timeseries, ratings.
    size : {"small", "medium", "large"} or int, default "small"
        A named size (see ``describe(name)["sizes"]``) or the exact number of rows.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``; the same (name, size, seed) gives the same frame.

    Returns
    -------
    pandas.DataFrame
        The columns described in ``describe(name)["columns"]``; the target is the last
        column of the classification tables (fraud, maintenance, marketing, digits, text).

    Examples
    --------
    >>> from workbench import datasets
    >>> df = datasets.load("fraud", size=1000, seed=1)
    >>> df.shape
    (1000, 13)
    >>> df.columns[-1]
    'is_fraud'
    """
    module = _DATASETS[_resolve(name)]
    n_rows = _n_rows(module, size)
    frame = module.generate(n_rows, _rng(seed))
    return frame.reset_index(drop=True)


def load_images(
    name: str = "digits", size: str | int = "small", seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The image dataset as arrays: images ``(n, 8, 8)`` uint8 in 0..16 and labels ``(n,)``.

    The rows are the same as ``load(name, size, seed)``, reshaped.

    Examples
    --------
    >>> from workbench import datasets
    >>> images, labels = datasets.load_images("digits", size="small")
    >>> images.shape, images.dtype.name, labels.shape
    ((500, 8, 8), 'uint8', (500,))
    """
    module = _DATASETS[_resolve(name)]
    if not hasattr(module, "generate_images"):
        images = [key for key, mod in _DATASETS.items() if hasattr(mod, "generate_images")]
        raise ValidationError("name", name, "an image dataset: " + ", ".join(images))
    return module.generate_images(_n_rows(module, size), _rng(seed))


def describe(name: str) -> dict[str, Any]:
    """The dataset card of ``name``: meaning of every column, target, process and sizes.

    Examples
    --------
    >>> from workbench import datasets
    >>> card = datasets.describe("ratings")
    >>> card["problem_type"], card["sizes"]["large"] >= 100_000
    ('regression', True)
    """
    key = _resolve(name)
    card = _DATASETS[key].CARD
    return {
        "name": key,
        "title": card["title"],
        "task": card["task"],
        "problem_type": card["problem_type"],
        "target": card["target"],
        "columns": dict(card["columns"]),
        "generating_process": card["generating_process"],
        "sizes": dict(card["sizes"]),
        "sample_project": card["sample_project"],
        "source": card["source"],
        "description": card["description"],
    }


def list_datasets() -> pd.DataFrame:
    """One row per built-in dataset: name, task, target, problem type, sizes, description.

    Examples
    --------
    >>> from workbench import datasets
    >>> datasets.list_datasets()["name"].tolist()[:3]
    ['fraud', 'maintenance', 'marketing']
    """
    rows = []
    for name in _DATASETS:
        card = describe(name)
        rows.append(
            {
                "name": name,
                "task": card["task"],
                "target": card["target"],
                "problem_type": card["problem_type"],
                "rows_small": card["sizes"]["small"],
                "rows_medium": card["sizes"]["medium"],
                "rows_large": card["sizes"]["large"],
                "description": card["description"],
            }
        )
    return pd.DataFrame(rows)
