"""Automated labelling: threshold choice, the active-learning loop, budgets, reports."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.exceptions import ValidationError
from workbench.labelling import AutoLabeling, LabelingJob, SimulatedAnnotator, save_images
from workbench.labelling._autolabel import choose_threshold, wilson_lower_bound


def test_wilson_bound_is_below_the_share_and_tightens_with_more_items():
    low_small = wilson_lower_bound(np.array([19]), np.array([20]), 1.645)[0]
    low_large = wilson_lower_bound(np.array([950]), np.array([1000]), 1.645)[0]
    assert low_small < 19 / 20 and 0.93 < low_large < 0.95
    assert wilson_lower_bound(np.array([5]), np.array([10]), 0.0)[0] == pytest.approx(0.5)


def test_threshold_is_the_lowest_confidence_that_passes_the_target():
    conf = np.linspace(1.0, 0.1, 400)
    correct = np.ones(400, dtype=bool)
    correct[300:] = np.arange(100) % 2 == 0  # the least confident quarter: half wrong
    threshold, facts = choose_threshold(conf, correct, 0.95, 0.95)
    assert conf[320] < threshold <= conf[250]
    assert facts["accuracy_lower_bound"] >= 0.95
    assert facts["accuracy_above_threshold"] >= 0.95
    never, facts = choose_threshold(conf[:30], np.ones(30, bool), 0.95, 0.95)
    assert math.isinf(never)  # 30 right answers are too few to claim 95% with confidence


def test_auto_labeling_settings_are_checked():
    frame = pd.DataFrame({"text": ["a", "b"]})
    for bad in [{"target_accuracy": 1.0}, {"initial_count": 0}, {"model": "cnn"}, {"folds": 1}]:
        with pytest.raises(ValidationError, match="auto_labeling"):
            LabelingJob(frame, labels=["x", "y"], annotators=["a"], annotators_per_item=1,
                        auto_labeling=AutoLabeling(**bad)).start()  # fmt: skip


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    images, labels = wb.datasets.load_images("digits", size=500, seed=0)
    return save_images(images, tmp_path_factory.mktemp("digits")), labels


def test_the_loop_labels_most_digits_by_model_and_stays_accurate(workspace, digits):
    manifest, truth = digits
    config = AutoLabeling(
        target_accuracy=0.97, initial_count=120, batch_size=40, confidence_level=0.95
    )
    job = LabelingJob(manifest, task_type="image-classification", labels=list(range(10)),
                      annotators=["a", "b", "c"], auto_labeling=config,
                      workspace=workspace).start()  # fmt: skip
    assert job.progress()["open"] == 120 and job.progress()["held"] == 380
    people = [SimulatedAnnotator(n, truth, 0.05, seed=i) for i, n in enumerate("abc")]
    people[0].work(job, limit=5)
    with pytest.raises(ValidationError, match="still open"):
        job.run_auto_labeling_round()
    job.run(people)
    assert job.status == "Completed"
    out = job.output()
    machine = ~out["label_human_annotated"].astype(bool).to_numpy()
    assert machine.mean() > 0.5
    assert (out["label"].to_numpy()[machine] == truth[machine]).mean() >= 0.95
    assert (out["label"].to_numpy() == truth).mean() >= 0.95
    report = job.auto_labeling_report()
    assert report["machine_labeled"] == machine.sum()
    assert report["human_answers"] == 3 * report["human_labeled"]
    assert report["machine_estimated_accuracy"] >= 0.97
    assert report["human_estimated_accuracy"] > 0.95
    rounds = job.describe()["AutoLabelingRounds"]
    assert rounds[0]["human_labels"] == 120
    assert any(r["threshold"] is not None for r in rounds)
    training = rounds[0]["training_job"]
    assert {"kind": "labeling-job", "name": job.name, "relation": "channels"} in (
        workspace.catalog.lineage("training-job", training)["upstream"]
    )
    first = next(m for m in (job.output().iloc[i] for i in range(500))
                 if not m["label_human_annotated"])  # fmt: skip
    assert 0 < first["label_confidence"] <= 1


def test_the_human_budget_stops_the_loop(workspace, digits):
    manifest, truth = digits
    config = AutoLabeling(target_accuracy=0.999, initial_count=100, batch_size=30,
                          max_human_labeled_objects=130)  # fmt: skip
    job = LabelingJob(manifest, task_type="image-classification", labels=list(range(10)),
                      annotators=["a"], annotators_per_item=1, auto_labeling=config,
                      workspace=workspace).start()  # fmt: skip
    job.run([SimulatedAnnotator("a", truth, 0.0)])
    counters = job.label_counters()
    assert counters["HumanLabeled"] == 130
    assert job.status == "Completed"
    assert counters["TotalLabeled"] + counters["FailedNonRetryableError"] == 500
    reasons = job.failures()["reason"]
    assert (reasons.str.contains("human budget").sum() + counters["MachineLabeled"]) == 370
