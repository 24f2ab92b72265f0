"""A small demo workspace with real objects for every dashboard (tests, screenshots, how-to).

:func:`build_demo_workspace` trains a few tiny fraud models and evaluates them, serves one
endpoint with two variants and data capture, sends it normal then shifted traffic and lets
Model Monitor check both windows (the second one has drift violations), keeps a second,
deleted endpoint's captured traffic and monitoring, and runs two text labelling jobs with
simulated annotators (one finished, one half done). Everything goes through the public API,
as the labs do. The live endpoint keeps running until :meth:`DemoWorkspace.close`.

Example
-------
>>> from workbench.dashboards import build_demo_workspace
>>> with build_demo_workspace("/tmp/wb-demo") as demo:                 # doctest: +SKIP
...     print(demo.jobs, demo.endpoint, demo.labelling_jobs)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..core import Workspace, get_workspace

__all__ = ["DemoWorkspace", "build_demo_workspace"]

TARGET = "is_fraud"
TOPICS = ["sports", "finance", "technology", "health", "travel", "food"]


@dataclass
class DemoWorkspace:
    """What :func:`build_demo_workspace` made; ``close()`` deletes the live endpoint."""

    workspace: Workspace
    jobs: list[str] = field(default_factory=list)
    evaluations: list[str] = field(default_factory=list)
    tuning_job: str | None = None
    endpoint: str | None = None
    deleted_endpoint: str | None = None
    executions: list[str] = field(default_factory=list)
    labelling_jobs: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    timings: dict[str, float] = field(default_factory=dict)

    def __enter__(self) -> DemoWorkspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the live endpoint (its server and workers stop); safe to call twice."""
        from ..serving import delete_endpoint, list_endpoints

        if self.endpoint and self.endpoint in set(list_endpoints(self.workspace)["name"]):
            delete_endpoint(self.endpoint, workspace=self.workspace)


def _next_second() -> datetime:
    """Sleep to the next whole second (capture times are to the second) and return it."""
    now = datetime.now(UTC)
    boundary = now.replace(microsecond=0) + timedelta(seconds=1)
    time.sleep((boundary - now).total_seconds() + 0.01)
    return boundary


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def build_demo_workspace(
    path: str | os.PathLike[str] | Workspace | None = None,
    *,
    seed: int = 0,
    training: bool = True,
    endpoints: bool = True,
    labelling: bool = True,
    tuning: bool = False,
    traffic_seconds: float = 0.0,
) -> DemoWorkspace:
    """Fill the workspace at ``path`` (default: the current one) with demo objects.

    ``training=False`` skips the training jobs (and the endpoints, which serve them),
    ``endpoints=False`` skips serving and monitoring, ``labelling=False`` the labelling
    jobs, ``tuning=True`` adds a 3-trial tuning job; ``traffic_seconds`` spreads the live
    endpoint's traffic over that long (for nicer charts). Takes about 10-20 s on 2 cores
    with the defaults. On an error the live endpoint is deleted before the error propagates.

    Example
    -------
    >>> demo = build_demo_workspace("/tmp/wb-demo", endpoints=False)   # doctest: +SKIP
    >>> demo.jobs                                                      # doctest: +SKIP
    """
    ws = get_workspace(path)
    demo = DemoWorkspace(ws)
    try:
        if training:
            _train(demo, seed, tuning)
        if training and endpoints:
            _serve(demo, seed, traffic_seconds)
        if labelling:
            _label(demo, seed)
    except BaseException:
        demo.close()
        raise
    return demo


