"""Algorithm lookup by SageMaker name. Algorithms import their heavy libraries lazily."""

from __future__ import annotations

import importlib
from typing import Any

from ..exceptions import ValidationError
from ._base import Algorithm

__all__ = ["get_algorithm", "list_algorithms", "describe_algorithms"]

# name -> (module, class). Filled explicitly, not as an import side effect.
_ALGORITHMS: dict[str, tuple[str, str]] = {
    "xgboost": ("workbench.algorithms._xgboost", "XGBoost"),
    "linear-learner": ("workbench.algorithms._linear_learner", "LinearLearner"),
    "knn": ("workbench.algorithms._knn", "KNN"),
    "kmeans": ("workbench.algorithms._kmeans", "KMeans"),
    "pca": ("workbench.algorithms._pca", "PCA"),
    "randomcutforest": ("workbench.algorithms._rcf", "RandomCutForest"),
    "factorization-machines": ("workbench.algorithms._fm", "FactorizationMachines"),
    "image-classification": ("workbench.algorithms._image_classification", "ImageClassification"),
    "forecasting-deepar": ("workbench.algorithms._deepar", "DeepAR"),
    "ntm": ("workbench.algorithms._ntm", "NTM"),
    "lda": ("workbench.algorithms._lda", "LDA"),
    "blazingtext": ("workbench.algorithms._blazingtext", "BlazingText"),
}
_ALIASES = {
    "linear_learner": "linear-learner",
    "linearlearner": "linear-learner",
    "k-nn": "knn",
    "k-means": "kmeans",
    "random-cut-forest": "randomcutforest",
    "rcf": "randomcutforest",
    "factorization_machines": "factorization-machines",
    "fm": "factorization-machines",
    "image_classification": "image-classification",
    "deepar": "forecasting-deepar",
    "neural-topic-model": "ntm",
    "blazing-text": "blazingtext",
}


def list_algorithms() -> list[str]:
    """SageMaker names of the built-in algorithms."""
    return sorted(_ALGORITHMS)


def get_algorithm(name: str) -> Algorithm:
    """The built-in algorithm called ``name`` (e.g. ``"xgboost"``, ``"linear-learner"``)."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _ALGORITHMS:
        raise ValidationError("algorithm", name, "one of " + ", ".join(list_algorithms()))
    module, cls = _ALGORITHMS[key]
    return getattr(importlib.import_module(module), cls)()


def describe_algorithms() -> Any:
    """The catalogue as a DataFrame: name, title, problem types, channels, formats, engine.

    Example
    -------
    >>> from workbench.algorithms import describe_algorithms
    >>> table = describe_algorithms()
    >>> table.loc[table["name"] == "kmeans", "supervised"].item()
    False
    """
    import pandas as pd

    rows = []
    for name in list_algorithms():
        algo = get_algorithm(name)
        rows.append(
            {
                "name": name,
                "title": algo.title,
                "supervised": algo.supervised,
                "engine": algo.engine,
                "channels": ", ".join(algo.channels),
                "content_types": ", ".join(algo.content_types),
                "required": ", ".join(h.name for h in algo.hyperparameters if h.required),
                "description": algo.description,
            }
        )
    return pd.DataFrame(rows)
