"""``TrainingPanel``: an ipywidgets front end over ``Estimator`` and ``TrainingJob``.

The panel only reads widget values, makes one API call and renders the answer; the rules
(hyperparameter checks, channels, job lifecycle) live in the training API. A daemon thread
polls a running job through :meth:`TrainingPanel.refresh`, which tests call directly.
"""

from __future__ import annotations

import html
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from .._ui import (
    HyperparameterForm,
    error_html,
    hyperparameter_form,
    metric_chart_png,
    poll_job,
    run_action,
)
from ..algorithms import get_algorithm, list_algorithms
from ..exceptions import ValidationError
from ._estimator import Estimator
from ._job import TERMINAL, TrainingJob
from ._launcher import warm_up

if TYPE_CHECKING:
    from ..core import Workspace

__all__ = [
    "TrainingPanel",
    "TrainingPanelState",
    "SPLIT",
    "NO_VALIDATION",
    "NO_TARGET",
    "BUILTIN_PREFIX",
]

SPLIT = "split from train"
NO_VALIDATION = "none"
NO_TARGET = "(none)"
BUILTIN_PREFIX = "builtin:"
_LOG_LINES = 200
_CHART_INTERVAL_S = 2.0  # re-rendering a PNG every poll would dominate long jobs
_MAX_POLL_ERRORS = 20
_LABEL_STYLE = {"description_width": "90px"}


@dataclass
class TrainingPanelState:
    """What the panel shows, as plain Python (tests assert on this, not on widgets)."""

    status: str = "NotStarted"
    secondary_status: str | None = None
    job_name: str | None = None
    error: str | None = None
    failure_reason: str | None = None
    final_metrics: dict[str, float] = field(default_factory=dict)
    n_log_lines: int = 0


