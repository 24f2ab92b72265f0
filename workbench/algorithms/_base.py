"""The contract every built-in algorithm follows.

An algorithm declares its hyperparameter schema, the metrics it emits (SageMaker's
``train:*`` / ``validation:*`` names with the regexes that find them in its log), and
implements ``train`` (inside the job process) and ``load`` (a trained model from a model
folder). It never touches the catalogue: the training runtime does that.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from ..exceptions import ValidationError
from ._data import FRAME_CONTENT_TYPE
from ._schema import HyperparameterSchema

if TYPE_CHECKING:
    from ..training._environment import TrainingEnvironment

__all__ = [
    "Algorithm",
    "TrainedModel",
    "NUMBER_REGEX",
    "quality_metric_line",
    "quality_metric_regex",
]

#: A floating point number, as SageMaker's metric regexes capture it.
NUMBER_REGEX = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|nan|inf|-inf)"

PROBLEM_TYPES = ("binary_classification", "multiclass_classification", "regression")


class TrainedModel(Protocol):
    """What ``Algorithm.load`` returns: predictions on a float64 feature matrix."""

    problem_type: str
    feature_names: list[str] | None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels (classifiers) or values (regressors), shape ``(n,)``."""
        ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)``; classifiers only."""
        ...


class Algorithm(ABC):
    """Base class of built-in algorithms (see ``workbench.algorithms.get_algorithm``)."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    hyperparameters: ClassVar[HyperparameterSchema]
    channels: ClassVar[tuple[str, ...]] = ("train", "validation")
    required_channels: ClassVar[tuple[str, ...]] = ("train",)
    content_types: ClassVar[tuple[str, ...]] = (
        "text/csv",
        "application/x-parquet",
        FRAME_CONTENT_TYPE,
    )
    #: Modules a warm job runner imports ahead of time for this algorithm.
    preload: ClassVar[tuple[str, ...]] = ("numpy", "pandas")

    def validate_hyperparameters(self, values: dict[str, Any]) -> dict[str, Any]:
        """Typed, defaulted hyperparameters, or a ValidationError naming the field."""
        typed = self.hyperparameters.validate(values)
        self.check_hyperparameters(typed)
        return typed

    def check_hyperparameters(self, hps: dict[str, Any]) -> None:  # noqa: B027
        """Cross-field checks; override to raise ValidationError."""

    def check_channels(self, channels: list[str]) -> None:
        for required in self.required_channels:
            if required not in channels:
                raise ValidationError(
                    "inputs",
                    channels,
                    f"a {required!r} channel for algorithm {self.name!r}",
                )
        for channel in channels:
            if channel not in self.channels:
                raise ValidationError(
                    f"inputs[{channel!r}]",
                    channel,
                    f"one of the channels {', '.join(self.channels)} of algorithm {self.name!r}",
                )

    def check_inputs(self, hps: dict[str, Any], channels: list[str]) -> None:
        """Checks that need both the hyperparameters and the channel names."""
        self.check_channels(channels)

    def check_labels(self, y: np.ndarray, hps: dict[str, Any], channel: str) -> None:  # noqa: B027
        """Check a channel's labels against the hyperparameters (kernel and job side)."""

    @abstractmethod
    def problem_type(self, hps: dict[str, Any]) -> str:
        """One of binary_classification, multiclass_classification, regression."""

    @abstractmethod
    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        """``[{"Name": "validation:auc", "Regex": ...}, ...]`` this algorithm emits."""

    @abstractmethod
    def train(self, env: TrainingEnvironment, hps: dict[str, Any]) -> None:
        """Train inside the job process: read channels, print metrics, write ``env.model_dir``."""

    @abstractmethod
    def load(self, model_dir: Path) -> TrainedModel:
        """Load a trained model from an unpacked model folder."""


def quality_metric_line(channel: str, metric: str, value: float, epoch: int | None = None) -> str:
    """A metric line in the style of SageMaker's first-party algorithms."""
    where = f"epoch={epoch}, " if epoch is not None else ""
    return f"#quality_metric: host=algo-1, {where}{channel} {metric} <score>={value:.6g}"


def quality_metric_regex(channel: str, metric: str) -> str:
    """The regex that finds :func:`quality_metric_line` values for ``channel:metric``."""
    return rf"#quality_metric: host=\S+, (?:epoch=\S+, )?{re.escape(channel)} {re.escape(metric)} <score>={NUMBER_REGEX}"
