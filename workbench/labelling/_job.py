"""``LabelingJob``: Ground Truth's labelling job, with a local workforce and SQLite answers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import Workspace, atomic_write_text, get_workspace, utcnow
from ..exceptions import ResourceNotFound, ValidationError
from ._manifest import Item, ItemFailure, image_size, read_source
from ._store import AnswerRejected, AnswerStore
from ._tasks import TaskType, check_answer, check_labels, output_fields, resolve_task_type

if TYPE_CHECKING:
    import pandas as pd

    from ._autolabel import AutoLabeling

__all__ = ["LabelingJob", "Task", "KIND", "list_labeling_jobs"]

KIND = "labeling-job"
_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_WORKER_RE = re.compile(r"^[\w.@+-]{1,64}$")
TERMINAL = ("Completed", "Stopped", "Failed")


@dataclass
class Task:
    """One item shown to one annotator: what to label and how.

    ``media`` is ``"text"``, ``"image"`` or ``"record"``; ``text``, ``image_path`` and
    ``record`` hold the data. ``previous`` is the annotator's withdrawn answer after an undo.
    """

    job: str
    item: int
    annotator: str
    task_type: str
    media: str
    labels: list[Any]
    instructions: str = ""
    text: str | None = None
    image_path: Path | None = None
    record: dict[str, Any] = field(default_factory=dict)
    previous: Any = None
    context: dict[str, Any] = field(default_factory=dict)


class LabelingJob:
    """A labelling job like SageMaker Ground Truth's, run by people in notebooks.

    ``source`` is a Ground Truth input manifest (JSON Lines with ``source`` or
    ``source-ref``), a folder of images or text files, or a DataFrame (``column`` names
    the text or image-path column; tabular tasks label whole rows). ``annotators_per_item``
    people answer each item (Ground Truth's ``NumberOfHumanWorkersPerDataObject``); no one
    sees an item twice. Every answer is saved in the workspace's SQLite at once.
    ``start()`` creates the job; ``attach(name)`` opens it again in another kernel.

    Example
    -------
    >>> job = LabelingJob(texts_df, task_type="text-classification",
    ...                   labels=["sports", "finance"], annotators=["ana", "ben", "cy"]
    ...                   ).start()                                   # doctest: +SKIP
    >>> task = job.next_task("ana")                                   # doctest: +SKIP
    >>> job.submit("ana", task.item, "sports")                        # doctest: +SKIP
    >>> job.output()                                                  # doctest: +SKIP
    """

    def __init__(
        self,
        source: Any = None,
        *,
        task_type: str = "text-classification",
        labels: list[Any] | None = None,
        annotators: list[str] | None = None,
        annotators_per_item: int = 3,
        name: str | None = None,
        label_attribute_name: str = "label",
        instructions: str = "",
        examples: list[dict[str, Any]] | None = None,
        column: str | None = None,
        task_time_limit: float = 300.0,
        consolidation: str = "dawid_skene",
        auto_labeling: AutoLabeling | None = None,
        seed: int = 0,
        workspace: Workspace | str | None = None,
    ) -> None:
        self.source = source
        self.task_type = task_type
        self.labels = labels
        self.annotators = annotators
        self.annotators_per_item = annotators_per_item
        self.name = name
        self.label_attribute_name = label_attribute_name
        self.instructions = instructions
        self.examples = examples
        self.column = column
        self.task_time_limit = task_time_limit
        self.consolidation = consolidation
        self.auto_labeling = auto_labeling
        self.seed = seed
        self.workspace = get_workspace(workspace)
        self._task: TaskType | None = None
        self._items: list[Item] | None = None
        self._store: AnswerStore | None = None
        self._sizes: dict[int, tuple[int, int, int]] = {}
        self._verify: dict[str, Any] | None = None

    def __repr__(self) -> str:
        state = self.status if self._store is not None else "not started"
        return f"LabelingJob(name={self.name!r}, task_type={self.task_type!r}, status={state!r})"

    # -- creation ----------------------------------------------------------------------
    def _check(self) -> tuple[TaskType, list[Any], list[str]]:
        task = resolve_task_type(self.task_type)
        labels = check_labels(self.labels if self.labels is not None else [], task)
        annotators = list(self.annotators or [])
        for person in annotators:
            if not isinstance(person, str) or not _WORKER_RE.match(person):
                raise ValidationError(
                    "annotators", person, "names of 1-64 letters, digits, . _ @ + -"
                )
        if len(set(annotators)) != len(annotators):
            raise ValidationError("annotators", annotators, "distinct names")
        n = self.annotators_per_item
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 9:
            raise ValidationError("annotators_per_item", n, "an int from 1 to 9 (default 3)")
        if annotators and n > len(annotators):
            raise ValidationError(
                "annotators_per_item",
                n,
                f"at most the number of annotators ({len(annotators)}): nobody answers an "
                "item twice",
            )
        if self.name is not None and not (isinstance(self.name, str) and _NAME_RE.match(self.name)):
            raise ValidationError(
                "name", self.name, "1-63 letters, digits and hyphens (SageMaker's rule)"
            )
        attr = self.label_attribute_name
        if not isinstance(attr, str) or not attr or attr.endswith("-metadata"):
            raise ValidationError(
                "label_attribute_name", attr, "a non-empty name not ending in '-metadata'"
            )
        if self.consolidation not in ("dawid_skene", "majority_vote"):
            raise ValidationError(
                "consolidation", self.consolidation, "'dawid_skene' or 'majority_vote'"
            )
        limit = self.task_time_limit
        if isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0:
            raise ValidationError("task_time_limit", limit, "a positive number of seconds")
        if self.auto_labeling is not None:
            if not task.auto_labeling:
                raise ValidationError(
                    "auto_labeling",
                    task.name,
                    "a single-label classification task (text, image or tabular), as in "
                    "Ground Truth",
                )
            self.auto_labeling.check()
        return task, labels, annotators

    def start(self) -> LabelingJob:
        """Check everything, read the source and create the job; returns ``self``."""
        if self._store is not None:
            raise ValidationError("start", self.name, "a job not started yet (it is running)")
        task, labels, annotators = self._check()
        media = self._media(task)
        data = read_source(self.source, media=media, column=self.column)
        attr = self.label_attribute_name
        clash = [i.line for i in data.items if attr in i.record or f"{attr}-metadata" in i.record]
        if clash and task.name != "label-verification":
            raise ValidationError(
                "label_attribute_name",
                attr,
                f"a name not already used in the input (line {clash[0]} has it)",
            )
        params = {
            "task_type": task.name,
            "media": media,
            "labels": labels,
            "annotators_per_item": self.annotators_per_item,
            "label_attribute_name": attr,
            "instructions": self.instructions,
            "examples": self.examples or [],
            "task_time_limit": float(self.task_time_limit),
            "consolidation": self.consolidation,
            "source": self._source_text(),
            "source_kind": data.kind,
            "columns": data.columns,
            "seed": self.seed,
            "auto_labeling": self.auto_labeling.to_dict() if self.auto_labeling else None,
            "verify": self._verify,
        }
        catalog = self.workspace.catalog
        if self.name:
            record = catalog.create(KIND, self.name, status="InProgress", parameters=params)
        else:
            record = catalog.create_unique(
                KIND, f"labeling-{task.name.split('-')[0]}", status="InProgress",
                parameters=params,
            )  # fmt: skip
        self.name = record["name"]
        folder = self.workspace.folder(KIND, self.name)
        folder.mkdir(parents=True, exist_ok=True)
        lines = [
            json.dumps({"item": i.item, "line": i.line, "index": i.index, "record": i.record})
            for i in data.items
        ]
        atomic_write_text(folder / "items.jsonl", "\n".join(lines) + "\n")
        atomic_write_text(
            folder / "failures.jsonl",
            "".join(json.dumps(f.as_dict()) + "\n" for f in data.failures),
        )
        failed = {f.item: f.reason for f in data.failures if f.item is not None}
        held = self.auto_labeling is not None
        self._task, self._items = task, data.items
        self._store = AnswerStore(catalog, self.name)
        self._store.add_items(
            (
                i.item,
                i.line,
                "failed" if i.item in failed else ("held" if held else "open"),
                self.annotators_per_item,
                failed.get(i.item),
            )
            for i in data.items
        )
        self._store.add_workers(annotators)
        self.labels = labels
        self._record_counts()
        if self.auto_labeling is not None:
            from ._autolabel import release_initial

            release_initial(self)
        return self

    def _media(self, task: TaskType) -> str:
        if task.media != "any":
            return task.media
        verify = self._verify or {}
        return verify.get("media", "text")

    def _source_text(self) -> str:
        if type(self.source).__name__ == "DataFrame":
            return f"DataFrame ({len(self.source)} rows)"
        return str(self.source)

    @classmethod
    def attach(cls, name: str, workspace: Workspace | str | None = None) -> LabelingJob:
        """Open an existing labelling job (after a kernel restart, or in another process)."""
        ws = get_workspace(workspace)
        record = ws.catalog.get(KIND, name)
        p = record["parameters"]
        job = cls(
            task_type=p["task_type"],
            labels=p["labels"],
            annotators_per_item=p["annotators_per_item"],
            name=name,
            label_attribute_name=p["label_attribute_name"],
            instructions=p.get("instructions", ""),
            examples=p.get("examples"),
            task_time_limit=p.get("task_time_limit", 300.0),
            consolidation=p.get("consolidation", "dawid_skene"),
            seed=p.get("seed", 0),
            workspace=ws,
        )
        if p.get("auto_labeling"):
            from ._autolabel import AutoLabeling

            job.auto_labeling = AutoLabeling.from_dict(p["auto_labeling"])
        job.source = p.get("source")
        job._verify = p.get("verify")
        job._task = resolve_task_type(p["task_type"])
        job._store = AnswerStore(ws.catalog, name)
        job.annotators = job._store.workers()
        return job

    # -- basic facts -------------------------------------------------------------------
    def _started(self) -> AnswerStore:
        if self._store is None:
            raise ValidationError("job", self.name, "a started job: call start() first")
        return self._store

    @property
    def task(self) -> TaskType:
        self._started()
        assert self._task is not None
        return self._task

    @property
    def folder(self) -> Path:
        return self.workspace.folder(KIND, str(self.name))

    @property
    def record(self) -> dict[str, Any]:
        return self.workspace.catalog.get(KIND, str(self.name))

    @property
    def status(self) -> str:
        return self.record["status"]

    @property
    def items(self) -> list[Item]:
        """Every usable item of the input, in input order."""
        if self._items is None:
            self._started()
            path = self.folder / "items.jsonl"
            rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
            self._items = [Item(r["item"], r["line"], r["record"], r.get("index")) for r in rows]
        return self._items

    def item(self, item: int) -> Item:
        items = self.items
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item < len(items):
            raise ValidationError("item", item, f"an item id from 0 to {len(items) - 1}")
        return items[item]

    def add_annotators(self, annotators: list[str]) -> None:
        """Add people to the workforce (they can label at once)."""
        for person in annotators:
            if not isinstance(person, str) or not _WORKER_RE.match(person):
                raise ValidationError(
                    "annotators", person, "names of 1-64 letters, digits, . _ @ + -"
                )
        self._started().add_workers(annotators)
        self.annotators = self._started().workers()

    def image_size(self, item: int) -> tuple[int, int, int]:
        """``(width, height, depth)`` of an image item, read from its header once."""
        if item not in self._sizes:
            path = self.item(item).image_path
            if path is None:
                raise ValidationError("item", item, "an image item")
            self._sizes[item] = image_size(path)
        return self._sizes[item]

    # -- labelling ---------------------------------------------------------------------
    def next_task(self, annotator: str) -> Task | None:
        """The next item for ``annotator`` (claimed for ``task_time_limit`` seconds), or None.

        None means nothing is left for this person now: everything is answered, held by
        others, or waiting for the next automated-labelling round.
        """
        store = self._started()
        if self.status != "InProgress":
            return None
        while True:
            item = store.next_item(annotator, float(self.task_time_limit))
            if item is None:
                return None
            task = self._make_task(item, annotator)
            if task is not None:
                return task

    def _make_task(self, item: int, annotator: str, previous: Any = None) -> Task | None:
        data = self.item(item)
        task = self.task
        media = self._media(task)
        if media == "image":
            path = data.image_path
            try:
                assert path is not None
                self._sizes[item] = image_size(path)
            except (OSError, ValueError, AssertionError) as exc:
                self.fail_item(item, f"unreadable image {path}: {exc}")
                return None
        return Task(
            job=str(self.name),
            item=item,
            annotator=annotator,
            task_type=task.name,
            media=media,
            labels=list(self.labels or []),
            instructions=self.instructions,
            text=data.text,
            image_path=data.image_path,
            record=data.record,
            previous=previous,
            context=self._context(data),
        )

    def _context(self, data: Item) -> dict[str, Any]:
        """For verification: the label to check and the model's suggestion."""
        verify = self._verify or {}
        if not verify:
            return {}
        attr = verify.get("attribute", "label")
        return {
            "attribute": attr,
            "label": data.record.get(attr),
            "suggested": data.record.get("suggested-label"),
        }

    def check_answer(self, item: int, answer: Any) -> Any:
        """``answer`` normalised for ``item``, or ValidationError naming the item."""
        size = None
        if self.task.answer == "boxes":
            size = self.image_size(item)
        return check_answer(
            self.task, list(self.labels or []), answer, field=f"item {item} answer",
            image_size=size,
        )  # fmt: skip

    def submit(
        self, annotator: str, item: int, answer: Any, *, seconds: float | None = None
    ) -> None:
        """Save ``annotator``'s answer for ``item`` at once (one SQLite transaction).

        Raises ValidationError for a label outside the label set, a box outside the image
        or an unknown annotator, and AnswerRejected when the item already has its answers
        or this person answered it before. Nothing saved before is touched.
        """
        store = self._started()
        self.item(item)
        value = self.check_answer(item, answer)
        status = self.status
        if status != "InProgress":
            raise AnswerRejected(f"Labelling job {self.name!r} is {status}; it takes no answers")
        _, active = store.submit(annotator, item, value, seconds)
        if not active:
            self._maybe_complete()

    def skip(self, annotator: str, item: int) -> None:
        """Pass on ``item``: it goes to someone else and is not shown to ``annotator`` again."""
        self._started().skip(annotator, self.item(item).item)

    def release(self, annotator: str, item: int) -> None:
        """Give a claimed item back without answering (e.g. the panel is closed)."""
        self._started().release(annotator, item)

    def undo(self, annotator: str) -> Task | None:
        """Withdraw ``annotator``'s latest answer; returns that item as the next task."""
        status = self.status
        if status not in ("InProgress", "Completed"):
            raise AnswerRejected(f"Labelling job {self.name!r} is {status}; answers are final")
        got = self._started().undo(annotator, float(self.task_time_limit))
        if got is None:
            return None
        item, answer = got
        if self.status == "Completed":
            self.workspace.catalog.update(
                KIND, str(self.name), status="InProgress", expected_status=["Completed"],
                message=f"answer on item {item} withdrawn by {annotator}",
            )  # fmt: skip
        task = self._make_task(item, annotator, previous=answer)
        if task is None:
            raise AnswerRejected(
                f"The answer on item {item} was withdrawn, but the item can no longer be read "
                "and is now failed (see failures())"
            )
        return task

    def fail_item(self, item: int, reason: str) -> None:
        """Take an item out of the job (e.g. its image cannot be read), with the reason."""
        self.fail_items([item], reason)

    def fail_items(self, items: list[int], reason: str) -> None:
        """Take items out of the job with one reason; they are listed in :meth:`failures`."""
        store = self._started()
        failed = [int(i) for i in items if store.fail(int(i), reason)]
        if failed:
            field = "source-ref" if self._media(self.task) == "image" else "source"
            with open(self.folder / "failures.jsonl", "a", encoding="utf-8") as handle:
                for item in failed:
                    row = ItemFailure(self.item(item).line, reason, item=item, field=field)
                    handle.write(json.dumps(row.as_dict()) + "\n")
        self._record_counts()
        self._maybe_complete()

    def submit_answers(self, answers: pd.DataFrame) -> pd.DataFrame:
        """Save many answers (columns ``item``, ``annotator``, ``answer``; ``seconds`` optional).

        Every row is checked and saved on its own: a bad row is reported, the others are
        kept. Returns the rejected rows with the reason (empty when all were saved).
        """
        import pandas as pd

        missing = {"item", "annotator", "answer"} - set(answers.columns)
        if missing:
            raise ValidationError("answers", sorted(missing), "columns item, annotator, answer")
        rejected = []
        for row in answers.itertuples(index=False):
            try:
                self.submit(
                    row.annotator, int(row.item), row.answer, seconds=getattr(row, "seconds", None)
                )
            except (ValidationError, AnswerRejected, ValueError, TypeError) as exc:
                rejected.append({"item": row.item, "annotator": row.annotator, "reason": str(exc)})
        return pd.DataFrame(rejected, columns=["item", "annotator", "reason"])

    def stop(self) -> None:
        """Stop handing out items; answers already given are kept and consolidated."""
        store = self._started()
        self.workspace.catalog.update(
            KIND, str(self.name), status="Stopped", expected_status=["InProgress"],
            ended_at=utcnow(), message="stopped by the user",
        )  # fmt: skip
        store.release_all()
        self.output()

    def _maybe_complete(self) -> None:
        """Mark the job Completed when no item is held or open any more, and write output."""
        counts = self._started().state_counts()
        if counts.get("open", 0) or counts.get("held", 0):
            return
        done = self.workspace.catalog.update(
            KIND, str(self.name), status="Completed", expected_status=["InProgress"],
            ended_at=utcnow(), message="every item is labelled",
        )  # fmt: skip
        if done is not None:
            self.output()

    def _record_counts(self) -> dict[str, int]:
        counts = self.label_counters()
        self.workspace.catalog.update(KIND, str(self.name), metrics=counts)
        return counts

    # -- progress ----------------------------------------------------------------------
    def label_counters(self) -> dict[str, int]:
        """SageMaker's ``LabelCounters``: labelled by people, by the model, failed, unlabelled."""
        states = self._started().state_counts()
        human, auto = states.get("complete", 0), states.get("auto", 0)
        return {
            "TotalLabeled": human + auto,
            "HumanLabeled": human,
            "MachineLabeled": auto,
            "FailedNonRetryableError": states.get("failed", 0) + self._line_failures(),
            "Unlabeled": states.get("open", 0) + states.get("held", 0),
        }

    def _line_failures(self) -> int:
        path = self.folder / "failures.jsonl"
        if not path.exists():
            return 0
        rows = [json.loads(x) for x in path.read_text("utf-8").splitlines() if x]
        return sum(1 for r in rows if r.get("item") is None)

    def progress(self, annotator: str | None = None) -> dict[str, Any]:
        """Counts for a progress bar: items by state, answers, and one annotator's share."""
        store = self._started()
        states = store.state_counts()
        total = sum(states.values())
        answers = store.answer_counts()
        out: dict[str, Any] = {
            "items": total,
            "labeled": states.get("complete", 0) + states.get("auto", 0),
            "human_labeled": states.get("complete", 0),
            "machine_labeled": states.get("auto", 0),
            "open": states.get("open", 0),
            "held": states.get("held", 0),
            "failed": states.get("failed", 0),
            "answers": sum(answers.values()),
            "answers_by_annotator": answers,
        }
        if annotator is not None:
            out["mine"] = answers.get(annotator, 0)
            out["remaining_for_me"] = store.remaining_for(annotator)
        return out

    def failures(self) -> pd.DataFrame:
        """Lines and items that could not be labelled, with line number and reason."""
        import pandas as pd

        path = self.folder / "failures.jsonl"
        rows = [json.loads(x) for x in path.read_text("utf-8").splitlines() if x]
        return pd.DataFrame(rows, columns=["line", "item", "field", "reason"])

    def answers(self) -> pd.DataFrame:
        """Every answer given: item, annotator, answer, time, seconds spent."""
        import pandas as pd

        rows = self._started().answers()
        frame = pd.DataFrame(rows, columns=["item", "worker", "answer", "time", "seconds"])
        return frame.rename(columns={"worker": "annotator"})

    # -- consolidation and output ------------------------------------------------------
    def consolidate(self, method: str | None = None) -> pd.DataFrame:
        """One consolidated answer per item people answered, with its confidence.

        ``method`` is ``"dawid_skene"`` (default: EM with per-annotator quality, Ground
        Truth's method) or ``"majority_vote"``. Columns depend on the task type:
        ``label``/``confidence`` (single label), ``labels``/``confidence_map``
        (multi-label), ``boxes`` or ``spans``; always ``n_answers``.
        """
        from ._consolidation import (
            consolidate_boxes,
            consolidate_classification,
            consolidate_multilabel,
            consolidate_spans,
        )

        method = method or self.consolidation
        answers = self.answers().rename(columns={"annotator": "worker"})
        task = self.task
        if task.answer == "class":
            return consolidate_classification(
                answers, list(self.labels or []), method=method
            ).labels
        if task.answer == "classes":
            return consolidate_multilabel(answers, list(self.labels or []), method=method)
        if task.answer == "boxes":
            return consolidate_boxes(answers)
        return consolidate_spans(answers, seed=self.seed)

    def annotator_quality(self) -> pd.DataFrame:
        """Estimated accuracy of each annotator (Dawid-Skene), single-label tasks."""
        from ._consolidation import consolidate_classification

        if self.task.answer != "class":
            raise ValidationError("task_type", self.task.name, "a single-label classification")
        answers = self.answers().rename(columns={"annotator": "worker"})
        result = consolidate_classification(
            answers, list(self.labels or []), method=self.consolidation
        )
        return result.workers

    def output(self, method: str | None = None) -> pd.DataFrame:
        """The labelled dataset: the input plus the label, and the augmented manifest.

        Writes Ground Truth's layout under the job folder: ``manifests/output/
        output.manifest`` (each input line plus ``<attr>`` and ``<attr>-metadata``) and
        ``annotations/worker-response`` / ``consolidated-annotation``. Returns a DataFrame
        (the input's columns and index for a DataFrame source) with the label column
        ``<attr>``, ``<attr>_confidence``, ``<attr>_human_annotated`` and ``<attr>_state``.
        """

        store = self._started()
        attr = self.label_attribute_name
        task = self.task
        labels = list(self.labels or [])
        states = {r["item"]: r for r in store.items()}
        consolidated = self.consolidate(method)
        created = utcnow()
        lines, rows = [], []
        for data in self.items:
            state = states.get(data.item, {}).get("state", "failed")
            record = dict(data.record)
            value, label, confidence, human = None, None, None, None
            if state == "auto":
                row = states[data.item]
                label, confidence, human = row["label"], row["confidence"], False
                value, meta = output_fields(
                    task, labels, {"label": label, "confidence": confidence},
                    job_name=str(self.name), human=False, created=created,
                )  # fmt: skip
            elif data.item in consolidated.index and state in ("complete", "open", "held"):
                found = consolidated.loc[[data.item]].to_dict("records")[0]  # keeps int labels
                if state != "complete" and self.status == "InProgress":
                    found = None  # still being answered
                if found is not None:
                    size = self._sizes.get(data.item) if task.answer == "boxes" else None
                    if task.answer == "boxes" and size is None:
                        size = self.image_size(data.item)
                    value, meta = output_fields(
                        task, labels, found, job_name=str(self.name), human=True,
                        created=created, image_size=size,
                    )  # fmt: skip
                    human = True
                    label = _label_value(task, found)
                    confidence = _confidence_value(task, found)
            if value is not None:
                record[attr] = value
                record[f"{attr}-metadata"] = meta
            else:
                reason = states.get(data.item, {}).get("reason") or f"not labelled ({state})"
                record[f"{attr}-metadata"] = {
                    "failure-reason": reason,
                    "job-name": f"labeling-job/{self.name}",
                    "type": task.output_type,
                }
            lines.append(json.dumps(record))
            rows.append((data, label, confidence, human, state))
        out = self.folder / "manifests" / "output"
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "output.manifest", "\n".join(lines) + "\n")
        self._write_annotations(consolidated)
        self.workspace.catalog.update(
            KIND, str(self.name),
            artifacts={"output_manifest": {"path": str(out / "output.manifest")}},
        )  # fmt: skip
        self._record_counts()
        return self._output_frame(rows)

    def _write_annotations(self, consolidated: pd.DataFrame) -> None:
        base = self.folder / "annotations"
        (base / "worker-response").mkdir(parents=True, exist_ok=True)
        (base / "consolidated-annotation").mkdir(parents=True, exist_ok=True)
        answers = self._started().answers()
        atomic_write_text(
            base / "worker-response" / "worker-response.jsonl",
            "".join(json.dumps(a) + "\n" for a in answers),
        )
        frame = consolidated.reset_index()
        atomic_write_text(
            base / "consolidated-annotation" / "consolidation-response.jsonl",
            frame.to_json(orient="records", lines=True, default_handler=str) if len(frame) else "",
        )

    def _output_frame(self, rows: list[tuple]) -> pd.DataFrame:
        import pandas as pd

        attr = self.label_attribute_name
        source = self.source if type(self.source).__name__ == "DataFrame" else None
        if source is not None:
            by_index = {data.index: data for data, *_ in rows}
            frame = source.loc[[i for i in source.index if i in by_index]].copy()
        else:
            frame = pd.DataFrame([data.record for data, *_ in rows])
            frame.index = pd.Index([data.item for data, *_ in rows], name="item")
        frame[attr] = [label for _, label, *_ in rows]
        frame[f"{attr}_confidence"] = [conf for _, _, conf, *_ in rows]
        frame[f"{attr}_human_annotated"] = [human for *_, human, _ in rows]
        frame[f"{attr}_state"] = [state for *_, state in rows]
        return frame

    def labeled(self, method: str | None = None) -> pd.DataFrame:
        """The rows of :meth:`output` that have a label."""
        frame = self.output(method)
        return frame[frame[self.label_attribute_name].notna()]

    def training_input(self, *, features: bool = False, method: str | None = None) -> Any:
        """The labelled data as a training channel, linked to this job in the lineage.

        Tabular tasks give the labelled rows with the label as ``target``. With
        ``features=True`` image and text items become numeric columns (pixels, TF-IDF):
        what the built-in algorithms read. Otherwise the texts or image paths stay as
        they are (for script mode). The label is the class index (0..K-1).
        """
        from ..training import TrainingInput

        if self.task.answer != "class":
            raise ValidationError("task_type", self.task.name, "a single-label task")
        frame = self.labeled(method)
        attr = self.label_attribute_name
        codes = frame[attr].map({label: i for i, label in enumerate(self.labels or [])})
        if features or self._media(self.task) == "record":
            from ._features import featurize

            items = [self.item(int(i)) for i in self._item_ids(frame)]
            data = featurize(self, items).frame()
        else:
            data = frame.drop(
                columns=[c for c in frame.columns if c.startswith(f"{attr}_") or c == attr]
            ).reset_index(drop=True)
        data[attr] = codes.to_numpy().astype("int64")
        return TrainingInput(data, target=attr, origin=(KIND, str(self.name)))

    def _item_ids(self, frame: pd.DataFrame) -> list[int]:
        if type(self.source).__name__ == "DataFrame":
            by_index = {data.index: data.item for data in self.items}
            return [by_index[i] for i in frame.index]
        return [int(i) for i in frame.index]

    # -- description -------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """SageMaker's DescribeLabelingJob response for this job."""
        record = self.record
        p = record["parameters"]
        out: dict[str, Any] = {
            "LabelingJobName": record["name"],
            "LabelingJobArn": f"arn:workbench:labeling-job/{record['name']}",
            "LabelingJobStatus": record["status"],
            "LabelCounters": self.label_counters(),
            "CreationTime": record["created_at"],
            "LastModifiedTime": record["updated_at"],
            "LabelAttributeName": p["label_attribute_name"],
            "InputConfig": {"DataSource": {"ManifestFile": p.get("source")}},
            "OutputConfig": {"OutputPath": str(self.folder)},
            "HumanTaskConfig": {
                "TaskType": p["task_type"],
                "TaskDescription": p.get("instructions", ""),
                "NumberOfHumanWorkersPerDataObject": p["annotators_per_item"],
                "TaskTimeLimitInSeconds": p.get("task_time_limit"),
                "Workforce": self._started().workers(),
                "AnnotationConsolidationConfig": {"Method": p.get("consolidation")},
            },
            "LabelCategories": p["labels"],
        }
        manifest = record["artifacts"].get("output_manifest")
        if manifest:
            out["LabelingJobOutput"] = {"OutputDatasetS3Uri": manifest["path"]}
        if p.get("auto_labeling"):
            out["LabelingJobAlgorithmsConfig"] = p["auto_labeling"]
            out["AutoLabelingRounds"] = record["extra"].get("rounds", [])
        if record.get("failure_reason"):
            out["FailureReason"] = record["failure_reason"]
        return out

    def delete(self) -> None:
        """Remove the job, its answers and its folder from the workspace."""
        import shutil

        self._started().delete()
        self.workspace.catalog.delete(KIND, str(self.name))
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- automated labelling and label quality (see _autolabel.py, _quality.py) --------
    def run_auto_labeling_round(self, *, wait: bool = True) -> dict[str, Any]:
        """Train on the human labels, auto-label what passes the threshold, send the rest.

        Runs when every item of the current human batch is answered. Returns the round's
        report (threshold, items auto-labelled, next batch, training job).
        """
        from ._autolabel import run_round

        return run_round(self)

    def run(self, annotators: list[Any], *, max_rounds: int = 100) -> dict[str, Any]:
        """Drive the job to the end with simulated annotators (tests, labs, benchmarks)."""
        from ._autolabel import run_with

        return run_with(self, annotators, max_rounds=max_rounds)

    def auto_labeling_report(self) -> dict[str, Any]:
        """Who labelled what, and the estimated accuracy of the people's and the model's labels."""
        from ._autolabel import report

        return report(self)

    def find_label_issues(self, **kwargs: Any) -> pd.DataFrame:
        """Likely label errors by confident learning on out-of-fold probabilities."""
        from ._quality import find_label_issues

        return find_label_issues(self, **kwargs)

    def create_verification_job(self, issues: pd.DataFrame | None = None, **kwargs: Any) -> Any:
        """A label-verification job over the likely errors (or the items given)."""
        from ._quality import create_verification_job

        return create_verification_job(self, issues, **kwargs)


