"""A simulated annotator: an oracle over known answers that errs at a set rate.

For tests, labs run in batch, and benchmarks: it labels through the same API as a person
in a panel (``next_task`` then ``submit``), so routing, claims and consolidation are
exercised exactly as with people.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import ValidationError

if TYPE_CHECKING:
    from ._job import LabelingJob, Task

__all__ = ["SimulatedAnnotator"]


class SimulatedAnnotator:
    """Answers like a person who is right except with probability ``error_rate``.

    ``truth`` gives the right answer of each item: a sequence aligned with the job's items
    (item ids 0..n-1), a mapping item id -> answer, or a function ``task -> answer``.
    A wrong class is drawn uniformly from the other labels; multi-label answers flip each
    label with that probability; boxes are jittered by 2% of their size and, on an error,
    one box is dropped or shifted by half its size; spans lose or move a boundary.

    Example
    -------
    >>> ana = SimulatedAnnotator("ana", truth=labels, error_rate=0.05, seed=1)  # doctest: +SKIP
    >>> ana.work(job)                                                          # doctest: +SKIP
    """

    def __init__(
        self,
        name: str,
        truth: Sequence[Any] | Mapping[int, Any] | Callable[[Task], Any],
        error_rate: float = 0.05,
        seed: int = 0,
        seconds_per_task: float = 4.0,
    ) -> None:
        if (
            isinstance(error_rate, bool)
            or not isinstance(error_rate, int | float)
            or not (0 <= error_rate <= 1)
        ):
            raise ValidationError("error_rate", error_rate, "a probability in [0, 1]")
        self.name = name
        self.truth = truth
        self.error_rate = float(error_rate)
        self.seed = seed
        self.seconds_per_task = seconds_per_task
        self.rng = np.random.default_rng(seed)

    def __repr__(self) -> str:
        return f"SimulatedAnnotator({self.name!r}, error_rate={self.error_rate})"

    def true_answer(self, task: Task) -> Any:
        if callable(self.truth):
            return self.truth(task)
        value = self.truth[task.item]
        return value.item() if hasattr(value, "item") and not isinstance(value, str) else value

    def answer(self, task: Task) -> Any:
        """This annotator's (possibly wrong) answer to ``task``."""
        right = self.true_answer(task)
        labels = task.labels
        wrong = self.rng.random() < self.error_rate
        if task.task_type in ("object-detection", "named-entity-recognition"):
            return self._objects(list(right), task, wrong) if right else []
        if task.task_type.endswith("-multilabel"):
            flips = self.rng.random(len(labels)) < self.error_rate
            return [lab for lab, f in zip(labels, flips, strict=True) if (lab in right) != f]
        if not wrong:
            return right
        others = [label for label in labels if label != right]
        return others[int(self.rng.integers(len(others)))] if others else right

    def _objects(self, objects: list[dict[str, Any]], task: Task, wrong: bool) -> list[dict]:
        out = [dict(o) for o in objects]
        if "left" in out[0]:
            width, height = _image_bounds(task)
            for box in out:
                jitter = self.rng.normal(0, 0.02, size=4) * np.array(
                    [box["width"], box["height"]] * 2
                )
                left = min(max(box["left"] + jitter[0], 0.0), width - 1)
                top = min(max(box["top"] + jitter[1], 0.0), height - 1)
                box["width"] = float(min(max(box["width"] + jitter[2], 1.0), width - left))
                box["height"] = float(min(max(box["height"] + jitter[3], 1.0), height - top))
                box["left"], box["top"] = float(left), float(top)
            if wrong:
                k = int(self.rng.integers(len(out)))
                if self.rng.random() < 0.5:
                    out.pop(k)
                else:
                    box = out[k]
                    box["left"] = float(min(box["left"] + box["width"] / 2, width - box["width"]))
            return out
        if wrong:
            k = int(self.rng.integers(len(out)))
            if self.rng.random() < 0.5:
                out.pop(k)
            else:
                out[k]["end"] = max(out[k]["start"] + 1, out[k]["end"] - 2)
        return out

    def work(self, job: LabelingJob, limit: int | None = None) -> int:
        """Answer items of ``job`` until none is left for this annotator (or ``limit``)."""
        done = 0
        while limit is None or done < limit:
            task = job.next_task(self.name)
            if task is None:
                break
            job.submit(self.name, task.item, self.answer(task), seconds=self.seconds_per_task)
            done += 1
        return done


def _image_bounds(task: Task) -> tuple[float, float]:
    from ._manifest import image_size

    if task.image_path is None:
        return float("inf"), float("inf")
    width, height, _ = image_size(task.image_path)
    return float(width), float(height)
