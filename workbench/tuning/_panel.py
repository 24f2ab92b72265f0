"""``TuningPanel``: an ipywidgets front end over ``HyperparameterTuner``.

The panel only reads widget values, makes one API call and renders the answer; the rules
(range checks, objective metrics, scheduling, trial lifecycle) live in the tuning API. A
daemon thread polls a running tuning job through :meth:`TuningPanel.refresh`, which tests
call directly.

Ranges are prefilled from the algorithm's schema: a bounded side is the schema's bound
(moved inward when it is open: ints by 1, floats by a tenth of the span), an unbounded side
gets a finite span around the default (the estimator's static value, else the schema's):
ints up to twice the default, floats up to ten times it (10 when the default is not
positive), and down to a half resp. a tenth of a positive default (default - 10 otherwise).
"""

from __future__ import annotations

import html
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from .._ui import error_html, figure_png, frame_html, poll_job, run_action
from ..algorithms import Hyperparameter, get_algorithm
from ..exceptions import ValidationError
from ..training._job import TERMINAL
from ._parameters import (
    SCALING_TYPES,
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
)
from ._tuner import HyperparameterTuner

if TYPE_CHECKING:
    from ..algorithms import Algorithm
    from ..core import Workspace
    from ..training import Estimator

__all__ = ["TuningPanel", "TuningPanelState", "STRATEGIES", "best_so_far_png"]

STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband")
_TOP_TRIALS = 20
_MAX_POLL_ERRORS = 20
_LABEL_STYLE = {"description_width": "120px"}
_NUMBER_LAYOUT = widgets.Layout(width="140px")
#: Rows checked when the panel opens, with a (min, max) where the schema rule is poor.
_SUGGESTED: dict[str, dict[str, tuple[float, float] | None]] = {
    "xgboost": {"eta": None, "max_depth": None, "subsample": None, "min_child_weight": None},
    "linear-learner": {"learning_rate": (1e-4, 1.0), "wd": (1e-7, 1.0)},
}
#: XGBoost eval metrics that suit each objective family (SageMaker adds the tuning
#: objective to the evaluated metrics through ``_tuning_objective_metric``).
_XGBOOST_METRICS = {
    "binary": ("auc", "logloss", "error", "aucpr"),
    "multi": ("mlogloss", "merror"),
    "reg": ("rmse", "mae"),
    "count": ("poisson-nloglik", "rmse", "mae"),
}
_MAXIMIZED = ("auc", "accuracy", "precision", "recall", "f_beta", "f1", "map", "dcg", "r2")


@dataclass
class TuningPanelState:
    """What the panel shows, as plain Python (tests assert on this, not on widgets)."""

    tuning_job: str | None = None
    status: str = "NotStarted"
    n_trials: int = 0
    n_completed: int = 0
    n_running: int = 0
    n_failed: int = 0
    n_stopped: int = 0
    best_job: str | None = None
    best_value: float | None = None
    error: str | None = None


class _RangeRow:
    """One tunable hyperparameter: a "tune" checkbox and its min/max/scaling or values."""

    def __init__(self, param: Hyperparameter, static: Any, checked: bool, span: Any) -> None:
        self.param = param
        self.categorical = param.choices is not None or param.type == "bool"
        self.tune = widgets.Checkbox(
            value=checked, description=param.name, indent=False, tooltip=param.doc or ""
        )
        self.tune.layout.width = "190px"
        self.min_value: widgets.FloatText | widgets.IntText | None = None
        self.max_value: widgets.FloatText | widgets.IntText | None = None
        self.scaling: widgets.Dropdown | None = None
        self.values: widgets.Text | None = None
        if self.categorical:
            choices = param.choices or (True, False)
            self.values = widgets.Text(
                value=", ".join(param.to_string(c) for c in choices),
                placeholder="comma-separated values",
                layout=widgets.Layout(width="424px"),
            )
            fields: list[widgets.Widget] = [self.values]
        else:
            low, high = span or _default_span(param, static)
            number = widgets.IntText if param.type == "int" else widgets.FloatText
            self.min_value = number(value=low, description="min", layout=_NUMBER_LAYOUT)
            self.max_value = number(value=high, description="max", layout=_NUMBER_LAYOUT)
            for field in (self.min_value, self.max_value):
                field.style.description_width = "30px"
            self.scaling = widgets.Dropdown(
                options=SCALING_TYPES, value="Auto", layout=widgets.Layout(width="140px")
            )
            fields = [self.min_value, self.max_value, self.scaling]
        self.box = widgets.HBox([self.tune, *fields, widgets.HTML(html.escape(param.allowed))])

    def parameter(self) -> Any:
        """The tuner's range object for this row (the tuning API checks it)."""
        if self.values is not None:
            return CategoricalParameter(
                [v.strip() for v in self.values.value.split(",") if v.strip()]
            )
        assert self.min_value is not None and self.max_value is not None
        assert self.scaling is not None
        kind = IntegerParameter if self.param.type == "int" else ContinuousParameter
        return kind(self.min_value.value, self.max_value.value, scaling_type=self.scaling.value)


