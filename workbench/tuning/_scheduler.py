"""The scheduling loop of a tuning job: ask Optuna, start training jobs, watch, tell.

The loop runs in the kernel (in the calling thread, or a daemon thread with
``fit(wait=False)``). Trials are ordinary training jobs, started locally with
``fit(wait=False)`` or, with a Dask client, by :func:`_run_trial` in a worker; either way
the loop follows them through the workspace catalogue, so Dask workers must share the
workspace folder (same machine or a shared filesystem).
"""

from __future__ import annotations

import os
import secrets
import select
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..core import Workspace, utcnow
from ..core._process import process_identity
from ..exceptions import JobFailedError, ResourceNotFound
from ..training._job import TERMINAL as JOB_TERMINAL
from ..training._job import TrainingJob, reconcile
from ._parameters import ParameterRange
from ._study import KIND, own_trials

__all__ = ["Scheduler", "TrialPlan", "_run_trial", "active_schedulers"]

_POLL_S = 0.2
_PRUNE_GRACE_S = 5.0
_STOP_WAIT_S = 60.0
_lock = threading.Lock()
_active: dict[tuple[str, str], Scheduler] = {}


def active_schedulers() -> dict[tuple[str, str], Scheduler]:
    """Schedulers running in this process, by (workspace path, tuning job name)."""
    with _lock:
        return dict(_active)


def _run_trial(spec: dict[str, Any]) -> str:
    """Run one trial's training job to the end (in a Dask worker); return its name."""
    from ..training import Estimator

    est = Estimator(
        **spec["estimator"], hyperparameters=spec["hyperparameters"], workspace=spec["workspace"]
    )
    try:
        est.fit(spec["inputs"], wait=True, logs=False, job_name=spec["job_name"])
    except JobFailedError:
        pass  # the tuner reads the outcome from the catalogue
    return str(spec["job_name"])


@dataclass
class TrialPlan:
    """Everything the loop needs, as plain values."""

    workspace: Workspace
    name: str
    ranges: dict[str, ParameterRange]
    static: dict[str, Any]
    objective: str
    estimator: dict[str, Any]
    recipe: Any
    max_jobs: int
    max_parallel_jobs: int
    prune: bool
    max_consecutive_failures: int
    extra_hyperparameters: dict[str, Any] = field(default_factory=dict)
    max_runtime: float | None = None
    completion: dict[str, Any] | None = None


@dataclass
class _Running:
    trial: Any
    job_name: str
    future: Any = None
    reported: int = -1
    pruned: bool = False
    seen: bool = False
    exit_fd: int | None = None  # a pidfd on the job's supervisor: readable once it exits

    def watch(self, process: dict[str, Any] | None) -> None:
        if self.exit_fd is None and process and hasattr(os, "pidfd_open"):
            try:
                self.exit_fd = os.pidfd_open(int(process["pid"]))
            except OSError:  # already gone, or no pidfd here: the poll notices either way
                pass

    def close(self) -> None:
        if self.exit_fd is not None:
            os.close(self.exit_fd)
            self.exit_fd = None


