"""Everything ``HyperparameterTuner.fit`` checks before it writes anything."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..exceptions import ValidationError
from ._config import (
    EARLY_STOPPING_TYPES,
    OBJECTIVE_TYPES,
    STRATEGIES,
    HyperbandStrategyConfig,
    TuningJobCompletionCriteriaConfig,
    build_pruner,
    build_sampler,
    check_choice,
    check_objective,
    check_ranges,
    estimator_kwargs,
    grid_size,
    xgboost_eval_metrics,
)
from ._study import KIND, check_parents

if TYPE_CHECKING:
    from ._tuner import HyperparameterTuner

__all__ = ["check_tuner"]

_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")


def check_tuner(
    tuner: HyperparameterTuner, inputs: Any, job_name: str | None, continuing: bool
) -> dict[str, Any]:
    """Validated settings for a tuning job; raises ValidationError naming the field."""
    from ..algorithms import get_algorithm
    from ..training import Estimator
    from ..training._metrics import check_metric_definitions
    from ._tuner import tuner_record

    strategy = check_choice("strategy", tuner.strategy, STRATEGIES)
    check_choice("objective_type", tuner.objective_type, OBJECTIVE_TYPES)
    check_choice("early_stopping_type", tuner.early_stopping_type, EARLY_STOPPING_TYPES)
    estimator = tuner.estimator
    if not isinstance(estimator, Estimator):
        raise ValidationError("estimator", estimator, "a workbench Estimator")
    algorithm_name = estimator._algorithm_name()
    algorithm = get_algorithm(algorithm_name) if algorithm_name else None
    ranges = check_ranges(tuner.hyperparameter_ranges, algorithm)
    static = {k: v for k, v in estimator.hyperparameters().items() if k not in ranges}
    examples = {n: r.example() for n, r in ranges.items()}
    typed: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if algorithm is not None:
        if tuner.metric_definitions:
            raise ValidationError(
                "metric_definitions",
                tuner.metric_definitions,
                "None for a built-in algorithm (it emits its own metrics)",
            )
        typed = algorithm.validate_hyperparameters({**static, **examples})
        definitions = None
        extra["_tuning_objective_metric"] = tuner.objective_metric_name
    else:
        definitions = check_metric_definitions(
            tuner.metric_definitions or estimator.metric_definitions
        )
    check_objective(tuner.objective_metric_name, algorithm, typed, definitions)
    if algorithm is not None and algorithm.name == "xgboost":
        extra["eval_metric"] = xgboost_eval_metrics(algorithm, typed, tuner.objective_metric_name)
    max_jobs = _check_limits(tuner, strategy, ranges)
    hyperband = _check_hyperband(tuner, strategy, static, ranges, algorithm)
    kwargs = estimator_kwargs(estimator)
    if definitions:
        kwargs["metric_definitions"] = definitions
    if not isinstance(tuner.max_consecutive_failures, int) or tuner.max_consecutive_failures < 1:
        raise ValidationError(
            "max_consecutive_failures", tuner.max_consecutive_failures, "an integer >= 1"
        )
    runtime = tuner.max_runtime_in_seconds
    if runtime is not None and (
        isinstance(runtime, bool) or not isinstance(runtime, (int, float)) or runtime <= 0
    ):
        raise ValidationError("max_runtime_in_seconds", runtime, "a number of seconds > 0")
    criteria = tuner.completion_criteria_config
    if criteria is not None and not isinstance(criteria, TuningJobCompletionCriteriaConfig):
        raise ValidationError(
            "completion_criteria_config", criteria, "a TuningJobCompletionCriteriaConfig"
        )
    parents: list[dict[str, Any]] = []
    if not continuing:
        _check_job_name(tuner, job_name)
        if tuner.warm_start_config is not None:
            objective = {"Type": tuner.objective_type, "MetricName": tuner.objective_metric_name}
            parents = check_parents(tuner.workspace, tuner.warm_start_config, objective, ranges)
    # A dry run of the first trial's plan checks the inputs and hyperparameters together.
    probe = Estimator(
        **kwargs,
        hyperparameters={**static, **examples, **extra},
        recipe=estimator.recipe,
        workspace=tuner.workspace,
    )
    probe._plan(inputs, None)
    seed = tuner.random_seed
    if continuing and seed is not None:
        seed += 1_000_003  # a continued Random search must not repeat its first samples
    settings: dict[str, Any] = {
        "static": static,
        "extra": extra,
        "estimator": kwargs,
        "algorithm": algorithm_name,
        "max_jobs": max_jobs,
        "hyperband": hyperband,
        "parents": parents,
        "prune": tuner.early_stopping_type == "Auto" or strategy == "Hyperband",
        "direction": tuner.objective_type.lower(),
        "sampler": build_sampler(strategy, ranges, seed),
        "pruner": build_pruner(strategy, tuner.early_stopping_type, hyperband),
        "base": _base_name(tuner, algorithm_name),
        "completion": criteria.check() if criteria is not None else None,
    }
    settings["record"] = tuner_record(tuner, settings)
    return settings


def _check_limits(tuner: HyperparameterTuner, strategy: str, ranges: dict[str, Any]) -> int:
    max_jobs = tuner.max_jobs
    if strategy == "Grid":
        combinations = grid_size(ranges)
        if max_jobs is not None and max_jobs != combinations:
            raise ValidationError(
                "max_jobs",
                max_jobs,
                f"None for the Grid strategy (it runs every combination: {combinations})",
            )
        max_jobs = combinations
    elif max_jobs is None:
        max_jobs = 1
    if isinstance(max_jobs, bool) or not isinstance(max_jobs, int) or max_jobs < 1:
        raise ValidationError("max_jobs", max_jobs, "an integer >= 1")
    parallel = tuner.max_parallel_jobs
    if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
        raise ValidationError("max_parallel_jobs", parallel, "an integer >= 1")
    if parallel > max_jobs:
        raise ValidationError("max_parallel_jobs", parallel, f"at most max_jobs ({max_jobs})")
    return max_jobs


def _check_hyperband(
    tuner: HyperparameterTuner,
    strategy: str,
    static: dict[str, Any],
    ranges: dict[str, Any],
    algorithm: Any,
) -> dict[str, int] | None:
    config = tuner.strategy_config
    if strategy != "Hyperband":
        if config is not None:
            raise ValidationError("strategy_config", config, "None unless strategy is 'Hyperband'")
        return None
    if tuner.early_stopping_type != "Off":
        raise ValidationError(
            "early_stopping_type",
            tuner.early_stopping_type,
            "'Off' with the Hyperband strategy (it stops jobs itself)",
        )
    config = config or HyperbandStrategyConfig()
    if not isinstance(config, HyperbandStrategyConfig):
        raise ValidationError("strategy_config", config, "a HyperbandStrategyConfig")
    max_resource = config.max_resource
    if max_resource is None:
        max_resource = 100
        if algorithm is not None and algorithm.name == "xgboost":
            rounds = ranges.get("num_round")
            max_resource = int(rounds.max_value) if rounds is not None else int(static["num_round"])
    min_resource = config.min_resource
    if not isinstance(min_resource, int) or min_resource < 1:
        raise ValidationError("strategy_config.min_resource", min_resource, "an integer >= 1")
    if not isinstance(max_resource, int) or max_resource <= min_resource:
        raise ValidationError(
            "strategy_config.max_resource",
            max_resource,
            f"an integer > min_resource ({min_resource})",
        )
    return {"min_resource": min_resource, "max_resource": max_resource}


def _check_job_name(tuner: HyperparameterTuner, job_name: str | None) -> None:
    if job_name is None:
        return
    if not _NAME_RE.match(str(job_name)):
        raise ValidationError(
            "job_name", job_name, "1-32 letters, digits and hyphens, starting alphanumeric"
        )
    if tuner.workspace.catalog.exists(KIND, job_name):
        raise ValidationError("job_name", job_name, "a name not used by another tuning job")


def _base_name(tuner: HyperparameterTuner, algorithm_name: str | None) -> str:
    if tuner.base_tuning_job_name:
        return str(tuner.base_tuning_job_name)
    if algorithm_name:
        return algorithm_name
    stem = str(tuner.estimator.entry_point).rsplit("/", 1)[-1].removesuffix(".py")
    return re.sub(r"[^a-zA-Z0-9-]+", "-", stem).strip("-") or "tuning"
