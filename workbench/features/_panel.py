"""``FeaturePanel``: an ipywidgets front end over ``profile``, ``Recipe`` and ``process``.

The panel reads widget values, makes one API call and renders the answer; the rules (op
parameters, column kinds, split settings, the job lifecycle) live in the features API. A
daemon thread polls a running processing job through :meth:`FeaturePanel.refresh`, which
tests call directly.
"""

from __future__ import annotations

import html
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from .._ui import describe_error, error_html, figure_png, frame_html, poll_job, run_action
from ..exceptions import ValidationError
from ..training._job import TERMINAL
from ._processing import ProcessingJob, process
from ._profile import profile
from ._recipe import Recipe
from ._split import METHODS
from ._steps import OPS, REQUIRED

if TYPE_CHECKING:
    from ..core import Workspace

__all__ = ["FeaturePanel", "FeaturePanelState"]

PREVIEW_ROWS = 10
_COLUMN_PARAMS = ("columns", "column")  # filled from the columns list, not a text field
_PARTS = ("train", "validation", "test")
_MAX_POLL_ERRORS = 20
_LABEL_STYLE = {"description_width": "110px"}
_GREY = "#616161"
_PYTHON_WORDS = {"None": None, "True": True, "False": False}
_UNCHECKED: Any = object()


@dataclass
class FeaturePanelState:
    """What the panel shows, as plain Python (tests assert on this, not on widgets)."""

    n_steps: int = 0
    error: str | None = None
    issue: str | None = None  # why the recipe does not fit the data yet (None: it does)
    preview_shape: tuple[int, int] | None = None
    job_name: str | None = None
    status: str = "NotStarted"
    failure_reason: str | None = None
    output_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)