class Scheduler:
    """Keeps up to ``max_parallel_jobs`` trials running until ``max_jobs`` have run."""

    def __init__(self, plan: TrialPlan, study: Any, inputs: Any, client: Any = None) -> None:
        self.plan = plan
        self.study = study
        self.inputs = inputs
        self.client = client
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.running: list[_Running] = []
        self.consecutive_failures = 0
        self.started = 0
        self.values: list[float] = []  # completed trials' objective values, in completion order
        self.ending: str | None = None  # why no more trials start, once a criterion is met
        self.failure_reason: str | None = None
        self.error: BaseException | None = None
        self._key = (str(plan.workspace.path), plan.name)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, background: bool) -> None:
        with _lock:
            _active[self._key] = self
        self.plan.workspace.catalog.update(
            KIND,
            self.plan.name,
            status="InProgress",
            ended_at=None,
            extra={"scheduler": process_identity(os.getpid())},
        )
        if background:
            self.thread = threading.Thread(
                target=self.run, name=f"tuning-{self.plan.name}", daemon=True
            )
            self.thread.start()
        else:
            self.run()

    def run(self) -> None:
        status, reason = "Failed", None
        try:
            import optuna

            mine = own_trials(self.study)
            self.started = len(mine)
            done = [t for t in mine if t.state == optuna.trial.TrialState.COMPLETE]
            self.values = [float(t.value) for t in sorted(done, key=lambda t: t.datetime_complete)]
            self._adopt_orphans()
            status = self._loop()
            reason = self.failure_reason
        except BaseException as exc:  # also KeyboardInterrupt: trials must not be orphaned
            self.error = exc
            reason = f"InternalError: {type(exc).__name__}: {exc}"
            status = "Stopped" if isinstance(exc, KeyboardInterrupt) else "Failed"
            self._stop_all()
            if self.thread is None:
                raise
        finally:
            for running in self.running:
                running.close()
            self._finish(status, reason)

    def _finish(self, status: str, reason: str | None) -> None:
        details: dict[str, Any] = {
            "NumberOfTrainingJobsObjectiveNotImproving": self._not_improving()
        }
        if self.ending:
            details["Reason"] = self.ending
        if self.ending and self.ending.startswith("ConvergenceDetected"):
            details["ConvergenceDetectedTime"] = utcnow()
        self.plan.workspace.catalog.update(
            KIND,
            self.plan.name,
            status=status,
            failure_reason=reason if status == "Failed" else None,
            message=reason or self.ending,
            ended_at=utcnow(),
            extra={"completion": details},
        )
        with _lock:
            _active.pop(self._key, None)

    def stop(self) -> None:
        self.stop_event.set()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()

    # -- the loop ----------------------------------------------------------------------
    def _loop(self) -> str:
        catalog = self.plan.workspace.catalog
        deadline = None
        if self.plan.max_runtime:
            deadline = time.monotonic() + float(self.plan.max_runtime)
        while True:
            if (
                self.stop_event.is_set()
                or catalog.get(KIND, self.plan.name)["status"] == "Stopping"
            ):
                self._stop_all()
                return "Stopped"
            self._poll()
            if self.failure_reason:
                self._stop_all()
                return "Failed"
            if deadline is not None and time.monotonic() >= deadline:
                self.ending = (
                    f"MaxRuntimeInSeconds ({self.plan.max_runtime:g} s) reached; "
                    f"{len(self.running)} running training job(s) stopped"
                )
                self._stop_all()
                return "Completed"
            self.ending = self.ending or self._criteria_met()
            while (
                self.ending is None
                and len(self.running) < self.plan.max_parallel_jobs
                and self.started < self.plan.max_jobs
            ):
                self._launch()
                if self.failure_reason:
                    break
            if not self.running and not self.failure_reason:
                return "Completed"
            self._wait()

    def _not_improving(self) -> int:
        """Completed trials since the best objective value was first reached."""
        if not self.values:
            return 0
        best = self._best(self.values)
        return len(self.values) - 1 - self.values.index(best)

    def _best(self, values: list[float]) -> float:
        import optuna

        maximize = self.study.direction == optuna.study.StudyDirection.MAXIMIZE
        return max(values) if maximize else min(values)

    def _criteria_met(self) -> str | None:
        """SageMaker's completion criteria: why no more trials should start, or None."""
        import optuna

        from ._config import CONVERGENCE_WINDOW

        criteria = self.plan.completion
        if not criteria or not self.values:
            return None
        maximize = self.study.direction == optuna.study.StudyDirection.MAXIMIZE
        best = self._best(self.values)
        target = criteria["target"]
        if target is not None and (best >= target if maximize else best <= target):
            return f"TargetObjectiveMetricValue {target:g} reached (best {best:g})"
        patience = criteria["not_improving"]
        if patience and self._not_improving() >= patience:
            return (
                f"BestObjectiveNotImproving: {self._not_improving()} training jobs "
                f"without improving on {best:g}"
            )
        window = CONVERGENCE_WINDOW
        if criteria["convergence"] and len(self.values) >= 2 * window:
            before = self._best(self.values[:-window])
            gain = best - before if maximize else before - best
            if gain <= 1e-4 * max(abs(before), 1e-12):
                return (
                    f"ConvergenceDetected: the best objective improved by {gain:.3g} "
                    f"over the last {window} training jobs"
                )
        return None

    def _wait(self) -> None:
        """Sleep until a trial's job process exits, or for one poll interval."""
        fds = [r.exit_fd for r in self.running if r.exit_fd is not None]
        if fds and not self.plan.prune and len(fds) == len(self.running):
            try:
                select.select(fds, [], [], _POLL_S)
            except InterruptedError:
                pass
            return
        self.stop_event.wait(_POLL_S)

    def _adopt_orphans(self) -> None:
        """Follow trials left running by a scheduler that died (``attach`` + ``fit``)."""
        import optuna

        for frozen in own_trials(self.study):
            if frozen.state == optuna.trial.TrialState.RUNNING:
                trial = optuna.trial.Trial(self.study, frozen._trial_id)
                self.running.append(_Running(trial, frozen.user_attrs["training_job"]))

    def _launch(self) -> None:
        plan = self.plan
        distributions = {n: r.distribution() for n, r in plan.ranges.items()}
        trial = self.study.ask(distributions)
        self.started += 1
        values = {n: plan.ranges[n].to_value(trial.params[n]) for n in plan.ranges}
        job_name = f"{plan.name}-{trial.number:03d}-{secrets.token_hex(2)}"
        trial.set_user_attr("training_job", job_name)
        trial.set_user_attr("hyperparameters", values)
        hyperparameters = {**plan.static, **values, **plan.extra_hyperparameters}
        running = _Running(trial, job_name)
        try:
            if self.client is not None:
                spec = {
                    "estimator": dict(plan.estimator, recipe=plan.recipe),
                    "hyperparameters": hyperparameters,
                    "inputs": self.inputs,
                    "job_name": job_name,
                    "workspace": str(plan.workspace.path),
                }
                running.future = self.client.submit(_run_trial, spec, pure=False)
            else:
                from ..training import Estimator

                Estimator(
                    **plan.estimator,
                    hyperparameters=hyperparameters,
                    recipe=plan.recipe,
                    workspace=plan.workspace,
                ).fit(self.inputs, wait=False, logs=False, job_name=job_name)
        except Exception as exc:
            self._fail(running, f"ClientError: the training job did not start: {exc}")
            return
        self.running.append(running)
        self._link(running)

    def _link(self, running: _Running) -> None:
        if not running.seen and self.plan.workspace.catalog.exists(
            "training-job", running.job_name
        ):
            self.plan.workspace.catalog.add_lineage(
                (KIND, self.plan.name), ("training-job", running.job_name), "trial"
            )
            running.seen = True

    def _record(self, running: _Running) -> dict[str, Any] | None:
        try:
            rec = self.plan.workspace.catalog.get("training-job", running.job_name)
        except ResourceNotFound:
            return None
        return reconcile(self.plan.workspace, rec)

    def _poll(self) -> None:
        for running in list(self.running):
            self._link(running)
            rec = self._record(running)
            if rec is None:
                if running.future is None or running.future.done():
                    reason = _future_error(running.future) or "the training job was never created"
                    self._remove(running)
                    self._fail(running, f"ClientError: {reason}")
                continue
            if rec["status"] in JOB_TERMINAL:
                self._remove(running)
                self._finalize(running, rec)
                continue
            running.watch(rec["extra"].get("process"))
            if self.plan.prune and not running.pruned:
                self._report(running)

    def _remove(self, running: _Running) -> None:
        self.running.remove(running)
        running.close()

    def _report(self, running: _Running) -> None:
        rows = self.plan.workspace.catalog.metric_values("training-job", running.job_name)
        for row in rows:
            if row["metric"] == self.plan.objective and row["step"] > running.reported:
                running.trial.report(row["value"], row["step"])
                running.reported = row["step"]
        if running.reported >= 0 and running.trial.should_prune():
            running.pruned = True
            running.trial.set_user_attr("pruned_at_step", running.reported)
            TrainingJob(running.job_name, workspace=self.plan.workspace).stop(
                grace_period=_PRUNE_GRACE_S
            )

    # -- outcomes ----------------------------------------------------------------------
    def _finalize(self, running: _Running, rec: dict[str, Any]) -> None:
        import optuna

        status = rec["status"]
        trial = running.trial
        trial.set_user_attr("status", status)
        if status == "Completed":
            value = rec["metrics"].get(self.plan.objective)
            if value is None:
                emitted = ", ".join(sorted(rec["metrics"])) or "none"
                self._fail(
                    running,
                    f"ObjectiveMetricMissing: the job completed without the objective metric "
                    f"{self.plan.objective!r} (it emitted: {emitted})",
                )
                return
            self.study.tell(trial, float(value))
            self.values.append(float(value))
            self.consecutive_failures = 0
            self._update_best()
        elif status == "Stopped" and running.pruned:
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif status == "Stopped":
            trial.set_user_attr("failure_reason", "Stopped")
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self._fail(running, rec["failure_reason"] or "no reason recorded")

    def _fail(self, running: _Running, reason: str, count: bool = True) -> None:
        import optuna

        running.trial.set_user_attr("failure_reason", reason)
        running.trial.set_user_attr("status", running.trial.user_attrs.get("status", "Failed"))
        self.study.tell(running.trial, state=optuna.trial.TrialState.FAIL)
        if not count:
            return
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.plan.max_consecutive_failures:
            self.failure_reason = (
                f"{self.consecutive_failures} consecutive training jobs failed; last: {reason}"
            )

    def _update_best(self) -> None:
        from ._describe import best_trial

        best = best_trial(self.study)
        if best is None:
            return
        self.plan.workspace.catalog.update(
            KIND,
            self.plan.name,
            metrics={self.plan.objective: best.value},
            extra={
                "best": {
                    "TrainingJobName": best.user_attrs["training_job"],
                    "Value": best.value,
                    "TunedHyperParameters": best.user_attrs.get("hyperparameters", {}),
                }
            },
        )

    def _stop_all(self) -> None:
        """Stop every running trial and wait (bounded) for their jobs to end."""
        deadline = time.monotonic() + _STOP_WAIT_S
        for running in self.running:
            if running.future is not None and self._record(running) is None:
                running.future.cancel()
        while self.running and time.monotonic() < deadline:
            for running in list(self.running):
                rec = self._record(running)
                if rec is None and (running.future is None or running.future.done()):
                    self._remove(running)
                    self._fail(running, "Stopped before the training job started", count=False)
                elif rec is not None and rec["status"] in JOB_TERMINAL:
                    self._remove(running)
                    self._link(running)
                    self._finalize(running, rec)
                elif rec is not None:
                    TrainingJob(running.job_name, workspace=self.plan.workspace).stop(
                        grace_period=_PRUNE_GRACE_S
                    )
            time.sleep(_POLL_S)


def _future_error(future: Any) -> str | None:
    if future is None:
        return None
    try:
        exc = future.exception(timeout=0)
    except Exception as err:  # cancelled
        return f"{type(err).__name__}: {err}"
    return f"{type(exc).__name__}: {exc}" if exc is not None else None
