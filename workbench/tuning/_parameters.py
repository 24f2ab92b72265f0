"""Hyperparameter ranges with SageMaker's names, and their Optuna distributions.

Scaling types map to Optuna as follows:

* ``Linear``: a uniform distribution over ``[min_value, max_value]``.
* ``Logarithmic``: ``log=True`` (both bounds must be > 0).
* ``ReverseLogarithmic`` (continuous only, ``0 <= min_value < max_value < 1``): the study
  samples ``z = 1 - x`` log-uniformly in ``[1 - max_value, 1 - min_value]`` and the job gets
  ``x = 1 - z``, which puts more trials close to 1, as SageMaker does. The study (and its
  plots) therefore shows ``1 - x`` for such a hyperparameter.
* ``Auto``: ``Logarithmic`` when ``min_value > 0`` and the range spans at least three orders
  of magnitude (``max_value / min_value >= 1000``), else ``Linear``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..exceptions import ValidationError

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

    from ..algorithms import Hyperparameter

__all__ = [
    "CategoricalParameter",
    "ContinuousParameter",
    "IntegerParameter",
    "ParameterRange",
    "SCALING_TYPES",
    "parameter_ranges_dict",
    "range_from_spec",
    "range_to_spec",
]

SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
MAX_CATEGORICAL_VALUES = 30


class ParameterRange:
    """Base class of the three range types."""

    __name__ = "Parameter"
    #: Key of SageMaker's ``ParameterRanges`` this type is listed under.
    ranges_key = ""

    def is_valid(self, value: Any) -> bool:
        """True if ``value`` (a hyperparameter value) lies in this range."""
        raise NotImplementedError

    def check(self, name: str, spec: Hyperparameter | None) -> None:
        """Raise ValidationError if this range does not fit the hyperparameter ``spec``."""
        raise NotImplementedError

    def distribution(self) -> BaseDistribution:
        """The Optuna distribution the study samples from."""
        raise NotImplementedError

    def to_value(self, sampled: Any) -> Any:
        """The hyperparameter value for an Optuna sample."""
        return sampled

    def to_sample(self, value: Any) -> Any:
        """The Optuna sample for a hyperparameter value (warm start)."""
        return value

    def example(self) -> Any:
        """A value of the range, used to check the hyperparameters before any job starts."""
        raise NotImplementedError

    def as_tuning_range(self, name: str) -> dict[str, Any]:
        """SageMaker's ``{"Name": ..., "MinValue": ..., ...}`` form (values as strings)."""
        raise NotImplementedError


