import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

import workbench as wb
from workbench.evaluation import Evaluation, evaluate
from workbench.evaluation._metrics import infer_problem_type
from workbench.exceptions import ResourceNotFound, ValidationError

XGB_BINARY = {"objective": "binary:logistic", "num_round": 20}
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _fit(frame, algorithm="xgboost", **hyperparameters):
    hps = hyperparameters or XGB_BINARY
    return wb.Estimator(algorithm=algorithm, target="y", hyperparameters=hps).fit(
        {"train": frame}, logs=False
    )


def _multiclass_frame(n=600, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.argmax(X[:, :3] + rng.normal(scale=0.7, size=(n, 3)), axis=1)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["y"] = y
    return frame.iloc[: n * 2 // 3].reset_index(drop=True), frame.iloc[n * 2 // 3 :]


def _regression_frame(n=600, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["y"] = 10 + 3 * X[:, 0] - 2 * X[:, 1] + rng.normal(scale=0.5, size=n)
    return frame.iloc[:400].reset_index(drop=True), frame.iloc[400:].copy()


def test_binary_metrics_equal_scikit_learn_on_the_same_predictions(workspace, splits):
    train, test = splits
    job = _fit(train)
    ev = evaluate(job, test, record=False)
    p = job.model().predict_proba(test)[1].to_numpy(np.float64)
    y = test["y"].to_numpy()
    pred = (p >= 0.5).astype(int)
    m = ev.metrics
    assert list(m) == [
        "accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier",
        "tn", "fp", "fn", "tp",
    ]  # fmt: skip
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, p))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, p))
    tn, fp, fn, tp = skm.confusion_matrix(y, pred).ravel()
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (tn, fp, fn, tp)
    assert ev.confusion_matrix.to_numpy().tolist() == skm.confusion_matrix(y, pred).tolist()
    assert ev.n_rows == len(test) and ev.problem_type == "binary_classification"
    np.testing.assert_allclose(ev.y_score, p)
    roc = ev.roc_curve()
    fpr, tpr, _ = skm.roc_curve(y, p)
    np.testing.assert_allclose(roc["fpr"], fpr)
    np.testing.assert_allclose(roc["tpr"], tpr)
    precision, recall, _ = skm.precision_recall_curve(y, p)
    np.testing.assert_allclose(ev.pr_curve()["precision"], precision)
    np.testing.assert_allclose(ev.pr_curve()["recall"], recall)


def test_multiclass_metrics_equal_scikit_learn(workspace):
    train, test = _multiclass_frame()
    job = _fit(train, objective="multi:softprob", num_class=3, num_round=15)
    ev = evaluate(job.model(), test, record=False)
    proba = job.model().predict_proba(test).to_numpy(np.float64)
    proba /= proba.sum(axis=1, keepdims=True)
    y, pred = test["y"].to_numpy(), proba.argmax(axis=1)
    m = ev.metrics
    assert list(m) == ["accuracy", "macro_precision", "macro_recall", "macro_f1", "log_loss"]
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["macro_precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert m["macro_recall"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    assert ev.confusion_matrix.to_numpy().tolist() == skm.confusion_matrix(y, pred).tolist()
    assert ev.y_score.shape == (len(test), 3) and ev.labels == [0, 1, 2]


def test_regression_metrics_equal_scikit_learn_and_mape_ignores_zero_targets(workspace):
    train, test = _regression_frame()
    test.iloc[:3, test.columns.get_loc("y")] = 0.0
    job = _fit(train, objective="reg:squarederror", num_round=30)
    ev = evaluate(job, test, record=False)
    y, pred = test["y"].to_numpy(), job.model().predict(test).to_numpy(np.float64)
    m = ev.metrics
    assert list(m) == ["rmse", "mae", "r2", "mape", "median_absolute_error"]
    assert m["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred))
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert m["r2"] == pytest.approx(skm.r2_score(y, pred))
    nonzero = y != 0
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y[nonzero], pred[nonzero]))
    assert m["median_absolute_error"] == pytest.approx(skm.median_absolute_error(y, pred))
    assert ev.confusion_matrix is None and np.array_equal(ev.y_score, ev.y_pred)


def test_at_threshold_changes_confusion_metrics_but_not_auc(workspace, splits):
    train, test = splits
    ev = evaluate(_fit(train), test, record=False)
    low = ev.at_threshold(0.1)
    assert low.threshold == 0.1 and ev.threshold == 0.5
    assert low.metrics["recall"] > ev.metrics["recall"]
    assert low.metrics["tp"] + low.metrics["fp"] > ev.metrics["tp"] + ev.metrics["fp"]
    for key in ("roc_auc", "pr_auc", "log_loss", "brier"):
        assert low.metrics[key] == ev.metrics[key]
    np.testing.assert_array_equal(low.y_score, ev.y_score)  # nothing re-predicted
    assert low.confusion_matrix.to_numpy().sum() == len(test)
    pred = (ev.y_score >= 0.1).astype(int)
    assert low.metrics["precision"] == pytest.approx(skm.precision_score(ev.y_true, pred))
    with pytest.raises(ValidationError, match="threshold"):
        ev.at_threshold(1.5)


