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

__all__ = [
    "Algorithm",
    "FRAME_CONTENT_TYPE",
    "Hyperparameter",
    "HyperparameterSchema",
    "LabeledData",
    "TrainedModel",
    "describe_algorithms",
    "get_algorithm",
    "list_algorithms",
    "parse_content_type",
    "read_channel",
]
