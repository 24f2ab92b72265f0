"""The tuner's settings, checked before anything is written: ranges, objective, strategy."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..exceptions import ValidationError
from ._parameters import CategoricalParameter, ParameterRange

if TYPE_CHECKING:
    from ..algorithms import Algorithm
    from ..training import Estimator

__all__ = [
    "EARLY_STOPPING_TYPES",
    "ESTIMATOR_FIELDS",
    "HyperbandStrategyConfig",
    "MAX_TUNABLE",
    "OBJECTIVE_TYPES",
    "STRATEGIES",
    "TuningJobCompletionCriteriaConfig",
    "WarmStartConfig",
    "WarmStartTypes",
    "check_objective",
    "check_ranges",
    "estimator_kwargs",
]

STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband")
OBJECTIVE_TYPES = ("Maximize", "Minimize")
EARLY_STOPPING_TYPES = ("Off", "Auto")
MAX_TUNABLE = 30
MAX_PARENTS = 5
#: Estimator arguments a trial's clone copies (plain values, so Dask workers can rebuild it).
ESTIMATOR_FIELDS = (
    "algorithm", "entry_point", "source_dir", "target", "image_uri", "instance_type",
    "max_run", "input_mode", "output_path", "base_job_name", "metric_definitions",
    "environment", "keep_alive_period_in_seconds",
)  # fmt: skip


class WarmStartTypes(enum.Enum):
    """SageMaker's warm start types."""

    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


@dataclass
class WarmStartConfig:
    """Start a tuning job from the completed trials of up to five earlier ones.

    Example
    -------
    >>> WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, parents={"xgboost-2026-01-01"})
    WarmStartConfig(warm_start_type=<WarmStartTypes.TRANSFER_LEARNING: 'TransferLearning'>, parents={'xgboost-2026-01-01'})
    """

    warm_start_type: WarmStartTypes | str
    parents: set[str] | list[str] = field(default_factory=set)

    def type_value(self) -> str:
        value = getattr(self.warm_start_type, "value", self.warm_start_type)
        allowed = [t.value for t in WarmStartTypes]
        if value not in allowed:
            raise ValidationError(
                "warm_start_config.warm_start_type", value, "one of " + ", ".join(allowed)
            )
        return str(value)

    def to_dict(self) -> dict[str, Any]:
        """SageMaker's ``WarmStartConfig`` request form."""
        return {
            "WarmStartType": self.type_value(),
            "ParentHyperParameterTuningJobs": [
                {"HyperParameterTuningJobName": p} for p in sorted(self.parents)
            ],
        }


@dataclass
class HyperbandStrategyConfig:
    """Resources (steps of the objective metric, e.g. boosting rounds) for Hyperband.

    ``max_resource`` defaults to ``num_round`` when tuning XGBoost, else 100.

    Example
    -------
    >>> HyperbandStrategyConfig(min_resource=5, max_resource=200)
    HyperbandStrategyConfig(min_resource=5, max_resource=200)
    """

    min_resource: int = 1
    max_resource: int | None = None


