"""TuningPanel, headless (ipywidgets builds on a DummyComm): ranges, errors, runs, stop."""

from __future__ import annotations

import re

import ipywidgets as widgets
import pandas as pd
import pytest

from workbench.algorithms import get_algorithm
from workbench.training import Estimator
from workbench.tuning import CategoricalParameter, ContinuousParameter, IntegerParameter
from workbench.tuning._panel import TuningPanel, best_so_far_png

from .._helpers import wait_for as _wait_for

PNG = b"\x89PNG"
XGB = {"objective": "binary:logistic", "num_round": 10}


def _panel(workspace, splits, **hyperparameters: object) -> TuningPanel:
    train, valid = splits
    estimator = Estimator(
        algorithm="xgboost",
        target="y",
        hyperparameters={**XGB, **hyperparameters},
        workspace=workspace,
    )
    return TuningPanel(
        estimator, {"train": train, "validation": valid}, workspace=workspace, poll_interval=0.1
    )


def _rows(table_html: str) -> int:
    body = re.search(r"<tbody>(.*)</tbody>", table_html, re.S)
    return 0 if body is None else body.group(1).count("<tr")


# -- ranges and objective ------------------------------------------------------------------
def test_ranges_are_prefilled_from_the_schema(workspace, splits):
    panel = _panel(workspace, splits)
    schema = get_algorithm("xgboost").hyperparameters
    numeric = {p.name for p in schema if p.tunable and (p.type in ("int", "float") or p.choices)}
    assert set(panel.rows) == numeric
    assert not {"objective", "eval_metric", "seed", "booster", "csv_weights"} & set(panel.rows)

    eta, depth, subsample = panel.rows["eta"], panel.rows["max_depth"], panel.rows["subsample"]
    assert isinstance(eta.min_value, widgets.FloatText)
    assert isinstance(depth.min_value, widgets.IntText)
    assert (eta.min_value.value, eta.max_value.value) == (0.0, 1.0)
    assert (depth.min_value.value, depth.max_value.value) == (0, 12)  # unbounded: 2 x default
    assert (subsample.min_value.value, subsample.max_value.value) == (0.1, 1.0)  # (0, 1]
    assert panel.rows["num_round"].max_value.value == 20  # around the estimator's static 10
    assert panel.rows["gamma"].max_value.value == 10.0  # default 0, unbounded
    assert panel.rows["grow_policy"].values.value == "depthwise, lossguide"
    assert eta.scaling.options == ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")

    ranges = panel.ranges()
    assert set(ranges) == {"eta", "max_depth", "subsample", "min_child_weight"}
    assert ranges["eta"] == ContinuousParameter(0.0, 1.0, scaling_type="Auto")
    assert ranges["max_depth"] == IntegerParameter(0, 12, scaling_type="Auto")

    assert {"validation:auc", "validation:logloss", "validation:error"} <= set(
        panel.objective.options
    )
    assert "validation:rmse" not in panel.objective.options  # not a binary:logistic metric
    assert (panel.objective.value, panel.objective_type.value) == ("validation:logloss", "Minimize")
    panel.objective.value = "validation:auc"
    assert panel.objective_type.value == "Maximize"
    assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()
    assert panel.state.status == "NotStarted" and panel.refresh() is panel.state


def test_checking_and_unchecking_rows_changes_the_ranges(workspace, splits):
    panel = _panel(workspace, splits)
    panel.rows["eta"].tune.value = False
    panel.rows["gamma"].tune.value = True
    panel.rows["grow_policy"].tune.value = True
    panel.rows["max_depth"].scaling.value = "Linear"
    panel.rows["max_depth"].min_value.value = 2
    ranges = panel.ranges()
    assert set(ranges) == {"max_depth", "subsample", "min_child_weight", "gamma", "grow_policy"}
    assert ranges["gamma"] == ContinuousParameter(0.0, 10.0)
    assert ranges["grow_policy"] == CategoricalParameter(["depthwise", "lossguide"])
    assert ranges["max_depth"] == IntegerParameter(2, 12, scaling_type="Linear")


