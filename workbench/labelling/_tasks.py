"""Task types: what an item shows, what an answer looks like, and Ground Truth's output form.

Each task type checks one annotator's answer (``check_answer``) and turns a consolidated
answer into the augmented manifest's ``<attr>`` value and ``<attr>-metadata`` fields, with
Ground Truth's names (``class-name``, ``class-map``, ``confidence-map``, ``objects``,
``entities``...). ``tabular-classification`` is workbench's own type (Ground Truth has no
record classification); it follows the text classification form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..exceptions import ValidationError

__all__ = ["TaskType", "TASK_TYPES", "resolve_task_type", "check_labels"]


@dataclass(frozen=True)
class TaskType:
    """One kind of labelling task."""

    name: str
    media: str  # "text" | "image" | "record"
    answer: str  # "class" | "classes" | "boxes" | "spans"
    output_type: str  # the metadata "type"
    auto_labeling: bool  # single-label classification only, as in Ground Truth

    @property
    def classification(self) -> bool:
        return self.answer in ("class", "classes")


TASK_TYPES: dict[str, TaskType] = {
    t.name: t
    for t in (
        TaskType("text-classification", "text", "class", "groundtruth/text-classification", True),
        TaskType(
            "text-classification-multilabel",
            "text",
            "classes",
            "groundtruth/text-classification-multilabel",
            False,
        ),
        TaskType(
            "image-classification", "image", "class", "groundtruth/image-classification", True
        ),
        TaskType(
            "image-classification-multilabel",
            "image",
            "classes",
            "groundtruth/image-classification-multilabel",
            False,
        ),
        TaskType(
            "tabular-classification", "record", "class", "groundtruth/tabular-classification", True
        ),
        TaskType("object-detection", "image", "boxes", "groundtruth/object-detection", False),
        TaskType("named-entity-recognition", "text", "spans", "groundtruth/text-span", False),
        TaskType("label-verification", "any", "class", "groundtruth/label-verification", False),
    )
}
_ALIASES = {
    "bounding-box": "object-detection",
    "boundingbox": "object-detection",
    "text-span": "named-entity-recognition",
    "ner": "named-entity-recognition",
    "record-classification": "tabular-classification",
    "verification": "label-verification",
}


def resolve_task_type(name: object) -> TaskType:
    """The task type called ``name`` (or an alias such as ``"bounding-box"``)."""
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else name
    key = _ALIASES.get(key, key) if isinstance(key, str) else key
    if key not in TASK_TYPES:
        raise ValidationError("task_type", name, "one of " + ", ".join(TASK_TYPES))
    return TASK_TYPES[key]  # type: ignore[index]


def check_labels(labels: object, task: TaskType) -> list[Any]:
    """The label set as a list of distinct str/int labels (1 to 50), or ValidationError."""
    if isinstance(labels, str) or not hasattr(labels, "__iter__"):
        raise ValidationError("labels", labels, "a list of label names, e.g. ['cat', 'dog']")
    out: list[Any] = []
    for label in labels:  # type: ignore[attr-defined]
        if hasattr(label, "item") and not isinstance(label, str):
            label = label.item()  # NumPy scalars
        if isinstance(label, bool) or not isinstance(label, str | int) or label == "":
            raise ValidationError("labels", label, "non-empty strings or ints")
        if label in out:
            raise ValidationError("labels", label, "distinct labels (this one is repeated)")
        out.append(label)
    low = 1 if task.answer in ("boxes", "spans", "classes") else 2
    if not low <= len(out) <= 50:
        raise ValidationError(
            "labels", out, f"{low} to 50 labels for {task.name} (Ground Truth's limit)"
        )
    return out


def check_answer(
    task: TaskType, labels: list[Any], answer: Any, *, field: str, image_size: tuple | None = None
) -> Any:
    """One annotator's answer, normalised to JSON-ready form, or ValidationError."""
    if task.answer == "class":
        return _one_label(labels, answer, field)
    if task.answer == "classes":
        if isinstance(answer, str) or not isinstance(answer, list | tuple | set | frozenset):
            raise ValidationError(field, answer, "a list of labels (may be empty)")
        chosen = {_one_label(labels, a, field) for a in answer}
        return [label for label in labels if label in chosen]
    if not isinstance(answer, list | tuple):
        what = "boxes" if task.answer == "boxes" else "spans"
        raise ValidationError(field, answer, f"a list of {what} (may be empty)")
    if task.answer == "boxes":
        return [_box(labels, box, f"{field}[{i}]", image_size) for i, box in enumerate(answer)]
    return sorted(
        (_span(labels, span, f"{field}[{i}]") for i, span in enumerate(answer)),
        key=lambda s: (s["start"], s["end"]),
    )


