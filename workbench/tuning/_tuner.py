"""``HyperparameterTuner``: SageMaker v2's tuning API on an Optuna study in the workspace."""

from __future__ import annotations

import re
import time
from typing import Any

from ..core import Workspace, get_workspace
from ..exceptions import ValidationError, WorkbenchError
from ._config import (
    HyperbandStrategyConfig,
    TuningJobCompletionCriteriaConfig,
    WarmStartConfig,
)
from ._describe import best_trial, describe_tuning_job, reconcile_tuning_job
from ._parameters import ParameterRange, parameter_ranges_dict, range_from_spec, range_to_spec
from ._scheduler import Scheduler, TrialPlan, active_schedulers
from ._study import KIND, TERMINAL, create_study, load_study, warm_start

__all__ = ["HyperparameterTuner"]

_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")


class HyperparameterTuner:
    """Tune an Estimator's hyperparameters with SageMaker v2's names, on Optuna.

    Each trial is a real training job (``<tuning job>-<trial>-<random>``) in the workspace;
    the tuning job is a catalogue object (kind ``tuning-job``, name of at most 32
    characters) whose Optuna study is ``tuning-jobs/<name>/study.journal``. ``fit(wait=False)``
    runs the scheduling loop in a daemon thread of this kernel: trials already started keep
    running if the kernel dies, and ``attach(name).fit(inputs)`` continues the job.
    With ``dask_client`` (a ``distributed.Client`` or a scheduler address), each trial runs
    in a Dask worker, which must see the same workspace folder: workers on this machine
    (the catalogue is SQLite in WAL mode, which network filesystems cannot share).
    ``max_runtime_in_seconds`` ends the tuning job (Completed) after that long, stopping the
    trials still running; ``completion_criteria_config`` ends it earlier once a target,
    a number of trials without improvement, or convergence is reached.

    Example
    -------
    >>> est = Estimator(algorithm="xgboost", target="y",
    ...                 hyperparameters={"objective": "binary:logistic", "num_round": 50})
    >>> tuner = HyperparameterTuner(est, "validation:auc",
    ...                             {"eta": ContinuousParameter(0.01, 0.5),
    ...                              "max_depth": IntegerParameter(2, 8)},
    ...                             max_jobs=10, max_parallel_jobs=2)   # doctest: +SKIP
    >>> tuner.fit({"train": train, "validation": valid})              # doctest: +SKIP
    >>> tuner.best_training_job()                                      # doctest: +SKIP
    """

    def __init__(
        self,
        estimator: Any,
        objective_metric_name: str,
        hyperparameter_ranges: dict[str, ParameterRange],
        metric_definitions: list[dict[str, str]] | None = None,
        strategy: str = "Bayesian",
        objective_type: str = "Maximize",
        max_jobs: int | None = None,
        max_parallel_jobs: int = 1,
        max_runtime_in_seconds: int | None = None,
        completion_criteria_config: TuningJobCompletionCriteriaConfig | None = None,
        early_stopping_type: str = "Off",
        warm_start_config: WarmStartConfig | None = None,
        strategy_config: HyperbandStrategyConfig | None = None,
        random_seed: int | None = None,
        base_tuning_job_name: str | None = None,
        max_consecutive_failures: int = 3,
        dask_client: Any = None,
        workspace: Workspace | str | None = None,
    ) -> None:
        self.estimator = estimator
        self.objective_metric_name = objective_metric_name
        self.hyperparameter_ranges = dict(hyperparameter_ranges or {})
        self.metric_definitions = metric_definitions
        self.strategy = strategy
        self.objective_type = objective_type
        self.max_jobs = max_jobs
        self.max_parallel_jobs = max_parallel_jobs
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.completion_criteria_config = completion_criteria_config
        self.early_stopping_type = early_stopping_type
        self.warm_start_config = warm_start_config
        self.strategy_config = strategy_config
        self.random_seed = random_seed
        self.base_tuning_job_name = base_tuning_job_name
        self.max_consecutive_failures = max_consecutive_failures
        self.dask_client = dask_client
        self.workspace = get_workspace(workspace if workspace is not None else estimator.workspace)
        self.latest_tuning_job: str | None = None
        self._attached = False
        self._study: Any = None

    def __repr__(self) -> str:
        return (
            f"HyperparameterTuner({self.objective_metric_name!r}, strategy={self.strategy!r}, "
            f"latest_tuning_job={self.latest_tuning_job!r})"
        )

    # -- fit ---------------------------------------------------------------------------
    def fit(
        self, inputs: Any = None, wait: bool = True, job_name: str | None = None
    ) -> HyperparameterTuner:
        """Start the tuning job (or, on an attached tuner, continue it up to ``max_jobs``).

        Every setting is checked first: a ValidationError leaves the workspace unchanged.
        """
        continuing = self._attached and job_name is None and self.latest_tuning_job is not None
        settings = self._check(inputs, job_name, continuing)
        if continuing:
            name = str(self.latest_tuning_job)
            record = reconcile_tuning_job(self.workspace, self.workspace.catalog.get(KIND, name))
            if record["status"] not in TERMINAL:
                raise ValidationError(
                    "latest_tuning_job", record["status"], "a tuning job that has ended",
                    hint="Call wait() or stop_tuning_job() before continuing it.",
                )  # fmt: skip
            self.workspace.catalog.update(KIND, name, parameters=settings["record"])
            study = load_study(self.workspace, name, settings["sampler"], settings["pruner"])
        else:
            name, study = self._create(settings, job_name)
        self.latest_tuning_job = name
        self._study = study
        plan = TrialPlan(
            workspace=self.workspace,
            name=name,
            ranges=self.hyperparameter_ranges,
            static=settings["static"],
            objective=self.objective_metric_name,
            estimator=settings["estimator"],
            recipe=getattr(self.estimator, "recipe", None),
            max_jobs=settings["max_jobs"],
            max_parallel_jobs=self.max_parallel_jobs,
            prune=settings["prune"],
            max_consecutive_failures=self.max_consecutive_failures,
            extra_hyperparameters=settings["extra"],
            max_runtime=self.max_runtime_in_seconds,
            completion=settings["completion"],
        )
        Scheduler(plan, study, inputs, self._client()).start(background=not wait)
        return self

    def _create(self, settings: dict[str, Any], job_name: str | None) -> tuple[str, Any]:
        catalog = self.workspace.catalog
        if job_name:
            record = catalog.create(
                KIND, job_name, status="InProgress", parameters=settings["record"]
            )
        else:
            record = catalog.create_unique(
                KIND, settings["base"], status="InProgress", parameters=settings["record"],
                max_length=32,
            )  # fmt: skip
        name = record["name"]
        try:
            study = create_study(
                self.workspace, name, settings["direction"], settings["sampler"], settings["pruner"]
            )
            if settings["parents"]:
                added = warm_start(
                    study, self.workspace, settings["parents"], self.hyperparameter_ranges
                )
                catalog.update(KIND, name, extra={"warm_start_trials": added})
                for parent in settings["parents"]:
                    catalog.add_lineage((KIND, parent["name"]), (KIND, name), "warm_start_parent")
        except BaseException as exc:
            catalog.update(
                KIND, name, status="Failed", failure_reason=f"InternalError: {exc}",
                ended_at=record["created_at"],
            )  # fmt: skip
            raise
        return name, study

    def _client(self) -> Any:
        if isinstance(self.dask_client, str):
            from distributed import Client

            self.dask_client = Client(self.dask_client)
        return self.dask_client

    def _check(self, inputs: Any, job_name: str | None, continuing: bool) -> dict[str, Any]:
        from ._check import check_tuner

        return check_tuner(self, inputs, job_name, continuing)

    # -- status ------------------------------------------------------------------------
    def _name(self) -> str:
        if self.latest_tuning_job is None:
            raise ValidationError("latest_tuning_job", None, "a tuning job: call fit() first")
        return self.latest_tuning_job

    def wait(self, poll: float = 0.5) -> None:
        """Block until the tuning job ends."""
        name = self._name()
        scheduler = active_schedulers().get((str(self.workspace.path), name))
        if scheduler is not None:
            scheduler.join()
        while True:
            record = reconcile_tuning_job(self.workspace, self.workspace.catalog.get(KIND, name))
            if record["status"] in TERMINAL:
                return
            time.sleep(poll)

    def stop_tuning_job(self) -> None:
        """Stop the scheduler and every running trial; the tuning job ends Stopped."""
        from ..training import TrainingJob
        from ._describe import trial_records

        name = self._name()
        catalog = self.workspace.catalog
        catalog.update(KIND, name, status="Stopping", expected_status=("InProgress",))
        scheduler = active_schedulers().get((str(self.workspace.path), name))
        if scheduler is not None:
            scheduler.stop()
            scheduler.join()
            return
        record = reconcile_tuning_job(self.workspace, catalog.get(KIND, name))
        if record["status"] == "Stopping":
            # Another live kernel runs the scheduler: it sees "Stopping" and stops the trials.
            self.wait()
            return
        for job in trial_records(self.workspace, name):
            TrainingJob(job["name"], workspace=self.workspace).stop(grace_period=5)

    def describe(self) -> dict[str, Any]:
        """SageMaker's DescribeHyperParameterTuningJob fields."""
        return describe_tuning_job(self.workspace, self._name())

    @property
    def study(self) -> Any:
        """The Optuna study of the latest tuning job."""
        name = self._name()
        scheduler = active_schedulers().get((str(self.workspace.path), name))
        if scheduler is not None:
            return scheduler.study
        if self._study is None or self._study.study_name != name:
            self._study = load_study(self.workspace, name)
        return self._study

    def best_training_job(self) -> str:
        """Name of the training job with the best objective value."""
        best = best_trial(self.study)
        if best is None:
            raise WorkbenchError(
                f"Tuning job {self._name()!r} has no completed training job with the "
                f"objective metric {self.objective_metric_name!r} yet."
            )
        return str(best.user_attrs["training_job"])

    def best_estimator(self) -> Any:
        """An Estimator attached to the best training job."""
        from ..training import Estimator

        return Estimator.attach(self.best_training_job(), workspace=self.workspace)

    def deploy(
        self, initial_instance_count: int = 1, instance_type: str = "local", **kwargs: Any
    ) -> Any:
        """Serve the best training job's model from a new endpoint; return a Predictor.

        Example
        -------
        >>> predictor = tuner.deploy(endpoint_name="fraud-tuned")   # doctest: +SKIP
        """
        from ..serving import deploy

        return deploy(
            self.best_training_job(), initial_instance_count, instance_type,
            workspace=self.workspace, **kwargs,
        )  # fmt: skip

    def analytics(self) -> Any:
        """A :class:`TuningAnalytics` of the latest tuning job."""
        from ._analytics import TuningAnalytics

        return TuningAnalytics(self._name(), workspace=self.workspace)

    # -- attach ------------------------------------------------------------------------
    @classmethod
    def attach(
        cls, tuning_job_name: str, workspace: Workspace | str | None = None
    ) -> HyperparameterTuner:
        """A tuner for an existing tuning job, e.g. from a restarted kernel.

        ``wait()``, ``describe()``, ``analytics()`` and ``best_training_job()`` work at once;
        ``fit(inputs)`` continues the job with new trials up to ``max_jobs`` (set it higher
        first), following trials a dead kernel left running.
        """
        from ..training import Estimator

        ws = get_workspace(workspace)
        params = ws.catalog.get(KIND, tuning_job_name)["parameters"]
        estimator = Estimator(
            **params["estimator"], hyperparameters=params["static_hyperparameters"], workspace=ws
        )
        config = params.get("strategy_config")
        criteria = params.get("completion_criteria")
        tuner = cls(
            estimator,
            params["objective"]["MetricName"],
            {n: range_from_spec(s) for n, s in params["ranges"].items()},
            metric_definitions=params.get("metric_definitions"),
            strategy=params["strategy"],
            objective_type=params["objective"]["Type"],
            max_jobs=params["resource_limits"]["MaxNumberOfTrainingJobs"],
            max_parallel_jobs=params["resource_limits"]["MaxParallelTrainingJobs"],
            max_runtime_in_seconds=params["resource_limits"].get("MaxRuntimeInSeconds"),
            completion_criteria_config=TuningJobCompletionCriteriaConfig.from_dict(criteria)
            if criteria
            else None,
            early_stopping_type=params["early_stopping_type"],
            strategy_config=HyperbandStrategyConfig(**config["hyperband"]) if config else None,
            random_seed=params.get("random_seed"),
            max_consecutive_failures=params.get("max_consecutive_failures", 3),
            workspace=ws,
        )
        tuner.latest_tuning_job = tuning_job_name
        tuner._attached = True
        return tuner


