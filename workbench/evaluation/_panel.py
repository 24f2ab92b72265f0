"""``EvaluationPanel``: an ipywidgets front end over ``evaluate`` and ``ThresholdPicker``.

The panel reads widget values, makes one API call and renders the answer. Models are
predicted once, by :meth:`EvaluationPanel.evaluate`; the threshold slider and the cost
fields only re-judge the kept scores (``Evaluation.at_threshold``, ``ThresholdPicker.at``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from .._ui import figure_png, frame_html, run_action
from ..exceptions import ValidationError
from ._evaluate import Evaluation, evaluate
from ._metrics import BINARY, MULTICLASS, REGRESSION
from ._threshold import CostMatrix, ThresholdPicker

if TYPE_CHECKING:
    from ..core import Workspace

__all__ = ["EvaluationPanel", "EvaluationPanelState", "PLOTS"]

#: Plot name in the dropdown -> Evaluation method that draws it.
PLOTS = {
    "ROC": "plot_roc",
    "precision-recall": "plot_pr",
    "confusion matrix": "plot_confusion_matrix",
    "calibration": "plot_calibration",
    "feature importance": "plot_feature_importance",
    "residuals": "plot_residuals",
}
_PLOTS_BY_PROBLEM = {
    BINARY: ("ROC", "precision-recall", "confusion matrix", "calibration", "feature importance"),
    MULTICLASS: ("confusion matrix", "feature importance"),
    REGRESSION: ("residuals", "feature importance"),
}
_LABEL_STYLE = {"description_width": "150px"}
_COUNTS = ("tn", "fp", "fn", "tp")


@dataclass
class EvaluationPanelState:
    """What the panel shows, as plain Python (tests assert on this, not on widgets)."""

    available: list[str] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    job: str | None = None  # the evaluated job the plot and the threshold section show
    problem_type: str | None = None
    plot: str | None = None
    threshold: float = 0.5
    costs: dict[str, float] = field(default_factory=lambda: {"fn": 1.0, "fp": 1.0})
    cost: float | None = None
    confusion: dict[str, int] = field(default_factory=dict)
    precision: float | None = None
    recall: float | None = None
    best_threshold: float | None = None
    error: str | None = None


class EvaluationPanel:
    """A panel to evaluate Completed training jobs on a test set and pick a threshold.

    Example
    -------
    >>> panel = EvaluationPanel(test_df)                  # doctest: +SKIP
    >>> panel  # the last line of a cell shows it         # doctest: +SKIP
    >>> panel.evaluate_button.click()                     # doctest: +SKIP
    >>> panel.set_costs(fn=500, fp=5); panel.best_threshold()  # doctest: +SKIP
    0.07
    """

    def __init__(
        self,
        test_data: pd.DataFrame,
        *,
        jobs: Iterable[Any] | None = None,
        target: str | None = None,
        workspace: Workspace | str | None = None,
    ) -> None:
        if not isinstance(test_data, pd.DataFrame):
            raise ValidationError("test_data", type(test_data).__name__, "a pandas DataFrame")
        if isinstance(jobs, str):
            jobs = [jobs]
        self.test_data = test_data
        self.target = target
        self.workspace = workspace
        self.evaluations: dict[str, Evaluation] = {}
        self.comparison = pd.DataFrame()
        self.state = EvaluationPanelState()
        self._given = None if jobs is None else [getattr(j, "name", j) for j in jobs]

        self.job_list = widgets.SelectMultiple(
            description="training jobs", rows=6, style=_LABEL_STYLE
        )
        self.refresh_button = widgets.Button(description="Refresh list", icon="refresh")
        self.evaluate_button = widgets.Button(
            description="Evaluate", button_style="primary", icon="check"
        )
        self.status = widgets.HTML()
        self.table = widgets.HTML()
        self.shown_job = widgets.Dropdown(description="show job", style=_LABEL_STYLE)
        self.plot_kind = widgets.Dropdown(description="plot", style=_LABEL_STYLE)
        self.plot = widgets.Image(format="png")
        self.threshold = widgets.FloatSlider(
            value=0.5, min=0.0, max=1.0, step=0.01, description="threshold",
            continuous_update=False, style=_LABEL_STYLE,
        )  # fmt: skip
        self.fn_cost = widgets.FloatText(
            value=1.0, description="missed positive (fn)", style=_LABEL_STYLE
        )
        self.fp_cost = widgets.FloatText(
            value=1.0, description="false alarm (fp)", style=_LABEL_STYLE
        )
        self.best_button = widgets.Button(description="Best threshold", icon="bullseye")
        self.threshold_summary = widgets.HTML()
        self.threshold_box = widgets.VBox(
            [
                widgets.HTML("<b>Decision threshold</b>"),
                self.threshold,
                widgets.HBox([self.fn_cost, self.fp_cost, self.best_button]),
                self.threshold_summary,
            ],
            layout=widgets.Layout(display="none"),
        )

        self.refresh_button.layout.display = "none" if self._given is not None else None
        self.refresh_jobs()
        self.refresh_button.on_click(lambda _button: self.refresh_jobs())
        self.evaluate_button.on_click(lambda _button: self.evaluate())
        self.best_button.on_click(lambda _button: self.best_threshold())
        self.shown_job.observe(self._on_shown_job, names="value")
        self.plot_kind.observe(self._on_plot_kind, names="value")
        for widget in (self.threshold, self.fn_cost, self.fp_cost):
            widget.observe(self._on_threshold, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.job_list, widgets.VBox([self.refresh_button])]),
                self.evaluate_button,
                self.status,
                self.table,
                widgets.HBox([self.shown_job, self.plot_kind]),
                self.plot,
                self.threshold_box,
            ]
        )

    def __repr__(self) -> str:
        return f"EvaluationPanel(evaluated={self.state.evaluated!r})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- actions -------------------------------------------------------------------------
    def refresh_jobs(self) -> list[str]:
        """List the Completed training jobs (or the given ones) in the job selector."""
        names = run_action(self._job_names, status=self.status, on_error=self._error)
        if names is None:
            return self.state.available
        self.job_list.options = names
        self.state.available = [name for _label, name in names]
        if self._given is not None:
            self.job_list.value = tuple(self.state.available)
        elif self.state.available and not self.job_list.value:
            self.job_list.value = (self.state.available[0],)  # the newest
        return self.state.available

    def evaluate(self) -> dict[str, Evaluation]:
        """Evaluate every selected job on the test data (recorded); {} if that fails."""
        self.state.error = None
        found = run_action(
            self._evaluate_selected,
            button=self.evaluate_button,
            status=self.status,
            on_error=self._error,
        )
        if found is None:
            return {}
        self.evaluations, self.state.evaluated = found, list(found)
        self.comparison = _comparison(found)
        self.table.value = frame_html(self.comparison)
        self.status.value = (
            f"Evaluated {len(found)} job(s) on {len(self.test_data):,} rows"
            " (the table's binary metrics at threshold 0.5)."
        )
        previous = self.shown_job.value
        with _muted(self.shown_job, self._on_shown_job):
            self.shown_job.options = list(found)
            self.shown_job.value = previous if previous in found else next(iter(found))
        self._show_job()
        return found

    def set_threshold(self, threshold: float) -> EvaluationPanelState:
        """Move the slider to ``threshold`` and re-judge the shown job (nothing re-predicted)."""
        run_action(lambda: self._set_threshold(threshold), status=self.status, on_error=self._error)
        return self.state

    def set_costs(self, fn: float, fp: float) -> EvaluationPanelState:
        """Set the cost of a missed positive (``fn``) and of a false alarm (``fp``)."""
        with _muted(self.fn_cost, self._on_threshold), _muted(self.fp_cost, self._on_threshold):
            self.fn_cost.value, self.fp_cost.value = fn, fp
        self._on_threshold()
        return self.state

    def best_threshold(self) -> float | None:
        """Set the slider to the cheapest threshold for the costs; None if there is none."""
        found = run_action(
            lambda: ThresholdPicker(self._evaluation(binary=True), self._costs()).best(),
            button=self.best_button,
            status=self.status,
            on_error=self._error,
        )
        if found is None:
            return None
        self.state.best_threshold = found[0]
        self.set_threshold(found[0])
        return found[0]

    def _job_names(self) -> list[tuple[str, str]]:
        if self._given is not None:
            return [(name, name) for name in self._given]
        from ..training import list_training_jobs

        table = list_training_jobs(self.workspace, status="Completed")
        return [(f"{n} ({a})", n) for n, a in zip(table["name"], table["algorithm"])]

    def _evaluate_selected(self) -> dict[str, Evaluation]:
        names = list(self.job_list.value)
        if not names:
            raise ValidationError("training jobs", [], "at least one selected job")
        return {
            name: evaluate(
                name, self.test_data, target=self.target, record=True, workspace=self.workspace
            )
            for name in names
        }

    def _set_threshold(self, threshold: float) -> None:
        # Checked here: the slider would clamp an out-of-range value silently.
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not 0.0 <= threshold <= 1.0
        ):
            raise ValidationError("threshold", threshold, "a number between 0 and 1")
        with _muted(self.threshold, self._on_threshold):
            self.threshold.value = float(threshold)
        self.state.threshold = float(threshold)
        self._on_threshold()

    # -- callbacks -----------------------------------------------------------------------
    def _on_shown_job(self, _change: dict[str, Any] | None = None) -> None:
        self._show_job()

    def _on_plot_kind(self, _change: dict[str, Any] | None = None) -> None:
        run_action(self._render_plot, status=self.status, on_error=self._error)

    def _on_threshold(self, _change: dict[str, Any] | None = None) -> None:
        self.state.error = None
        run_action(self._judge, status=self.threshold_summary, on_error=self._error)
        if self.plot_kind.value == "confusion matrix":  # drawn at the slider's threshold
            self._on_plot_kind()

    def _error(self, _exc: BaseException, message: str) -> None:
        self.state.error = message

    # -- rendering -----------------------------------------------------------------------
    def _show_job(self) -> None:
        name = self.shown_job.value
        ev = self.evaluations.get(name) if name is not None else None
        self.state.job = name
        self.state.problem_type = None if ev is None else ev.problem_type
        binary = ev is not None and ev.problem_type == BINARY
        self.threshold_box.layout.display = None if binary else "none"
        options = () if ev is None else _PLOTS_BY_PROBLEM[ev.problem_type]
        previous = self.plot_kind.value
        with _muted(self.plot_kind, self._on_plot_kind):
            self.plot_kind.options = options
            self.plot_kind.value = previous if previous in options else next(iter(options), None)
        if binary:
            self.state.error = None
            run_action(self._judge, status=self.threshold_summary, on_error=self._error)
        self._on_plot_kind()

    def _judge(self) -> None:
        """The shown binary job at the slider's threshold: counts, precision, recall, cost."""
        ev = self.evaluations.get(self.state.job or "")
        if ev is None or ev.problem_type != BINARY:
            return
        t = float(self.threshold.value)
        costs = self._costs()
        at = ev.at_threshold(t)
        row = ThresholdPicker(ev, costs).at(t)
        state = self.state
        state.threshold, state.costs = t, {"fn": costs.fn, "fp": costs.fp}
        state.confusion = {k: int(at.metrics[k]) for k in _COUNTS}
        state.precision, state.recall = float(at.metrics["precision"]), float(at.metrics["recall"])
        state.cost = float(row["cost"])
        self.threshold_summary.value = _threshold_html(at, row)

    def _render_plot(self) -> None:
        kind = self.plot_kind.value
        self.state.plot = kind
        if kind is None:
            self.plot.value = b""
            return
        ev = self._evaluation()
        if kind == "confusion matrix" and ev.problem_type == BINARY:
            ev = ev.at_threshold(float(self.threshold.value))  # the slider's decisions
        self.plot.value = figure_png(getattr(ev, PLOTS[kind])())

    def _evaluation(self, binary: bool = False) -> Evaluation:
        ev = self.evaluations.get(self.state.job or "")
        if ev is None:
            raise ValidationError("job", self.state.job, "an evaluated job", hint="Evaluate first.")
        if binary and ev.problem_type != BINARY:
            raise ValidationError(
                "job", ev.model_name, "a binary classifier", hint="Thresholds apply to them only."
            )
        return ev

    def _costs(self) -> CostMatrix:
        return CostMatrix(fn=self.fn_cost.value, fp=self.fp_cost.value)