def test_calibration_bins_sum_to_rows_and_match_scikit_learn(workspace, splits):
    train, test = splits
    ev = evaluate(_fit(train), test, record=False)
    for n_bins in (5, 10, 30):
        table = ev.calibration(n_bins)
        assert len(table) == n_bins and table["count"].sum() == len(test)
        filled = table[table["count"] > 0]
        prob_true, prob_pred = calibration_curve(ev.y_true, ev.y_score, n_bins=n_bins)
        np.testing.assert_allclose(filled["fraction_positive"], prob_true)
        np.testing.assert_allclose(filled["mean_predicted"], prob_pred)


def test_permutation_importance_ranks_signal_columns_and_samples_at_most_5000_rows(
    workspace, splits
):
    train, test = splits
    ev = evaluate(_fit(train), test, record=False)
    table = ev.permutation_importance(test, n_repeats=3)
    assert table.attrs["metric"] == "roc_auc"
    assert table.attrs["baseline"] == pytest.approx(ev.metrics["roc_auc"])
    assert set(table.index) == {f"x{i}" for i in range(6)}
    assert set(table.index[:2]) == {"x0", "x1"}  # the strongest signals in conftest's frame
    assert table.loc["x1", "importance_mean"] > 0.05
    assert list(table.columns) == ["importance_mean", "importance_std"]
    again = ev.permutation_importance(test, n_repeats=3)
    pd.testing.assert_frame_equal(table, again)  # seeded
    big = pd.concat([test] * 30, ignore_index=True)
    assert ev.permutation_importance(big, n_repeats=1).attrs["n_rows"] == 5000


def test_recording_creates_an_evaluation_with_lineage_and_evaluation_json(workspace, splits):
    train, test = splits
    job = _fit(train, algorithm="linear-learner", predictor_type="binary_classifier")
    ev = evaluate(job.name, test, threshold=0.4)  # a job name, found in the default workspace
    catalog = workspace.catalog
    rec = catalog.get("evaluation", ev.name)
    assert ev.name.startswith(f"{job.name}-eval-")
    assert rec["status"] == "Completed"
    assert rec["metrics"]["roc_auc"] == pytest.approx(ev.metrics["roc_auc"])
    params = rec["parameters"]
    assert params["model"] == job.name and params["threshold"] == 0.4
    assert params["rows"] == len(test) and params["target"] == "y"
    assert params["test_data_fingerprint"] == wb.core.fingerprint(test)
    path = workspace.folder("evaluation", ev.name) / "evaluation.json"
    assert rec["artifacts"]["evaluation"]["path"] == str(path)
    doc = json.loads(path.read_text())
    assert doc["metrics"]["tp"] == ev.metrics["tp"]
    assert doc["confusion_matrix"]["matrix"] == ev.confusion_matrix.to_numpy().tolist()
    assert {"roc", "pr", "calibration"} <= set(doc["curves"])
    assert len(doc["curves"]["roc"]) <= 101
    upstream = catalog.lineage("evaluation", ev.name)["upstream"]
    assert {"kind": "model", "name": job.name, "relation": "evaluated"} in upstream
    assert {u["relation"] for u in upstream} == {"evaluated", "test_data"}
    second = evaluate(job, test)
    evaluations = job.record()["extra"]["evaluations"]
    assert set(evaluations) == {ev.name, second.name}
    assert evaluations[ev.name]["tp"] == ev.metrics["tp"]
    assert len(catalog.list("evaluation")) == 2


def test_record_false_stores_nothing(workspace, splits):
    train, test = splits
    ev = evaluate(_fit(train), test, record=False)
    assert ev.name is None and workspace.catalog.list("evaluation") == []


def test_every_plot_returns_a_figure_without_pyplot(workspace, splits):
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    train, test = splits
    ev = evaluate(_fit(train), test, record=False)
    figures = [
        ev.plot_roc(),
        ev.plot_pr(),
        ev.plot_confusion_matrix(),
        ev.plot_confusion_matrix(normalize=True),
        ev.plot_calibration(),
        ev.plot_feature_importance(top=3),
        ev.plot_permutation_importance(test, n_repeats=2),
        ev.plot_contributions(test.iloc[[0]]),
        ev.plot_contributions(test.iloc[1]),
    ]
    reg_train, reg_test = _regression_frame()
    reg = evaluate(
        _fit(reg_train, objective="reg:squarederror", num_round=10), reg_test, record=False
    )
    figures += [reg.plot_residuals(), reg.plot_contributions(reg_test.iloc[[0]])]
    mc_train, mc_test = _multiclass_frame()
    mc_job = _fit(mc_train, objective="multi:softprob", num_class=3, num_round=5)
    figures.append(evaluate(mc_job, mc_test, record=False).plot_confusion_matrix())
    assert all(isinstance(f, Figure) for f in figures)
    for fig in figures:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")  # renders headless, no pyplot figure manager
        assert buffer.getvalue().startswith(b"\x89PNG")
    assert plt.get_fignums() == open_before
    with pytest.raises(ValidationError, match="regression"):
        ev.plot_residuals()
    with pytest.raises(ValidationError, match="binary_classification"):
        reg.plot_roc()
    with pytest.raises(ValidationError, match="one row"):
        ev.plot_contributions(test.iloc[:2])