def _train(demo: DemoWorkspace, seed: int, tuning: bool) -> None:
    import workbench as wb
    from workbench.evaluation import evaluate
    from workbench.features import split

    started = time.monotonic()
    ws = demo.workspace
    wb.training.warm_up()
    fraud = wb.datasets.load("fraud", size="small", seed=seed)
    parts = split(fraud, "stratified", target=TARGET, seed=seed)
    demo.data.update(train=parts.train, validation=parts.validation, test=parts.test)
    channels = {"train": parts.train, "validation": parts.validation}
    specs = [
        ("fraud-xgboost", "xgboost",
         {"objective": "binary:logistic", "eval_metric": "auc", "num_round": 40, "max_depth": 4,
          "eta": 0.2, "nthread": 1, "seed": seed}),
        ("fraud-xgboost", "xgboost",
         {"objective": "binary:logistic", "eval_metric": "auc", "num_round": 8, "max_depth": 2,
          "eta": 0.3, "nthread": 1, "seed": seed}),
        ("fraud-linear", "linear-learner",
         {"predictor_type": "binary_classifier", "epochs": 3, "num_models": 2}),
    ]  # fmt: skip
    for base, algorithm, hyperparameters in specs:
        est = wb.Estimator(algorithm=algorithm, target=TARGET, hyperparameters=hyperparameters,
                           base_job_name=base, workspace=ws)  # fmt: skip
        est.fit(channels, logs=False)
        demo.jobs.append(est.latest_training_job.name)
    for name in demo.jobs:
        demo.evaluations.append(evaluate(name, parts.test, workspace=ws).name)
    if tuning:
        from workbench.tuning import ContinuousParameter, HyperparameterTuner, IntegerParameter

        est = wb.Estimator(
            algorithm="xgboost", target=TARGET, base_job_name="fraud-tuned", workspace=ws,
            hyperparameters={"objective": "binary:logistic", "eval_metric": "auc",
                             "num_round": 20, "nthread": 1, "seed": seed},
        )  # fmt: skip
        tuner = HyperparameterTuner(
            est, "validation:auc",
            {"eta": ContinuousParameter(0.05, 0.5), "max_depth": IntegerParameter(2, 6)},
            strategy="Random", max_jobs=3, max_parallel_jobs=1, random_seed=seed,
            base_tuning_job_name="fraud-tuning", workspace=ws,
        )  # fmt: skip
        tuner.fit(channels)
        demo.tuning_job = str(tuner.latest_tuning_job)
    demo.timings["train_s"] = round(time.monotonic() - started, 2)


