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

SUPERVISED_PROBLEM_TYPES = ("binary_classification", "multiclass_classification", "regression")
PROBLEM_TYPES = (
    *SUPERVISED_PROBLEM_TYPES,
    "clustering",
    "dimensionality_reduction",
    "anomaly_detection",
    "forecasting",
    "topic_modeling",
    "embedding",
)


class TrainedModel(Protocol):
    """What ``Algorithm.load`` returns.

    Every model has ``problem_type`` and ``feature_names`` and answers endpoints with
    ``response_columns(inputs)``: one array per SageMaker response key, one entry per
    record (1-D numbers, 2-D for vectors, object arrays for nested values), e.g.
    ``{"closest_cluster": ..., "distance_to_cluster": ...}``. Optional members:

    - ``response_envelope``: the JSON key around the records (``"predictions"`` when
      absent; PCA uses ``"projections"``, RCF ``"scores"``; ``None`` for a bare list as
      image classification and BlazingText answer).
    - ``request_content_types`` and ``decode_request(body, content_type)``: for models
      whose requests are not feature rows (images, JSON series, sentences);
      ``decode_request`` returns what ``response_columns`` takes and raises
      ``ValidationError`` (HTTP 400) for bad input. Tabular models get a float64 matrix.
    - ``predict_frame(inputs)``: the in-kernel answer as a DataFrame (``Model.predict``),
      for models that are not classifiers or regressors; ``inputs`` is the float64
      matrix for tabular models, else what the user passed (images, texts, series).
    - ``tabular``: ``False`` for models whose inputs are not feature rows (images, texts,
      series): ``Model.predict`` hands them the user's inputs unchanged.
    - ``predict`` / ``predict_proba`` on a float64 matrix: classifiers and regressors.
    """

    problem_type: str
    feature_names: list[str] | None

    def response_columns(self, inputs: Any) -> dict[str, np.ndarray]:
        """SageMaker's inference response, as columns."""
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
        "text/libsvm",
    )
    #: Modules a warm job runner imports ahead of time for this algorithm.
    preload: ClassVar[tuple[str, ...]] = ("numpy", "pandas")
    #: False for algorithms that learn without labels: DataFrame channels need no target.
    supervised: ClassVar[bool] = True
    #: What trains the model: "numpy", "xgboost" or "mxnet" (imported lazily in ``train``).
    engine: ClassVar[str] = "numpy"

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

    def check_data(self, hps: dict[str, Any], channels: list[Any]) -> None:  # noqa: B027
        """Check the data against the hyperparameters in the kernel, before a job starts.

        ``channels`` are ``workbench.training._inputs.PreparedChannel`` objects: ``name``,
        ``content_type``, and either ``matrix`` (float64, target first when ``target`` is
        set) with ``columns`` and ``n_rows``, or ``source`` / ``files`` for paths.
        Override to raise ValidationError (feature_dim, k larger than the data, ...).
        """

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