class FeaturePanel:
    """A panel to profile a DataFrame, build a feature recipe, preview it and process the data.

    Example
    -------
    >>> panel = FeaturePanel(df, target="failure_within_7d")        # doctest: +SKIP
    >>> panel  # the last line of a cell shows it                    # doctest: +SKIP
    >>> panel.add_step("one_hot", columns=["machine_type"])          # doctest: +SKIP
    >>> panel.preview().shape                                        # doctest: +SKIP
    >>> job = panel.run(); _ = job.wait(logs=False); panel.refresh().status  # doctest: +SKIP
    'Completed'
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        target: str | None = None,
        workspace: Workspace | str | None = None,
        recipe: Recipe | None = None,
        poll_interval: float = 0.5,
        sample_rows: int = 1000,
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise ValidationError("data", type(data).__name__, "a pandas DataFrame")
        if recipe is not None and not isinstance(recipe, Recipe):
            raise ValidationError("recipe", type(recipe).__name__, "a Recipe or None")
        if recipe is not None and None not in (target, recipe.target) and target != recipe.target:
            raise ValidationError("target", target, f"the recipe's target {recipe.target!r}")
        target = target if target is not None else getattr(recipe, "target", None)
        if target is not None and target not in data.columns:
            raise ValidationError("target", target, f"one of the columns {list(data.columns)}")
        if not isinstance(poll_interval, (int, float)) or not poll_interval > 0:
            raise ValidationError("poll_interval", poll_interval, "a positive number of seconds")
        if isinstance(sample_rows, bool) or not isinstance(sample_rows, int) or sample_rows < 1:
            raise ValidationError("sample_rows", sample_rows, "a positive integer")
        self.data = data
        self.target = target
        self.workspace = workspace
        self.poll_interval = float(poll_interval)
        # A seeded sample, kept in data order (time-ordered data stays readable).
        self.sample = data.sample(n=min(sample_rows, len(data)), random_state=0).sort_index()
        self.recipe = _with_target(recipe or Recipe(), target)
        self.job: ProcessingJob | None = None
        self.state = FeaturePanelState()
        self._lock = threading.RLock()  # refresh() runs on the poller and on the caller
        features = [c for c in data.columns if c != target]

        # (1) profile
        self.profile_status = widgets.HTML()
        self.warnings_table = widgets.HTML()
        self.columns_table = widgets.HTML()
        self.distributions = widgets.Image(format="png")
        # (2) recipe
        self.steps = widgets.Select(rows=8, layout=widgets.Layout(width="100%"))
        self.remove_button = widgets.Button(description="Remove", icon="trash")
        self.up_button = widgets.Button(description="Move up", icon="arrow-up")
        self.down_button = widgets.Button(description="Move down", icon="arrow-down")
        self.op = widgets.Dropdown(description="op", options=list(OPS), style=_LABEL_STYLE)
        self.columns = widgets.SelectMultiple(
            description="columns", options=features, rows=8, style=_LABEL_STYLE
        )
        self.params: dict[str, widgets.Text] = {}
        self._params_box = widgets.VBox()
        self.add_button = widgets.Button(description="Add", button_style="primary", icon="plus")
        self.recipe_status = widgets.HTML()
        self.recipe_json = widgets.Textarea(rows=10, layout=widgets.Layout(width="100%"))
        self.export_button = widgets.Button(description="Export JSON", icon="download")
        self.load_button = widgets.Button(description="Load JSON", icon="upload")
        # (3) preview
        self.preview_button = widgets.Button(
            description="Preview", button_style="primary", icon="eye"
        )
        self.preview_status = widgets.HTML()
        self.preview_table = widgets.HTML()
        # (4) process
        self.split_method = widgets.Dropdown(
            description="split", options=list(METHODS), style=_LABEL_STYLE
        )
        self.test_size = widgets.FloatText(
            value=0.2, step=0.05, description="test size", style=_LABEL_STYLE
        )
        self.validation_size = widgets.FloatText(
            value=0.1, step=0.05, description="validation size", style=_LABEL_STYLE
        )
        self.time_column = widgets.Dropdown(
            description="time column", options=features, style=_LABEL_STYLE, disabled=True
        )
        self.group_column = widgets.Dropdown(
            description="group column", options=features, style=_LABEL_STYLE, disabled=True
        )
        self.seed = widgets.IntText(value=0, description="seed", style=_LABEL_STYLE)
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.status = widgets.HTML()

        self._show_profile()
        self._build_params(self.op.value)
        self._set_recipe(self.recipe)
        self.export_json()
        self.op.observe(lambda change: self._build_params(change["new"]), names="value")
        self.split_method.observe(self._on_split_method, names="value")
        self.add_button.on_click(lambda _button: self._add_from_form())
        self.remove_button.on_click(lambda _button: self._on_selected(self.remove_step))
        self.up_button.on_click(lambda _button: self._on_selected(self.move_step, -1))
        self.down_button.on_click(lambda _button: self._on_selected(self.move_step, 1))
        self.export_button.on_click(lambda _button: self.export_json())
        self.load_button.on_click(lambda _button: self.load_json())
        self.preview_button.on_click(lambda _button: self.preview())
        self.run_button.on_click(lambda _button: self.run())
        self.widget = widgets.VBox([self._layout()])

    def __repr__(self) -> str:
        return (
            f"FeaturePanel(steps={self.state.n_steps}, job={self.state.job_name!r}, "
            f"status={self.state.status!r})"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- recipe actions ------------------------------------------------------------------
    def add_step(self, op: str, **params: Any) -> Recipe | None:
        """Append a step if it fits the data; None (and the error shown) if it does not."""
        self.state.error = None
        recipe = run_action(
            lambda: self._checked_add(op, params),
            button=self.add_button,
            status=self.recipe_status,
            on_error=self._recipe_error,
        )
        if recipe is not None:
            self._select(len(recipe.steps) - 1)
        return recipe

    def remove_step(self, index: int) -> Recipe | None:
        """Remove the step at ``index``."""
        self.state.error = None
        recipe = run_action(
            lambda: self._replace_steps(index, lambda steps: steps.pop(index)),
            status=self.recipe_status,
            on_error=self._recipe_error,
        )
        if recipe is not None and recipe.steps:
            self._select(min(index, len(recipe.steps) - 1))
        return recipe

    def move_step(self, index: int, delta: int) -> Recipe | None:
        """Move the step at ``index`` by ``delta`` places (-1: up, 1: down)."""
        self.state.error = None

        def move(steps: list[dict[str, Any]]) -> None:
            new = index + delta
            if isinstance(delta, bool) or not isinstance(delta, int) or not 0 <= new < len(steps):
                raise ValidationError("delta", delta, f"a move within steps 0..{len(steps) - 1}")
            steps.insert(new, steps.pop(index))

        recipe = run_action(
            lambda: self._replace_steps(index, move),
            status=self.recipe_status,
            on_error=self._recipe_error,
        )
        if recipe is not None:
            self._select(index + delta)
        return recipe

    def export_json(self) -> str:
        """Put ``recipe.to_json()`` in the JSON box and return it."""
        self.recipe_json.value = self.recipe.to_json()
        return self.recipe_json.value

    def load_json(self, text: str | None = None) -> Recipe | None:
        """Replace the recipe with the JSON in the box (or ``text``); errors name the key."""
        self.state.error = None
        if text is not None:
            self.recipe_json.value = text
        recipe = run_action(
            lambda: self._set_recipe(_parse_recipe(self.recipe_json.value, self.target)),
            button=self.load_button,
            status=self.recipe_status,
            on_error=self._recipe_error,
        )
        if recipe is not None:
            self.export_json()  # show it normalised
        return recipe

    def _checked_add(self, op: str, params: dict[str, Any]) -> Recipe:
        candidate = self.recipe.add(op, **params)  # structure and parameter values
        problem = self._problem(candidate)
        # A recipe being built may not encode every column yet (field "steps"); a problem
        # with a step itself (a missing column, a wrong kind) rejects the new step.
        if problem is not None and problem.field != "steps":
            raise problem
        return self._set_recipe(candidate, problem)

    def _replace_steps(self, index: int, change: Any) -> Recipe:
        steps = self.recipe.steps
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(steps):
            raise ValidationError("index", index, f"a step number from 0 to {len(steps) - 1}")
        change(steps)
        return self._set_recipe(Recipe(steps, target=self.recipe.target, name=self.recipe.name))

    def _problem(self, recipe: Recipe) -> ValidationError | None:
        try:
            recipe.validate(self.data)
        except ValidationError as exc:
            return exc
        return None

    def _set_recipe(self, recipe: Recipe, problem: Any = _UNCHECKED) -> Recipe:
        problem = self._problem(recipe) if problem is _UNCHECKED else problem
        self.recipe = recipe
        self.state.n_steps = len(recipe.steps)
        self.state.issue = None if problem is None else describe_error(problem)
        self.steps.options = [(_step_label(i, s), i) for i, s in enumerate(recipe.steps)]
        self.recipe_status.value = self._recipe_html()
        return recipe

    def _select(self, index: int) -> None:
        if 0 <= index < len(self.steps.options):
            self.steps.value = index

    def _add_from_form(self) -> Recipe | None:
        op, params = self.op.value, {}
        selected = list(self.columns.value)
        if "column" in OPS[op].params and selected:
            params["column"] = selected[0] if len(selected) == 1 else selected
        elif "columns" in OPS[op].params and selected:
            params["columns"] = selected
        for name, widget in self.params.items():
            text = widget.value.strip()
            if text != _param_text(OPS[op].params[name]):  # unchanged defaults stay implicit
                params[name] = _parse_value(text)
        return self.add_step(op, **params)

    def _on_selected(self, action: Any, *args: Any) -> None:
        if self.steps.value is None:
            self.state.error = "Select a step first."
            self.recipe_status.value = self._recipe_html()
            return
        action(self.steps.value, *args)

    def _recipe_error(self, _exc: BaseException, message: str) -> None:
        self.state.error = message
        self.recipe_status.value = self._recipe_html()

    # -- preview -------------------------------------------------------------------------
    def preview(self) -> pd.DataFrame | None:
        """Fit the recipe on the sample and transform it; None (and the error shown) if it fails."""
        self.state.error = None
        self.state.preview_shape = None
        out = run_action(
            lambda: self.recipe.fit(self.sample).transform(self.sample),
            button=self.preview_button,
            status=self.preview_status,
            on_error=self._preview_error,
        )
        if out is None:
            self.preview_table.value = ""
            return None
        self.state.preview_shape = out.shape
        self.preview_status.value = (
            f"{out.shape[1]} output columns; fitted and transformed on a seeded sample of "
            f"{len(self.sample):,} of {len(self.data):,} rows (first {PREVIEW_ROWS} shown)."
        )
        self.preview_table.value = frame_html(out.head(PREVIEW_ROWS), index=True)
        return out

    def _preview_error(self, _exc: BaseException, message: str) -> None:
        self.state.error = message
        self.preview_status.value = error_html(message)

    # -- processing ----------------------------------------------------------------------
    def run(self) -> ProcessingJob | None:
        """Start a processing job from the widget values; None (and the error shown) if invalid."""
        self.state.error = None
        job = run_action(
            self._start_job, button=self.run_button, status=self.status, on_error=self._error
        )
        if job is None:
            return None
        with self._lock:
            self.job = job
            self.state.output_sizes = {}
        run_action(self.refresh, status=self.status, on_error=self._error)
        threading.Thread(
            target=self._poll, args=(job,), name=f"poll-{job.name}", daemon=True
        ).start()
        return job

    def refresh(self) -> FeaturePanelState:
        """Read the job's status (and, once Completed, its output sizes) into ``state``."""
        with self._lock:
            job, state = self.job, self.state
            if job is None:
                return state
            record = job.record()
            state.job_name, state.status = job.name, str(record["status"])
            state.failure_reason = record["failure_reason"]
            if state.status == "Completed" and not state.output_sizes:
                state.output_sizes = _output_sizes(job)
            self.status.value = self._status_html()
            self.run_button.disabled = state.status not in TERMINAL
            return state

    def _start_job(self) -> ProcessingJob:
        if self.job is not None and self.job.status not in TERMINAL:
            raise ValidationError("job", self.job.name, "no running job", hint="Wait for it.")
        method = self.split_method.value
        return process(
            self.data,
            self.recipe,
            target=self.recipe.target,
            split_method=method,
            test_size=self.test_size.value,
            validation_size=self.validation_size.value,
            time_column=self.time_column.value if method == "time" else None,
            group_column=self.group_column.value if method == "group" else None,
            seed=self.seed.value,
            wait=False,
            logs=False,
            workspace=self.workspace,
        )

    def _poll(self, job: ProcessingJob) -> None:
        poll_job(self, job, give_up=self._give_up, max_errors=_MAX_POLL_ERRORS)

    def _give_up(self) -> None:
        self.run_button.disabled = False

    def _on_split_method(self, change: dict[str, Any]) -> None:
        self.time_column.disabled = change["new"] != "time"
        self.group_column.disabled = change["new"] != "group"

    def _error(self, _exc: BaseException, message: str) -> None:
        self.state.error = message
        self.status.value = self._status_html()

    # -- rendering -----------------------------------------------------------------------
    def _show_profile(self) -> None:
        found = run_action(
            lambda: profile(self.data, target=self.target),
            status=self.profile_status,
            on_error=self._profile_error,
        )
        if found is None:
            return
        self.profile_status.value = html.escape(repr(found))
        self.warnings_table.value = (
            "<p>No warnings.</p>"
            if found.warnings.empty
            else frame_html(found.warnings, index=False)
        )
        self.columns_table.value = frame_html(found.columns, index=False)
        png = run_action(
            lambda: figure_png(found.plot_distributions()),
            status=self.profile_status,
            on_error=self._profile_error,
        )
        self.distributions.value = png or b""
        kinds = dict(zip(found.columns["column"], found.columns["kind"]))
        self.time_column.value = _first_of_kind(self.time_column.options, kinds, ("datetime",))
        self.group_column.value = _first_of_kind(
            self.group_column.options, kinds, ("categorical", "id")
        )

    def _profile_error(self, _exc: BaseException, message: str) -> None:
        self.state.error = message

    def _build_params(self, op: str) -> None:
        spec = OPS[op].params
        self.params = {
            name: widgets.Text(
                value=_param_text(default),
                description=name,
                placeholder="required" if default is REQUIRED else "JSON or text",
                style=_LABEL_STYLE,
            )
            for name, default in spec.items()
            if name not in _COLUMN_PARAMS
        }
        self._params_box.children = tuple(self.params.values())
        self.columns.disabled = not any(name in spec for name in _COLUMN_PARAMS)
        self.columns.description = "column" if "column" in spec else "columns"

    def _recipe_html(self) -> str:
        state = self.state
        noun = "step" if state.n_steps == 1 else "steps"
        if state.issue:
            line = f"{state.n_steps} {noun}; not ready for the data yet: {state.issue}"
            lines = [f'<span style="color:{_GREY}">{html.escape(line)}</span>']
        else:
            lines = [f"{state.n_steps} {noun}; the recipe fits the data."]
        if state.error:
            lines.insert(0, error_html(state.error))
        return "<br>".join(lines)

    def _status_html(self) -> str:
        state, lines = self.state, []
        if state.job_name:
            lines.append(
                f"<b>{html.escape(state.status)}</b>"
                f" &middot; processing job <code>{html.escape(state.job_name)}</code>"
            )
        if state.output_sizes:
            lines.append(
                " &middot; ".join(
                    f"{part}: {rows:,} rows &times; {cols} columns"
                    for part, (rows, cols) in state.output_sizes.items()
                )
            )
        if state.failure_reason and state.status == "Failed":
            lines.append(error_html(state.failure_reason))
        elif state.failure_reason:
            lines.append(html.escape(state.failure_reason))
        if state.error:
            lines.append(error_html(state.error))
        return "<br>".join(lines)

    def _layout(self) -> widgets.Tab:
        profile_box = widgets.VBox(
            [
                self.profile_status,
                widgets.HTML("<b>Warnings</b>"),
                self.warnings_table,
                widgets.HTML("<b>Columns</b>"),
                self.columns_table,
                self.distributions,
            ]
        )
        recipe_box = widgets.VBox(
            [
                self.steps,
                widgets.HBox([self.remove_button, self.up_button, self.down_button]),
                widgets.HTML("<b>Add a step</b>"),
                widgets.HBox([widgets.VBox([self.op, self.columns]), self._params_box]),
                self.add_button,
                self.recipe_status,
                widgets.HBox([self.export_button, self.load_button]),
                self.recipe_json,
            ]
        )
        preview_box = widgets.VBox([self.preview_button, self.preview_status, self.preview_table])
        process_box = widgets.VBox(
            [
                widgets.HBox([self.split_method, self.seed]),
                widgets.HBox([self.test_size, self.validation_size]),
                widgets.HBox([self.time_column, self.group_column]),
                self.run_button,
                self.status,
            ]
        )
        return widgets.Tab(
            children=[profile_box, recipe_box, preview_box, process_box],
            titles=("Profile", "Recipe", "Preview", "Process"),
        )