@contextmanager
def _muted(widget: widgets.Widget, handler: Callable[..., Any]) -> Iterator[None]:
    """Change ``widget`` without running ``handler`` (the caller renders once afterwards)."""
    widget.unobserve(handler, names="value")
    try:
        yield
    finally:
        widget.observe(handler, names="value")


def _comparison(evaluations: dict[str, Evaluation]) -> pd.DataFrame:
    """One row per job: algorithm, problem type and metrics (like ``compare``)."""
    rows = {
        name: {"algorithm": ev.algorithm, "problem_type": ev.problem_type, **ev.metrics}
        for name, ev in evaluations.items()
    }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "job"
    return frame


def _threshold_html(at: Evaluation, row: dict[str, Any]) -> str:
    m = at.metrics
    matrix = (
        "<table><tr><th></th><th>predicted 0</th><th>predicted 1</th></tr>"
        f"<tr><th>actual 0</th><td>{m['tn']:,}</td><td>{m['fp']:,} false alarms</td></tr>"
        f"<tr><th>actual 1</th><td>{m['fn']:,} missed</td><td>{m['tp']:,}</td></tr></table>"
    )
    line = (
        f"threshold {at.threshold:.2f} &middot; precision {m['precision']:.3f} &middot; "
        f"recall {m['recall']:.3f} &middot; <b>total cost {row['cost']:,.6g}</b> "
        f"({row['cost_per_row']:.4g} per row)"
    )
    return f"{line}{matrix}"