class TuningPanel:
    """A panel to define, start, watch and stop a hyperparameter tuning job.

    Example
    -------
    >>> est = Estimator(algorithm="xgboost", target="y",
    ...                 hyperparameters={"objective": "binary:logistic", "num_round": 50})
    >>> panel = TuningPanel(est, {"train": train_df, "validation": valid_df})  # doctest: +SKIP
    >>> panel  # the last line of a cell shows it            # doctest: +SKIP
    >>> panel.rows["gamma"].tune.value = True                # doctest: +SKIP
    >>> panel.start_button.click()                           # doctest: +SKIP
    >>> panel.tuner.wait(); panel.refresh().best_job         # doctest: +SKIP
    'xgboost-...-003-...'
    """

    def __init__(
        self,
        estimator: Estimator,
        inputs: Any,
        *,
        objective_metric_name: str | None = None,
        workspace: Workspace | str | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        name = estimator._algorithm_name() if hasattr(estimator, "_algorithm_name") else None
        if not name:
            raise ValidationError("estimator", estimator, "an Estimator with a built-in algorithm")
        if not isinstance(poll_interval, (int, float)) or not poll_interval > 0:
            raise ValidationError("poll_interval", poll_interval, "a positive number of seconds")
        self.estimator, self.inputs, self.workspace = estimator, inputs, workspace
        self.poll_interval = float(poll_interval)
        self.algorithm: Algorithm = get_algorithm(name)
        self.tuner: HyperparameterTuner | None = None
        self.state = TuningPanelState()
        self._lock = threading.RLock()  # refresh() runs on the poller and on the caller
        self._chart_key: tuple[Any, ...] | None = None
        static = estimator.hyperparameters()
        suggested = _SUGGESTED.get(self.algorithm.name, {})

        self.rows: dict[str, _RangeRow] = {
            p.name: _RangeRow(p, static.get(p.name), p.name in suggested, suggested.get(p.name))
            for p in self.algorithm.hyperparameters
            if _is_tunable(p)
        }
        metrics = _objective_metrics(self.algorithm, static, _channels(inputs))
        if objective_metric_name and objective_metric_name not in metrics:
            metrics.insert(0, objective_metric_name)  # the tuner says if it is wrong
        self.objective = widgets.Dropdown(
            description="objective metric",
            options=metrics,
            value=objective_metric_name or (metrics[0] if metrics else None),
            style=_LABEL_STYLE,
        )
        self.objective_type = widgets.Dropdown(
            description="direction",
            options=("Maximize", "Minimize"),
            value=_direction(self.objective.value),
            style=_LABEL_STYLE,
        )
        self.strategy = widgets.Dropdown(
            description="strategy", options=STRATEGIES, value="Bayesian", style=_LABEL_STYLE
        )
        self.early_stopping = widgets.Dropdown(
            description="early stopping", options=("Off", "Auto"), value="Off", style=_LABEL_STYLE
        )
        self.max_jobs = widgets.IntText(
            value=10, description="max jobs", tooltip="0 = unset", style=_LABEL_STYLE
        )
        self.max_parallel_jobs = widgets.IntText(
            value=1, description="parallel jobs", style=_LABEL_STYLE
        )
        self.seed = widgets.Text(
            value="", description="random seed", placeholder="none", style=_LABEL_STYLE
        )
        self.start_button = widgets.Button(description="Start", button_style="primary", icon="play")
        self.stop_button = widgets.Button(
            description="Stop", button_style="danger", icon="stop", disabled=True
        )
        self.status = widgets.HTML()
        self.chart = widgets.Image(format="png", value=best_so_far_png(pd.DataFrame(), "Maximize"))
        self.trials = widgets.HTML()

        self.objective.observe(self._on_objective, names="value")
        self.start_button.on_click(lambda _button: self.start())
        self.stop_button.on_click(lambda _button: self.stop())
        self.widget = widgets.VBox(
            [
                widgets.HTML(self._header_html()),
                self._ranges_box(),
                widgets.HBox([self.objective, self.objective_type]),
                widgets.HBox([self.strategy, self.early_stopping]),
                widgets.HBox([self.max_jobs, self.max_parallel_jobs, self.seed]),
                widgets.HBox([self.start_button, self.stop_button]),
                self.status,
                self.chart,
                self.trials,
            ]
        )

    def __repr__(self) -> str:
        return f"TuningPanel(tuning_job={self.state.tuning_job!r}, status={self.state.status!r})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    @property
    def job(self) -> HyperparameterTuner | None:
        """The running tuner (what ``workbench._ui.poll_job`` watches)."""
        return self.tuner

    # -- actions -------------------------------------------------------------------------
    def ranges(self) -> dict[str, Any]:
        """``{name: range}`` of the checked rows: what Start passes to the tuner."""
        return {name: row.parameter() for name, row in self.rows.items() if row.tune.value}

    def start(self) -> HyperparameterTuner | None:
        """Start a tuning job from the widget values; None (and the error in ``status``) if invalid."""
        self.state.error = None
        tuner = run_action(
            self._start_tuner, button=self.start_button, status=self.status, on_error=self._error
        )
        if tuner is None:
            return None
        with self._lock:
            self.tuner, self._chart_key = tuner, None
            self.state = TuningPanelState()
        run_action(self.refresh, status=self.status, on_error=self._error)
        threading.Thread(
            target=poll_job,
            args=(self, tuner, self._give_up, _MAX_POLL_ERRORS),
            name=f"poll-{tuner.latest_tuning_job}",
            daemon=True,
        ).start()
        return tuner

    def stop(self) -> None:
        """Ask the running tuning job to stop; the poller shows it Stopped."""
        if self.tuner is not None:
            run_action(
                self.tuner.stop_tuning_job,
                button=self.stop_button,
                status=self.status,
                on_error=self._error,
            )
            run_action(self.refresh, status=self.status, on_error=self._error)

    def refresh(self) -> TuningPanelState:
        """Read the tuning job's status and trials into ``state``, the table and the chart."""
        with self._lock:
            tuner, state = self.tuner, self.state
            if tuner is None:
                return state
            description = tuner.describe()
            trials = tuner.analytics().dataframe()
            state.tuning_job = str(tuner.latest_tuning_job)
            state.status = str(description["HyperParameterTuningJobStatus"])
            counts = _status_counts(trials)
            state.n_trials = len(trials)
            state.n_completed, state.n_running = counts["Completed"], counts["InProgress"]
            state.n_failed, state.n_stopped = counts["Failed"], counts["Stopped"]
            state.best_job, state.best_value = _best(trials, self._objective_type(tuner))
            self._render(trials, self._objective_type(tuner))
            self.status.value = self._status_html(description.get("FailureReason"))
            self.start_button.disabled = state.status not in TERMINAL
            self.stop_button.disabled = state.status != "InProgress"
            return state

    def _start_tuner(self) -> HyperparameterTuner:
        if self.tuner is not None and self.state.status not in TERMINAL:
            name = self.tuner.latest_tuning_job
            raise ValidationError(
                "tuning job", name, "no running tuning job", hint="Stop it first."
            )
        tuner = HyperparameterTuner(
            self.estimator,
            self.objective.value,
            self.ranges(),
            strategy=self.strategy.value,
            objective_type=self.objective_type.value,
            max_jobs=self.max_jobs.value or None,
            max_parallel_jobs=self.max_parallel_jobs.value,
            early_stopping_type=self.early_stopping.value,
            random_seed=_seed(self.seed.value),
            workspace=self.workspace,
        )
        tuner.fit(self.inputs, wait=False)
        return tuner

    def _give_up(self) -> None:
        self.start_button.disabled, self.stop_button.disabled = False, True

    # -- callbacks -----------------------------------------------------------------------
    def _on_objective(self, change: dict[str, Any]) -> None:
        self.objective_type.value = _direction(change["new"])

    def _error(self, _exc: BaseException, message: str) -> None:
        self.state.error = message
        self.status.value = self._status_html()

    # -- rendering -----------------------------------------------------------------------
    def _objective_type(self, tuner: HyperparameterTuner) -> str:
        return str(getattr(tuner, "objective_type", self.objective_type.value))

    def _render(self, trials: pd.DataFrame, objective_type: str) -> None:
        self.trials.value = frame_html(_newest_first(trials).head(_TOP_TRIALS), index=False)
        completed = _completed(trials)
        key = (objective_type, tuple(completed["FinalObjectiveValue"].tolist()))
        if key != self._chart_key:  # a PNG only when a trial has completed
            self.chart.value = best_so_far_png(completed, objective_type)
            self._chart_key = key

    def _header_html(self) -> str:
        fixed = ", ".join(
            f"{html.escape(str(k))}={html.escape(str(v))}"
            for k, v in self.estimator.hyperparameters().items()
        )
        return (
            f"<b>{html.escape(self.algorithm.title)}</b> tuning"
            f" &middot; static hyperparameters: {fixed or 'none'}"
            "<br><small>Checked rows become ranges.</small>"
        )

    def _ranges_box(self) -> widgets.Widget:
        checked = [row.box for row in self.rows.values() if row.tune.value]
        others = [row.box for row in self.rows.values() if not row.tune.value]
        if not others:
            return widgets.VBox(checked)
        more = widgets.Accordion(children=[widgets.VBox(others)], titles=("More hyperparameters",))
        more.selected_index = None
        return widgets.VBox([*checked, more])

    def _status_html(self, failure_reason: str | None = None) -> str:
        state, lines = self.state, []
        if state.tuning_job:
            lines.append(
                f"<b>{html.escape(state.status)}</b> &middot; tuning job"
                f" <code>{html.escape(state.tuning_job)}</code> &middot;"
                f" {state.n_completed} completed, {state.n_running} running,"
                f" {state.n_failed} failed, {state.n_stopped} stopped"
            )
        if state.best_job:
            lines.append(
                f"best: <code>{html.escape(state.best_job)}</code>"
                f" ({html.escape(str(self.objective.value))} = {state.best_value:.6g})"
            )
        if failure_reason and state.status == "Failed":
            lines.append(error_html(failure_reason))
        if state.error:
            lines.append(error_html(state.error))
        return "<br>".join(lines)


def best_so_far_png(completed: pd.DataFrame, objective_type: str) -> bytes:
    """PNG of each completed trial's objective (points) and the running best (line).

    ``completed`` has a ``FinalObjectiveValue`` column, in completion order.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(fig)  # never pyplot: no global state, no GUI backend
    ax = fig.add_subplot()
    if completed.empty:
        ax.text(0.5, 0.5, "No completed trials yet", ha="center", va="center", color="grey")
        ax.set_axis_off()
    else:
        values = completed["FinalObjectiveValue"].astype(float).reset_index(drop=True)
        best = values.cummax() if objective_type == "Maximize" else values.cummin()
        x = range(1, len(values) + 1)
        ax.scatter(x, values, label="trial", color="tab:blue", zorder=3)
        ax.step(x, best, where="post", label="best so far", color="tab:orange")
        ax.set_xlabel("completed trial")
        ax.set_ylabel("objective")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    return figure_png(fig)


# -- schema and metrics ------------------------------------------------------------------
def _is_tunable(param: Hyperparameter) -> bool:
    """Tunable numbers, choices and booleans (free text and lists cannot become ranges)."""
    if not param.tunable or param.type == "list":
        return False
    return param.type in ("int", "float", "bool") or param.choices is not None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _default_span(param: Hyperparameter, static: Any) -> tuple[float, float]:
    """``(min, max)`` prefilled for a numeric hyperparameter (see the module docstring)."""
    is_int = param.type == "int"
    center = _number(static)
    if center is None:
        center = _number(param.default)
    if center is None:
        center = param.low if param.low is not None else 0.0
    factor = 2 if is_int else 10
    if param.high is not None:
        high = float(param.high)
    else:
        high = center * factor if center > 0 else 10.0
        if param.low is not None and high <= param.low:
            high = param.low + 10.0
    if param.low is not None:
        low = float(param.low)
    else:
        low = center / factor if center > 0 else center - 10.0
    step = 1.0 if is_int else (high - low) / 10
    if param.low is not None and param.low_open:
        low += step
    if param.high is not None and param.high_open:
        high -= step
    if is_int:
        return int(math.ceil(low)), int(math.floor(high))
    return round(low, 10), round(high, 10)


def _channels(inputs: Any) -> list[str]:
    return [str(c) for c in inputs] if isinstance(inputs, Mapping) else ["train"]


def _objective_metrics(
    algorithm: Algorithm, static: dict[str, Any], channels: list[str]
) -> list[str]:
    """Metric names to offer: the algorithm's, then extra ones the tuning objective adds."""
    hps = {**algorithm.hyperparameters.defaults(), **static}
    names = [d["Name"] for d in algorithm.metric_definitions(hps)]
    if algorithm.name == "xgboost":
        family = str(hps.get("objective", "reg:squarederror")).split(":")[0]
        for metric in _XGBOOST_METRICS.get(family, ()):
            for channel in channels:
                tuned = {**hps, "_tuning_objective_metric": f"{channel}:{metric}"}
                names += [d["Name"] for d in algorithm.metric_definitions(tuned)]
    order = ["validation", *(c for c in channels if c != "validation")]
    offered = [n for c in order if c in channels for n in names if n.split(":")[0] == c]
    return list(dict.fromkeys(offered or names))


def _direction(metric: str | None) -> str:
    """Maximize for scores (auc, accuracy, precision, ...), Minimize for losses and errors."""
    name = (metric or "").rsplit(":", 1)[-1].lower()
    return "Maximize" if any(word in name for word in _MAXIMIZED) else "Minimize"


def _seed(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationError("random_seed", text, "an integer or blank") from None


# -- trials ------------------------------------------------------------------------------
def _status_counts(trials: pd.DataFrame) -> dict[str, int]:
    column = trials.get("TrainingJobStatus", pd.Series(dtype=object))
    counts = column.value_counts()
    out = {s: int(counts.get(s, 0)) for s in ("Completed", "InProgress", "Failed", "Stopped")}
    out["InProgress"] += int(counts.get("Stopping", 0))
    return out


def _completed(trials: pd.DataFrame) -> pd.DataFrame:
    """Completed trials with an objective value, in completion order."""
    if "FinalObjectiveValue" not in trials or "TrainingJobStatus" not in trials:
        return pd.DataFrame(columns=["TrainingJobName", "FinalObjectiveValue"])
    values = pd.to_numeric(trials["FinalObjectiveValue"], errors="coerce")
    done = trials[(trials["TrainingJobStatus"] == "Completed") & values.notna()]
    if "TrainingEndTime" in done:
        done = done.sort_values("TrainingEndTime", kind="stable")
    return done


def _best(trials: pd.DataFrame, objective_type: str) -> tuple[str | None, float | None]:
    done = _completed(trials)
    if done.empty:
        return None, None
    values = pd.to_numeric(done["FinalObjectiveValue"])
    at = values.idxmax() if objective_type == "Maximize" else values.idxmin()
    return str(done.loc[at, "TrainingJobName"]), float(values[at])


def _newest_first(trials: pd.DataFrame) -> pd.DataFrame:
    if "TrainingStartTime" in trials:
        return trials.sort_values("TrainingStartTime", ascending=False, kind="stable")
    return trials.iloc[::-1]
