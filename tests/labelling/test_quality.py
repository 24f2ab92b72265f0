"""Label quality: confident learning finds wrong labels; verification jobs check them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.exceptions import ValidationError
from workbench.labelling import LabelingJob, SimulatedAnnotator

TOPICS = ["sports", "finance", "technology", "health", "travel", "food"]


@pytest.fixture
def noisy_job(workspace):
    df = wb.datasets.load("text", size=300, seed=3)
    job = LabelingJob(df[["text"]], labels=TOPICS, annotators=["ana"], annotators_per_item=1,
                      workspace=workspace).start()  # fmt: skip
    job.run([SimulatedAnnotator("ana", df["topic"].tolist(), error_rate=0.15, seed=0)])
    return job, df["topic"].to_numpy()


def test_issues_are_mostly_real_errors(noisy_job):
    job, truth = noisy_job
    given = job.output()["label"].to_numpy()
    wrong = set(np.flatnonzero(given != truth))
    issues = job.find_label_issues()
    assert len(issues) > 0
    flagged = set(issues["item"])
    precision = len(flagged & wrong) / len(flagged)
    recall = len(flagged & wrong) / len(wrong)
    assert precision > 0.6 and recall > 0.4, (precision, recall)
    assert issues["label_quality"].is_monotonic_increasing  # worst first
    row = issues.iloc[0]
    assert row["given_label"] == given[row["item"]] and row["human_annotated"]
    assert job.record["extra"]["quality_runs"][0]["checked"] == 300


def test_verification_job_asks_good_or_bad_and_keeps_the_item_id(noisy_job):
    job, truth = noisy_job
    issues = job.find_label_issues().head(8)
    verification = job.create_verification_job(issues, annotators=["ben"])
    assert verification.task.name == "label-verification" and verification.labels == ["good", "bad"]
    task = verification.next_task("ben")
    assert task.context["label"] == issues["given_label"].iloc[0]
    assert task.context["suggested"] == issues["suggested_label"].iloc[0]
    assert task.record["item-id"] == issues["item"].iloc[0] and task.text

    def verdict(t):
        return "good" if t.context["label"] == truth[t.record["item-id"]] else "bad"

    verification.run([SimulatedAnnotator("ben", verdict, error_rate=0.0)])
    out = verification.output()
    assert out["verify-label"].tolist() == [
        "good" if g == truth[i] else "bad" for i, g in zip(issues["item"], issues["given_label"])
    ]
    path = verification.describe()["LabelingJobOutput"]["OutputDatasetS3Uri"]
    line = json.loads(open(path).readline())
    assert line["verify-label-metadata"]["type"] == "groundtruth/label-verification"
    assert line["verify-label-metadata"]["class-name"] in ("good", "bad")
    edges = job.workspace.catalog.lineage("labeling-job", job.name)["downstream"]
    assert {"kind": "labeling-job", "name": verification.name, "relation": "verification"} in edges


def test_label_issues_need_enough_single_label_data(workspace):
    job = LabelingJob(pd.DataFrame({"text": ["a", "b", "c"]}), labels=["x", "y"],
                      annotators=["a"], annotators_per_item=1, workspace=workspace).start()  # fmt: skip
    job.run([SimulatedAnnotator("a", ["x", "y", "x"], 0.0)])
    with pytest.raises(ValidationError, match="at least 20 labelled items"):
        job.find_label_issues()
