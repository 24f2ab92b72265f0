import numpy as np
import pytest
from matplotlib.figure import Figure

import workbench as wb
from workbench.evaluation import CostMatrix, Evaluation, ThresholdPicker, evaluate
from workbench.evaluation._metrics import BINARY, binary_metrics
from workbench.exceptions import ValidationError


def _synthetic(n=2000, prevalence=0.05, seed=0):
    """A binary Evaluation from made-up scores: positives score higher on average."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(np.int64)
    score = 1 / (1 + np.exp(-(rng.normal(size=n) + 2.5 * y - 2.0)))
    score[:20] = np.round(score[:20], 2)  # some scores exactly on grid thresholds
    return Evaluation(
        model_name="synthetic",
        problem_type=BINARY,
        metrics=binary_metrics(y, score, 0.5),
        confusion_matrix=None,
        threshold=0.5,
        n_rows=n,
        y_true=y,
        y_score=score,
        y_pred=(score >= 0.5).astype(np.int64),
    )


def _brute_force_cost(ev, costs, t):
    pred = ev.y_score >= t
    y = ev.y_true == 1
    return (
        costs.fn * np.sum(~pred & y)
        + costs.fp * np.sum(pred & ~y)
        + costs.tp * np.sum(pred & y)
        + costs.tn * np.sum(~pred & ~y)
    )


def test_table_has_101_thresholds_and_counts_like_a_direct_computation():
    ev = _synthetic()
    table = ThresholdPicker(ev, CostMatrix(fn=10, fp=1)).table()
    assert list(table.columns) == [
        "threshold", "tp", "fp", "tn", "fn", "precision", "recall", "cost", "cost_per_row",
    ]  # fmt: skip
    assert len(table) == 101 and table["threshold"].iloc[[0, 50, -1]].tolist() == [0, 0.5, 1]
    assert (table[["tp", "fp", "tn", "fn"]].sum(axis=1) == ev.n_rows).all()
    for _, row in table.iloc[::10].iterrows():
        pred = ev.y_score >= row["threshold"]
        assert row["tp"] == np.sum(pred & (ev.y_true == 1))
        assert row["fp"] == np.sum(pred & (ev.y_true == 0))
    np.testing.assert_allclose(table["cost_per_row"], table["cost"] / ev.n_rows)


def test_best_minimises_the_table_cost_and_matches_a_brute_force_loop():
    ev = _synthetic()
    costs = CostMatrix(fn=25.0, fp=1.0, tp=0.5)
    picker = ThresholdPicker(ev, costs)
    threshold, cost = picker.best()
    assert cost == picker.table()["cost"].min()
    grid = np.round(np.linspace(0, 1, 101), 2)
    brute = min(grid, key=lambda t: _brute_force_cost(ev, costs, t))  # first of ties, like best()
    assert threshold == pytest.approx(brute)
    assert cost == pytest.approx(_brute_force_cost(ev, costs, brute))
    fine = np.linspace(0, 1, 1001)
    t_fine, c_fine = picker.best(fine)
    assert c_fine == pytest.approx(min(_brute_force_cost(ev, costs, t) for t in fine))
    assert c_fine <= cost


def test_at_agrees_with_the_evaluation_at_that_threshold():
    ev = _synthetic()
    row = ThresholdPicker(ev, CostMatrix(fn=5, fp=1)).at(0.237)
    moved = ev.at_threshold(0.237).metrics
    assert {k: row[k] for k in ("tp", "fp", "tn", "fn")} == {
        k: moved[k] for k in ("tp", "fp", "tn", "fn")
    }
    assert row["precision"] == pytest.approx(moved["precision"])
    assert row["recall"] == pytest.approx(moved["recall"])
    assert row["cost"] == 5 * row["fn"] + row["fp"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fn": -1, "fp": 1},
        {"fn": 1, "fp": float("nan")},
        {"fn": "10", "fp": 1},
        {"fn": True, "fp": 1},
        {"fn": 1, "fp": 1, "tn": -0.5},
        {"fn": 0, "fp": 0},
    ],
)
def test_costs_are_validated(kwargs):
    with pytest.raises(ValidationError, match="CostMatrix"):
        CostMatrix(**kwargs)


def test_costs_may_be_given_as_a_dict_and_other_inputs_are_rejected():
    ev = _synthetic()
    assert ThresholdPicker(ev, {"fn": 3, "fp": 1}).costs == CostMatrix(fn=3.0, fp=1.0)
    with pytest.raises(ValidationError, match="costs"):
        ThresholdPicker(ev, 3.0)
    with pytest.raises(ValidationError, match="thresholds"):
        ThresholdPicker(ev, CostMatrix(fn=1, fp=1)).table([0.1, float("nan")])


def test_expensive_missed_fraud_moves_the_best_threshold_down(workspace):
    df = wb.datasets.load("fraud", size="small")
    train, test = df.iloc[:3500], df.iloc[3500:]
    job = wb.Estimator(
        algorithm="xgboost",
        target="is_fraud",
        hyperparameters={"objective": "binary:logistic", "num_round": 30, "max_depth": 3},
    ).fit({"train": train}, logs=False)
    ev = evaluate(job, test, record=False)
    assert ev.metrics["tp"] + ev.metrics["fn"] > 10  # enough frauds to pick a threshold
    cheap, _ = ThresholdPicker(ev, CostMatrix(fn=1, fp=1)).best()
    expensive, _ = ThresholdPicker(ev, CostMatrix(fn=200, fp=1)).best()
    assert expensive < cheap


def test_picker_rejects_a_regression_evaluation(workspace, splits):
    train, test = splits
    job = wb.Estimator(
        algorithm="linear-learner", target="y", hyperparameters={"predictor_type": "regressor"}
    ).fit({"train": train}, logs=False)
    ev = evaluate(job, test, record=False)
    assert ev.problem_type == "regression"
    with pytest.raises(ValidationError, match="binary_classification"):
        ThresholdPicker(ev, CostMatrix(fn=1, fp=1))
    with pytest.raises(ValidationError, match="binary_classification"):
        ev.at_threshold(0.3)


def test_plot_returns_a_figure_with_the_best_threshold_marked():
    picker = ThresholdPicker(_synthetic(), CostMatrix(fn=20, fp=1))
    fig = picker.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    threshold, _ = picker.best()
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(f"best {threshold:g}" in text for text in legend)
