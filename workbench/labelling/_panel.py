"""``LabelingPanel``: one annotator's ipywidgets front end over a ``LabelingJob``.

The panel is thin: every button makes one API call (``next_task``, ``submit``, ``skip``,
``undo``, ``release``) and renders the result, then reads ``progress`` for the bar. Routing,
claims and answer checks live in the job; an API error shows as a red status line and never
escapes a callback. ``state`` (:class:`LabelingPanelState`) mirrors what is shown as plain
Python, so tests assert on it instead of on widgets.

Keyboard shortcuts (ipyevents listens while the mouse pointer is over the panel):

- ``1`` ... ``9``: the n-th label. Single label: submit it. Multi-label: toggle it.
  Bounding boxes and entities: make it the label of the next box or span.
- ``Enter``: submit (multi-label, bounding boxes, entities).
- ``ArrowRight`` or ``s``: skip the item (it is not shown to you again).
- ``ArrowLeft``, ``Backspace`` or ``u``: undo your last answer (its item comes back with the
  answer pre-selected).

Bounding boxes: press the mouse button on one corner of the object and release it on the
opposite corner (drags are clamped to the image; clicks without a drag are ignored).
Entities: click the first and the last word of a span, pick the label, then "Add span".
"""

from __future__ import annotations

import html
import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from ipyevents import Event

from .._ui import error_html, run_action
from ..exceptions import ValidationError
from ._job import LabelingJob, Task, get_job
from ._manifest import load_image

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from ..core import Workspace

__all__ = ["LabelingPanel", "LabelingPanelState"]

_TARGET_PX = 192  # small images are scaled up (nearest neighbour) to about this size
_MIN_DRAG_PX = 2  # shorter drags (in displayed pixels) are clicks, not boxes
_WRAP = {"flex_flow": "row wrap"}
_COLORS = ("#e53935", "#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#00acc1", "#6d4c41")
_TASK_WITH = {"classes": "a multi-label task", "boxes": "an object-detection task",
              "spans": "a named-entity-recognition task"}  # fmt: skip
_SKIP_KEYS = ("ArrowRight", "s", "S")
_UNDO_KEYS = ("ArrowLeft", "Backspace", "u", "U")


@dataclass
class LabelingPanelState:
    """What the panel shows, as plain Python (tests assert on this, not on widgets).

    ``pending`` is the answer being built: toggled labels, boxes or spans (for a single-label
    task, the label pre-selected after an undo). ``shown`` lists the items shown, in order.
    """

    item: int | None = None
    media: str | None = None
    answered_by_me: int = 0
    labeled: int = 0
    total: int = 0
    left_for_me: int = 0
    message: str = ""
    error: str | None = None
    pending: Any = None
    shown: list[int] = field(default_factory=list)


def _caption(index: int, label: Any) -> str:
    return f"{index + 1} · {label}" if index < 9 else str(label)


def _check_label(labels: list[Any], label: Any) -> Any:
    for known in labels:
        if known == label or str(known) == str(label):
            return known
    raise ValidationError("label", label, "a label of the job: " + ", ".join(map(str, labels)))


def _button(text: str, on_click: Callable[[], Any], icon: str = "", **layout: str) -> Any:
    button = widgets.Button(description=text, icon=icon, layout=widgets.Layout(**layout))
    button.on_click(lambda _b: on_click())
    return button


def _close_tree(widget: widgets.Widget) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


def _replace(box: widgets.Box, children: list[widgets.Widget]) -> None:
    """Swap ``box``'s children and close the old ones (each render makes new rows)."""
    old, box.children = box.children, tuple(children)
    for child in old:
        if child not in children:
            _close_tree(child)


