"""Label quality: likely label errors by confident learning, and verification jobs for them.

Out-of-fold class probabilities come from the same cross-fitted training job as automated
labelling (every label is predicted by a model that did not see it); cleanlab's confident
learning (Northcutt et al., 2021) then flags the labels the data disagrees with.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import ValidationError

if TYPE_CHECKING:
    import pandas as pd

    from ._job import LabelingJob

__all__ = ["find_label_issues", "create_verification_job"]

_COLUMNS = [
    "item", "given_label", "suggested_label", "label_quality", "given_label_probability",
    "suggested_label_probability", "human_annotated",
]  # fmt: skip


def _labelled(job: LabelingJob, include_machine: bool) -> tuple[np.ndarray, np.ndarray, set]:
    store = job._started()
    rows = store.items()
    complete = {r["item"] for r in rows if r["state"] == "complete"}
    consolidated = job.consolidate()
    consolidated = consolidated[consolidated.index.isin(complete)]
    index = {label: i for i, label in enumerate(job.labels or [])}
    items = list(consolidated.index.astype(int))
    codes = [index[label] for label in consolidated["label"]]
    machine = set()
    if include_machine:
        for r in rows:
            if r["state"] == "auto":
                items.append(int(r["item"]))
                codes.append(index[r["label"]])
                machine.add(int(r["item"]))
    return np.array(items, dtype=np.int64), np.array(codes, dtype=np.int64), machine


def find_label_issues(
    job: LabelingJob,
    *,
    include_machine_labels: bool = True,
    filter_by: str = "prune_by_noise_rate",
) -> pd.DataFrame:
    """Labels that are likely wrong, worst first.

    Trains the job's model with cross-fitting on every labelled item, then runs
    ``cleanlab.filter.find_label_issues`` on the out-of-fold probabilities. Returns one row
    per flagged item: its given and suggested label, cleanlab's label quality score
    (self-confidence, 0..1, low = suspicious) and whether people gave the label.
    """
    import pandas as pd
    from cleanlab.filter import find_label_issues as cleanlab_issues
    from cleanlab.rank import get_label_quality_scores

    from ._autolabel import train_cross_fitted

    if job.task.answer != "class" or job.task.name == "label-verification":
        raise ValidationError("task_type", job.task.name, "a single-label classification task")
    items, codes, machine = _labelled(job, include_machine_labels)
    if len(items) < 20 or len(np.unique(codes)) < 2:
        raise ValidationError(
            "labels", f"{len(items)} labelled item(s)", "at least 20 labelled items of 2+ classes"
        )
    runs = len(job.record["extra"].get("quality_runs", []))
    oof, _, training_job = train_cross_fitted(
        job, items, codes, np.array([], dtype=np.int64), f"quality{runs + 1:03d}"
    )
    ranked = cleanlab_issues(
        labels=codes, pred_probs=oof, filter_by=filter_by,
        return_indices_ranked_by="self_confidence",
    )  # fmt: skip
    quality = get_label_quality_scores(codes, oof, method="self_confidence")
    labels = list(job.labels or [])
    rows = []
    for row in ranked:
        suggested = int(oof[row].argmax())
        rows.append(
            {
                "item": int(items[row]),
                "given_label": labels[codes[row]],
                "suggested_label": labels[suggested],
                "label_quality": float(quality[row]),
                "given_label_probability": float(oof[row, codes[row]]),
                "suggested_label_probability": float(oof[row, suggested]),
                "human_annotated": int(items[row]) not in machine,
            }
        )
    job.workspace.catalog.update(
        "labeling-job", str(job.name),
        extra={"quality_runs": [*job.record["extra"].get("quality_runs", []),
                                {"training_job": training_job, "issues": len(rows),
                                 "checked": len(items)}]},
    )  # fmt: skip
    return pd.DataFrame(rows, columns=_COLUMNS)


def create_verification_job(
    job: LabelingJob,
    issues: pd.DataFrame | None = None,
    *,
    annotators: list[str] | None = None,
    annotators_per_item: int | None = None,
    name: str | None = None,
    labels: tuple[str, str] = ("good", "bad"),
    instructions: str | None = None,
) -> LabelingJob:
    """A ``label-verification`` job asking people whether each flagged label is right.

    Each item shows the data with its current label (and the model's suggestion);
    annotators answer ``"good"`` or ``"bad"`` (Ground Truth's verification classes). The
    output attribute is ``verify-<attr>``; every line keeps ``item-id``, the item's id in
    this job, to join the verdicts back. Starts the job and returns it.
    """
    from ._job import KIND, LabelingJob

    if issues is None:
        issues = find_label_issues(job)
    if "item" not in getattr(issues, "columns", []):
        raise ValidationError("issues", type(issues).__name__, "a DataFrame with an 'item' column")
    if len(issues) == 0:
        raise ValidationError("issues", "no rows", "at least one item to verify")
    attr = job.label_attribute_name
    output = job.output()
    ids = job._item_ids(output)
    by_item = dict(zip(ids, output[attr], strict=True))
    suggested = dict(zip(issues["item"], issues.get("suggested_label", [None] * len(issues)),
                         strict=True))  # fmt: skip
    folder = job.folder / "verification"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / f"verify-{len(list(folder.glob('*.manifest'))) + 1:03d}.manifest"
    lines = []
    for item in issues["item"]:
        data = job.item(int(item))
        record = dict(data.record)
        record["item-id"] = int(item)
        record[attr] = by_item.get(int(item))
        record["suggested-label"] = suggested.get(item)
        lines.append(json.dumps(record, default=str))
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    people = annotators if annotators is not None else job._started().workers()
    per_item = annotators_per_item or min(job.annotators_per_item, max(1, len(people)))
    verification = LabelingJob(
        manifest,
        task_type="label-verification",
        labels=list(labels),
        annotators=people,
        annotators_per_item=per_item,
        name=name,
        label_attribute_name=f"verify-{attr}",
        instructions=instructions
        or f"Is the label '{attr}' shown with each item right? Answer {labels[0]} or {labels[1]}.",
        workspace=job.workspace,
    )
    verification._verify = {"media": job._media(job.task), "attribute": attr, "job": job.name}
    verification.start()
    job.workspace.catalog.add_lineage((KIND, str(job.name)), (KIND, str(verification.name)),
                                      "verification")  # fmt: skip
    return verification