def _label_value(task: TaskType, found: dict[str, Any]) -> Any:
    if task.answer == "class":
        return found["label"]
    if task.answer == "classes":
        return list(found["labels"])
    return list(found["boxes"] if task.answer == "boxes" else found["spans"])


def _confidence_value(task: TaskType, found: dict[str, Any]) -> float | None:
    if task.answer == "class":
        return float(found["confidence"])
    if task.answer == "classes":
        values = list((found.get("confidence_map") or {}).values())
        return float(min(values)) if values else 0.0
    objects = found["boxes"] if task.answer == "boxes" else found["spans"]
    return float(min((o["confidence"] for o in objects), default=0.0))


def list_labeling_jobs(workspace: Workspace | str | None = None) -> pd.DataFrame:
    """Labelling jobs in the workspace, newest first, with their label counters."""
    import pandas as pd

    ws = get_workspace(workspace)
    rows = []
    for rec in ws.catalog.list(KIND):
        p, m = rec["parameters"], rec["metrics"]
        rows.append(
            {
                "name": rec["name"],
                "status": rec["status"],
                "task_type": p.get("task_type"),
                "labels": len(p.get("labels", [])),
                "annotators_per_item": p.get("annotators_per_item"),
                "total_labeled": m.get("TotalLabeled"),
                "human_labeled": m.get("HumanLabeled"),
                "machine_labeled": m.get("MachineLabeled"),
                "unlabeled": m.get("Unlabeled"),
                "created": rec["created_at"],
            }
        )
    columns = [
        "name", "status", "task_type", "labels", "annotators_per_item", "total_labeled",
        "human_labeled", "machine_labeled", "unlabeled", "created",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def get_job(job: LabelingJob | str, workspace: Workspace | str | None = None) -> LabelingJob:
    """A LabelingJob from itself or its name."""
    if isinstance(job, LabelingJob):
        return job
    if isinstance(job, str):
        return LabelingJob.attach(job, workspace)
    raise ResourceNotFound(f"Not a labelling job: {job!r}")