# -- answer controls: one class per answer form ----------------------------------------------
class _Control:
    """An answer form: ``box`` holds its widgets; ``load`` shows a task's previous answer."""

    box: widgets.Box
    label: widgets.ToggleButtons  # boxes and spans: the label of the next one

    def __init__(self, panel: LabelingPanel, chooser: str = "") -> None:
        self.panel, self.labels = panel, panel.labels
        if chooser:
            options = [(_caption(i, label), label) for i, label in enumerate(self.labels)]
            self.label = widgets.ToggleButtons(options=options, description=chooser)

    def act(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """``fn`` as a click handler: run through the panel, errors to the status line."""
        return lambda: self.panel._act(fn)

    def removable(self, text: str, on_remove: Callable[[], Any]) -> widgets.HBox:
        remove = _button("", self.act(on_remove), icon="times", width="32px")
        return widgets.HBox([remove, widgets.HTML(text)])

    def pick(self, label: Any) -> None:
        self.label.value = label

    def pending(self) -> Any:
        return self.answer()

    def answer(self) -> Any:
        raise NotImplementedError


class _ClassButtons(_Control):
    """Single label: one button per label; a click submits at once."""

    def __init__(self, panel: LabelingPanel) -> None:
        super().__init__(panel)
        self.buttons = [
            _button(_caption(i, label), lambda label=label: panel.choose(label))
            for i, label in enumerate(self.labels)
        ]
        self.box = widgets.HBox(self.buttons, layout=_WRAP)
        self.selected: Any = None

    def load(self, task: Task) -> None:
        self.selected = task.previous
        for button, label in zip(self.buttons, self.labels):
            button.button_style = "info" if label == task.previous else ""

    def answer(self) -> Any:
        raise ValidationError("answer", None, "a label: click one (or press 1-9)")

    def pending(self) -> Any:
        return self.selected


class _MultiLabel(_Control):
    """Multi-label: a toggle button per label, sent with Submit."""

    def __init__(self, panel: LabelingPanel) -> None:
        super().__init__(panel)
        self.toggles = {x: widgets.ToggleButton(description=_caption(i, x))
                        for i, x in enumerate(self.labels)}  # fmt: skip
        for toggle in self.toggles.values():
            toggle.observe(lambda _change: panel._sync(), names="value")
        self.box = widgets.HBox(list(self.toggles.values()), layout=_WRAP)

    def load(self, task: Task) -> None:
        for label, toggle in self.toggles.items():
            toggle.value = label in (task.previous or [])

    def pick(self, label: Any) -> None:
        self.toggles[label].value = not self.toggles[label].value

    def answer(self) -> list[Any]:
        return [label for label, toggle in self.toggles.items() if toggle.value]


class _BoxDrawer(_Control):
    """Bounding boxes drawn on the image: mousedown on one corner, mouseup on the other."""

    def __init__(self, panel: LabelingPanel) -> None:
        super().__init__(panel, "box label")
        self.events = Event(source=panel.image, watched_events=["mousedown", "mouseup"],
                            prevent_default_action=True)  # fmt: skip
        self.events.on_dom_event(panel.handle_mouse)
        self.rows = widgets.VBox()
        remove_last = self.act(lambda: self.remove(len(self.boxes) - 1))
        self.remove_last = _button("Remove last box", remove_last, icon="undo")
        self.box = widgets.VBox([self.label, self.rows, self.remove_last])
        self.boxes: list[dict[str, Any]] = []
        self.picture: PILImage | None = None  # the displayed (scaled) image
        self.size = (1, 1)  # the image's own width and height
        self.start: tuple[float, float] | None = None

    def load(self, task: Task) -> None:
        self.picture, self.size = self.panel.picture, self.panel.picture_size
        self.boxes, self.start = [dict(b) for b in task.previous or []], None
        self.render()

    def _point(self, event: dict[str, Any]) -> tuple[float, float]:
        """The event's position in displayed-image pixels, clamped inside the image."""
        assert self.picture is not None
        width, height = self.picture.size
        if event.get("dataX") is not None:  # ipyevents: pixels of the PNG itself
            x, y = float(event["dataX"]), float(event["dataY"])
        else:  # pixels of the element on screen (CSS may have resized the image)
            x = float(event["relativeX"]) * width / float(event.get("boundingRectWidth") or width)
            y = (
                float(event["relativeY"])
                * height
                / float(event.get("boundingRectHeight") or height)
            )
        return min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))

    def mouse(self, event: dict[str, Any]) -> str | None:
        """Start (mousedown) or finish (mouseup) a box; returns a note for the status line."""
        kind = event.get("type") or event.get("event")
        if kind == "mousedown":
            self.start = self._point(event)
        if kind != "mouseup" or self.start is None:
            return None
        (x0, y0), (x1, y1) = self.start, self._point(event)
        self.start = None
        if abs(x1 - x0) < _MIN_DRAG_PX or abs(y1 - y0) < _MIN_DRAG_PX:
            return "Drag from one corner of the object to the other to draw a box."
        sx, sy = self._scale()
        left, right = round(min(x0, x1) / sx), round(max(x0, x1) / sx)
        top, bottom = round(min(y0, y1) / sy), round(max(y0, y1) / sy)
        if right - left < 1 or bottom - top < 1:
            return "That box is under one image pixel; drag a larger one."
        self.add(self.label.value, left, top, right - left, bottom - top)
        return None

    def _scale(self) -> tuple[float, float]:
        assert self.picture is not None
        return self.picture.width / self.size[0], self.picture.height / self.size[1]

    def add(self, label: Any, left: float, top: float, width: float, height: float) -> None:
        self.boxes.append({"label": label, "left": left, "top": top, "width": width,
                           "height": height})  # fmt: skip
        self.render()

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.boxes):
            del self.boxes[index]
            self.render()

    def render(self) -> None:
        from PIL import ImageDraw

        if self.picture is None:
            return
        canvas = self.picture.copy()
        draw, (sx, sy), rows = ImageDraw.Draw(canvas), self._scale(), []
        for k, b in enumerate(self.boxes):
            color = _COLORS[self.labels.index(b["label"]) % len(_COLORS)]
            xs = sorted((b["left"] * sx, (b["left"] + b["width"]) * sx - 1))
            ys = sorted((b["top"] * sy, (b["top"] + b["height"]) * sy - 1))
            draw.rectangle((xs[0], ys[0], xs[1], ys[1]), outline=color, width=2)
            text = (
                f'<span style="color:{color}">■</span> {k + 1}. {html.escape(str(b["label"]))}:'
                f" left {b['left']:g}, top {b['top']:g}, {b['width']:g} × {b['height']:g} px"
            )
            rows.append(self.removable(text, lambda k=k: self.remove(k)))
        _replace(self.rows, rows)
        self.remove_last.disabled = not self.boxes
        self.panel.image.value = _png(canvas)
        self.panel._sync()

    def answer(self) -> list[dict[str, Any]]:
        return [dict(b) for b in self.boxes]