def _serve(demo: DemoWorkspace, seed: int, traffic_seconds: float) -> None:
    import numpy as np

    from workbench.monitoring import DefaultModelMonitor
    from workbench.serving import (
        CSVSerializer,
        DataCaptureConfig,
        JSONDeserializer,
        Predictor,
        create_endpoint,
        delete_endpoint,
        production_variant,
        read_captured,
    )
    from workbench.serving import default_destination as capture_root

    started = time.monotonic()
    ws = demo.workspace
    train, test = demo.data["train"], demo.data["test"]
    features = [c for c in test.columns if c != TARGET]
    rows = test[features]
    stamp = datetime.now(UTC).strftime("%H%M%S")
    monitor = DefaultModelMonitor(workspace=ws).suggest_baseline(train, exclude=[TARGET])
    statistics, constraints = monitor.baseline_statistics(), monitor.suggested_constraints()

    def traffic(name: str, frame: Any, per_request: int, seconds: float) -> None:
        predictor = Predictor(name, serializer=CSVSerializer(), deserializer=JSONDeserializer(),
                              workspace=ws)  # fmt: skip
        chunks = [frame.iloc[i : i + per_request] for i in range(0, len(frame), per_request)]
        pause = seconds / max(1, len(chunks))
        for chunk in chunks:
            predictor.predict(chunk if per_request > 1 else chunk.to_numpy()[0])
            if pause:
                time.sleep(pause)

    def captured(name: str, start: datetime, end: datetime) -> int:
        frame = read_captured(capture_root(ws, name), name, start_time=start, end_time=end,
                              columns=features)  # fmt: skip
        return len(frame)

    def check(name: str, start: datetime, end: datetime) -> str:
        window = DefaultModelMonitor(workspace=ws)
        window.create_monitoring_schedule(
            name, statistics=statistics, constraints=constraints,
            schedule_cron_expression="NOW", data_analysis_start_time=start,
            data_analysis_end_time=end,
        )  # fmt: skip
        execution = window.list_executions()[-1]
        demo.executions.append(execution.name)
        return execution.status

    capture = DataCaptureConfig(sampling_percentage=100)
    # 1. A canary endpoint: normal traffic, one clean check, then deleted (its capture stays).
    canary = f"fraud-canary-{stamp}"
    create_endpoint(canary, [production_variant(demo.jobs[1])], data_capture_config=capture,
                    workspace=ws)  # fmt: skip
    try:
        start = _next_second()
        traffic(canary, rows.iloc[:60], 1, 0.0)
        end = _next_second()
        _wait(lambda: captured(canary, start, end) >= 60, 20, "the canary's capture files")
        check(canary, start, end)
    finally:
        delete_endpoint(canary, workspace=ws)
    demo.deleted_endpoint = canary
    # 2. The production endpoint: A/B variants, normal traffic, then shifted traffic.
    prod = f"fraud-prod-{stamp}"
    create_endpoint(
        prod,
        [production_variant(demo.jobs[0], variant_name="A", initial_weight=3),
         production_variant(demo.jobs[1], variant_name="B", initial_weight=1)],
        data_capture_config=capture, workspace=ws,
    )  # fmt: skip
    demo.endpoint = prod
    normal = rows.iloc[:200]
    shifted = rows.iloc[200:400].copy()
    shifted["amount"] = shifted["amount"] * 5
    std = float(np.std(train["distance_from_home_km"]))
    shifted["distance_from_home_km"] = shifted["distance_from_home_km"] + 3 * std
    normal_start = _next_second()
    traffic(prod, normal, 1, traffic_seconds / 2)
    shift_start = _next_second()
    traffic(prod, shifted, 2, traffic_seconds / 2)
    end = _next_second()
    expected = len(normal) + len(shifted)
    _wait(lambda: captured(prod, normal_start, end) >= expected, 20, "the capture files")
    demo.data["statuses"] = [check(prod, normal_start, shift_start), check(prod, shift_start, end)]
    # The server records its per-second series once a second; wait for the last one.
    from workbench.serving import describe_endpoint

    def counted() -> int:
        stats = describe_endpoint(prod, workspace=ws)["Stats"].get("variants", {})
        return sum(v["invocations"] for v in stats.values())

    requests = len(normal) + (len(shifted) + 1) // 2
    _wait(lambda: counted() >= requests, 20, "the endpoint's invocation metrics")
    demo.timings["serve_s"] = round(time.monotonic() - started, 2)


def _label(demo: DemoWorkspace, seed: int) -> None:
    import workbench as wb

    started = time.monotonic()
    ws = demo.workspace
    texts = wb.datasets.load("text", size="small", seed=seed)
    topics = texts.iloc[:60].reset_index(drop=True)
    truth = list(topics["topic"])
    job = wb.LabelingJob(
        topics[["text"]], task_type="text-classification", labels=TOPICS,
        annotators=["ana", "ben", "cy"], annotators_per_item=3, name="demo-topics",
        instructions="Pick the main topic of the text.", workspace=ws,
    ).start()  # fmt: skip
    for name, error in (("ana", 0.02), ("ben", 0.05), ("cy", 0.3)):
        wb.SimulatedAnnotator(name, truth, error_rate=error, seed=seed).work(job)
    demo.labelling_jobs.append(str(job.name))
    second = texts.iloc[60:100].reset_index(drop=True)
    job2 = wb.LabelingJob(
        second[["text"]], task_type="text-classification", labels=TOPICS,
        annotators=["dee", "eli"], annotators_per_item=2, name="demo-topics-round2",
        workspace=ws,
    ).start()  # fmt: skip
    wb.SimulatedAnnotator("dee", list(second["topic"]), error_rate=0.1, seed=seed).work(
        job2, limit=30
    )
    wb.SimulatedAnnotator("eli", list(second["topic"]), error_rate=0.1, seed=seed + 1).work(
        job2, limit=12
    )
    demo.labelling_jobs.append(str(job2.name))
    demo.timings["label_s"] = round(time.monotonic() - started, 2)
