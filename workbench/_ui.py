"""Shared building blocks of the ipywidgets panels: hyperparameter forms, actions, charts.

Panels stay thin: they read widget values, make one API call and render the result with
these helpers. This module and the ``_panel.py`` modules are the only ones that import
ipywidgets.
"""

from __future__ import annotations

import html
import io
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .exceptions import ValidationError, WorkbenchError

if TYPE_CHECKING:
    import pandas as pd

    from .algorithms import Hyperparameter

__all__ = [
    "HyperparameterForm",
    "describe_error",
    "error_html",
    "hyperparameter_form",
    "metric_chart_png",
    "run_action",
]

_log = logging.getLogger(__name__)
_RED = "#c62828"
_VISIBLE_FIELDS = 8
_LABEL_WIDTH = "190px"


def error_html(message: str) -> str:
    """``message`` as one line of red HTML (escaped)."""
    line = " ".join(str(message).split())
    return f'<span style="color:{_RED}">{html.escape(line)}</span>'


def describe_error(exc: BaseException) -> str:
    """One line for users: a WorkbenchError's message, else the type and the message."""
    if isinstance(exc, WorkbenchError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


class HyperparameterForm:
    """An editable form over a hyperparameter schema, with inline validation.

    Dropdowns for ``choices`` (and for booleans that accept ``"auto"``), checkboxes for
    booleans, text fields for everything else; required fields are marked ``*``.

    Example
    -------
    >>> from workbench.algorithms import get_algorithm
    >>> form = hyperparameter_form(get_algorithm("xgboost").hyperparameters)
    >>> form.widgets["num_round"].value = "10"
    >>> form.values()
    {'num_round': 10}
    """

    def __init__(
        self, schema: Iterable[Hyperparameter], values: Mapping[str, Any] | None = None
    ) -> None:
        self.params: dict[str, Hyperparameter] = {p.name: p for p in schema}
        self.widgets: dict[str, widgets.ValueWidget] = {}
        self.messages: dict[str, widgets.HTML] = {}
        given = dict(values or {})
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            raise ValidationError(
                "values",
                unknown,
                "names of the schema's hyperparameters: " + ", ".join(self.params),
            )
        rows = []
        for name, param in self.params.items():
            widget = _field_widget(param)
            if name in given:
                _set_widget_value(widget, param, given[name])
            self.widgets[name] = widget
            self.messages[name] = widgets.HTML("")
            widget.observe(lambda _change, n=name: self._show_error(n), names="value")
            if name in given:
                self._show_error(name)
            rows.append(widgets.HBox([widget, self.messages[name]]))
        children: list[widgets.Widget] = list(rows[:_VISIBLE_FIELDS])
        if len(rows) > _VISIBLE_FIELDS:
            advanced = widgets.Accordion(
                children=[widgets.VBox(rows[_VISIBLE_FIELDS:])], titles=("Advanced",)
            )
            advanced.selected_index = None
            children.append(advanced)
        self.box = widgets.VBox(children)

    def __repr__(self) -> str:
        return f"HyperparameterForm({list(self.params)})"

    def _parse(self, name: str) -> tuple[bool, Any]:
        """``(given, typed value)`` of one field; raises ValidationError if it is invalid."""
        param, raw = self.params[name], self.widgets[name].value
        if isinstance(raw, str):
            raw = raw.strip()
        if raw is None or raw == "":
            if param.required:
                raise ValidationError(
                    f"hyperparameters[{name!r}]", None, param.allowed, hint="It is required."
                )
            return False, None
        if isinstance(self.widgets[name], widgets.Checkbox) and param.default is None:
            return bool(raw), bool(raw) or None  # unchecked = left out
        return True, param.parse(raw)

    def _check(self, name: str) -> str | None:
        try:
            self._parse(name)
        except ValidationError as exc:
            return str(exc)
        return None

    def _show_error(self, name: str) -> str | None:
        message = self._check(name)
        self.messages[name].value = error_html(message) if message else ""
        return message

    def errors(self) -> dict[str, str]:
        """``{name: message}`` of every invalid field (also shown inline)."""
        found = {name: self._show_error(name) for name in self.params}
        return {name: message for name, message in found.items() if message}

    def values(self) -> dict[str, Any]:
        """Typed values of the fields that are filled in and differ from their default.

        Raises the first field's ValidationError if any field is invalid.
        """
        self.errors()  # refresh every inline message, not just the first failing one
        out = {}
        for name, param in self.params.items():
            given, value = self._parse(name)
            if given and (param.required or value != _typed_default(param)):
                out[name] = value
        return out


def hyperparameter_form(
    schema: Iterable[Hyperparameter], values: Mapping[str, Any] | None = None
) -> HyperparameterForm:
    """A :class:`HyperparameterForm` for ``schema``, prefilled with defaults and ``values``."""
    return HyperparameterForm(schema, values)


def _field_widget(param: Hyperparameter) -> widgets.ValueWidget:
    label = f"{param.name} *" if param.required else param.name
    common: dict[str, Any] = {
        "description": label,
        "tooltip": param.doc or param.allowed,
        "style": {"description_width": _LABEL_WIDTH},
    }
    if param.type == "bool" and param.allow_auto:
        # A checkbox cannot say "auto" (e.g. Linear Learner's normalize_label).
        options = [("auto", "auto"), ("true", True), ("false", False)]
        return widgets.Dropdown(options=options, value=_dropdown_value(param), **common)
    if param.type == "bool":
        return widgets.Checkbox(value=bool(param.default), indent=True, **common)
    if param.choices is not None and param.type != "list":  # lists of choices stay text
        options = [(str(c), c) for c in param.choices]
        if param.default is None or param.default not in param.choices:
            options.insert(0, ("", None))
        return widgets.Dropdown(options=options, value=_dropdown_value(param), **common)
    text = "" if param.default is None else param.to_string(param.default)
    return widgets.Text(value=text, placeholder=param.allowed, **common)


def _dropdown_value(param: Hyperparameter) -> Any:
    if param.type == "bool" and param.allow_auto:
        return "auto" if param.default in (None, "auto") else bool(param.default)
    return param.default if param.choices and param.default in param.choices else None


def _set_widget_value(widget: widgets.ValueWidget, param: Hyperparameter, value: Any) -> None:
    if isinstance(widget, widgets.Text):
        widget.value = "" if value is None else param.to_string(value)
        return
    typed = param.parse(value) if value is not None else None
    if isinstance(widget, widgets.Checkbox):
        widget.value = bool(typed)
    else:
        widget.value = typed


def _typed_default(param: Hyperparameter) -> Any:
    if param.default is None:
        return None
    try:
        return param.parse(param.default)
    except ValidationError:
        return param.default


def run_action(
    fn: Callable[[], Any],
    *,
    button: widgets.Button | None = None,
    status: widgets.HTML | None = None,
    on_error: Callable[[BaseException, str], None] | None = None,
) -> Any:
    """Call ``fn()`` for a widget callback; return its result, or None if it raised.

    The button is disabled meanwhile. Errors are shown in ``status`` as one red line (and
    passed to ``on_error``) instead of going to the front end's log console, where users
    never see them.

    Example
    -------
    >>> status = widgets.HTML()
    >>> run_action(lambda: 1 / 0, status=status) is None
    True
    >>> "ZeroDivisionError" in status.value
    True
    """
    if button is not None:
        button.disabled = True
    try:
        return fn()
    except Exception as exc:
        message = describe_error(exc)
        if not isinstance(exc, WorkbenchError):
            _log.debug("panel action failed", exc_info=True)
        if status is not None:
            status.value = error_html(message)
        if on_error is not None:
            on_error(exc, message)
        return None
    finally:
        if button is not None:
            button.disabled = False


def metric_chart_png(
    metrics: pd.DataFrame | None, *, width: float = 6.4, height: float = 3.2
) -> bytes:
    """PNG of each metric's value over step (one line per metric), or a placeholder.

    ``metrics`` has the columns of ``TrainingJob.metrics()``: metric, step, value.

    Example
    -------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"metric": ["train:rmse"] * 2, "step": [0, 1], "value": [2.0, 1.0]})
    >>> metric_chart_png(frame)[:4]
    b'\\x89PNG'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)  # never pyplot: no global state, no GUI backend
    ax = fig.add_subplot()
    data = None if metrics is None else metrics.dropna(subset=["value"])
    if data is None or data.empty:
        ax.text(0.5, 0.5, "No metrics yet", ha="center", va="center", color="grey")
        ax.set_axis_off()
    else:
        for name, group in data.groupby("metric", sort=True):
            group = group.sort_values("step")
            ax.plot(
                group["step"],
                group["value"],
                label=str(name),
                marker="o" if len(group) == 1 else None,
            )
        ax.set_xlabel("step")
        ax.set_ylabel("value")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def frame_html(frame: Any, *, index: bool = True, max_height: int = 320) -> str:
    """A DataFrame as a scrollable HTML table ("" for an empty frame)."""
    if frame.empty:
        return ""
    table = frame.to_html(index=index, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)
    return f'<div style="max-height:{max_height}px;overflow:auto">{table}</div>'


def figure_png(fig: Any) -> bytes:
    """A matplotlib Figure (not pyplot-managed, so nothing global to close) as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def poll_job(panel: Any, job: Any, give_up: Callable[[], None], max_errors: int = 20) -> None:
    """Refresh ``panel`` every ``panel.poll_interval`` s until ``job`` ends (a thread's body).

    Errors are shown through ``panel._error`` and never kill the thread silently; after
    ``max_errors`` in a row it calls ``give_up`` (re-enable the buttons) and returns.
    """
    from .training._job import TERMINAL

    failures = 0
    while panel.job is job:
        try:
            if panel.refresh().status in TERMINAL:
                return
            if failures:  # recovered: drop the stale polling error
                failures, panel.state.error = 0, None
        except Exception as exc:
            failures += 1
            panel._error(exc, describe_error(exc))
            if failures >= max_errors:
                give_up()
                return
        time.sleep(panel.poll_interval)