class _SpanSelector(_Control):
    """Entities: click the first and last token of a span, pick the label, "Add span"."""

    def __init__(self, panel: LabelingPanel) -> None:
        super().__init__(panel, "entity")
        self.tokens_box = widgets.HBox(layout=_WRAP)
        self.add_button = _button("Add span", self.act(self.add), icon="plus")
        self.selection, self.rows = widgets.HTML(), widgets.VBox()
        adding = widgets.HBox([self.add_button, self.selection])
        self.box = widgets.VBox([self.tokens_box, self.label, adding, self.rows])
        self.text, self.tokens, self.buttons = "", [], []
        self.spans: list[dict[str, Any]] = []
        self.first: int | None = None
        self.last: int | None = None

    def load(self, task: Task) -> None:
        self.text = task.text or ""
        self.tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", self.text)]
        self.buttons = [
            _button(self.text[start:end], self.act(lambda i=i: self.click(i)), width="auto")
            for i, (start, end) in enumerate(self.tokens)
        ]
        _replace(self.tokens_box, self.buttons)
        self.spans = sorted((dict(s) for s in task.previous or []), key=_span_key)
        self.first = self.last = None
        self.render()

    def click(self, index: int) -> None:
        """First click: the span's first token; second click: its last token."""
        if self.first is None or self.last is not None:
            self.first, self.last = index, None
        else:
            self.first, self.last = sorted((self.first, index))
        self.render()

    def select(self, first: int, last: int, label: Any) -> dict[str, Any]:
        n = len(self.tokens)
        if not all(type(i) is int and 0 <= i < n for i in (first, last)):
            raise ValidationError("tokens", (first, last), f"token indices from 0 to {n - 1}")
        self.first, self.last, self.label.value = min(first, last), max(first, last), label
        return self.add()

    def add(self) -> dict[str, Any]:
        if self.first is None:
            raise ValidationError("span", None, "a selection: click its first and last word")
        last = self.first if self.last is None else self.last
        start, end = self.tokens[self.first][0], self.tokens[last][1]
        span = {"start": start, "end": end, "label": self.label.value}
        if span not in self.spans:
            self.spans = sorted([*self.spans, span], key=_span_key)
        self.first = self.last = None
        self.render()
        return span

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.spans):
            del self.spans[index]
            self.render()

    def render(self) -> None:
        covered = {i for s in self.spans for i, t in enumerate(self.tokens)
                   if s["start"] <= t[0] and t[1] <= s["end"]}  # fmt: skip
        low, high = self.first, self.first if self.last is None else self.last
        for i, button in enumerate(self.buttons):
            chosen = low is not None and high is not None and low <= i <= high
            button.button_style = "warning" if chosen else ("success" if i in covered else "")
        if low is None or high is None:
            self.selection.value = "<small>click the first and the last word of a span</small>"
        else:
            words = html.escape(self.text[self.tokens[low][0] : self.tokens[high][1]])
            self.selection.value = f"selected: “{words}”"
        rows = []
        for k, s in enumerate(self.spans):
            words = html.escape(self.text[s["start"] : s["end"]])
            text = f"{html.escape(str(s['label']))}: “{words}” ({s['start']}-{s['end']})"
            rows.append(self.removable(text, lambda k=k: self.remove(k)))
        _replace(self.rows, rows)
        self.panel._render_text()
        self.panel._sync()

    def answer(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self.spans]


