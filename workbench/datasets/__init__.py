"""Built-in datasets for the workshop's sample projects, generated or bundled, no download.

Seven datasets, each with a card (``describe``) documenting its columns and how it was
made: ``fraud``, ``maintenance``, ``marketing``, ``digits`` (real, scikit-learn's 8x8
digits), ``text``, ``timeseries`` and ``ratings``. Every one loads at three sizes
("small" for tests, "medium", "large" with at least 100,000 rows) or an exact row count,
and the same (name, size, seed) always gives the same frame.

Example
-------
>>> from workbench import datasets
>>> sorted(datasets.list_datasets()["name"])[:2]
['digits', 'fraud']
>>> df = datasets.load("marketing", size="small", seed=0)
>>> df["subscribed"].isin([0, 1]).all()
True
"""

from __future__ import annotations

from ._registry import describe, list_datasets, load, load_images

__all__ = ["describe", "list_datasets", "load", "load_images"]
