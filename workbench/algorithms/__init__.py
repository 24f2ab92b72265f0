"""Built-in algorithms with SageMaker's names, hyperparameters and metrics.

Example
-------
>>> from workbench.algorithms import get_algorithm
>>> algo = get_algorithm("xgboost")
>>> algo.validate_hyperparameters({"num_round": 10})["num_round"]
10
"""

from __future__ import annotations

from ._base import Algorithm, TrainedModel
from ._data import FRAME_CONTENT_TYPE, LabeledData, parse_content_type, read_channel
from ._registry import describe_algorithms, get_algorithm, list_algorithms
from ._schema import Hyperparameter, HyperparameterSchema

# Data helpers of single algorithms, imported on first use (their modules are light, but
# there is no reason to load ten algorithm modules for ``import workbench.algorithms``).
_LAZY = {
    "encode_one_hot": "._fm",
    "OneHotEncoding": "._fm",
    "to_series": "._deepar",
    "write_series": "._deepar",
    "read_series": "._deepar",
    "weighted_quantile_loss": "._deepar",
    "write_corpus": "._blazingtext",
    "tokenize": "._blazingtext",
    "save_image_folder": "._image_classification",
    "bag_of_words": "._text",
    "npmi_coherence": "._text",
    "topic_purity": "._text",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Algorithm",
    "FRAME_CONTENT_TYPE",
    "Hyperparameter",
    "HyperparameterSchema",
    "LabeledData",
    "OneHotEncoding",
    "TrainedModel",
    "bag_of_words",
    "describe_algorithms",
    "encode_one_hot",
    "read_series",
    "save_image_folder",
    "to_series",
    "topic_purity",
    "tokenize",
    "weighted_quantile_loss",
    "write_corpus",
    "write_series",
    "get_algorithm",
    "list_algorithms",
    "npmi_coherence",
    "parse_content_type",
    "read_channel",
]