def _span_key(span: dict[str, Any]) -> tuple[int, int]:
    return span["start"], span["end"]


_CONTROLS = {"class": _ClassButtons, "classes": _MultiLabel, "boxes": _BoxDrawer,
             "spans": _SpanSelector}  # fmt: skip


# -- the panel -------------------------------------------------------------------------------
class LabelingPanel:
    """Label a job's items as ``annotator``: the item, the answer controls, Skip and Undo.

    ``job`` is a :class:`LabelingJob` or its name. ``image_scale`` sets how much images are
    enlarged (default: small images to about 192 pixels, nearest neighbour). Display with
    ``panel.widget`` (or just ``panel`` as a cell's last line). See the module docstring for
    the keyboard shortcuts; :meth:`close` gives the claimed item back to the job.

    Example
    -------
    >>> panel = LabelingPanel(job, "ana")                               # doctest: +SKIP
    >>> panel                                                           # doctest: +SKIP
    """

    def __init__(
        self,
        job: LabelingJob | str,
        annotator: str,
        *,
        workspace: Workspace | str | None = None,
        image_scale: float | None = None,
    ) -> None:
        scale = image_scale
        if scale is not None and (
            isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= 64
        ):
            raise ValidationError("image_scale", scale, "a number in (0, 64], or None for auto")
        self.job, self.annotator, self.image_scale = get_job(job, workspace), annotator, scale
        self.kind = self.job.task.answer  # "class" | "classes" | "boxes" | "spans"
        self.labels = list(self.job.labels or [])
        self.state = LabelingPanelState()
        self.task: Task | None = None
        self.picture: PILImage | None = None  # the image as displayed (scaled)
        self.picture_size = (0, 0)  # the image's own width and height
        self._shown_at, self._closed = 0.0, False

        self.item_html, self.context_html = widgets.HTML(), widgets.HTML()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.item_box = widgets.VBox()
        self.control: Any = _CONTROLS[self.kind](self)
        self.submit_button = _button("Submit", self.submit, icon="check")
        self.submit_button.button_style = "primary"
        if self.kind == "class":
            self.submit_button.layout.display = "none"  # a click on a label submits
        self.skip_button = _button("Skip", self.skip, icon="forward")
        self.undo_button = _button("Undo", self.undo, icon="undo")
        self.refresh_button = _button("Refresh", self.refresh, icon="refresh")
        self.progress_bar = widgets.IntProgress(value=0, min=0, max=1)
        self.progress_text, self.status = widgets.HTML(), widgets.HTML()
        buttons = [self.submit_button, self.skip_button, self.undo_button, self.refresh_button]
        self.widget = widgets.VBox([
            widgets.HTML(self._header_html()), self._instructions(), self.item_box,
            self.context_html, self.control.box, widgets.HBox(buttons),
            widgets.HBox([self.progress_bar, self.progress_text]), self.status,
        ])  # fmt: skip
        self.keys = Event(source=self.widget, watched_events=["keydown"],
                          prevent_default_action=True)  # fmt: skip
        self.keys.on_dom_event(self.handle_key)
        self._act(self._advance, progress=True)

    def __repr__(self) -> str:
        job, item = self.job.name, self.state.item
        return f"LabelingPanel(job={job!r}, annotator={self.annotator!r}, item={item!r})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- public actions (each runs through run_action: errors go to the status line) ---------
    def choose(self, label: Any) -> LabelingPanelState:
        """Single label: submit ``label``. Multi-label: toggle it. Boxes/spans: make it current."""
        return self._act(lambda: self._choose(label), progress=self.kind == "class")

    def toggle(self, label: Any) -> LabelingPanelState:
        """Multi-label: switch ``label`` on or off in the pending answer."""
        return self._act(lambda: self._control("classes").pick(self._label(label)))

    def submit(self, answer: Any = None) -> LabelingPanelState:
        """Send the pending answer (or ``answer``) with the seconds spent; show the next item."""
        return self._act(lambda: self._submit(answer), progress=True)

    def skip(self) -> LabelingPanelState:
        """Pass on the item (never shown to this annotator again) and show the next."""
        return self._act(self._skip, progress=True)

    def undo(self) -> LabelingPanelState:
        """Withdraw this annotator's latest answer; show its item with that answer selected."""
        return self._act(self._undo, progress=True)

    def refresh(self) -> LabelingPanelState:
        """Re-read the progress; with no item shown, ask the job for one (e.g. a new round)."""
        return self._act(lambda: None if self.task else self._advance(), progress=True)

    def add_box(
        self, label: Any, left: float, top: float, width: float, height: float
    ) -> LabelingPanelState:
        """Bounding boxes: add a box in image pixels as given (the job checks it on submit)."""
        box = (left, top, width, height)
        return self._act(lambda: self._control("boxes").add(self._label(label), *box))

    def select_span(self, first: int, last: int, label: Any) -> LabelingPanelState:
        """Entities: add the span from token ``first`` to token ``last`` (character offsets)."""
        return self._act(lambda: self._control("spans").select(first, last, self._label(label)))

    def handle_key(self, event: dict[str, Any]) -> LabelingPanelState:
        """An ipyevents ``keydown`` event: see the shortcuts in the module docstring."""
        key = str(event.get("key", ""))
        progress = key in ("Enter", *_SKIP_KEYS, *_UNDO_KEYS) or self.kind == "class"
        return self._act(lambda: self._key(event), progress=progress)

    def handle_mouse(self, event: dict[str, Any]) -> LabelingPanelState:
        """An ipyevents ``mousedown``/``mouseup`` event on the image (box drawing)."""
        return self._act(lambda: self._mouse(event))

    def close(self) -> None:
        """Give the claimed item back (``job.release``) and close the widgets."""
        if self._closed:
            return
        task = self.task
        if task is not None:
            release = lambda: self.job.release(self.annotator, task.item)  # noqa: E731
            run_action(release, status=self.status, on_error=self._error)
        self._closed, self.task = True, None
        self.state.item = self.state.media = self.state.pending = None
        self.state.message = "Closed" + (f": item {task.item} given back." if task else ".")
        self.keys.close()
        if isinstance(self.control, _BoxDrawer):
            self.control.events.close()
        for widget in (self.widget, self.image, self.item_html):
            _close_tree(widget)

    # -- action bodies -----------------------------------------------------------------------
    def _act(self, fn: Callable[[], Any], *, progress: bool = False) -> LabelingPanelState:
        self.state.error = None
        if self._closed:
            self._error(None, "This panel is closed; open a new LabelingPanel.")
            return self.state
        run_action(fn, status=self.status, on_error=self._error)
        if progress:
            run_action(self._progress, status=self.status, on_error=self._error)
        self._sync()
        return self.state

    def _current(self) -> Task:
        if self.task is None:
            raise ValidationError("item", None, "an item on screen", hint=self.state.message)
        return self.task

    def _control(self, kind: str) -> Any:
        """The answer control, if the task has answers of ``kind`` and an item is shown."""
        if self.kind != kind:
            raise ValidationError("task_type", self.job.task.name, _TASK_WITH[kind])
        self._current()
        return self.control

    def _label(self, label: Any) -> Any:
        return _check_label(self.labels, label)

    def _choose(self, label: Any) -> None:
        label = self._label(label)
        if self.kind == "class":
            self._submit(label)
        else:
            self._current()
            self.control.pick(label)

    def _submit(self, answer: Any) -> None:
        task = self._current()
        value = self.control.answer() if answer is None else answer
        seconds = max(time.perf_counter() - self._shown_at, 1e-3)
        self.job.submit(self.annotator, task.item, value, seconds=seconds)
        self._advance(f"Saved your answer to item {task.item}.")

    def _skip(self) -> None:
        task = self._current()
        self.job.skip(self.annotator, task.item)
        self._advance(f"Skipped item {task.item}.")

    def _undo(self) -> None:
        task = self.job.undo(self.annotator)
        if task is None:
            self.state.message = "Nothing to undo: you have no answer on an item still open."
        elif problem := self._show(task):
            self.job.fail_item(task.item, problem)
            self._advance(f"Item {task.item} cannot be shown ({problem}); taken out of the job.")
        else:
            self.state.message = f"Your answer to item {task.item} is withdrawn: answer again."

    def _key(self, event: dict[str, Any]) -> None:
        kind = event.get("type") or event.get("event") or "keydown"
        if kind != "keydown" or any(event.get(k) for k in ("ctrlKey", "metaKey", "altKey")):
            return
        key = str(event.get("key", ""))
        if len(key) == 1 and key in "123456789":
            if int(key) <= len(self.labels) and self.task is not None:
                self._choose(self.labels[int(key) - 1])
        elif key == "Enter" and self.kind != "class":
            self._submit(None)
        elif key in _SKIP_KEYS:
            self._skip()
        elif key in _UNDO_KEYS:
            self._undo()

    def _mouse(self, event: dict[str, Any]) -> None:
        if self.kind == "boxes" and self.task is not None:
            self.state.message = self.control.mouse(event) or self.state.message

    # -- showing items -----------------------------------------------------------------------
    def _advance(self, note: str = "") -> None:
        """Show the next task; items whose image cannot be read are failed on the way."""
        notes = [note] if note else []
        while True:
            task = self.job.next_task(self.annotator)
            if task is None:
                self._show(None)
                notes.append(self._idle_text())
                break
            problem = self._show(task)
            if not problem:
                break
            self.job.fail_item(task.item, problem)
            notes.append(f"Item {task.item} cannot be shown ({problem}); taken out of the job.")
        self.state.message = " ".join(notes)

    def _idle_text(self) -> str:
        text = f"Nothing left for {self.annotator} right now."
        status = self.job.status
        if status == "Completed":
            return text + " The job is complete: every item is labelled."
        if status != "InProgress":
            return text + f" The job is {status.lower()}."
        held = self.job.progress().get("held", 0)
        if held:
            return text + f" {held} item(s) are waiting for the next automated-labelling round."
        return text

    def _show(self, task: Task | None) -> str | None:
        """Render ``task`` (None: nothing); returns why its image cannot be shown, if so."""
        if task is not None and task.media == "image":
            try:
                assert task.image_path is not None, "no image path"
                picture = load_image(task.image_path).convert("RGB")
            except (OSError, ValueError, AssertionError) as exc:
                return f"unreadable image {task.image_path}: {exc}"
            self.picture, self.picture_size = self._scaled(picture), picture.size
            self.image.value = _png(self.picture)  # the box drawer redraws it with boxes
        self.task, self._shown_at = task, time.perf_counter()
        self.control.box.layout.display = None if task else "none"
        self.submit_button.disabled = self.skip_button.disabled = task is None
        if task is None:
            self.item_box.children, self.context_html.value = (), ""
            return None
        self.state.shown.append(task.item)
        image = [self.image] if task.media == "image" else []
        self.item_box.children = (self.item_html, *image)
        self._render_text()
        self.control.load(task)
        self.context_html.value = _context_html(task.context)
        return None

    def _render_text(self) -> None:
        task = self.task
        if task is None:
            return
        head = f"<small>item {task.item}</small> "
        if task.media == "image":
            body = f"<small>{html.escape(getattr(task.image_path, 'name', ''))}</small>"
        elif task.media == "record":
            body = _record_html(task.record)
        else:
            body = _text_html(task.text or "", getattr(self.control, "spans", []))
        self.item_html.value = head + body

    def _scaled(self, picture: PILImage) -> PILImage:
        from PIL import Image

        width, height = picture.size
        scale = self.image_scale or max(1, _TARGET_PX // max(width, height, 1))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        return picture if scale == 1 else picture.resize(size, Image.Resampling.NEAREST)

    # -- state and status --------------------------------------------------------------------
    def _sync(self) -> None:
        state, task = self.state, self.task
        state.item = None if task is None else task.item
        state.media = None if task is None else task.media
        state.pending = None if task is None else self.control.pending()
        if state.error:
            self.status.value = error_html(state.error)
        else:
            self.status.value = html.escape(state.message)

    def _progress(self) -> None:
        p, state = self.job.progress(self.annotator), self.state
        state.answered_by_me, state.labeled = int(p["mine"]), int(p["labeled"])
        state.total, state.left_for_me = int(p["items"] - p["failed"]), int(p["remaining_for_me"])
        self.progress_bar.max = max(state.total, 1)
        self.progress_bar.value = min(state.labeled, self.progress_bar.max)
        failed = f" · failed: {p['failed']}" if p["failed"] else ""
        self.progress_text.value = (
            f"answered by you: {state.answered_by_me} · items labelled: {state.labeled} /"
            f" {state.total} · left for you: {state.left_for_me}{failed}"
        )

    def _error(self, _exc: BaseException | None, message: str) -> None:
        self.state.error = message
        self.status.value = error_html(message)

    def _header_html(self) -> str:
        labels = ", ".join(html.escape(_caption(i, x)) for i, x in enumerate(self.labels))
        return (
            f"<b>{html.escape(str(self.job.name))}</b> · {html.escape(self.job.task.name)}"
            f" · annotator <b>{html.escape(self.annotator)}</b><br><small>labels: {labels}</small>"
        )

    def _instructions(self) -> widgets.Widget:
        parts = []
        if self.job.instructions:
            text = html.escape(self.job.instructions)
            parts.append(f'<div style="white-space:pre-wrap">{text}</div>')
        examples = list(self.job.examples or [])
        if examples:
            rows = "".join(f"<li>{_example_html(e)}</li>" for e in examples)
            parts.append(f"<b>Examples</b><ul>{rows}</ul>")
        body = widgets.HTML("".join(parts) or "<small>No instructions.</small>")
        accordion = widgets.Accordion(children=[body], titles=("Instructions",))
        accordion.selected_index = None
        return accordion


# -- rendering helpers -------------------------------------------------------------------------
def _png(picture: PILImage) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _text_html(text: str, spans: list[dict[str, Any]]) -> str:
    """``text``, escaped, with the ``spans`` (sorted by start) highlighted."""
    pieces, at = [], 0
    for span in spans:
        start, end = max(span["start"], at), span["end"]
        if end > start:
            marked = html.escape(text[start:end])
            pieces += [html.escape(text[at:start]), f"<mark>{marked}</mark>"]
            at = end
    body = "".join(pieces) + html.escape(text[at:])
    return f'<div style="white-space:pre-wrap;font-size:1.1em;margin:4px 0">{body}</div>'


def _record_html(record: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
        f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
        for k, v in record.items()
    )
    return f"<table>{rows}</table>"


def _context_html(context: dict[str, Any]) -> str:
    if not context:
        return ""
    text = f"Label to check: <b>{html.escape(str(context.get('label')))}</b>"
    if context.get("suggested") is not None:
        text += f" · the model suggests: <b>{html.escape(str(context['suggested']))}</b>"
    return text


def _example_html(example: Any) -> str:
    if not isinstance(example, dict):
        return html.escape(str(example))
    return "; ".join(f"<b>{html.escape(str(k))}</b>: {html.escape(str(v))}"
                     for k, v in example.items())  # fmt: skip