class _NumericRange(ParameterRange):
    _kind = "number"

    def __init__(self, min_value: float, max_value: float, scaling_type: str = "Auto") -> None:
        self.min_value = min_value
        self.max_value = max_value
        self.scaling_type = scaling_type

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.min_value!r}, {self.max_value!r}, "
            f"scaling_type={self.scaling_type!r})"
        )

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def _validate_self(self, where: str) -> None:
        for key in ("min_value", "max_value"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValidationError(f"{where}.{key}", value, f"{self._kind}")
            if not math.isfinite(value):
                raise ValidationError(f"{where}.{key}", value, "a finite number")
        if self.scaling_type not in SCALING_TYPES:
            raise ValidationError(
                f"{where}.scaling_type", self.scaling_type, "one of " + ", ".join(SCALING_TYPES)
            )
        if self.min_value > self.max_value:
            raise ValidationError(
                where,
                (self.min_value, self.max_value),
                "min_value <= max_value",
            )
        if self.scaling_type == "Logarithmic" and self.min_value <= 0:
            raise ValidationError(
                f"{where}.min_value", self.min_value, "a value > 0 for Logarithmic scaling"
            )

    @property
    def scale(self) -> str:
        """The scaling actually used (``Auto`` resolved)."""
        if self.scaling_type != "Auto":
            return self.scaling_type
        if self.min_value > 0 and self.max_value / self.min_value >= 1000:
            return "Logarithmic"
        return "Linear"

    def is_valid(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return self.min_value <= value <= self.max_value

    def example(self) -> Any:
        return self.min_value

    def as_tuning_range(self, name: str) -> dict[str, Any]:
        return {
            "Name": name,
            "MinValue": str(self.min_value),
            "MaxValue": str(self.max_value),
            "ScalingType": self.scaling_type,
        }

    def _check_spec_bounds(self, name: str, spec: Hyperparameter, where: str) -> None:
        for key in ("min_value", "max_value"):
            spec.parse(getattr(self, key), field_name=f"{where}.{key}")


class IntegerParameter(_NumericRange):
    """An integer range, as SageMaker's ``IntegerParameter``.

    Example
    -------
    >>> IntegerParameter(2, 10).distribution()
    IntDistribution(high=10, log=False, low=2, step=1)
    """

    ranges_key = "IntegerParameterRanges"
    _kind = "an integer"

    def _validate_self(self, where: str) -> None:
        for key in ("min_value", "max_value"):
            value = getattr(self, key)
            if isinstance(value, float) and value.is_integer():
                setattr(self, key, int(value))
            elif not isinstance(value, int) or isinstance(value, bool):
                raise ValidationError(f"{where}.{key}", value, "an integer")
        if self.scaling_type == "ReverseLogarithmic":
            raise ValidationError(
                f"{where}.scaling_type",
                self.scaling_type,
                "Auto, Linear or Logarithmic (ReverseLogarithmic is for continuous ranges only)",
            )
        super()._validate_self(where)

    def check(self, name: str, spec: Hyperparameter | None) -> None:
        where = f"hyperparameter_ranges[{name!r}]"
        self._validate_self(where)
        if spec is None:
            return
        if spec.type not in ("int", "float") or spec.choices is not None:
            raise ValidationError(where, self, f"a CategoricalParameter ({name} is {spec.allowed})")
        self._check_spec_bounds(name, spec, where)

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import IntDistribution

        return IntDistribution(
            int(self.min_value), int(self.max_value), log=self.scale == "Logarithmic"
        )

    def is_valid(self, value: Any) -> bool:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return isinstance(value, int) and super().is_valid(value)

    def to_value(self, sampled: Any) -> Any:
        return int(sampled)


class ContinuousParameter(_NumericRange):
    """A continuous range, as SageMaker's ``ContinuousParameter``.

    Example
    -------
    >>> ContinuousParameter(1e-4, 1.0).scale   # Auto: four orders of magnitude
    'Logarithmic'
    """

    ranges_key = "ContinuousParameterRanges"
    _kind = "a number"

    def _validate_self(self, where: str) -> None:
        super()._validate_self(where)
        if self.scaling_type == "ReverseLogarithmic" and not (
            0 <= self.min_value and self.max_value < 1
        ):
            raise ValidationError(
                where,
                (self.min_value, self.max_value),
                "0 <= min_value and max_value < 1 for ReverseLogarithmic scaling",
            )

    def check(self, name: str, spec: Hyperparameter | None) -> None:
        where = f"hyperparameter_ranges[{name!r}]"
        self._validate_self(where)
        if spec is None:
            return
        if spec.type != "float" or spec.choices is not None:
            expected = "an IntegerParameter" if spec.type == "int" else "a CategoricalParameter"
            raise ValidationError(where, self, f"{expected} ({name} is {spec.allowed})")
        self._check_spec_bounds(name, spec, where)

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import FloatDistribution

        low, high = float(self.min_value), float(self.max_value)
        if self.scale == "ReverseLogarithmic":
            return FloatDistribution(1.0 - high, 1.0 - low, log=True)
        return FloatDistribution(low, high, log=self.scale == "Logarithmic")

    def to_value(self, sampled: Any) -> Any:
        if self.scale == "ReverseLogarithmic":
            return min(max(1.0 - float(sampled), self.min_value), self.max_value)
        return float(sampled)

    def to_sample(self, value: Any) -> Any:
        return 1.0 - float(value) if self.scale == "ReverseLogarithmic" else float(value)


class CategoricalParameter(ParameterRange):
    """A set of values, as SageMaker's ``CategoricalParameter``.

    Example
    -------
    >>> CategoricalParameter(["gbtree", "dart"]).distribution()
    CategoricalDistribution(choices=('gbtree', 'dart'))
    """

    ranges_key = "CategoricalParameterRanges"

    def __init__(self, values: Any) -> None:
        if isinstance(values, (str, int, float, bool)):
            values = [values]
        self.values = list(values)

    def __repr__(self) -> str:
        return f"CategoricalParameter({self.values!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CategoricalParameter) and other.values == self.values

    def check(self, name: str, spec: Hyperparameter | None) -> None:
        where = f"hyperparameter_ranges[{name!r}].values"
        if not self.values:
            raise ValidationError(where, self.values, "at least one value")
        if len(self.values) > MAX_CATEGORICAL_VALUES:
            raise ValidationError(
                where, len(self.values), f"at most {MAX_CATEGORICAL_VALUES} values"
            )
        if len(set(map(repr, self.values))) != len(self.values):
            raise ValidationError(where, self.values, "distinct values")
        for i, value in enumerate(self.values):
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise ValidationError(f"{where}[{i}]", value, "a string, number or boolean")
            if spec is not None:
                spec.parse(value, field_name=f"{where}[{i}]")

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(self.values)

    def is_valid(self, value: Any) -> bool:
        return value in self.values

    def example(self) -> Any:
        return self.values[0]

    def as_tuning_range(self, name: str) -> dict[str, Any]:
        return {"Name": name, "Values": [str(v) for v in self.values]}


def parameter_ranges_dict(ranges: dict[str, ParameterRange]) -> dict[str, list[dict[str, Any]]]:
    """SageMaker's ``ParameterRanges``: ranges grouped by type."""
    out: dict[str, list[dict[str, Any]]] = {
        "IntegerParameterRanges": [],
        "ContinuousParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    for name, rng in ranges.items():
        out[rng.ranges_key].append(rng.as_tuning_range(name))
    return out


def range_to_spec(rng: ParameterRange) -> dict[str, Any]:
    """A JSON form that keeps the values' types (stored in the catalogue for ``attach``)."""
    if isinstance(rng, CategoricalParameter):
        return {"type": "Categorical", "values": list(rng.values)}
    assert isinstance(rng, _NumericRange)
    return {
        "type": "Integer" if isinstance(rng, IntegerParameter) else "Continuous",
        "min_value": rng.min_value,
        "max_value": rng.max_value,
        "scaling_type": rng.scaling_type,
    }


def range_from_spec(spec: dict[str, Any]) -> ParameterRange:
    """Inverse of :func:`range_to_spec`."""
    if spec["type"] == "Categorical":
        return CategoricalParameter(spec["values"])
    cls = IntegerParameter if spec["type"] == "Integer" else ContinuousParameter
    return cls(spec["min_value"], spec["max_value"], spec["scaling_type"])
