"""TrainingPanel and the shared panel helpers, headless (ipywidgets builds on a DummyComm)."""

from __future__ import annotations

import sys

import ipywidgets as widgets
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from workbench._ui import HyperparameterForm, hyperparameter_form, metric_chart_png, run_action
from workbench.algorithms import Hyperparameter, HyperparameterSchema, get_algorithm
from workbench.exceptions import ValidationError, WorkbenchError
from workbench.training import list_training_jobs
from workbench.training._panel import NO_TARGET, SPLIT, TrainingPanel

from .._helpers import wait_for as _wait_for

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    X, y = make_classification(n_samples=600, n_features=5, n_informative=3, random_state=0)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    df["y"] = y
    return df


@pytest.fixture
def panel(workspace, frame) -> TrainingPanel:
    return TrainingPanel({"train": frame}, workspace=workspace, poll_interval=0.1)


def _fill(form: HyperparameterForm, **values: object) -> None:
    for name, value in values.items():
        form.widgets[name].value = value


# -- hyperparameter form -----------------------------------------------------------------
def test_form_is_generated_from_the_schema():
    schema = get_algorithm("xgboost").hyperparameters
    form = hyperparameter_form(schema)
    assert list(form.widgets) == schema.names == list(form.messages)
    for param in schema:
        assert form.widgets[param.name].description.endswith("*") == param.required
    assert isinstance(form.widgets["objective"], widgets.Dropdown)
    assert isinstance(form.widgets["eta"], widgets.Text) and form.widgets["eta"].value == "0.3"
    assert form.widgets["num_round"].value == ""  # required, no default: blank
    advanced = form.box.children[-1]
    assert isinstance(advanced, widgets.Accordion) and advanced.titles == ("Advanced",)
    assert (
        len(form.box.children) == 9 and len(advanced.children[0].children) == len(schema.names) - 8
    )

    with pytest.raises(ValidationError, match="num_round"):
        form.values()
    assert "num_round" in form.errors()
    _fill(form, num_round="10", eta="0.3", max_depth="4")  # eta equals its default
    assert form.values() == {"num_round": 10, "max_depth": 4}
    assert form.errors() == {}
    assert hyperparameter_form(schema, {"num_round": 7}).values() == {"num_round": 7}


def test_form_widget_kinds_for_bools_and_auto():
    schema = HyperparameterSchema(
        (
            Hyperparameter("k", "int", None, "How many.", required=True, low=1),
            Hyperparameter("flag", "bool", False, "A switch."),
            Hyperparameter("mode", "bool", "auto", "Auto or not.", allow_auto=True),
            Hyperparameter("kind", "str", None, "Optional choice.", choices=("a", "b")),
        )
    )
    form = hyperparameter_form(schema, {"k": 2})
    assert isinstance(form.widgets["flag"], widgets.Checkbox)
    assert isinstance(form.widgets["mode"], widgets.Dropdown)
    assert form.widgets["kind"].value is None  # blank option: left out
    assert form.widgets["k"].tooltip == "How many."
    assert form.values() == {"k": 2}
    _fill(form, flag=True, mode=False, kind="b")
    assert form.values() == {"k": 2, "flag": True, "mode": False, "kind": "b"}


# -- panel: validation ---------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["-3", "abc"])
def test_invalid_value_is_shown_inline_and_blocks_start(panel, workspace, bad):
    _fill(panel.form, num_round=bad)
    message = panel.form.messages["num_round"].value
    assert "num_round" in message and "color" in message
    panel.start_button.click()
    assert panel.job is None
    assert panel.state.error and "num_round" in panel.state.error
    assert "num_round" in panel.status.value
    assert not panel.start_button.disabled and panel.stop_button.disabled
    assert list_training_jobs(workspace).empty

    _fill(panel.form, num_round="5")
    assert panel.form.messages["num_round"].value == ""


def test_panel_controls_and_display(workspace, frame):
    holdout = frame.sample(100, random_state=1)
    panel = TrainingPanel({"train": frame, "holdout": holdout}, workspace=workspace)
    assert panel.dataset.options[:2] == ("train", "holdout")
    assert panel.target.value == "y" and panel.target.options == tuple(frame.columns)
    assert panel.validation.options == (SPLIT, "none", "holdout")
    assert panel.validation_fraction.value == 0.2
    assert set(panel.form.widgets) == set(get_algorithm("xgboost").hyperparameters.names)
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    with pytest.raises(ValidationError, match="DataFrame"):
        TrainingPanel({"train": [1, 2]}, workspace=workspace)


def test_builtin_datasets_are_offered_and_loaded_when_chosen(workspace, frame):
    try:
        from workbench.datasets import list_datasets  # noqa: F401  (written in parallel)
    except ImportError:
        pytest.skip("workbench.datasets is not importable yet")
    panel = TrainingPanel({"train": frame}, workspace=workspace)
    assert panel.dataset.options[0] == "train" and "builtin:fraud" in panel.dataset.options
    panel.dataset.value = "builtin:fraud"
    assert panel.target.value == "is_fraud" and panel.state.error is None
    assert panel.validation.options == (SPLIT, "none", "train")


