"""The dashboards' data functions, HTML and charts, without a browser.

A synthetic workspace is written through the catalogue (exact numbers to assert on), with
real labelling jobs answered by simulated annotators; the browser tests use real jobs.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import workbench as wb
from workbench.core import Workspace, atomic_write_json
from workbench.core._process import process_identity
from workbench.dashboards import (
    EMPTY_MESSAGE,
    annotator_counts,
    answers_over_time,
    base_name,
    bucket_seconds,
    endpoint_summary,
    endpoint_traffic,
    figure_png,
    format_value,
    html_table,
    job_evaluation,
    kpis_html,
    label_distribution,
    labelling_jobs,
    labelling_progress,
    leaderboard,
    leaderboard_metrics,
    message_html,
    metric_direction,
    monitored_endpoints,
    monitoring_executions,
    monitoring_violations,
    parse_window,
    plot_evaluation,
    plot_labelling,
    plot_traffic,
    plot_training_curves,
    training_curves,
)
from workbench.exceptions import ResourceNotFound, ValidationError
from workbench.serving._capture import CaptureWriter, DataCaptureConfig

JOBS = {
    # name: (algorithm, status, final metrics)
    "fraud-xgboost-2026-01-01-00-00-00-001": ("xgboost", "Completed",
                                              {"validation:auc": 0.90, "train:auc": 0.99}),
    "fraud-xgboost-2026-01-01-00-00-00-002": ("xgboost", "Completed",
                                              {"validation:auc": 0.95, "train:auc": 0.97}),
    "fraud-linear-2026-01-01-00-00-00-003": ("linear-learner", "Completed",
                                             {"validation:auc": 0.93,
                                              "validation:objective_loss": 0.2}),
    "tune-1-001-a1b2": ("xgboost", "Completed", {"validation:auc": 0.97, "train:auc": 0.98}),
    "fraud-rcf-2026-01-01-00-00-00-004": ("randomcutforest", "Completed",
                                          {"train:objective_loss": 0.5}),
    "broken-2026-01-01-00-00-00-005": ("xgboost", "Failed", {}),
}  # fmt: skip
TUNING = "tune-1-2026-01-01-00-00-00-000"
LIVE, GONE = "ep-live", "ep-gone"
ROC = [{"threshold": t, "fpr": f, "tpr": p} for t, f, p in
       [(2.0, 0.0, 0.0), (0.8, 0.1, 0.6), (0.5, 0.3, 0.9), (0.1, 1.0, 1.0)]]  # fmt: skip


def _job(ws: Workspace, name: str, algorithm: str, status: str, metrics: dict) -> None:
    cat = ws.catalog
    cat.create("training-job", name, status="InProgress", parameters={"algorithm": algorithm})
    now = datetime.now(UTC)
    cat.update("training-job", name, status=status, metrics=metrics,
               started_at=(now - timedelta(seconds=3)).isoformat(), ended_at=now.isoformat())  # fmt: skip
    cat.add_metric_values(
        "training-job", name, [(m, step, v - 0.01 * (2 - step), 0.0) for m, v in metrics.items()
                               for step in range(3)]
    )  # fmt: skip


def _evaluation(ws: Workspace, job: str, name: str, metrics: dict, roc=ROC) -> None:
    cat = ws.catalog
    cat.create("evaluation", name, status="InProgress", parameters={"model": job})
    path = ws.folder("evaluation", name) / "evaluation.json"
    atomic_write_json(path, {"name": name, "model_name": job, "problem_type":
                             "binary_classification", "metrics": metrics,
                             "confusion_matrix": None,
                             "curves": {"roc": roc, "pr": [{"threshold": 0.5, "precision": 0.7,
                                                             "recall": 0.9}]}})  # fmt: skip
    cat.update("evaluation", name, status="Completed", metrics=metrics,
               artifacts={"evaluation": {"path": str(path)}})  # fmt: skip


def _execution(ws, name, endpoint, status, violations, ended) -> None:
    cat = ws.catalog
    cat.create("monitoring-execution", name, status="InProgress",
               parameters={"endpoint_name": endpoint, "schedule": f"{endpoint}-monitor",
                           "scheduled_time": ended.isoformat()})  # fmt: skip
    artifacts = {}
    if violations is not None:
        path = ws.path / "monitoring" / name / "constraint_violations.json"
        atomic_write_json(path, {"violations": violations})
        artifacts = {"constraint_violations": {"path": str(path)}}
    cat.update("monitoring-execution", name, status=status, ended_at=ended.isoformat(),
               metrics={"item_count": 40, "violations": len(violations or [])},
               artifacts=artifacts)  # fmt: skip


def make_synthetic(ws: Workspace) -> dict:
    """Training jobs, evaluations, a tuning trial, a live and a deleted endpoint, two
    monitoring executions, and two labelling jobs (real, simulated annotators)."""
    for name, (algorithm, status, metrics) in JOBS.items():
        _job(ws, name, algorithm, status, metrics)
    ws.catalog.add_lineage(("tuning-job", TUNING), ("training-job", "tune-1-001-a1b2"), "trial")
    first = "fraud-xgboost-2026-01-01-00-00-00-001"
    _evaluation(ws, first, "ev-old", {"roc_auc": 0.70, "tp": 3})
    _evaluation(ws, first, "ev-new", {"roc_auc": 0.91, "pr_auc": 0.4, "tp": 5})
    _evaluation(ws, "fraud-xgboost-2026-01-01-00-00-00-002", "ev-2", {"roc_auc": 0.94})
    # A live endpoint (its "server" is this test process, so it counts as running).
    now = datetime.now(UTC)
    capture = DataCaptureConfig(sampling_percentage=100)
    variants = [{"VariantName": v, "ModelName": f"model-{v}", "InitialVariantWeight": 1.0,
                 "InitialInstanceCount": 1} for v in ("A", "B")]  # fmt: skip
    ws.catalog.create("endpoint", LIVE, status="InService",
                      parameters={"production_variants": variants,
                                  "data_capture": capture.to_dict()},
                      extra={"process": process_identity(os.getpid()), "stats": {"variants": {
                          "A": {"model": "model-A", "invocations": 37, "latency_p50_ms": 2.0,
                                "latency_p99_ms": 9.0, "errors_4xx": 0, "errors_5xx": 1},
                          "B": {"model": "model-B", "invocations": 5, "latency_p50_ms": 3.0,
                                "latency_p99_ms": 4.0, "errors_4xx": 2, "errors_5xx": 0}}}})  # fmt: skip
    t0 = now.timestamp() - 30
    rows = [("A:Invocations", int(t0 - 7200), 7.0, t0 - 7200)]  # two hours ago
    for i in range(3):
        rows += [("A:Invocations", int(t0) + i, 10.0, t0 + i),
                 ("A:LatencyP50Ms", int(t0) + i, 1.5 + i, t0 + i)]  # fmt: skip
    rows += [
        ("B:Invocations", int(t0) + 1, 5.0, t0 + 1),
        ("B:LatencyP50Ms", int(t0) + 1, 3.0, t0 + 1),
    ]
    ws.catalog.add_metric_values("endpoint", LIVE, rows)
    drift = [{"feature_name": "amount", "constraint_check_type": "baseline_drift_check",
              "description": "drift 0.5 > 0.1"},
             {"feature_name": "hour", "constraint_check_type": "data_type_check",
              "description": "type changed"}]  # fmt: skip
    _execution(ws, "exec-1", LIVE, "Completed", [], now - timedelta(hours=2))
    _execution(ws, "exec-2", LIVE, "CompletedWithViolations", drift, now - timedelta(seconds=5))
    # A deleted endpoint: only its captured requests and one execution remain.
    writer = CaptureWriter(ws.folder("endpoint", GONE) / "data-capture", GONE, capture, seed=0)
    for i in range(12):
        writer.record("AllTraffic", b"1,2,3", "text/csv", b"0.5", "text/csv",
                      event_time=now - timedelta(seconds=300 - 5 * i if i < 6 else 12 - i))  # fmt: skip
    writer.close()
    _execution(ws, "exec-gone", GONE, "Completed", [], now - timedelta(seconds=50))
    # Labelling: one job fully answered (cy always wrong), one a third done.
    truth = ["x", "y", "x", "x", "y", "x", "y", "x", "x", "x", "y", "x"]
    done = wb.LabelingJob(pd.DataFrame({"text": [f"t{i}" for i in range(12)]}), labels=["x", "y"],
                          annotators=["ana", "ben", "cy"], name="lab-done", workspace=ws).start()  # fmt: skip
    for person, error in (("ana", 0.0), ("ben", 0.0), ("cy", 1.0)):
        wb.SimulatedAnnotator(person, truth, error_rate=error, seconds_per_task=2.0).work(done)
    part = wb.LabelingJob(pd.DataFrame({"text": [f"u{i}" for i in range(9)]}), labels=["x", "y"],
                          annotators=["dee", "eli"], annotators_per_item=1, name="lab-part",
                          workspace=ws).start()  # fmt: skip
    wb.SimulatedAnnotator("dee", ["y"] * 9, error_rate=0.0).work(part, limit=3)
    # Two items labelled by the model (as automated labelling does).
    part._started().set_states(
        [(7, "auto", 0.0, 1, "x", 0.99), (8, "auto", 0.0, 1, "x", 0.98)], from_states=("open",)
    )
    return {"now": now, "truth": truth}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("dash") / "ws")
    info = make_synthetic(ws)
    return ws, info


@pytest.fixture
def empty(tmp_path):
    return Workspace(tmp_path / "empty")


# -- leaderboard -------------------------------------------------------------------------------


def test_leaderboard_ranks_completed_jobs_by_the_metric(synthetic):
    ws, _ = synthetic
    board = leaderboard("validation:auc", workspace=ws)
    assert board["job"].tolist() == [
        "tune-1-001-a1b2",
        "fraud-xgboost-2026-01-01-00-00-00-002",
        "fraud-linear-2026-01-01-00-00-00-003",
        "fraud-xgboost-2026-01-01-00-00-00-001",
        "fraud-rcf-2026-01-01-00-00-00-004",  # no validation:auc: last, no rank
    ]
    assert board["rank"].tolist()[:4] == [1, 2, 3, 4] and pd.isna(board["rank"].iloc[4])
    assert board.attrs == {"metric": "validation:auc", "direction": "max"}
    assert board.loc[0, "tuning_job"] == TUNING and board["tuning_job"].iloc[1:].isna().all()
    assert "broken-2026-01-01-00-00-00-005" not in set(board["job"])  # Failed


def test_lower_is_better_metrics_rank_ascending(synthetic):
    ws, _ = synthetic
    board = leaderboard("train:objective_loss", workspace=ws)
    assert board.attrs["direction"] == "min"
    assert board["job"].iloc[0] == "fraud-rcf-2026-01-01-00-00-00-004"
    assert metric_direction("validation:rmse") == "min"
    assert metric_direction("validation:mlogloss") == "min"
    assert metric_direction("eval:roc_auc") == "max" and metric_direction("eval:r2") == "max"


def test_newest_evaluation_joins_as_eval_metrics_and_is_the_default(synthetic):
    ws, _ = synthetic
    board = leaderboard(workspace=ws)
    assert board.attrs["metric"] == "eval:roc_auc"
    top = board.set_index("job")
    assert top.loc["fraud-xgboost-2026-01-01-00-00-00-002", "rank"] == 1
    first = top.loc["fraud-xgboost-2026-01-01-00-00-00-001"]
    assert first["eval:roc_auc"] == 0.91 and first["evaluation"] == "ev-new"
    assert "eval:tp" not in board.columns  # counts are not ranked
    metrics = leaderboard_metrics(workspace=ws)
    assert metrics[0] == "eval:roc_auc" and "validation:auc" in metrics


def test_leaderboard_filters_by_base_name_and_refuses_unknown_metrics(synthetic):
    ws, _ = synthetic
    board = leaderboard("validation:auc", workspace=ws, base="fraud-xgboost")
    assert board["job"].tolist() == [
        "fraud-xgboost-2026-01-01-00-00-00-002",
        "fraud-xgboost-2026-01-01-00-00-00-001",
    ]
    assert base_name("fraud-xgboost-2026-01-01-00-00-00-001") == "fraud-xgboost"
    assert board.loc[board["job"].str.startswith("fraud"), "base_name"].eq("fraud-xgboost").all()
    with pytest.raises(ValidationError, match="metric.*validation:auc"):
        leaderboard("validation:nope", workspace=ws)
    with_failed = leaderboard("validation:auc", workspace=ws, statuses=("Completed", "Failed"))
    assert "broken-2026-01-01-00-00-00-005" in set(with_failed["job"])


def test_trials_are_grouped_under_their_tuning_job(synthetic):
    ws, _ = synthetic
    board = leaderboard("validation:auc", workspace=ws).set_index("job")
    assert board.loc["tune-1-001-a1b2", "base_name"] == "tune-1"
    assert leaderboard("validation:auc", workspace=ws, base="tune-1")["job"].tolist() == [
        "tune-1-001-a1b2"
    ]


def test_job_evaluation_and_training_curves(synthetic):
    ws, _ = synthetic
    evaluation = job_evaluation("fraud-xgboost-2026-01-01-00-00-00-001", workspace=ws)
    assert evaluation["name"] == "ev-new" and evaluation["curves"]["roc"] == ROC
    assert job_evaluation("fraud-linear-2026-01-01-00-00-00-003", workspace=ws) is None
    curves = training_curves("fraud-linear-2026-01-01-00-00-00-003", workspace=ws)
    assert sorted(curves["metric"].unique()) == ["validation:auc", "validation:objective_loss"]
    assert curves[curves["metric"] == "validation:auc"]["value"].round(4).tolist() == [
        0.91, 0.92, 0.93]  # fmt: skip
    with pytest.raises(ResourceNotFound):
        training_curves("no-such-job", workspace=ws)


def test_empty_workspace_gives_empty_frames(empty):
    board = leaderboard(workspace=empty)
    assert board.empty and board.attrs["metric"] is None
    assert leaderboard_metrics(workspace=empty) == []
    assert monitored_endpoints(workspace=empty).empty
    assert monitoring_executions(workspace=empty).empty
    assert labelling_jobs(workspace=empty).empty
    assert "run the labs" in EMPTY_MESSAGE


# -- monitoring --------------------------------------------------------------------------------


def test_monitored_endpoints_lists_live_then_deleted(synthetic):
    ws, _ = synthetic
    listed = monitored_endpoints(workspace=ws).set_index("endpoint")
    assert listed.index.tolist() == [LIVE, GONE]
    assert listed.loc[LIVE, "status"] == "InService" and listed.loc[LIVE, "invocations"] == 42
    assert listed.loc[LIVE, "executions"] == 2 and listed.loc[LIVE, "violations"] == 2
    assert listed.loc[LIVE, "last_execution_status"] == "CompletedWithViolations"
    assert listed.loc[GONE, "status"] == "Deleted" and listed.loc[GONE, "invocations"] == 12


def test_live_traffic_comes_from_the_metric_series_and_honours_the_window(synthetic):
    ws, _ = synthetic
    everything = endpoint_traffic(LIVE, workspace=ws)
    assert everything.attrs["source"] == "metrics"
    assert everything.groupby("variant")["invocations"].sum().to_dict() == {"A": 37, "B": 5}
    recent = endpoint_traffic(LIVE, window="1 h", workspace=ws)
    assert recent.groupby("variant")["invocations"].sum().to_dict() == {"A": 30, "B": 5}
    a = recent[recent["variant"] == "A"]
    assert a["latency_p50_ms"].tolist() == [1.5, 2.5, 3.5]
    assert list(recent.columns) == ["time", "variant", "invocations", "latency_p50_ms"]


def test_deleted_endpoint_traffic_comes_from_captured_requests(synthetic):
    ws, _ = synthetic
    traffic = endpoint_traffic(GONE, workspace=ws)
    assert traffic.attrs["source"] == "capture" and traffic["invocations"].sum() == 12
    assert traffic["latency_p50_ms"].isna().all()
    assert endpoint_traffic(GONE, window="60s", workspace=ws)["invocations"].sum() == 6
    with pytest.raises(ResourceNotFound, match="no-such"):
        endpoint_traffic("no-such", workspace=ws)


def test_endpoint_summary_per_variant(synthetic):
    ws, _ = synthetic
    summary = endpoint_summary(LIVE, window="1 h", workspace=ws).set_index("variant")
    assert summary.loc["A", "invocations"] == 30 and summary.loc["B", "invocations"] == 5
    assert summary.loc["A", "share"] == pytest.approx(30 / 35)
    assert summary.loc["A", "model"] == "model-A" and summary.loc["A", "latency_p99_ms"] == 9.0
    assert summary.loc["B", "errors_4xx"] == 2
    gone = endpoint_summary(GONE, workspace=ws)
    assert gone["invocations"].tolist() == [12] and gone["latency_p50_ms"].isna().all()


def test_executions_and_violations_with_windows(synthetic):
    ws, _ = synthetic
    executions = monitoring_executions(LIVE, workspace=ws)
    assert executions["execution"].tolist() == ["exec-1", "exec-2"]
    assert executions["violations"].tolist() == [0, 2]
    assert monitoring_executions(LIVE, window="1h", workspace=ws)["execution"].tolist() == [
        "exec-2"
    ]
    violations = monitoring_violations(LIVE, workspace=ws)
    assert violations[["feature_name", "constraint_check_type"]].values.tolist() == [
        ["amount", "baseline_drift_check"],
        ["hour", "data_type_check"],
    ]
    assert monitoring_violations(GONE, workspace=ws).empty
    assert len(monitoring_executions(workspace=ws)) == 3


def test_parse_window():
    assert parse_window("5 min") == 300 and parse_window("24 h") == 86400
    assert parse_window("all") is None and parse_window(None) is None
    assert parse_window("30s") == 30 and parse_window("7d") == 7 * 86400 and parse_window(90) == 90
    for bad in ("soon", 0, -5, True, "0h", [1]):
        with pytest.raises(ValidationError, match="window"):
            parse_window(bad)


# -- labelling ---------------------------------------------------------------------------------


def test_labelling_jobs_and_progress(synthetic):
    ws, _ = synthetic
    jobs = labelling_jobs(workspace=ws).set_index("job")
    assert jobs.index.tolist() == ["lab-part", "lab-done"]  # newest first
    assert jobs.loc["lab-done", "fraction"] == 1.0 and jobs.loc["lab-done", "answers"] == 36
    assert jobs.loc["lab-done", "status"] == "Completed"
    part = labelling_progress("lab-part", workspace=ws)
    assert (part["items"], part["labeled"], part["human_labeled"], part["machine_labeled"]) == (
        9, 5, 3, 2)  # fmt: skip
    assert part["fraction"] == pytest.approx(5 / 9) and part["annotators"] == ["dee", "eli"]
    with pytest.raises(ResourceNotFound):
        labelling_progress("no-such-job", workspace=ws)


def test_annotator_counts_and_agreement(synthetic):
    ws, _ = synthetic
    done = annotator_counts("lab-done", workspace=ws).set_index("annotator")
    assert done["answers"].to_dict() == {"ana": 12, "ben": 12, "cy": 12}
    assert done["agreement"].to_dict() == {"ana": 1.0, "ben": 1.0, "cy": 0.0}
    assert done["median_seconds"].tolist() == [2.0, 2.0, 2.0]
    part = annotator_counts("lab-part", workspace=ws)
    assert part["annotator"].tolist() == ["dee", "eli"] and part["answers"].tolist() == [3, 0]
    assert part["share"].tolist() == [1.0, 0.0]


def test_label_distribution_counts_votes_and_labelled_items(synthetic):
    ws, info = synthetic
    done = label_distribution("lab-done", workspace=ws).set_index("label")
    truth = pd.Series(info["truth"]).value_counts()
    assert done["labeled"].to_dict() == {"x": truth["x"], "y": truth["y"]}
    # ana and ben answer the truth, cy the other label.
    assert done.loc["x", "votes"] == 2 * truth["x"] + truth["y"]
    part = label_distribution("lab-part", workspace=ws).set_index("label")
    assert part["labeled"].to_dict() == {"x": 2, "y": 3}  # 2 by the model, 3 by dee
    timeline = answers_over_time("lab-done", workspace=ws)
    assert timeline.groupby("annotator")["answers"].max().to_dict() == {
        "ana": 12, "ben": 12, "cy": 12}  # fmt: skip


# -- HTML and charts ---------------------------------------------------------------------------


def test_html_table_marks_column_row_and_keys():
    frame = pd.DataFrame({"job": ["a", "b<"], "auc": [0.912345, None], "n": [1, 2]})
    html = html_table(frame, "wb-demo", highlight_column="auc", highlight_row=("job", "a"))
    assert html.startswith('<table class="wb-table wb-demo">')
    assert '<th class="wb-sort">auc</th>' in html
    assert '<tr data-key="a" class="wb-selected">' in html and 'data-key="b&lt;"' in html
    assert ">0.9123<" in html and ">–<" in html
    assert format_value(pd.Timestamp("2026-01-02 03:04:05.6", tz="UTC")) == "2026-01-02 03:04:05"
    assert format_value(12345) == "12,345" and format_value(True) == "yes"
    assert 'class="wb-message wb-error"' in message_html("<b>", error=True, escape=True)
    assert "&lt;b&gt;" in message_html("<b>", escape=True)
    assert kpis_html([("jobs", 3)]).count("wb-kpi") == 2


def test_charts_render_to_png(synthetic):
    ws, _ = synthetic
    evaluation = job_evaluation("fraud-xgboost-2026-01-01-00-00-00-001", workspace=ws)
    fig = plot_evaluation(evaluation, title="x")
    assert [ax.get_title()[:3] for ax in fig.axes] == ["ROC", "Pre"]
    assert figure_png(fig)[:4] == b"\x89PNG"
    curves = training_curves("fraud-linear-2026-01-01-00-00-00-003", workspace=ws)
    assert len(plot_training_curves(curves).axes[0].lines) == 2
    traffic = endpoint_traffic(LIVE, window="1h", workspace=ws)
    fig = plot_traffic(traffic, monitoring_executions(LIVE, workspace=ws))
    calls, latency, monitor = fig.axes
    assert len(calls.lines) == 2 and len(latency.lines) == 2 and monitor.collections
    empty = plot_traffic(traffic.iloc[0:0], None)
    assert "no traffic" in empty.axes[0].texts[0].get_text()
    fig = plot_labelling(label_distribution("lab-done", workspace=ws),
                         answers_over_time("lab-done", workspace=ws))  # fmt: skip
    assert len(fig.axes[1].lines) == 3 and figure_png(fig)[:4] == b"\x89PNG"
    assert bucket_seconds(50) == 1 and bucket_seconds(600) == 10 and bucket_seconds(1e9) == 86400
    assert json.dumps(evaluation)  # JSON as stored
