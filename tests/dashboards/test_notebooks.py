"""The dashboard notebooks' widget logic, run in this process without a kernel or a browser.

Each notebook's code cells are executed in a namespace (ipywidgets 8 works without a
frontend), then widgets are driven from Python: values set, buttons clicked, and what the
dashboard shows (HTML values, Output contents, options) is asserted.
"""

from __future__ import annotations

import nbformat
import pytest

from workbench.core import Workspace
from workbench.dashboards import dashboard_path, list_dashboards

from .test_data import GONE, LIVE, _job, make_synthetic


def run(name: str, ws: Workspace, monkeypatch) -> dict:
    """Execute dashboard ``name``'s code cells over ``ws``; return the namespace."""
    monkeypatch.setenv("WORKBENCH_HOME", str(ws.path))
    notebook = nbformat.read(dashboard_path(name), as_version=4)
    namespace: dict = {"__name__": f"dashboard_{name}"}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, f"<{name}.ipynb>", "exec"), namespace)
    assert namespace["status"].value == "", namespace["status"].value
    return namespace


def png_of(output) -> bytes:
    [shown] = output.outputs
    return shown["data"]["image/png"]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("dash-nb") / "ws")
    make_synthetic(ws)
    return ws


def test_three_dashboards_with_clean_notebooks():
    assert list_dashboards() == ["labelling", "leaderboard", "monitoring"]
    for name in list_dashboards():
        notebook = nbformat.read(dashboard_path(name), as_version=4)
        assert notebook.metadata.kernelspec.name == "workbench"
        assert notebook.cells[0].cell_type == "markdown"
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name
        source = "\n".join(c.source for c in notebook.cells)
        assert "add_class" in source and "Refresh" in source


@pytest.mark.parametrize("name", ["leaderboard", "monitoring", "labelling"])
def test_empty_workspace_shows_the_message_then_refresh_finds_data(name, tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "ws")
    ns = run(name, ws, monkeypatch)
    [message, refresh] = ns["body"].children
    assert "Nothing yet" in message.value and "run the labs" in message.value
    assert refresh.description == "Refresh"
    if name == "leaderboard":
        _job(ws, "late-xgboost-2026-01-01-00-00-00-001", "xgboost", "Completed",
             {"validation:auc": 0.8})  # fmt: skip
        refresh.click()
        assert "late-xgboost-2026-01-01-00-00-00-001" in ns["table"].value
        assert ns["status"].value == ""


def test_leaderboard_metric_group_and_model_choices(synthetic, monkeypatch):
    ns = run("leaderboard", synthetic, monkeypatch)
    metric, group, job, table = ns["metric"], ns["group"], ns["job"], ns["table"]
    assert metric.value == "eval:roc_auc" and "wb-leaderboard-table" in table._dom_classes
    assert '<th class="wb-sort">eval:roc_auc</th>' in table.value
    assert job.value == "fraud-xgboost-2026-01-01-00-00-00-002"  # best by eval:roc_auc
    before = png_of(ns["plot"])
    metric.value = "validation:auc"
    assert '<th class="wb-sort">validation:auc</th>' in table.value
    assert job.options[0] == ("#1  tune-1-001-a1b2", "tune-1-001-a1b2")
    assert job.value == "fraud-xgboost-2026-01-01-00-00-00-002"  # the selection is kept
    job.value = "fraud-linear-2026-01-01-00-00-00-003"  # not evaluated: training curves
    assert "fraud-linear-2026-01-01-00-00-00-003" in ns["details"].value
    assert "none yet" in ns["details"].value
    assert png_of(ns["plot"]) != before
    group.value = "fraud-xgboost"
    assert [value for _, value in job.options] == [
        "fraud-xgboost-2026-01-01-00-00-00-002",
        "fraud-xgboost-2026-01-01-00-00-00-001",
    ]
    assert "fraud-linear" not in table.value and ns["status"].value == ""


def test_monitoring_endpoint_and_window(synthetic, monkeypatch):
    ns = run("monitoring", synthetic, monkeypatch)
    endpoint, window, summary = ns["endpoint"], ns["window"], ns["summary"]
    assert [value for _, value in endpoint.options] == [LIVE, GONE]
    assert window.value == "all" and ">37<" in ns["variants"].value
    assert "amount" in ns["violations"].value and "baseline_drift_check" in ns["violations"].value
    window.value = "1 h"
    assert ">30<" in ns["variants"].value and ">37<" not in ns["variants"].value
    first = png_of(ns["plot"])
    endpoint.value = GONE
    assert "Deleted" in summary.value and ">12<" in ns["variants"].value
    assert "No constraint violations" in ns["violations"].value
    assert png_of(ns["plot"]) != first and ns["status"].value == ""


def test_labelling_job_choice(synthetic, monkeypatch):
    ns = run("labelling", synthetic, monkeypatch)
    job, progress = ns["job"], ns["progress"]
    assert job.value == "lab-part"
    assert (progress.value, progress.max) == (5, 9) and "5</b> of 9" in ns["progress_text"].value
    assert "dee" in ns["annotators"].value and "ana" not in ns["annotators"].value
    job.value = "lab-done"
    assert (progress.value, progress.max, progress.bar_style) == (12, 12, "success")
    assert all(person in ns["annotators"].value for person in ("ana", "ben", "cy"))
    assert "Completed" in ns["summary"].value and ns["status"].value == ""


def test_an_error_in_a_callback_is_shown_not_raised(synthetic, monkeypatch):
    ns = run("labelling", synthetic, monkeypatch)
    monkeypatch.setitem(ns, "labelling_progress", lambda *a, **k: 1 / 0)
    ns["job"].value = "lab-done"
    assert "ZeroDivisionError" in ns["status"].value and "wb-error" in ns["status"].value