def tuner_record(tuner: HyperparameterTuner, settings: dict[str, Any]) -> dict[str, Any]:
    """The tuning job's catalogue parameters."""
    hyperband = settings["hyperband"]
    return {
        "strategy": tuner.strategy,
        "objective": {"Type": tuner.objective_type, "MetricName": tuner.objective_metric_name},
        "parameter_ranges": parameter_ranges_dict(tuner.hyperparameter_ranges),
        "ranges": {n: range_to_spec(r) for n, r in tuner.hyperparameter_ranges.items()},
        "static_hyperparameters": settings["static"],
        "resource_limits": {
            "MaxNumberOfTrainingJobs": settings["max_jobs"],
            "MaxParallelTrainingJobs": tuner.max_parallel_jobs,
            **(
                {"MaxRuntimeInSeconds": tuner.max_runtime_in_seconds}
                if tuner.max_runtime_in_seconds is not None
                else {}
            ),
        },
        "completion_criteria": tuner.completion_criteria_config.to_dict()
        if tuner.completion_criteria_config is not None
        else None,
        "early_stopping_type": tuner.early_stopping_type,
        "random_seed": tuner.random_seed,
        "strategy_config": {"hyperband": hyperband} if hyperband else None,
        "warm_start_config": tuner.warm_start_config.to_dict() if tuner.warm_start_config else None,
        "max_consecutive_failures": tuner.max_consecutive_failures,
        "metric_definitions": tuner.metric_definitions,
        "estimator": settings["estimator"],
        "algorithm": settings["algorithm"],
    }