def _with_target(recipe: Recipe, target: str | None) -> Recipe:
    if recipe.target is not None or target is None:
        return recipe
    return Recipe(recipe.steps, target=target, name=recipe.name)


def _parse_recipe(text: str, target: str | None) -> Recipe:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = text.splitlines()
        raise ValidationError(
            f"recipe JSON line {exc.lineno}",
            lines[exc.lineno - 1].strip() if 0 < exc.lineno <= len(lines) else text[:80],
            "valid JSON",
            f"{exc.msg} at line {exc.lineno}, column {exc.colno}.",
        ) from None
    return _with_target(Recipe.from_dict(data), target)


def _param_text(default: Any) -> str:
    """A parameter's default as the text its field starts with ("" for none or required)."""
    if default is REQUIRED or default is None:
        return ""
    return default if isinstance(default, str) else json.dumps(default)


def _parse_value(text: str) -> Any:
    """JSON (numbers, lists, objects, true/null) or Python's None/True/False, else the text."""
    if text in _PYTHON_WORDS:
        return _PYTHON_WORDS[text]
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _step_label(index: int, step: dict[str, Any]) -> str:
    details = ", ".join(f"{k}={json.dumps(v)}" for k, v in step.items() if k != "op")
    return f"{index}. {step['op']}({details})"


def _first_of_kind(options: tuple[Any, ...], kinds: dict[Any, str], wanted: tuple[str, ...]) -> Any:
    found = [c for c in options if kinds.get(c) in wanted]
    return found[0] if found else (options[0] if options else None)


def _output_sizes(job: ProcessingJob) -> dict[str, tuple[int, int]]:
    """``{part: (rows, columns)}`` from the Parquet footers (no data is read)."""
    import pyarrow.parquet as pq

    sizes = {}
    outputs = job.outputs
    for part in _PARTS:
        files = sorted(Path(outputs[part]).glob("*.parquet")) if part in outputs else []
        if files:
            metas = [pq.read_metadata(f) for f in files]
            sizes[part] = (sum(m.num_rows for m in metas), metas[0].num_columns)
    return sizes