def test_without_builtin_datasets_only_given_frames_are_offered(workspace, frame, monkeypatch):
    import workbench

    monkeypatch.delattr(workbench, "datasets", raising=False)
    monkeypatch.setitem(sys.modules, "workbench.datasets", None)  # import raises ImportError
    panel = TrainingPanel({"train": frame}, workspace=workspace)
    assert panel.dataset.options == ("train",)


def test_switching_algorithm_rebuilds_the_form(panel):
    try:
        schema = get_algorithm("linear-learner").hyperparameters
    except ImportError:
        pytest.skip("linear-learner is not importable yet")
    panel.algorithm.value = "linear-learner"
    assert list(panel.form.widgets) == schema.names
    assert "num_round" not in panel.form.widgets
    assert panel.form.widgets["predictor_type"].description.endswith("*")
    assert panel.form.box in panel._form_box.children


# -- panel: jobs -----------------------------------------------------------------------------
def test_valid_start_trains_an_xgboost_job(panel):
    _fill(panel.form, num_round="5", objective="binary:logistic")
    panel.start_button.click()
    assert panel.job is not None and panel.state.error is None
    assert panel.start_button.disabled
    panel.job.wait(logs=False)
    # The poller alone reaches the terminal state and resets the buttons.
    assert _wait_for(lambda: panel.state.status == "Completed", timeout=10)
    state = panel.refresh()
    assert state.status == "Completed" and state.job_name == panel.job.name
    assert "validation-logloss" in panel.log.value and state.n_log_lines > 5
    assert panel.chart.value[:4] == PNG
    assert "validation:logloss" in state.final_metrics
    assert "validation:logloss" in panel.final_metrics.value
    assert not panel.start_button.disabled and panel.stop_button.disabled
    rows = {c["ChannelName"]: c["Rows"] for c in panel.job.describe()["InputDataConfig"]}
    assert rows == {"train": 480, "validation": 120}  # seeded 20% split


def test_stop_a_running_job(panel):
    _fill(panel.form, num_round="100000", objective="binary:logistic")
    panel.start_button.click()
    assert panel.job is not None and not panel.stop_button.disabled
    # Stop once the supervisor runs the job (it handles SIGTERM from then on).
    assert _wait_for(lambda: panel.refresh().secondary_status == "Training")
    panel.stop_button.click()
    assert panel.stop_button.disabled
    panel.job.wait(logs=False)
    state = panel.refresh()
    assert state.status == "Stopped"
    assert "Stopped" in panel.status.value and "color" not in panel.status.value
    assert not panel.start_button.disabled and panel.stop_button.disabled


# -- helpers -----------------------------------------------------------------------------------
def test_metric_chart_png():
    empty = pd.DataFrame(columns=["metric", "step", "value", "timestamp"])
    assert metric_chart_png(empty)[:4] == PNG
    assert metric_chart_png(None)[:4] == PNG
    frame = pd.DataFrame(
        {
            "metric": ["train:auc"] * 3 + ["validation:auc"] * 3,
            "step": [0, 1, 2] * 2,
            "value": [0.7, 0.8, 0.9, 0.6, 0.7, 0.75],
        }
    )
    assert metric_chart_png(frame)[:4] == PNG


def test_run_action_shows_errors_and_reenables_the_button():
    button, status, seen = widgets.Button(), widgets.HTML(), []

    def fail() -> None:
        assert button.disabled  # disabled while the action runs
        raise WorkbenchError("the catalogue is locked")

    assert (
        run_action(fail, button=button, status=status, on_error=lambda e, m: seen.append(m)) is None
    )
    assert "the catalogue is locked" in status.value and "color" in status.value
    assert not button.disabled and seen == ["the catalogue is locked"]

    assert run_action(lambda: {}["missing"], button=button, status=status) is None
    assert "KeyError" in status.value and "missing" in status.value
    assert not button.disabled
    assert run_action(lambda: 42, button=button, status=status) == 42


def test_unsupervised_algorithms_offer_no_target_and_train_on_a_test_channel(panel, monkeypatch):
    panel.algorithm.value = "kmeans"
    assert panel.target.options[0] == NO_TARGET and panel.target.value == NO_TARGET
    inputs = panel._inputs()
    assert set(inputs) == {"train", "test"}  # K-Means has no validation channel
    panel.algorithm.value = "xgboost"
    assert NO_TARGET not in panel.target.options and panel.target.value is not None


def test_file_channels_are_used_as_given_and_need_no_target(workspace, tmp_path):
    from workbench.training import TrainingInput

    channels = {"train": TrainingInput(str(tmp_path), content_type="text/csv")}
    panel = TrainingPanel(channels=channels, algorithm="xgboost", workspace=workspace)
    assert panel._inputs() == channels
    assert "channels" in panel._data_box.children[0].value
    with pytest.raises(ValidationError, match="channels"):
        TrainingPanel(channels={"validation": channels["train"]}, workspace=workspace)
