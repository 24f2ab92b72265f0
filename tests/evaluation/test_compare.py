import pytest
from matplotlib.figure import Figure

import workbench as wb
from workbench.evaluation import compare, evaluate, plot_roc_comparison
from workbench.exceptions import ValidationError

BINARY_KEYS = [
    "accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier",
    "tn", "fp", "fn", "tp",
]  # fmt: skip


def _xgboost(train):
    hps = {"objective": "binary:logistic", "num_round": 20}
    return wb.Estimator(algorithm="xgboost", target="y", hyperparameters=hps).fit(
        {"train": train}, logs=False
    )


def _linear(train, predictor_type="binary_classifier"):
    hps = {"predictor_type": predictor_type}
    return wb.Estimator(algorithm="linear-learner", target="y", hyperparameters=hps).fit(
        {"train": train}, logs=False
    )


def test_compare_xgboost_and_linear_learner_gives_one_row_each_with_the_same_columns(
    workspace, splits
):
    train, test = splits
    xgb, linear = _xgboost(train), _linear(train)
    table = compare([xgb, linear.name], test)  # a job and a job name
    assert table.index.tolist() == [xgb.name, linear.name]
    assert table.columns.tolist() == ["algorithm", *BINARY_KEYS]
    assert table["algorithm"].tolist() == ["xgboost", "linear-learner"]
    for job in (xgb, linear):
        assert table.loc[job.name, BINARY_KEYS].to_dict() == pytest.approx(
            evaluate(job, test, record=False).metrics
        )
    assert workspace.catalog.list("evaluation") == []  # record=False by default
    at_low = compare([xgb.model()], test, threshold=0.2)
    assert at_low.loc[xgb.name, "recall"] >= table.loc[xgb.name, "recall"]


def test_compare_with_record_stores_one_evaluation_per_model(workspace, splits):
    train, test = splits
    jobs = [_linear(train), _linear(train)]
    compare(jobs, test, record=True)
    recorded = {r["parameters"]["model"] for r in workspace.catalog.list("evaluation")}
    assert recorded == {j.name for j in jobs}


def test_compare_rejects_mixed_problem_types_before_predicting(workspace, splits):
    train, test = splits
    classifier, regressor = _linear(train), _linear(train, "regressor")
    with pytest.raises(ValidationError, match="one problem type") as info:
        compare([classifier, regressor], test, record=True)
    assert "regression" in str(info.value) and "binary_classification" in str(info.value)
    assert workspace.catalog.list("evaluation") == []
    with pytest.raises(ValidationError, match="at least one"):
        compare([], test)


def test_roc_comparison_overlays_one_curve_per_evaluation(workspace, splits):
    train, test = splits
    evs = [evaluate(j, test, record=False) for j in (_xgboost(train), _linear(train))]
    fig = plot_roc_comparison(evs)
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert [label.split(" ")[0] for label in labels] == [ev.model_name for ev in evs]
    regression = evaluate(_linear(train, "regressor"), test, record=False)
    with pytest.raises(ValidationError, match="binary_classification"):
        plot_roc_comparison([*evs, regression])
    with pytest.raises(ValidationError, match="evaluations"):
        plot_roc_comparison([])
