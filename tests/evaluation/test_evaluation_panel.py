"""EvaluationPanel, headless: widgets are driven from Python, assertions are on ``state``."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench._ui import error_html
from workbench.evaluation import CostMatrix, ThresholdPicker
from workbench.evaluation._panel import EvaluationPanel
from workbench.training import list_training_jobs
from workbench.training._model import Model

PNG = b"\x89PNG"


def _train(workspace, train, algorithm: str, target: str = "y", **hyperparameters):
    est = wb.Estimator(
        algorithm=algorithm, target=target, hyperparameters=hyperparameters, workspace=workspace
    )
    return est.fit({"train": train}, logs=False)


@pytest.fixture
def jobs(workspace, splits) -> list[str]:
    train, _ = splits
    xgb = _train(workspace, train, "xgboost", objective="binary:logistic", num_round=10)
    linear = _train(workspace, train, "linear-learner", predictor_type="binary_classifier")
    return [xgb.name, linear.name]


@pytest.fixture
def panel(workspace, splits, jobs) -> EvaluationPanel:
    panel = EvaluationPanel(splits[1], jobs=jobs, workspace=workspace)
    panel.evaluate()
    return panel


def test_the_job_list_comes_from_the_workspace(workspace, splits):
    train, test = splits
    panel = EvaluationPanel(test, workspace=workspace)
    assert panel.state.available == [] and panel.job_list.value == ()
    first = _train(workspace, train, "xgboost", objective="binary:logistic", num_round=5)
    second = _train(workspace, train, "linear-learner", predictor_type="binary_classifier")
    names = panel.refresh_jobs()
    assert names == list(list_training_jobs(workspace, status="Completed")["name"])
    assert set(names) == {first.name, second.name}
    assert panel.job_list.value == (names[0],)  # the newest is preselected
    assert (f"{first.name} (xgboost)", first.name) in panel.job_list.options
    assert panel.refresh_button.layout.display is None

    given = EvaluationPanel(test, jobs=[first], workspace=workspace)  # names or jobs
    assert given.state.available == [first.name] and given.job_list.value == (first.name,)
    assert given.refresh_button.layout.display == "none"
    assert "application/vnd.jupyter.widget-view+json" in given._repr_mimebundle_()


def test_evaluate_fills_the_table_with_one_row_per_job(workspace, splits, jobs):
    panel = EvaluationPanel(splits[1], jobs=jobs, workspace=workspace)
    panel.evaluate_button.click()
    state = panel.state
    assert state.error is None and state.evaluated == jobs and list(panel.evaluations) == jobs
    assert list(panel.comparison.index) == jobs
    assert list(panel.comparison["algorithm"]) == ["xgboost", "linear-learner"]
    assert panel.comparison.loc[jobs[0], "roc_auc"] == panel.evaluations[jobs[0]].metrics["roc_auc"]
    assert panel.comparison.shape[0] == 2 and "roc_auc" in panel.table.value
    assert all(panel.table.value.count(f"<th>{name}</th>") == 1 for name in jobs)
    assert "Evaluated 2 job(s) on 200 rows" in panel.status.value
    assert len(workspace.catalog.list("evaluation")) == 2  # record=True
    # The first job is shown: its first plot and, being binary, the threshold section.
    assert state.job == jobs[0] and state.problem_type == "binary_classification"
    assert state.plot == "ROC" and panel.plot.value[:4] == PNG
    assert panel.threshold_box.layout.display is None
    assert state.confusion == {k: panel.evaluations[jobs[0]].metrics[k] for k in state.confusion}
    assert sum(state.confusion.values()) == 200

    panel.shown_job.value = jobs[1]
    assert state.job == jobs[1]
    assert state.confusion["tp"] == panel.evaluations[jobs[1]].metrics["tp"]


def test_threshold_and_costs_rejudge_without_predicting(panel, jobs, monkeypatch):
    calls = []
    original = Model.predict_proba

    def counting(self, *args, **kwargs):
        calls.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Model, "predict_proba", counting)
    ev = panel.evaluations[jobs[0]]
    at_half = dict(panel.state.confusion)

    panel.set_threshold(0.2)
    state = panel.state
    assert panel.threshold.value == 0.2 and state.threshold == 0.2
    expected = ev.at_threshold(0.2).metrics
    assert state.confusion == {k: expected[k] for k in ("tn", "fp", "fn", "tp")}
    assert state.confusion != at_half and state.recall == expected["recall"]
    assert state.cost == ThresholdPicker(ev, CostMatrix(fn=1, fp=1)).at(0.2)["cost"]

    panel.threshold.value = 0.8  # the slider itself
    assert state.threshold == 0.8 and state.confusion["tp"] == ev.at_threshold(0.8).metrics["tp"]
    assert "total cost" in panel.threshold_summary.value

    panel.set_costs(fn=10, fp=2)
    assert state.costs == {"fn": 10.0, "fp": 2.0}
    assert state.cost == 10 * state.confusion["fn"] + 2 * state.confusion["fp"]
    panel.fp_cost.value = 3.0
    assert state.cost == 10 * state.confusion["fn"] + 3 * state.confusion["fp"]
    assert calls == []  # nothing was predicted again


def test_best_threshold_follows_the_costs(panel, jobs):
    ev = panel.evaluations[jobs[0]]
    panel.set_costs(fn=50, fp=1)  # a missed positive is expensive
    expensive = panel.best_threshold()
    assert expensive == ThresholdPicker(ev, CostMatrix(fn=50, fp=1)).best()[0]
    assert panel.threshold.value == expensive == panel.state.best_threshold
    assert panel.state.cost == ThresholdPicker(ev, CostMatrix(fn=50, fp=1)).best()[1]

    panel.set_costs(fn=1, fp=50)  # false alarms are expensive
    panel.best_button.click()
    cheap = panel.state.best_threshold
    assert cheap == ThresholdPicker(ev, CostMatrix(fn=1, fp=50)).best()[0]
    assert panel.threshold.value == cheap and expensive < cheap


def test_the_plot_dropdown_renders_each_plot(panel):
    assert panel.plot_kind.options == (
        "ROC",
        "precision-recall",
        "confusion matrix",
        "calibration",
        "feature importance",
    )
    seen = {}
    for kind in panel.plot_kind.options:
        panel.plot_kind.value = kind
        assert panel.state.plot == kind and panel.state.error is None
        assert panel.plot.value[:4] == PNG
        seen[kind] = panel.plot.value
    assert len(set(seen.values())) == len(seen)
    panel.plot_kind.value = "confusion matrix"
    panel.set_threshold(0.9)  # the confusion matrix is drawn at the slider's threshold
    assert panel.plot.value[:4] == PNG and panel.plot.value != seen["confusion matrix"]


def test_errors_are_shown_in_the_status_line(panel, workspace, splits):
    panel.job_list.value = ()
    assert panel.evaluate() == {}
    assert "at least one selected job" in panel.state.error
    assert panel.status.value == error_html(panel.state.error)
    assert panel.state.evaluated  # the previous results stay

    panel.set_costs(fn=-1, fp=1)
    assert panel.state.error.startswith("CostMatrix.fn")
    assert panel.threshold_summary.value == error_html(panel.state.error)
    assert panel.best_threshold() is None
    panel.set_costs(fn=1, fp=1)
    assert panel.state.error is None

    panel.set_threshold(1.5)
    assert "threshold" in panel.state.error and panel.threshold.value != 1.5

    unknown = EvaluationPanel(splits[1], jobs=["no-such-job"], workspace=workspace)
    assert unknown.evaluate() == {} and "no-such-job" in unknown.state.error
    assert unknown.best_threshold() is None and "Evaluate first" in unknown.state.error


def test_a_regression_job_has_no_threshold_section(workspace, splits):
    train, test = splits
    hps = {"objective": "reg:squarederror", "num_round": 5}
    job = _train(workspace, train, "xgboost", target="x0", **hps)
    panel = EvaluationPanel(test, jobs=[job.name], workspace=workspace)
    panel.evaluate()
    assert panel.state.problem_type == "regression" and "rmse" in panel.comparison
    assert panel.plot_kind.options == ("residuals", "feature importance")
    assert panel.plot.value[:4] == PNG and panel.state.plot == "residuals"
    assert panel.threshold_box.layout.display == "none"
    assert panel.best_threshold() is None and "binary" in panel.state.error
