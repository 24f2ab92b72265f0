import json

import nbformat
import pytest

import workbench as wb
from tests.labs._tiny import write_lab
from workbench.exceptions import ValidationError
from workbench.labs import LabFailedError, find_labs, list_labs, run_lab, run_labs


def test_day1_is_registered_in_order():
    names = [lab.name for lab in list_labs()]
    assert "day1/01_intro_fraud" in names
    assert names.index("day1/01_intro_fraud") < names.index("day2/01_features_evaluation")
    assert "day1/01_intro_fraud" in [lab.name for lab in find_labs("day1")]


def test_every_lab_has_a_parameters_cell_with_the_common_parameters():
    import papermill as pm

    for lab in list_labs():
        params = pm.inspect_notebook(str(lab.path))
        assert {"RUN_DIR", "SEED", "FAST"} <= set(params), lab.name


def test_unknown_lab_lists_the_labs():
    with pytest.raises(ValidationError, match="day1"):
        run_lab("day99")


def test_unknown_parameter_lists_the_labs_parameters(tmp_path):
    with pytest.raises(ValidationError, match="RUN_DIR, SEED"):
        run_lab("day1", {"EPOCHS": 3}, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_unknown_parameter_of_several_labs_lists_all_their_parameters(tmp_path):
    with pytest.raises(ValidationError, match="labs day1/.*EPOCHS.*FAST, INTERACTIVE"):
        run_labs(["day1", "day2"], {"EPOCHS": 3}, run_dir=tmp_path / "run")


def test_unknown_kernel_lists_the_installed_kernels(tmp_path):
    with pytest.raises(ValidationError, match="kernel.*'no-such-kernel'.*workbench"):
        run_lab("day1", kernel_name="no-such-kernel", run_dir=tmp_path / "run")


def test_unwritable_run_dir_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValidationError, match="run_dir"):
        run_lab("day1", run_dir=blocker / "sub")


def test_a_failing_cell_stops_the_pipeline_and_is_reported(tmp_path, monkeypatch, workspace):
    labs = tmp_path / "labs" / "day9_demo"
    write_lab(labs / "01_ok.ipynb", ["x = 1"])
    write_lab(labs / "02_broken.ipynb", ["y = 0\nx = 1 / y"])
    write_lab(labs / "03_never.ipynb", ["x = 2"])
    monkeypatch.setenv("WORKBENCH_LABS_DIR", str(tmp_path / "labs"))
    with pytest.raises(LabFailedError, match="cell 2.*ZeroDivisionError") as info:
        run_lab("day9", run_dir=tmp_path / "run")
    assert "02_broken" in str(info.value)  # cell 2 of the executed notebook (after injection)
    assert "x = 1 / y" in str(info.value)  # the failing cell's source is shown
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert [nb["status"] for nb in summary["notebooks"]] == ["Completed", "Failed", "Not run"]
    assert summary["status"] == "Failed"
    assert (tmp_path / "run" / "day9__02_broken.ipynb").exists()
    assert "ZeroDivisionError" in (tmp_path / "run" / "summary.md").read_text()
    assert "x = 1 / y" in (tmp_path / "run" / "summary.html").read_text()
    again = run_labs(["day9/01_ok"], run_dir=tmp_path / "run2")  # the lab that passed is cached
    assert again.by_status("Cached") == ["day9/01_ok"]