@dataclass
class TuningJobCompletionCriteriaConfig:
    """When a tuning job may end before ``max_jobs``: SageMaker's completion criteria.

    Once a criterion is met the tuner starts no more trials, lets the running ones finish,
    and the tuning job ends Completed. ``complete_on_convergence=True`` ends it when the
    best objective has improved by less than 0.01% (relative) over the last
    ``CONVERGENCE_WINDOW`` completed trials, with at least twice that many completed.

    Example
    -------
    >>> TuningJobCompletionCriteriaConfig(target_objective_metric_value=0.95)
    TuningJobCompletionCriteriaConfig(target_objective_metric_value=0.95, max_number_of_training_jobs_not_improving=None, complete_on_convergence=None)
    """

    target_objective_metric_value: float | None = None
    max_number_of_training_jobs_not_improving: int | None = None
    complete_on_convergence: bool | None = None

    def check(self) -> dict[str, Any]:
        """The criteria as plain values, after checking each field."""
        target = self.target_objective_metric_value
        if target is not None and (
            isinstance(target, bool)
            or not isinstance(target, (int, float))
            or not math.isfinite(target)
        ):
            raise ValidationError(
                "completion_criteria_config.target_objective_metric_value", target, "a number"
            )
        patience = self.max_number_of_training_jobs_not_improving
        if patience is not None and (
            isinstance(patience, bool) or not isinstance(patience, int) or patience < 3
        ):
            raise ValidationError(
                "completion_criteria_config.max_number_of_training_jobs_not_improving",
                patience,
                "an integer >= 3 (SageMaker's minimum)",
            )
        converge = self.complete_on_convergence
        if converge is not None and not isinstance(converge, bool):
            raise ValidationError(
                "completion_criteria_config.complete_on_convergence", converge, "True or False"
            )
        return {
            "target": None if target is None else float(target),
            "not_improving": patience,
            "convergence": bool(converge),
        }

    def to_dict(self) -> dict[str, Any]:
        """SageMaker's ``TuningJobCompletionCriteria`` request form."""
        out: dict[str, Any] = {}
        if self.target_objective_metric_value is not None:
            out["TargetObjectiveMetricValue"] = self.target_objective_metric_value
        if self.max_number_of_training_jobs_not_improving is not None:
            out["BestObjectiveNotImproving"] = {
                "MaxNumberOfTrainingJobsNotImproving": self.max_number_of_training_jobs_not_improving
            }
        if self.complete_on_convergence is not None:
            out["ConvergenceDetected"] = {
                "CompleteOnConvergence": "Enabled" if self.complete_on_convergence else "Disabled"
            }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TuningJobCompletionCriteriaConfig:
        converge = data.get("ConvergenceDetected", {}).get("CompleteOnConvergence")
        return cls(
            target_objective_metric_value=data.get("TargetObjectiveMetricValue"),
            max_number_of_training_jobs_not_improving=data.get("BestObjectiveNotImproving", {}).get(
                "MaxNumberOfTrainingJobsNotImproving"
            ),
            complete_on_convergence=None if converge is None else converge == "Enabled",
        )


#: Completed trials over which ``complete_on_convergence`` looks for improvement.
CONVERGENCE_WINDOW = 10


def estimator_kwargs(estimator: Estimator) -> dict[str, Any]:
    """The estimator's constructor arguments as plain values (without hyperparameters)."""
    out = {key: getattr(estimator, key) for key in ESTIMATOR_FIELDS}
    if out["source_dir"] is not None:
        out["source_dir"] = str(out["source_dir"])
    return out


def check_ranges(
    ranges: dict[str, ParameterRange], algorithm: Algorithm | None
) -> dict[str, ParameterRange]:
    """Check every range against the algorithm's schema (script mode: the ranges only)."""
    if not isinstance(ranges, dict) or not ranges:
        raise ValidationError(
            "hyperparameter_ranges", ranges, "a non-empty dict of name -> parameter range"
        )
    if len(ranges) > MAX_TUNABLE:
        raise ValidationError(
            "hyperparameter_ranges", f"{len(ranges)} ranges", f"at most {MAX_TUNABLE} ranges"
        )
    for name, rng in ranges.items():
        where = f"hyperparameter_ranges[{name!r}]"
        if not isinstance(rng, ParameterRange):
            raise ValidationError(
                where,
                rng,
                "an IntegerParameter, ContinuousParameter or CategoricalParameter",
            )
        spec = None
        if algorithm is not None:
            schema = algorithm.hyperparameters
            if name not in schema:
                raise ValidationError(
                    where,
                    rng,
                    f"a hyperparameter of {algorithm.name}",
                    hint=f"Unknown hyperparameter {name!r}; allowed: {', '.join(schema.names)}.",
                )
            spec = schema[name]
            if not spec.tunable:
                tunable = [p.name for p in schema if p.tunable]
                raise ValidationError(
                    where,
                    rng,
                    "a tunable hyperparameter",
                    hint=f"{name!r} cannot be tuned; tunable: {', '.join(tunable)}.",
                )
        rng.check(name, spec)
    return ranges


