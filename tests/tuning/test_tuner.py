import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from matplotlib.figure import Figure

import workbench as wb
from workbench.exceptions import ValidationError
from workbench.tuning import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    TuningJobCompletionCriteriaConfig,
    WarmStartConfig,
    WarmStartTypes,
    list_tuning_jobs,
)

XGB = {"objective": "binary:logistic", "num_round": 10, "eval_metric": "auc"}
RANGES = {"eta": ContinuousParameter(0.01, 0.5), "max_depth": IntegerParameter(1, 6)}
LOSS = [{"Name": "loss", "Regex": r"loss=([0-9.eE+-]+)"}]
SCRIPT = """
import argparse, sys, time
p = argparse.ArgumentParser()
p.add_argument("--x", type=float, default=0.0)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--sleep", type=float, default=0.0)
p.add_argument("--fail", type=float, default=-1.0)
a, _ = p.parse_known_args()
if a.fail < 0 or a.x == a.fail:
    if a.fail != -1.0:
        raise RuntimeError(f"x={a.x} is not allowed")
for e in range(a.epochs):
    print(f"epoch={e} loss={(a.x - 0.3) ** 2 + 1.0 / (e + 1):.6f}", flush=True)
    time.sleep(a.sleep)
"""


def _inputs(splits):
    return {"train": splits[0], "validation": splits[1]}


def _script_estimator(tmp_path: Path, **hps) -> wb.Estimator:
    src = tmp_path / "src"  # not tmp_path itself: the workspace lives there
    src.mkdir(exist_ok=True)
    (src / "train.py").write_text(textwrap.dedent(SCRIPT))
    return wb.Estimator(
        entry_point="train.py", source_dir=str(src), target="y",
        hyperparameters=hps, metric_definitions=LOSS,
    )  # fmt: skip


def test_random_search_minimize_in_parallel_with_lineage_analytics_and_plots(
    workspace, splits
) -> None:
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB)
    tuner = HyperparameterTuner(
        est, "validation:logloss", RANGES, strategy="Random", objective_type="Minimize",
        max_jobs=5, max_parallel_jobs=2, random_seed=1,
    )  # fmt: skip
    tuner.fit(_inputs(splits))
    name = tuner.latest_tuning_job
    assert len(name) <= 32
    desc = tuner.describe()
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["TrainingJobStatusCounters"]["Completed"] == 5
    assert desc["ObjectiveStatusCounters"] == {"Succeeded": 5, "Pending": 0, "Failed": 0}
    trials = workspace.catalog.lineage("tuning-job", name)["downstream"]
    assert len(trials) == 5 and {t["relation"] for t in trials} == {"trial"}
    values = {}
    for trial in trials:
        job = wb.TrainingJob(trial["name"])
        assert job.name.startswith(name + "-") and len(job.name) <= 63
        hps = json.loads((job.job_dir / "input/config/hyperparameters.json").read_text())
        assert hps["_tuning_objective_metric"] == "validation:logloss"
        assert hps["eval_metric"] == "auc,logloss"  # the objective is evaluated too
        values[job.name] = job.final_metrics()["validation:logloss"]
    best = tuner.best_training_job()
    assert values[best] == min(values.values())
    assert desc["BestTrainingJob"]["TrainingJobName"] == best
    assert set(desc["BestTrainingJob"]["TunedHyperParameters"]) == {"eta", "max_depth"}
    assert tuner.best_estimator().latest_training_job.name == best

    frame = tuner.analytics().dataframe()
    assert len(frame) == 5 and {"eta", "max_depth", "FinalObjectiveValue"} <= set(frame.columns)
    assert frame["max_depth"].between(1, 6).all() and frame["eta"].between(0.01, 0.5).all()
    frame = frame.sort_values("TrainingStartTime").reset_index(drop=True)
    overlapping = any(
        frame.TrainingStartTime[i + 1] < frame.TrainingEndTime[i] for i in range(len(frame) - 1)
    )
    assert overlapping  # two trials ran at once
    analytics = tuner.analytics()
    for plot in ("plot_optimization_history", "plot_param_importances",
                 "plot_parallel_coordinate", "plot_slice"):  # fmt: skip
        assert isinstance(getattr(analytics, plot)(), Figure)
    listing = list_tuning_jobs()
    assert listing.loc[0, "name"] == name and listing.loc[0, "best_training_job"] == best


def test_bayesian_maximize_finds_the_best_job(workspace, splits) -> None:
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB)
    tuner = HyperparameterTuner(est, "validation:auc", RANGES, max_jobs=4, random_seed=0)
    tuner.fit(_inputs(splits))
    frame = tuner.analytics().dataframe()
    assert (frame.TrainingJobStatus == "Completed").all()
    best = frame.loc[frame.FinalObjectiveValue.idxmax(), "TrainingJobName"]
    assert tuner.best_training_job() == best
    assert tuner.study.best_value == frame.FinalObjectiveValue.max()
    predictor = tuner.deploy(endpoint_name="tuned")
    try:
        assert wb.describe_endpoint("tuned")["ProductionVariants"][0]["ModelName"] == best
        rows = splits[1].drop(columns="y").head(1)
        body = (",".join(repr(float(v)) for v in rows.iloc[0]) + "\n").encode()
        answer = predictor.predict(body, initial_args={"ContentType": "text/csv"})
        expected = wb.Model(best).predict_proba(rows)[1].iloc[0]
        assert float(answer) == pytest.approx(expected, rel=1e-6)
    finally:
        predictor.delete_endpoint()


