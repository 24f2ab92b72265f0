"""Labelling: Ground Truth-style labelling jobs in notebooks.

Several annotators per item with consolidation (Dawid-Skene or majority vote), automated
labelling by active learning, label-error detection, and a panel per annotator. Answers
live in the workspace's SQLite database, saved the moment they are given.

Example
-------
>>> import workbench as wb
>>> df = wb.datasets.load("text", size=300)                             # doctest: +SKIP
>>> job = wb.LabelingJob(df[["text"]], task_type="text-classification",
...                      labels=["sports", "finance", "technology", "health", "travel", "food"],
...                      annotators=["ana", "ben", "cy"]).start()       # doctest: +SKIP
>>> wb.LabelingPanel(job, annotator="ana")                              # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from ._autolabel import AutoLabeling
from ._consolidation import (
    Consolidation,
    consolidate_boxes,
    consolidate_classification,
    consolidate_multilabel,
    consolidate_spans,
    dawid_skene,
    majority_vote,
)
from ._job import LabelingJob, Task, list_labeling_jobs
from ._manifest import read_manifest, save_images
from ._simulated import SimulatedAnnotator
from ._store import AnswerRejected
from ._tasks import TASK_TYPES

__all__ = [
    "AnswerRejected",
    "AutoLabeling",
    "Consolidation",
    "LabelingJob",
    "LabelingPanel",
    "SimulatedAnnotator",
    "TASK_TYPES",
    "Task",
    "consolidate_boxes",
    "consolidate_classification",
    "consolidate_multilabel",
    "consolidate_spans",
    "dawid_skene",
    "describe_labeling_job",
    "list_labeling_jobs",
    "majority_vote",
    "read_manifest",
    "save_images",
]


def describe_labeling_job(name: str, workspace: Any = None) -> dict[str, Any]:
    """SageMaker's DescribeLabelingJob dict for ``name``."""
    return LabelingJob.attach(name, workspace).describe()


def __getattr__(name: str) -> Any:
    if name == "LabelingPanel":
        from ._panel import LabelingPanel

        return LabelingPanel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