@pytest.mark.slow
def test_day1_runs_end_to_end_and_writes_its_results(tmp_path, workspace):
    result = run_lab("day1/01_intro_fraud", {"FAST": True, "SEED": 1}, run_dir=tmp_path / "run")
    assert result.status == "Completed"
    executed = nbformat.read(result.notebooks[0]["output"], as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "SEED = 1" in injected[0].source
    results = result.notebooks[0]["results"]
    assert results["xgboost_roc_auc"] > 0.8
    assert "xgboost_roc_auc" in result.summary_path.read_text()
    names = set(wb.list_training_jobs()["name"])
    assert set(results["jobs"].values()) <= names  # the lab's jobs are in the caller's workspace


@pytest.mark.slow
def test_day2_runs_end_to_end_and_writes_its_results(tmp_path, workspace):
    result = run_lab("day2_features", {"FAST": True}, run_dir=tmp_path / "run")
    results = result.notebooks[0]["results"]
    assert results["xgboost_roc_auc"] > 0.7
    assert results["fraud_cost_at_best"] <= results["fraud_cost_at_0_5"]
    assert (tmp_path / "run" / "maintenance-baseline" / "statistics.json").exists()
    assert workspace.catalog.exists("processing-job", results["processing_job"])
    tuning = result.notebooks[1]["results"]
    assert tuning["tuned_roc_auc"] > 0.8
    assert workspace.catalog.exists("tuning-job", tuning["tuning_job"])


@pytest.mark.slow
def test_day3_runs_end_to_end_and_writes_its_results(tmp_path, workspace):
    try:
        result = run_labs(["day2/02_tuning", "day3_production"], {"FAST": True},
                          run_dir=tmp_path / "run")  # fmt: skip
    finally:
        left = list(wb.list_endpoints()["name"])
        for name in left:  # never leave a server running, even if the lab failed
            wb.delete_endpoint(name)
    assert left == [], f"the lab left endpoints running: {left}"
    results = result.notebooks[-1]["results"]
    keys = {"endpoint_names", "variant_counts", "ab_auc", "batch_rows", "drift_violations",
            "startup_s"}  # fmt: skip
    assert keys <= set(results), sorted(keys - set(results))
    assert len(results["endpoint_names"]) == 2
    assert set(results["variant_counts"]) == set(results["ab_auc"]) == {"A", "B"}
    assert min(results["variant_counts"].values()) > 0
    assert max(results["ab_auc"].values()) > 0.8
    assert results["batch_rows"] > 0
    assert "amount" in results["drift_violations"]
    assert results["normal_violations"] == []
    assert 0 < results["startup_s"] < 30
    assert workspace.catalog.exists("transform-job", results["transform_job"])


@pytest.mark.slow
def test_labelling_lab_runs_end_to_end(tmp_path, workspace):
    result = run_lab("day1/02_labelling", {"FAST": True}, run_dir=tmp_path / "run")
    assert result.status == "Completed"
    assert [nb["lab"] for nb in result.notebooks] == ["day1/02_labelling"]
    results = json.loads((tmp_path / "run" / "02_labelling.json").read_text())
    assert results == result.notebooks[0]["results"]
    keys = {"text_mv_accuracy", "text_ds_accuracy", "digits_auto_share", "digits_auto_accuracy",
            "digits_final_accuracy", "digits_human_answers", "label_issues", "issues_truly_wrong",
            "trained_accuracy", "jobs"}  # fmt: skip
    assert keys <= set(results), sorted(keys - set(results))
    # Consolidation beats a single sloppy annotator, and finds them
    assert results["text_ds_accuracy"] >= 0.93 and results["text_mv_accuracy"] >= 0.9
    assert results["sloppy_annotator"] == "cy"
    # Automated labelling labels a good share of the digits, well, with fewer human answers
    assert results["digits_auto_share"] > 0.2
    assert results["digits_auto_accuracy"] >= 0.93
    assert results["digits_final_accuracy"] >= 0.95
    assert 0 < results["digits_human_answers"] < 3 * results["digits"]
    assert 1 <= results["issues_truly_wrong"] <= results["label_issues"]
    assert results["trained_accuracy"] > 0.85
    # Every job is in the caller's workspace, and the training job is linked to the labelling job
    jobs = results["jobs"]
    for key in ("text_labeling", "image_labeling", "verification"):
        assert workspace.catalog.get("labeling-job", jobs[key])["status"] == "Completed", key
    assert jobs["training"] in set(wb.list_training_jobs()["name"])
    downstream = workspace.catalog.lineage("labeling-job", jobs["image_labeling"])["downstream"]
    assert jobs["training"] in {link["name"] for link in downstream}
    assert "digits_auto_share" in result.summary_path.read_text()


def test_a_kernel_that_never_starts_fails_the_lab_cleanly(tmp_path, monkeypatch, workspace):
    spec = tmp_path / "jupyter" / "kernels" / "broken"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps({"argv": ["/bin/false", "{connection_file}"], "display_name": "broken",
                    "language": "python"})
    )  # fmt: skip
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    write_lab(tmp_path / "labs" / "day9_demo" / "01_ok.ipynb", ["x = 1"])
    monkeypatch.setenv("WORKBENCH_LABS_DIR", str(tmp_path / "labs"))
    with pytest.raises(LabFailedError, match="day9/01_ok failed before its first cell"):
        run_lab("day9", kernel_name="broken", run_dir=tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["notebooks"][0]["status"] == "Failed"
    assert "before its first cell" in (tmp_path / "run" / "summary.md").read_text()