def test_grid_runs_every_combination(workspace, splits) -> None:
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB)
    ranges = {"max_depth": CategoricalParameter([2, 4]), "grow_policy": CategoricalParameter(["depthwise", "lossguide"])}  # fmt: skip
    tuner = HyperparameterTuner(est, "validation:auc", ranges, strategy="Grid", max_parallel_jobs=2)
    tuner.fit(_inputs(splits))
    frame = tuner.analytics().dataframe()
    assert sorted(zip(frame.max_depth, frame.grow_policy)) == [
        (2, "depthwise"), (2, "lossguide"), (4, "depthwise"), (4, "lossguide")
    ]  # fmt: skip
    assert (
        tuner.describe()["HyperParameterTuningJobConfig"]["ResourceLimits"][
            "MaxNumberOfTrainingJobs"
        ]
        == 4
    )


def test_early_stopping_prunes_bad_trials_and_stops_their_jobs(workspace, tmp_path, splits) -> None:
    est = _script_estimator(tmp_path, epochs=25, sleep=0.08)
    tuner = HyperparameterTuner(
        est, "loss", {"x": ContinuousParameter(0.0, 1.0)}, objective_type="Minimize",
        strategy="Random", max_jobs=10, max_parallel_jobs=2, early_stopping_type="Auto",
        random_seed=3,
    )  # fmt: skip
    tuner.fit({"train": splits[0]})
    frame = tuner.analytics().dataframe()
    assert len(frame) == 10
    stopped = frame[frame.TrainingJobStatus == "Stopped"]
    assert len(stopped) >= 1
    import optuna

    pruned = [t for t in tuner.study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert {t.user_attrs["training_job"] for t in pruned} == set(stopped.TrainingJobName)
    assert tuner.describe()["HyperParameterTuningJobStatus"] == "Completed"


def test_consecutive_failures_end_the_tuning_job_failed(workspace, tmp_path, splits) -> None:
    est = _script_estimator(tmp_path, fail=-2.0)  # every x fails
    tuner = HyperparameterTuner(
        est, "loss", {"x": ContinuousParameter(0.0, 1.0)}, objective_type="Minimize",
        max_jobs=6, max_consecutive_failures=3, strategy="Random",
    )  # fmt: skip
    tuner.fit({"train": splits[0]})
    desc = tuner.describe()
    assert desc["HyperParameterTuningJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith("3 consecutive training jobs failed; last: ")
    assert "is not allowed" in desc["FailureReason"]
    assert desc["TrainingJobStatusCounters"]["NonRetryableError"] == 3


def test_one_failure_between_successes_does_not_end_the_job(workspace, tmp_path, splits) -> None:
    est = _script_estimator(tmp_path, fail=1.0)
    tuner = HyperparameterTuner(
        est, "loss", {"x": CategoricalParameter([0.0, 1.0, 0.5])}, objective_type="Minimize",
        strategy="Grid", max_consecutive_failures=1 + 1,
    )  # fmt: skip
    tuner.fit({"train": splits[0]})
    desc = tuner.describe()
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["TrainingJobStatusCounters"]["NonRetryableError"] == 1
    assert desc["TrainingJobStatusCounters"]["Completed"] == 2


def test_missing_objective_counts_as_a_failed_trial(workspace, tmp_path, splits) -> None:
    est = _script_estimator(tmp_path, epochs=0)  # prints no metric at all
    tuner = HyperparameterTuner(
        est, "loss", {"x": ContinuousParameter(0.0, 1.0)}, max_jobs=2, max_consecutive_failures=2
    )
    tuner.fit({"train": splits[0]})
    desc = tuner.describe()
    assert desc["HyperParameterTuningJobStatus"] == "Failed"
    assert "without the objective metric 'loss'" in desc["FailureReason"]


def test_attach_from_another_process_and_continue(workspace, splits) -> None:
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB)
    tuner = HyperparameterTuner(est, "validation:auc", RANGES, max_jobs=2, strategy="Random")
    tuner.fit(_inputs(splits))
    code = textwrap.dedent(f"""
        import json
        from workbench.tuning import HyperparameterTuner
        t = HyperparameterTuner.attach({tuner.latest_tuning_job!r})
        t.wait()
        print(json.dumps({{"best": t.best_training_job(), "rows": len(t.analytics().dataframe()),
                          "status": t.describe()["HyperParameterTuningJobStatus"]}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"best": tuner.best_training_job(), "rows": 2, "status": "Completed"}

    again = HyperparameterTuner.attach(tuner.latest_tuning_job)
    assert again.hyperparameter_ranges == RANGES
    again.max_jobs = 3
    again.fit(_inputs(splits))
    assert again.latest_tuning_job == tuner.latest_tuning_job
    assert len(again.analytics().dataframe()) == 3


def test_warm_start_adds_the_parents_trials(workspace, splits) -> None:
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB)
    parent = HyperparameterTuner(est, "validation:auc", RANGES, max_jobs=3, strategy="Random")
    parent.fit(_inputs(splits))
    narrower = {"eta": ContinuousParameter(0.01, 0.5), "max_depth": IntegerParameter(1, 3)}
    child = HyperparameterTuner(
        est, "validation:auc", narrower, max_jobs=1, strategy="Random",
        warm_start_config=WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, {parent.latest_tuning_job}),
    )  # fmt: skip
    child.fit(_inputs(splits))
    inherited = [t for t in child.study.trials if "parent_tuning_job" in t.user_attrs]
    fitting = parent.analytics().dataframe().query("max_depth <= 3")
    assert len(inherited) == len(fitting)
    assert len(child.analytics().dataframe()) == 1  # own trials only
    identical = HyperparameterTuner(
        est, "validation:auc", narrower, max_jobs=1,
        warm_start_config=WarmStartConfig(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, {parent.latest_tuning_job}),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="the same hyperparameter_ranges"):
        identical.fit(_inputs(splits))


def test_stop_tuning_job_stops_running_trials(workspace, tmp_path, splits) -> None:
    est = _script_estimator(tmp_path, epochs=200, sleep=0.05)
    tuner = HyperparameterTuner(
        est, "loss", {"x": ContinuousParameter(0.0, 1.0)}, max_jobs=4, max_parallel_jobs=2
    )
    tuner.fit({"train": splits[0]}, wait=False)
    import time

    deadline = time.time() + 30
    while (
        tuner.describe()["TrainingJobStatusCounters"]["InProgress"] < 2 and time.time() < deadline
    ):
        time.sleep(0.1)
    tuner.stop_tuning_job()
    desc = tuner.describe()
    assert desc["HyperParameterTuningJobStatus"] == "Stopped"
    assert desc["TrainingJobStatusCounters"]["Stopped"] == 2
    assert desc["TrainingJobStatusCounters"]["InProgress"] == 0


def test_hyperband_runs_with_intermediate_values(workspace, splits) -> None:
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=dict(XGB, num_round=30))
    tuner = HyperparameterTuner(est, "validation:auc", RANGES, strategy="Hyperband", max_jobs=3)
    tuner.fit(_inputs(splits))
    assert tuner.describe()["HyperParameterTuningJobConfig"]["StrategyConfig"] == {
        "hyperband": {"min_resource": 1, "max_resource": 30}
    }
    assert len(tuner.analytics().dataframe()) == 3


def test_completion_criteria_end_the_job_early(workspace, tmp_path, splits) -> None:
    est = _script_estimator(tmp_path, epochs=1)
    # loss = (x - 0.3) ** 2 + 1: every x in the grid below is at least 1.0
    grid = {"x": CategoricalParameter([0.3, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])}
    target = HyperparameterTuner(
        est, "loss", grid, objective_type="Minimize", strategy="Grid", random_seed=0,
        completion_criteria_config=TuningJobCompletionCriteriaConfig(target_objective_metric_value=1.05),
    )  # fmt: skip
    target.fit({"train": splits[0]})
    desc = target.describe()
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["TrainingJobStatusCounters"]["Completed"] < 7
    assert desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] <= 1.05
    assert desc["TuningJobCompletionDetails"]["Reason"].startswith("TargetObjectiveMetricValue")
    assert desc["HyperParameterTuningJobConfig"]["TuningJobCompletionCriteria"] == {
        "TargetObjectiveMetricValue": 1.05
    }

    patience = HyperparameterTuner(
        est, "loss", {"x": ContinuousParameter(0.0, 1.0)}, objective_type="Minimize",
        strategy="Random", max_jobs=30, random_seed=1,
        completion_criteria_config=TuningJobCompletionCriteriaConfig(
            max_number_of_training_jobs_not_improving=3
        ),
    )  # fmt: skip
    patience.fit({"train": splits[0]})
    desc = patience.describe()
    values = patience.analytics().dataframe().sort_values("TrainingStartTime").FinalObjectiveValue
    assert len(values) < 30
    assert values.tolist().index(values.min()) == len(values) - 4  # 3 after the best, then stop
    assert desc["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"] == 3
    again = HyperparameterTuner.attach(patience.latest_tuning_job)
    assert again.completion_criteria_config == patience.completion_criteria_config


def test_max_runtime_stops_running_trials_and_completes(workspace, tmp_path, splits) -> None:
    est = _script_estimator(tmp_path, epochs=400, sleep=0.05)
    tuner = HyperparameterTuner(
        est, "loss", {"x": ContinuousParameter(0.0, 1.0)}, max_jobs=4, max_parallel_jobs=2,
        max_runtime_in_seconds=3,
    )  # fmt: skip
    tuner.fit({"train": splits[0]})
    desc = tuner.describe()
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["TrainingJobStatusCounters"]["Stopped"] == 2
    assert desc["TuningJobCompletionDetails"]["Reason"].startswith("MaxRuntimeInSeconds (3 s)")
    assert desc["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] == 3