def xgboost_eval_metrics(algorithm: Algorithm, hps: dict[str, Any], objective: str) -> str:
    """``eval_metric`` for a trial, with the tuning objective added.

    The estimator's schema validation drops ``_tuning_objective_metric`` before it reaches
    the algorithm, so the tuner adds the objective to ``eval_metric`` itself.
    """
    probe = dict(hps, _tuning_objective_metric=objective)
    return ",".join(algorithm._eval_metrics(probe))  # type: ignore[attr-defined]


def check_objective(
    objective: str,
    algorithm: Algorithm | None,
    typed: dict[str, Any],
    definitions: list[dict[str, str]] | None,
) -> None:
    """Raise ValidationError unless the trials will emit ``objective``."""
    if not isinstance(objective, str) or not objective:
        raise ValidationError("objective_metric_name", objective, "a metric name")
    if algorithm is None:
        names = [d["Name"] for d in definitions or []]
        if objective not in names:
            raise ValidationError(
                "objective_metric_name",
                objective,
                "a name in metric_definitions: " + (", ".join(names) or "none given"),
                hint="Script mode metrics come from metric_definitions (Name/Regex).",
            )
        return
    probe = dict(typed, _tuning_objective_metric=objective)
    try:
        algorithm.check_hyperparameters(probe)
        names = [d["Name"] for d in algorithm.metric_definitions(probe)]
    except ValidationError:
        names = []
    if algorithm.name == "xgboost":
        from ..algorithms._xgboost import EVAL_METRICS

        allowed = "'train:<m>' or 'validation:<m>' with m one of " + ", ".join(EVAL_METRICS)
    else:
        allowed = "one of " + ", ".join(d["Name"] for d in algorithm.metric_definitions(typed))
    if objective not in names:
        raise ValidationError(
            "objective_metric_name", objective, f"{algorithm.name} metric: {allowed}"
        )


def check_choice(field_name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationError(field_name, value, "one of " + ", ".join(allowed))
    return str(value)


def grid_size(ranges: dict[str, ParameterRange]) -> int:
    """The number of combinations of a Grid search (categorical ranges only)."""
    for name, rng in ranges.items():
        if not isinstance(rng, CategoricalParameter):
            raise ValidationError(
                f"hyperparameter_ranges[{name!r}]",
                rng,
                "a CategoricalParameter: the Grid strategy takes categorical ranges only",
            )
    return math.prod(len(r.values) for r in ranges.values())  # type: ignore[attr-defined]


def build_sampler(strategy: str, ranges: dict[str, ParameterRange], seed: int | None) -> Any:
    import optuna

    if strategy == "Random":
        return optuna.samplers.RandomSampler(seed=seed)
    if strategy == "Grid":
        space = {n: list(r.values) for n, r in ranges.items()}  # type: ignore[attr-defined]

        class _GridSampler(optuna.samplers.GridSampler):
            # GridSampler.after_trial calls study.stop(), which only works inside
            # study.optimize; the tuner's loop stops on max_jobs (= the grid size) itself.
            def after_trial(self, *args: Any) -> None:
                return None

        return _GridSampler(space, seed=seed)
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)


def build_pruner(strategy: str, early_stopping: str, hyperband: dict[str, Any] | None) -> Any:
    import optuna

    if strategy == "Hyperband":
        assert hyperband is not None
        return optuna.pruners.HyperbandPruner(
            min_resource=hyperband["min_resource"], max_resource=hyperband["max_resource"]
        )
    if early_stopping == "Auto":
        # SageMaker's median rule: stop a job whose objective is worse than the median
        # of earlier jobs at the same step, once a few jobs have completed.
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
    return optuna.pruners.NopPruner()