def test_other_algorithms_and_objective_metric_name(workspace, splits):
    train, valid = splits
    estimator = Estimator(
        algorithm="linear-learner",
        target="y",
        hyperparameters={"predictor_type": "binary_classifier"},
        workspace=workspace,
    )
    panel = TuningPanel(
        estimator,
        {"train": train, "validation": valid},
        objective_metric_name="validation:roc_auc_score",
    )
    assert set(panel.rows) == {"mini_batch_size", "learning_rate", "wd", "l1", "use_bias"}
    assert set(panel.ranges()) == {"learning_rate", "wd"}
    assert panel.rows["use_bias"].values.value == "true, false"
    assert panel.objective.value == "validation:roc_auc_score"
    assert panel.objective_type.value == "Maximize"
    assert "validation:objective_loss" in panel.objective.options
    assert best_so_far_png(pd.DataFrame(), "Minimize")[:4] == PNG  # placeholder
    trials = pd.DataFrame({"FinalObjectiveValue": [0.5, 0.3, 0.4]})
    assert best_so_far_png(trials, "Minimize")[:4] == PNG


# -- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("row", "low", "high", "field"),
    [("max_depth", 8, 2, "max_depth"), ("eta", 0.1, 2.0, "eta")],
    ids=["min-above-max", "eta-outside-schema"],
)
def test_bad_range_shows_the_error_and_starts_nothing(workspace, splits, row, low, high, field):
    panel = _panel(workspace, splits)
    panel.rows[row].min_value.value = low
    panel.rows[row].max_value.value = high
    panel.start_button.click()
    assert panel.tuner is None
    assert panel.state.error and field in panel.state.error
    assert field in panel.status.value and "color" in panel.status.value
    assert not panel.start_button.disabled and panel.stop_button.disabled
    assert workspace.catalog.list("tuning-job") == []
    assert workspace.catalog.list("training-job") == []


# -- runs ----------------------------------------------------------------------------------
def test_random_run_completes_with_table_chart_and_best_job(workspace, splits):
    panel = _panel(workspace, splits)
    panel.strategy.value = "Random"
    panel.max_jobs.value, panel.max_parallel_jobs.value = 3, 2
    panel.seed.value = "0"
    panel.objective.value = "validation:auc"
    tuner = panel.start()
    assert tuner is panel.tuner and tuner is not None
    assert panel.start_button.disabled or panel.state.status != "InProgress"
    tuner.wait()
    assert _wait_for(lambda: panel.state.status == "Completed")  # the poller got there too
    state = panel.refresh()
    assert state.tuning_job == tuner.latest_tuning_job
    assert (state.n_trials, state.n_completed, state.n_running, state.n_failed) == (3, 3, 0, 0)
    assert _rows(panel.trials.value) == 3
    assert panel.chart.value[:4] == PNG
    best = tuner.best_training_job()
    assert state.best_job == (best if isinstance(best, str) else best["TrainingJobName"])
    assert 0.5 < state.best_value <= 1.0
    assert state.best_job in panel.status.value and "3 completed" in panel.status.value
    assert not panel.start_button.disabled and panel.stop_button.disabled
    assert len(workspace.catalog.list("tuning-job")) == 1


def test_stop_stops_a_running_tuning_job(workspace, splits):
    panel = _panel(workspace, splits, num_round=200_000)
    panel.rows["num_round"].tune.value = False
    panel.strategy.value = "Random"
    panel.max_jobs.value, panel.max_parallel_jobs.value = 4, 1
    tuner = panel.start()
    assert tuner is not None and not panel.stop_button.disabled
    assert _wait_for(lambda: panel.state.n_running >= 1)
    panel.stop_button.click()
    tuner.wait()
    state = panel.refresh()
    assert state.status == "Stopped"
    assert state.n_completed == 0 and state.n_trials < 4
    assert panel.stop_button.disabled and not panel.start_button.disabled