def test_feature_importance_and_contributions_delegate_to_the_model(workspace, splits):
    train, test = splits
    model = _fit(train).model()
    ev = evaluate(model, test, record=False)
    pd.testing.assert_series_equal(ev.feature_importance(), model.feature_importance())
    contrib = ev.contributions(test.iloc[:5])
    assert list(contrib.columns) == [*model.feature_names, "bias"]
    margin = contrib.sum(axis=1).to_numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-margin)), ev.y_score[:5], rtol=1e-4)
    linear = _fit(train, algorithm="linear-learner", predictor_type="binary_classifier")
    with pytest.raises(AttributeError):
        evaluate(linear, test, record=False).contributions(test.iloc[:5])


def test_a_job_its_model_and_its_name_give_the_same_evaluation(workspace, splits):
    train, test = splits
    job = _fit(train, algorithm="linear-learner", predictor_type="binary_classifier")
    evs = [evaluate(m, test, record=False) for m in (job, job.model(), job.name)]
    assert evs[0].metrics == evs[1].metrics == evs[2].metrics
    assert isinstance(evs[0], Evaluation) and evs[0].algorithm == "linear-learner"


def test_to_dict_is_json_ready_and_html_shows_the_metrics(workspace, splits):
    train, test = splits
    ev = evaluate(_fit(train), test, record=False)
    doc = json.loads(json.dumps(ev.to_dict(), allow_nan=False))
    assert doc["metrics"] == pytest.approx(ev.metrics)
    assert doc["problem_type"] == "binary_classification" and doc["n_rows"] == len(test)
    page = ev._repr_html_()
    assert "roc_auc" in page and ev.model_name in page and "<table>" in page
    assert ev.model_name in repr(ev)


def test_missing_target_raises_and_lists_the_columns(workspace, splits):
    train, test = splits
    job = _fit(train, algorithm="linear-learner", predictor_type="binary_classifier")
    with pytest.raises(ValidationError, match="x0, x1, x2, x3, x4, x5") as info:
        evaluate(job, test.drop(columns="y"), record=False)
    assert info.value.field == "target"
    with pytest.raises(ValidationError, match="'label'"):
        evaluate(job, test, target="label", record=False)
    with pytest.raises(ValidationError, match="missing values"):
        evaluate(job, test.assign(y=test["y"].where(test.index % 7 != 0)), record=False)
    with pytest.raises(ValidationError, match="positive_label"):
        evaluate(job, test, positive_label="fraud", record=False)
    with pytest.raises(ValidationError, match="DataFrame"):
        evaluate(job, test.to_numpy(), record=False)


def test_an_unknown_model_name_raises_and_names_the_known_jobs(workspace, splits):
    train, test = splits
    job = _fit(train, algorithm="linear-learner", predictor_type="binary_classifier")
    with pytest.raises(ResourceNotFound, match=job.name):
        evaluate("no-such-job", test)
    with pytest.raises(ValidationError, match="TrainingJob"):
        evaluate(42, test)
    assert workspace.catalog.list("evaluation") == []


def test_a_script_mode_model_is_evaluated_with_a_problem_type_inferred_from_the_target(
    workspace, splits
):
    train, test = splits
    job = wb.Estimator(
        entry_point="train.py",
        source_dir=str(EXAMPLES / "sklearn_script"),
        hyperparameters={"n_estimators": 10, "target": "y"},
    ).fit({"train": train}, logs=False)
    assert job.model().problem_type is None
    ev = evaluate(job, test, target="y", record=False)  # the target column is not passed on
    assert ev.problem_type == "binary_classification" and ev.algorithm is None
    p = job.model().predict_proba(test.drop(columns="y"))[1].to_numpy()
    assert ev.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(test["y"], p))
    assert set(ev.permutation_importance(test, n_repeats=1).index) == {f"x{i}" for i in range(6)}


def test_problem_type_inference_for_models_without_one():
    assert infer_problem_type(np.array([0, 1, 1, 0])) == "binary_classification"
    assert infer_problem_type(np.array(["no", "yes"])) == "binary_classification"
    assert infer_problem_type(np.array([0, 1, 2, 2, 5])) == "multiclass_classification"
    assert infer_problem_type(np.array([0.0, 1.0, 2.0])) == "multiclass_classification"
    assert infer_problem_type(np.linspace(0, 1, 50)) == "regression"
    assert infer_problem_type(np.arange(100)) == "regression"


def test_importing_evaluation_loads_neither_matplotlib_nor_xgboost():
    code = "import sys, workbench.evaluation\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    roots = {m.split(".")[0] for m in out.stdout.split()}
    assert not roots & {"matplotlib", "xgboost", "sklearn", "scipy"}
