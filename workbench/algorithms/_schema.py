"""Hyperparameter schemas: types, ranges, defaults and docs for every algorithm.

A schema validates hyperparameters before a job starts (in the kernel) and parses the
string values of ``hyperparameters.json`` inside the job; panels build their forms from it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import ValidationError

__all__ = ["Hyperparameter", "HyperparameterSchema", "AUTO"]

AUTO = "auto"
_TYPES = ("int", "float", "str", "bool", "list")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter.

    ``type`` is ``int``, ``float``, ``str``, ``bool`` or ``list`` (a comma-separated list of
    ``choices``). ``low``/``high`` bound numbers (inclusive unless ``low_open``/``high_open``).
    ``allow_auto`` also accepts the string ``"auto"`` (Linear Learner's convention).
    """

    name: str
    type: str
    default: Any = None
    doc: str = ""
    required: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    allow_auto: bool = False
    tunable: bool = True

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"Hyperparameter type must be one of {_TYPES}, got {self.type!r}")

    @property
    def allowed(self) -> str:
        """A human-readable statement of what values are allowed."""
        if self.type == "bool":
            text = "a boolean (true/false)"
        elif self.type == "list":
            text = f"a comma-separated list of {', '.join(map(str, self.choices or ()))}"
        elif self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            kind = {"int": "an integer", "float": "a number", "str": "a string"}[self.type]
            text = kind + self._range_text()
        if self.allow_auto:
            text += " or 'auto'"
        return text

    def _range_text(self) -> str:
        if self.low is None and self.high is None:
            return ""
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        low = "-inf" if self.low is None else _fmt(self.low)
        high = "inf" if self.high is None else _fmt(self.high)
        return f" in {lo}{low}, {high}{hi}"

    def parse(self, value: Any, field_name: str | None = None) -> Any:
        """Return ``value`` converted to this hyperparameter's type, or raise ValidationError."""
        where = field_name or f"hyperparameters[{self.name!r}]"
        if self.allow_auto and isinstance(value, str) and value.strip().lower() == AUTO:
            return AUTO
        try:
            parsed = self._convert(value)
        except (TypeError, ValueError):
            raise ValidationError(where, value, self.allowed) from None
        if self.choices is not None and self.type != "list" and parsed not in self.choices:
            raise ValidationError(where, value, self.allowed)
        if self.type in ("int", "float") and not self._in_range(parsed):
            raise ValidationError(where, value, self.allowed)
        return parsed

    def _convert(self, value: Any) -> Any:
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(value)
        if self.type == "int":
            if isinstance(value, bool):
                raise TypeError(value)
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(value)
                return int(value)
            if isinstance(value, str):
                number = float(value.strip())
                if not number.is_integer():
                    raise ValueError(value)
                return int(number)
            return int(value)
        if self.type == "float":
            if isinstance(value, bool):
                raise TypeError(value)
            number = float(value.strip() if isinstance(value, str) else value)
            if math.isnan(number):
                raise ValueError(value)
            return number
        if self.type == "list":
            items = value if isinstance(value, (list, tuple)) else str(value).split(",")
            items = [str(i).strip() for i in items if str(i).strip()]
            if not items or (self.choices and any(i not in self.choices for i in items)):
                raise ValueError(value)
            return items
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise TypeError(value)
        return str(value)

    def _in_range(self, x: float) -> bool:
        if self.low is not None and (x < self.low or (self.low_open and x == self.low)):
            return False
        if self.high is not None and (x > self.high or (self.high_open and x == self.high)):
            return False
        return True

    def to_string(self, value: Any) -> str:
        """SageMaker's encoding: every hyperparameter value is a string."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple)):
            return ",".join(map(str, value))
        return str(value)


@dataclass(frozen=True)
class HyperparameterSchema:
    """The ordered hyperparameters of one algorithm."""

    params: tuple[Hyperparameter, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(names) != len(set(names)):
            raise ValueError(f"Duplicate hyperparameter names in schema: {names}")

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.params)

    def __contains__(self, name: object) -> bool:
        return any(p.name == name for p in self.params)

    def __getitem__(self, name: str) -> Hyperparameter:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def defaults(self) -> dict[str, Any]:
        """Defaults of every hyperparameter that has one."""
        return {p.name: p.default for p in self.params if p.default is not None}

    def validate(self, values: Mapping[str, Any], ignore: Iterable[str] = ()) -> dict[str, Any]:
        """Check and type ``values``; fill in defaults. Raises ValidationError on the first problem.

        Names in ``ignore`` (e.g. SageMaker's reserved ``sagemaker_*`` keys) pass through.
        """
        skip = set(ignore)
        for key in values:
            if key in skip or key.startswith("sagemaker_") or key == "_tuning_objective_metric":
                continue
            if key not in self:
                raise ValidationError(
                    f"hyperparameters[{key!r}]",
                    values[key],
                    "a known hyperparameter",
                    hint=f"Unknown hyperparameter {key!r}; allowed: {', '.join(self.names)}.",
                )
        out = self.defaults()
        if values.get("_tuning_objective_metric"):  # SageMaker's tuner injects it; XGBoost reads it
            out["_tuning_objective_metric"] = str(values["_tuning_objective_metric"])
        for p in self.params:
            if p.name in values and values[p.name] is not None:
                out[p.name] = p.parse(values[p.name])
            elif p.required:
                raise ValidationError(
                    f"hyperparameters[{p.name!r}]", None, p.allowed, hint="It is required."
                )
        return out

    def to_strings(self, values: Mapping[str, Any]) -> dict[str, str]:
        out = {}
        for key, value in values.items():
            out[key] = self[key].to_string(value) if key in self else str(value)
        return out

    def table(self) -> list[dict[str, Any]]:
        """One dict per hyperparameter (name, type, default, allowed, required, doc)."""
        return [
            {
                "name": p.name,
                "type": p.type,
                "default": p.default,
                "allowed": p.allowed,
                "required": p.required,
                "doc": p.doc,
            }
            for p in self.params
        ]


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))