class TrainingPanel:
    """A panel to start, watch and stop training jobs on DataFrames or built-in datasets.

    Algorithms that learn without labels (K-Means, PCA, Random Cut Forest, ...) offer the
    target ``(none)``; the held-out part goes to the algorithm's ``validation`` or ``test``
    channel. For file inputs (images, JSON Lines series, text corpora) pass ``channels``:
    a dict of ``TrainingInput`` used as they are, e.g.
    ``TrainingPanel(channels={"train": TrainingInput("series/train.json")},
    algorithm="forecasting-deepar")``.

    Example
    -------
    >>> panel = TrainingPanel({"train": train_df})     # doctest: +SKIP
    >>> panel  # the last line of a cell shows it       # doctest: +SKIP
    >>> panel.form.widgets["num_round"].value = "50"    # doctest: +SKIP
    >>> panel.start_button.click()                      # doctest: +SKIP
    >>> _ = panel.job.wait(logs=False); panel.refresh().status  # doctest: +SKIP
    'Completed'
    """

    def __init__(
        self,
        data: dict[str, pd.DataFrame] | pd.DataFrame | None = None,
        *,
        algorithm: str = "xgboost",
        channels: dict[str, Any] | None = None,
        workspace: Workspace | str | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        self.data = _check_data(data)
        self.channels = _check_channels(channels)
        if not isinstance(poll_interval, (int, float)) or not poll_interval > 0:
            raise ValidationError("poll_interval", poll_interval, "a positive number of seconds")
        self.workspace = workspace
        self.poll_interval = float(poll_interval)
        self.job: TrainingJob | None = None
        self.state = TrainingPanelState()
        warm_up()  # the job runner imports its libraries while the user fills in the form
        self._builtin_targets = _builtin_datasets()
        self._loaded: dict[str, pd.DataFrame] = {}
        self._lock = threading.RLock()  # refresh() runs on the poller and on the caller
        self._tail: _LogTail | None = None
        self._chart_key: tuple[int, str] | None = None
        self._chart_time = 0.0

        self.dataset = widgets.Dropdown(
            description="dataset", options=[*self.data, *self._builtin_targets], style=_LABEL_STYLE
        )
        self.target = widgets.Dropdown(description="target", style=_LABEL_STYLE)
        self.validation = widgets.Dropdown(description="validation", style=_LABEL_STYLE)
        self.validation_fraction = widgets.FloatText(
            value=0.2, step=0.05, description="fraction", style=_LABEL_STYLE
        )
        self.algorithm = widgets.Dropdown(
            description="algorithm",
            options=list_algorithms(),
            value=get_algorithm(algorithm).name,
            style=_LABEL_STYLE,
        )
        self.algorithm_info = widgets.HTML()
        self.form: HyperparameterForm
        self._form_box = widgets.VBox()
        self.start_button = widgets.Button(description="Start", button_style="primary", icon="play")
        self.stop_button = widgets.Button(
            description="Stop", button_style="danger", icon="stop", disabled=True
        )
        self.status = widgets.HTML()
        self.log = widgets.Textarea(
            disabled=True, rows=12, placeholder="job log", layout=widgets.Layout(width="100%")
        )
        self.chart = widgets.Image(format="png", value=metric_chart_png(None))
        self.final_metrics = widgets.HTML()

        self._data_box = widgets.VBox(
            [
                widgets.HBox([self.dataset, self.target]),
                widgets.HBox([self.validation, self.validation_fraction]),
            ]
        )
        if self.channels:  # file channels are used as given: no dataset to pick
            self._data_box.children = (
                widgets.HTML(
                    "channels: "
                    + ", ".join(f"<code>{html.escape(n)}</code>" for n in self.channels)
                ),
            )
        self._build_form(self.algorithm.value)
        self._on_dataset({"new": self.dataset.value})  # a failing load shows in status
        self.dataset.observe(self._on_dataset, names="value")
        self.validation.observe(self._on_validation, names="value")
        self.algorithm.observe(self._on_algorithm, names="value")
        self.start_button.on_click(lambda _button: self.start())
        self.stop_button.on_click(lambda _button: self.stop())
        self.widget = widgets.VBox(
            [
                self._data_box,
                widgets.HBox([self.algorithm, self.algorithm_info]),
                self._form_box,
                widgets.HBox([self.start_button, self.stop_button]),
                self.status,
                widgets.HBox([self.chart, self.final_metrics]),
                self.log,
            ]
        )

    def __repr__(self) -> str:
        return f"TrainingPanel(job={self.state.job_name!r}, status={self.state.status!r})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- actions -------------------------------------------------------------------------
    def start(self) -> TrainingJob | None:
        """Start a job from the widget values; None (and the error in ``status``) if invalid."""
        self.state.error = None
        job = run_action(
            self._start_job, button=self.start_button, status=self.status, on_error=self._error
        )
        if job is None:
            return None
        with self._lock:
            self.job, self._tail, self._chart_key = job, _LogTail(job.log_path), None
        run_action(self.refresh, status=self.status, on_error=self._error)
        threading.Thread(
            target=self._poll, args=(job,), name=f"poll-{job.name}", daemon=True
        ).start()
        return job

    def stop(self) -> None:
        """Ask the running job to stop; the poller shows Stopping, then Stopped."""
        if self.job is not None:
            run_action(
                self.job.stop, button=self.stop_button, status=self.status, on_error=self._error
            )
            run_action(self.refresh, status=self.status, on_error=self._error)

    def refresh(self) -> TrainingPanelState:
        """Read the job's status, log, metrics and final metrics into ``state`` and widgets."""
        with self._lock:
            job, tail, state = self.job, self._tail, self.state
            if job is None or tail is None:
                return state
            record = job.record()
            state.job_name, state.status = job.name, str(record["status"])
            state.secondary_status = record["extra"].get("secondary_status", state.status)
            state.failure_reason = record["failure_reason"]
            state.final_metrics = dict(record["metrics"])
            self.log.value, state.n_log_lines = tail.read()
            self._render_chart(job, tail.offset, state.status)
            self.status.value = self._status_html()
            self.final_metrics.value = _metrics_table(state.final_metrics)
            self.start_button.disabled = state.status not in TERMINAL
            stop_requested = bool(record["extra"].get("stop_requested"))
            self.stop_button.disabled = state.status != "InProgress" or stop_requested
            return state

    def _start_job(self) -> TrainingJob:
        if self.job is not None and self.job.status not in TERMINAL:
            raise ValidationError("job", self.job.name, "no running job", hint="Stop it first.")
        hyperparameters = self.form.values()
        target = None if self.target.value == NO_TARGET else self.target.value
        if self.channels:
            target = None
        elif target is None and get_algorithm(self.algorithm.value).supervised:
            raise ValidationError("target", self.target.value, "a column of the chosen dataset")
        estimator = Estimator(
            algorithm=self.algorithm.value,
            target=target,
            hyperparameters=hyperparameters,
            workspace=self.workspace,
        )
        return estimator.fit(self._inputs(), wait=False, logs=False)

    def _poll(self, job: TrainingJob) -> None:
        poll_job(self, job, give_up=self._give_up, max_errors=_MAX_POLL_ERRORS)

    def _give_up(self) -> None:
        self.start_button.disabled, self.stop_button.disabled = False, True

    # -- callbacks -----------------------------------------------------------------------
    def _on_dataset(self, change: dict[str, Any]) -> None:
        run_action(
            lambda: self._show_dataset(change["new"]), status=self.status, on_error=self._error
        )

    def _on_validation(self, change: dict[str, Any]) -> None:
        self.validation_fraction.disabled = change["new"] != SPLIT

    def _on_algorithm(self, change: dict[str, Any]) -> None:
        built = run_action(
            lambda: self._build_form(change["new"]), status=self.status, on_error=self._error
        )
        if built is None:  # keep the dropdown in step with the form still shown
            self.algorithm.unobserve(self._on_algorithm, names="value")
            self.algorithm.value = change["old"]
            self.algorithm.observe(self._on_algorithm, names="value")

    def _error(self, _exc: BaseException, message: str) -> None:
        self.state.error = message
        self.status.value = self._status_html()

    # -- rendering -----------------------------------------------------------------------
    def _build_form(self, name: str) -> HyperparameterForm:
        algorithm = get_algorithm(name)
        self.form = hyperparameter_form(algorithm.hyperparameters)
        self._target_options(algorithm)
        self._form_box.children = (self.form.box,)
        self.algorithm_info.value = (
            f"<b>{html.escape(algorithm.title)}</b>: {html.escape(algorithm.description)}"
        )
        return self.form

    def _show_dataset(self, name: str | None) -> None:
        frame = None if name is None else self._frame(name)
        self._target_options(get_algorithm(self.algorithm.value), frame)
        previous = self.validation.value
        options = [SPLIT, NO_VALIDATION, *(n for n in self.data if n != name)]
        self.validation.options = options
        self.validation.value = previous if previous in options else SPLIT

    def _target_options(self, algorithm: Any, frame: pd.DataFrame | None = None) -> None:
        """Columns of the dataset, plus ``(none)`` first for algorithms without labels."""
        if frame is None:
            name = getattr(self, "dataset", None) and self.dataset.value
            frame = self._frame(name) if name and name in (*self.data, *self._loaded) else None
        columns = [] if frame is None else [str(c) for c in frame.columns]
        self.target.options = columns if algorithm.supervised else [NO_TARGET, *columns]
        if not algorithm.supervised:  # picking a column leaves it out of the features
            self.target.value = NO_TARGET
        else:
            name = self.dataset.value or ""
            self.target.value = _default_target(frame, self._builtin_targets.get(name))

    def _render_chart(self, job: TrainingJob, log_offset: int, status: str) -> None:
        key = (log_offset, status)  # metrics come from the log: no new bytes, no new points
        if key == self._chart_key:
            return
        if status not in TERMINAL and time.monotonic() - self._chart_time < _CHART_INTERVAL_S:
            return
        self.chart.value = metric_chart_png(job.metrics())
        self._chart_key, self._chart_time = key, time.monotonic()

    def _status_html(self) -> str:
        state, lines = self.state, []
        if state.job_name:
            secondary = state.secondary_status
            detail = (
                f" ({html.escape(secondary)})" if secondary and secondary != state.status else ""
            )
            lines.append(
                f"<b>{html.escape(state.status)}</b>{detail}"
                f" &middot; training job <code>{html.escape(state.job_name)}</code>"
            )
        if state.failure_reason and state.status == "Failed":
            lines.append(error_html(state.failure_reason))
        elif state.failure_reason:  # e.g. "Stopped by request": not an error
            lines.append(html.escape(state.failure_reason))
        if state.error:
            lines.append(error_html(state.error))
        return "<br>".join(lines)

    # -- data ----------------------------------------------------------------------------
    def _frame(self, name: str) -> pd.DataFrame:
        if name in self.data:
            return self.data[name]
        if name not in self._loaded:
            from .. import datasets

            builtin = name.removeprefix(BUILTIN_PREFIX)
            self._loaded[name] = datasets.load(builtin, size="small", seed=0)
        return self._loaded[name]

    def _inputs(self) -> dict[str, Any]:
        if self.channels:
            return dict(self.channels)
        inputs = self._frames()
        held_out = "validation" if "validation" in self._algorithm_channels() else "test"
        return {held_out if k == "validation" else k: v for k, v in inputs.items()}

    def _algorithm_channels(self) -> tuple[str, ...]:
        return tuple(get_algorithm(self.algorithm.value).channels)

    def _frames(self) -> dict[str, pd.DataFrame]:
        if self.dataset.value is None:
            raise ValidationError("dataset", None, "a frame given to TrainingPanel or a built-in")
        train = self._frame(self.dataset.value)
        choice = self.validation.value
        if choice == NO_VALIDATION:
            return {"train": train}
        if choice != SPLIT:
            return {"train": train, "validation": self.data[choice]}
        fraction = self.validation_fraction.value
        n_valid = round(len(train) * fraction) if 0 < fraction < 1 else 0
        if not 0 < n_valid < len(train):
            raise ValidationError(
                "validation_fraction", fraction, "a fraction in (0, 1) leaving rows on both sides"
            )
        order = np.random.default_rng(0).permutation(len(train))
        return {
            "train": train.iloc[np.sort(order[n_valid:])],
            "validation": train.iloc[np.sort(order[:n_valid])],
        }


class _LogTail:
    """The last lines of a growing log file, read incrementally (never the whole file)."""

    def __init__(self, path: Path, keep: int = _LOG_LINES) -> None:
        self.path, self.keep = path, keep
        self.offset = 0
        self.count = 0
        self._partial = b""
        self._lines: deque[str] = deque(maxlen=keep)

    def read(self) -> tuple[str, int]:
        """``(text of the last lines, total number of lines)``."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            data = b""
        self.offset += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        self._lines.extend(line.decode("utf-8", "replace") for line in complete)
        self.count += len(complete)
        lines = list(self._lines)
        if self._partial:
            lines.append(self._partial.decode("utf-8", "replace"))
        return "\n".join(lines[-self.keep :]), self.count + bool(self._partial)


def _check_data(data: dict[str, pd.DataFrame] | pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    frames = {"data": data} if isinstance(data, pd.DataFrame) else dict(data or {})
    for name, frame in frames.items():
        if not isinstance(name, str) or not name or name.startswith(BUILTIN_PREFIX):
            raise ValidationError("data", name, "names that are strings not starting 'builtin:'")
        if name in (SPLIT, NO_VALIDATION):
            raise ValidationError("data", name, f"a name other than {SPLIT!r} or {NO_VALIDATION!r}")
        if not isinstance(frame, pd.DataFrame):
            raise ValidationError(f"data[{name!r}]", type(frame).__name__, "a pandas DataFrame")
    return frames


def _check_channels(channels: dict[str, Any] | None) -> dict[str, Any]:
    from ._inputs import TrainingInput

    if channels is None:
        return {}
    if not isinstance(channels, dict) or "train" not in channels:
        raise ValidationError("channels", channels, "a dict of channels with a 'train' channel")
    for name, item in channels.items():
        if not isinstance(item, TrainingInput) and not isinstance(item, (str, Path)):
            raise ValidationError(
                f"channels[{name!r}]", type(item).__name__, "a TrainingInput or a path"
            )
    return dict(channels)


def _builtin_datasets() -> dict[str, str | None]:
    """``{"builtin:<name>": documented target}``, or {} while workbench.datasets is missing."""
    try:
        from .. import datasets

        table = datasets.list_datasets()
    except (ImportError, AttributeError):
        return {}
    targets = table["target"] if "target" in table else [None] * len(table)
    return {f"{BUILTIN_PREFIX}{name}": target for name, target in zip(table["name"], targets)}


def _default_target(frame: pd.DataFrame | None, documented: str | None) -> Any:
    if frame is None or frame.columns.empty:
        return None
    for candidate in (documented, frame.attrs.get("target")):
        if candidate is not None and candidate in frame.columns:
            return candidate
    return frame.columns[-1]


def _metrics_table(metrics: dict[str, float]) -> str:
    if not metrics:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{value:.6g}</td></tr>"
        for name, value in sorted(metrics.items())
    )
    return f"<table><tr><th>final metric</th><th>value</th></tr>{rows}</table>"