def _one_label(labels: list[Any], value: Any, field: str) -> Any:
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if value in labels and not isinstance(value, bool):
        return labels[labels.index(value)]
    if isinstance(value, str) and value not in labels and value.lstrip("-").isdigit():
        number = int(value)  # "3" from a text box when the labels are ints
        if number in labels:
            return number
    raise ValidationError(field, value, "a label of the job: " + ", ".join(map(str, labels)))


def _number(box: dict, key: str, field: str) -> float:
    value = box.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{field}.{key}", value, "a finite number (pixels)")
    return float(value)


def _box(labels: list[Any], box: Any, field: str, image_size: tuple | None) -> dict[str, Any]:
    if not isinstance(box, dict):
        raise ValidationError(field, box, "a dict with label, left, top, width, height")
    label = _one_label(labels, box.get("label"), f"{field}.label")
    left, top = _number(box, "left", field), _number(box, "top", field)
    width, height = _number(box, "width", field), _number(box, "height", field)
    if width <= 0 or height <= 0:
        raise ValidationError(f"{field}", box, "a box with positive width and height")
    if left < 0 or top < 0:
        raise ValidationError(field, box, "a box inside the image (left and top >= 0)")
    if image_size is not None:
        w, h = image_size[0], image_size[1]
        if left + width > w + 1e-6 or top + height > h + 1e-6:
            raise ValidationError(field, box, f"a box inside the image of {w}x{h} pixels")
    return {"label": label, "left": left, "top": top, "width": width, "height": height}


def _span(labels: list[Any], span: Any, field: str) -> dict[str, Any]:
    if not isinstance(span, dict):
        raise ValidationError(field, span, "a dict with start, end, label")
    label = _one_label(labels, span.get("label"), f"{field}.label")
    start, end = span.get("start"), span.get("end")
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ValidationError(f"{field}.start", start, "a character offset >= 0")
    if isinstance(end, bool) or not isinstance(end, int) or end <= start:
        raise ValidationError(f"{field}.end", end, f"an offset greater than start ({start})")
    return {"start": start, "end": end, "label": label}


def output_fields(
    task: TaskType,
    labels: list[Any],
    consolidated: dict[str, Any],
    *,
    job_name: str,
    human: bool,
    created: str,
    image_size: tuple | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Ground Truth's ``<attr>`` value and ``<attr>-metadata`` for one consolidated item.

    ``consolidated`` holds ``label`` + ``confidence`` (single label), ``labels`` +
    ``confidence_map`` (multi-label), ``boxes`` or ``spans`` (each with ``confidence``).
    """
    meta: dict[str, Any] = {}
    if task.answer == "class":
        label = consolidated["label"]
        value: Any = labels.index(label)
        meta["class-name"] = str(label)
        meta["confidence"] = round(float(consolidated["confidence"]), 4)
    elif task.answer == "classes":
        chosen = consolidated["labels"]
        value = [labels.index(label) for label in chosen]
        meta["class-map"] = {str(labels.index(label)): str(label) for label in chosen}
        conf = consolidated.get("confidence_map") or {}
        meta["confidence-map"] = {
            str(labels.index(label)): round(float(conf.get(label, 0.0)), 4) for label in chosen
        }
    elif task.answer == "boxes":
        boxes = consolidated["boxes"]
        width, height, depth = image_size or (0, 0, 0)
        value = {
            "image_size": [{"width": int(width), "height": int(height), "depth": int(depth)}],
            "annotations": [
                {
                    "class_id": labels.index(b["label"]),
                    **{k: int(round(b[k])) for k in ("left", "top", "width", "height")},
                }
                for b in boxes
            ],
        }
        meta["objects"] = [{"confidence": round(float(b["confidence"]), 4)} for b in boxes]
        meta["class-map"] = {str(i): str(label) for i, label in enumerate(labels)}
    else:
        spans = consolidated["spans"]
        value = {
            "annotations": {
                "entities": [
                    {"endOffset": s["end"], "startOffset": s["start"], "label": str(s["label"])}
                    for s in spans
                ],
                "labels": [{"label": str(label)} for label in labels],
            }
        }
        meta["entities"] = [{"confidence": round(float(s["confidence"]), 4)} for s in spans]
    meta.update(
        {
            "type": task.output_type,
            "job-name": f"labeling-job/{job_name}",
            "human-annotated": "yes" if human else "no",
            "creation-date": created,
        }
    )
    return value, meta
