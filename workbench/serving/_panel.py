"""``DeployPanel``: an ipywidgets front end over endpoints (deploy, invoke, traffic, monitor).

The panel only reads widget values, makes one API call per button and renders the answer;
the rules (names, variants, weights, capture, blue/green updates) live in the serving API.
A daemon thread polls the endpoint through :meth:`DeployPanel.refresh` (which tests call
directly) until the panel is closed or the endpoint is deleted or Failed.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from .._ui import describe_error, error_html, figure_png, frame_html, run_action
from ..core import get_workspace
from ..exceptions import ResourceNotFound, ValidationError
from ._capture import DataCaptureConfig
from ._deploy import deploy
from ._deserializers import StringDeserializer
from ._endpoint import (
    ServerlessInferenceConfig,
    delete_endpoint,
    describe_endpoint,
    production_variant,
    update_endpoint,
    update_endpoint_weights_and_capacities,
)
from ._predictor import Predictor
from ._serializers import IdentitySerializer

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..core import Workspace

__all__ = ["CONTENT_TYPES", "DELETED", "DeployPanel", "DeployPanelState", "endpoint_chart_png"]

CONTENT_TYPES = ("text/csv", "application/json", "application/jsonlines")
DELETED = "Deleted"
NOT_DEPLOYED = "NotDeployed"
_FINAL = (DELETED, "Failed")  # the poller stops: nothing more will change
_SERVING = ("InService", "Updating")
_CHART_INTERVAL_S = 2.0  # a PNG per poll would dominate a busy endpoint's panel
_CHART_WINDOW_S = 120
_MAX_POLL_ERRORS = 20
_MAX_RESPONSE_CHARS = 4000
_LABEL_STYLE = {"description_width": "110px"}


@dataclass
class DeployPanelState:
    """What the panel shows, as plain Python (tests assert on this, not on widgets).

    ``variants`` maps each variant name to ``model``, ``weight``, ``workers``,
    ``invocations``, ``p50_ms``, ``p99_ms`` and ``errors``; ``violations`` is the number of
    violations of the last monitor run (None before one, or when it found no data).
    """

    endpoint: str | None = None
    status: str = NOT_DEPLOYED
    url: str | None = None
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    failure_reason: str | None = None
    capture: bool = False
    cold_starts: int = 0
    last_cold_start_ms: float | None = None
    last_response: str | None = None
    last_variant: str | None = None
    last_latency_ms: float | None = None
    n_chart_points: int = 0
    error: str | None = None
    violations: int | None = None


class DeployPanel:
    """A panel to deploy a model, test it, watch it, split traffic, monitor it and delete it.

    ``endpoint_name`` attaches the panel to that endpoint when it exists (else it names the
    endpoint to deploy). ``baseline`` enables "Run monitor now" on endpoints with data
    capture: a folder holding ``statistics.json`` and ``constraints.json``, or a DataFrame
    to suggest them from (columns the endpoint does not take, such as the target, are left
    out). Data capture samples 100% of requests by default (a notebook sends few).

    Example
    -------
    >>> panel = DeployPanel(job.name)                      # doctest: +SKIP
    >>> panel  # the last line of a cell shows it           # doctest: +SKIP
    >>> panel.deploy_button.click()                         # doctest: +SKIP
    >>> panel.invoke_button.click(); panel.state.last_response  # doctest: +SKIP
    '0.0312\\n'
    >>> panel.confirm_delete.value = True; panel.delete_button.click()  # doctest: +SKIP
    """

    def __init__(
        self,
        model_name: str | None = None,
        endpoint_name: str | None = None,
        *,
        baseline: str | PathLike[str] | pd.DataFrame | None = None,
        workspace: Workspace | str | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        if not isinstance(poll_interval, (int, float)) or not poll_interval > 0:
            raise ValidationError("poll_interval", poll_interval, "a positive number of seconds")
        self.ws = get_workspace(workspace)
        self.baseline = _check_baseline(baseline)
        self.poll_interval = float(poll_interval)
        self.endpoint: str | None = None
        self.state = DeployPanelState()
        self._lock = threading.RLock()  # refresh() runs on the poller and on the caller
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._generation = 0  # bumped on attach/delete: an older poller stops
        self._busy = 0  # an action holds its button: the poller leaves the buttons alone
        self._predictor: Predictor | None = None
        self._baselines: dict[tuple[str, ...], tuple[Any, Any]] = {}
        self._chart_key: Any = None
        self._chart_time = 0.0
        self._weights_key: Any = None
        self._example = ""
        self._status_error: str | None = None
        self._syncing = False
        models = self._model_names()
        if model_name is not None and model_name not in models:
            known = ", ".join(models[:10]) or "none"
            raise ValidationError("model_name", model_name, f"a model of the workspace: {known}")
        self._build_widgets(model_name or (models[0] if models else None))
        if endpoint_name is not None and self.ws.catalog.exists("endpoint", endpoint_name):
            self.attach(endpoint_name)
        elif endpoint_name is not None:
            self.endpoint_name.value = endpoint_name

    # -- widgets -------------------------------------------------------------------------
    def _build_widgets(self, model: str | None) -> None:
        models = self._model_names()
        self.model = widgets.Dropdown(
            description="model", options=models, value=model, style=_LABEL_STYLE
        )
        self.endpoint_name = widgets.Text(
            description="endpoint name", value=_endpoint_name_for(model), style=_LABEL_STYLE
        )
        self.instance_count = widgets.BoundedIntText(
            value=1, min=1, max=64, description="instances", style=_LABEL_STYLE
        )
        self.capture = widgets.Checkbox(value=False, description="data capture", indent=False)
        self.sampling = widgets.BoundedIntText(
            value=100, min=0, max=100, description="sampling %", style=_LABEL_STYLE
        )
        self.serverless = widgets.Checkbox(value=False, description="serverless", indent=False)
        self.deploy_button = widgets.Button(
            description="Deploy", button_style="primary", icon="rocket"
        )
        self.existing = widgets.Dropdown(
            description="or attach to", options=self._endpoint_options(), style=_LABEL_STYLE
        )
        self.reload_button = widgets.Button(icon="refresh", tooltip="reload models and endpoints")
        self.reload_button.layout.width = "40px"
        self.status = widgets.HTML()
        self.variants_table = widgets.HTML()
        self.chart = widgets.Image(format="png", value=endpoint_chart_png([]))

        self.request = widgets.Textarea(
            rows=4, description="request", layout=widgets.Layout(width="95%"), style=_LABEL_STYLE
        )
        self.content_type = widgets.Dropdown(
            description="content type", options=CONTENT_TYPES, style=_LABEL_STYLE
        )
        self.accept = widgets.Dropdown(
            description="accept", options=CONTENT_TYPES, style=_LABEL_STYLE
        )
        self.invoke_button = widgets.Button(description="Invoke", icon="paper-plane")
        self.response = widgets.HTML()

        self.weights_box = widgets.VBox()
        self.weight_sliders: dict[str, widgets.FloatSlider] = {}
        self.apply_weights_button = widgets.Button(
            description="Apply weights", icon="balance-scale"
        )
        self.new_model = widgets.Dropdown(
            description="new variant", options=models, value=model, style=_LABEL_STYLE
        )
        self.new_variant_name = widgets.Text(value="Variant2", description="name")
        self.new_weight = widgets.BoundedFloatText(
            value=1.0, min=0.0, max=1e6, description="weight"
        )
        self.add_variant_button = widgets.Button(
            description="Add variant (blue/green)", icon="plus"
        )
        self.add_variant_button.layout.width = "190px"

        self.monitor_button = widgets.Button(description="Run monitor now", icon="search")
        self.violations = widgets.HTML()
        self.confirm_delete = widgets.ToggleButton(
            value=False, description="confirm", icon="check", tooltip="arm the Delete button"
        )
        self.delete_button = widgets.Button(
            description="Delete", button_style="danger", icon="trash"
        )

        self._wire()
        self._prefill_request()
        self._sync_controls()
        self.widget = self._layout()

    def _wire(self) -> None:
        self.model.observe(self._on_model, names="value")
        self.content_type.observe(self._on_content_type, names="value")
        self.existing.observe(self._on_existing, names="value")
        self.confirm_delete.observe(lambda _change: self._sync_controls(), names="value")
        self.deploy_button.on_click(lambda _button: self.deploy())
        self.reload_button.on_click(lambda _button: self.reload())
        self.invoke_button.on_click(lambda _button: self.invoke())
        self.apply_weights_button.on_click(lambda _button: self.apply_weights())
        self.add_variant_button.on_click(lambda _button: self.add_variant())
        self.monitor_button.on_click(lambda _button: self.run_monitor())
        self.delete_button.on_click(lambda _button: self.delete())

    def _layout(self) -> widgets.VBox:
        def heading(text: str) -> widgets.HTML:
            return widgets.HTML(f"<b>{text}</b>")

        return widgets.VBox(
            [
                heading("Deploy"),
                widgets.HBox([self.model, self.endpoint_name]),
                widgets.HBox([self.instance_count, self.capture, self.sampling, self.serverless]),
                widgets.HBox([self.deploy_button, self.existing, self.reload_button]),
                self.status,
                self.variants_table,
                self.chart,
                heading("Test invocation"),
                self.request,
                widgets.HBox([self.content_type, self.accept, self.invoke_button]),
                self.response,
                heading("Traffic"),
                self.weights_box,
                self.apply_weights_button,
                widgets.HBox(
                    [
                        self.new_model,
                        self.new_variant_name,
                        self.new_weight,
                        self.add_variant_button,
                    ]
                ),
                heading("Capture &amp; monitor"),
                self.monitor_button,
                self.violations,
                heading("Delete"),
                widgets.HBox([self.confirm_delete, self.delete_button]),
            ]
        )

    def __repr__(self) -> str:
        return f"DeployPanel(endpoint={self.state.endpoint!r}, status={self.state.status!r})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    @property
    def polling(self) -> bool:
        """Whether the background poller is running."""
        return self._thread is not None and self._thread.is_alive()

    # -- actions -------------------------------------------------------------------------
    def deploy(self) -> str | None:
        """Deploy the chosen model from the form; the endpoint's name, or None on error."""
        name = self._act(self._deploy, self.deploy_button)
        if name is not None:
            self._act(lambda: self.attach(name), None)
        return name

    def attach(self, endpoint_name: str) -> DeployPanelState:
        """Show (and poll) an existing endpoint; raises ResourceNotFound for an unknown name."""
        described = describe_endpoint(endpoint_name, workspace=self.ws)
        with self._lock:
            self._close_predictor()
            self._generation += 1
            self.endpoint, self.state = endpoint_name, DeployPanelState(endpoint=endpoint_name)
            self._chart_key = self._weights_key = self._status_error = None
            self.chart.value = endpoint_chart_png([])
            self.response.value = self.violations.value = ""
            self._select_existing(endpoint_name)
            model = described["ProductionVariants"][0]["ModelName"]
            if model in self.model.options:
                self.new_model.value = model
        self.refresh()
        self._prefill_request()
        self._start_polling()
        return self.state

    def reload(self) -> None:
        """Re-read the lists of models and endpoints (e.g. after training a new model)."""
        models = self._model_names()
        for dropdown in (self.model, self.new_model):
            value = dropdown.value
            dropdown.options = models
            dropdown.value = value if value in models else (models[0] if models else None)
        self._select_existing(self.endpoint if self.state.status != DELETED else None)

    def invoke(self) -> str | None:
        """Send the request text to the endpoint; the answer, or None (error shown in red)."""
        self.state.error = None
        return self._act(
            self._invoke, self.invoke_button, status=self.response, on_error=self._invoke_error
        )

    def apply_weights(self) -> None:
        """Send the sliders' weights (``update_endpoint_weights_and_capacities``)."""
        desired = [
            {"VariantName": name, "DesiredWeight": float(slider.value)}
            for name, slider in self.weight_sliders.items()
        ]
        self._endpoint_action(
            lambda name: update_endpoint_weights_and_capacities(name, desired, workspace=self.ws),
            self.apply_weights_button,
        )

    def add_variant(self) -> None:
        """Blue/green update to the current variants plus the one in the add-variant row."""
        self._endpoint_action(self._add_variant, self.add_variant_button)

    def run_monitor(self) -> int | None:
        """Run Model Monitor once on the captured data; the number of violations."""
        self.state.error = None
        execution = self._act(self._run_monitor, self.monitor_button)
        if execution is not None:
            self._show_execution(execution)
        return self.state.violations

    def delete(self) -> None:
        """Delete the endpoint (needs ``confirm_delete``); the panel then shows Deleted."""
        if not self.confirm_delete.value:
            self._error(None, "Tick 'confirm' before deleting the endpoint.")
            return
        if self._endpoint_action(self._delete, self.delete_button):
            self._mark_deleted()

    def refresh(self) -> DeployPanelState:
        """Read the endpoint's status, variants and metrics into ``state`` and the widgets."""
        with self._lock:
            name, state = self.endpoint, self.state
            if name is None or state.status == DELETED:
                return state
            try:
                described = describe_endpoint(name, workspace=self.ws)
            except ResourceNotFound:  # deleted elsewhere (another panel, the CLI)
                self._mark_deleted()
                return state
            _read_description(state, described)
            self._sync_weights(described["ProductionVariants"])
            self._render_chart(name)
            self._render_status()
            self._sync_controls()
            return state

    def close(self) -> None:
        """Stop the poller, close the connection and the widgets (the endpoint keeps running)."""
        self._closed.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.poll_interval + 10)
        self._close_predictor()
        self.widget.close()

    # -- action bodies -------------------------------------------------------------------
    def _deploy(self) -> str:
        if self.model.value is None:
            raise ValidationError(
                "model", None, "a model of the workspace", hint="Train one first."
            )
        name = self.endpoint_name.value.strip()
        capture = serverless = None
        if self.capture.value:
            capture = DataCaptureConfig(sampling_percentage=int(self.sampling.value))
        if self.serverless.value:
            serverless = ServerlessInferenceConfig()
        predictor = deploy(
            self.model.value,
            initial_instance_count=int(self.instance_count.value),
            endpoint_name=name or None,
            data_capture_config=capture,
            serverless_inference_config=serverless,
            workspace=self.ws,
        )
        predictor.close()
        return str(predictor.endpoint_name)

    def _invoke(self) -> str:
        if self.endpoint is None or self.state.status not in _SERVING:
            raise ValidationError("endpoint", self.endpoint, "an InService endpoint")
        if self._predictor is None or self._predictor.endpoint_name != self.endpoint:
            self._close_predictor()
            self._predictor = Predictor(self.endpoint, workspace=self.ws)
        predictor = self._predictor
        predictor.serializer = IdentitySerializer(self.content_type.value)
        predictor.deserializer = StringDeserializer(accept=self.accept.value)
        started = time.perf_counter()
        answer = predictor.predict(self.request.value)
        latency = (time.perf_counter() - started) * 1000
        state = self.state
        state.last_response, state.last_variant = answer, predictor.last_invoked_variant
        state.last_latency_ms, state.error = latency, None
        self.response.value = _response_html(answer, state.last_variant, latency)
        return answer

    def _add_variant(self, name: str) -> Any:
        current = [
            production_variant(
                v["ModelName"],
                initial_instance_count=v["DesiredInstanceCount"],
                variant_name=v["VariantName"],
                initial_weight=v["DesiredWeight"],
            )
            for v in describe_endpoint(name, workspace=self.ws)["ProductionVariants"]
        ]
        new = production_variant(
            self.new_model.value,
            initial_instance_count=int(self.instance_count.value),
            variant_name=self.new_variant_name.value.strip(),
            initial_weight=float(self.new_weight.value),
        )
        return update_endpoint(name, [*current, new], workspace=self.ws)

    def _run_monitor(self) -> Any:
        from ..monitoring import DefaultModelMonitor

        if self.endpoint is None or not self.state.capture or self.baseline is None:
            raise ValidationError(
                "endpoint", self.endpoint, "an endpoint with data capture, and a baseline"
            )
        statistics, constraints = self._baseline()
        monitor = DefaultModelMonitor(workspace=self.ws).create_monitoring_schedule(
            self.endpoint,
            statistics=statistics,
            constraints=constraints,
            schedule_cron_expression="NOW",
        )
        return monitor.list_executions()[-1]

    def _delete(self, name: str) -> bool:
        self._close_predictor()
        delete_endpoint(name, workspace=self.ws)
        return True

    # -- helpers -------------------------------------------------------------------------
    def _act(
        self,
        fn: Callable[[], Any],
        button: widgets.Button | None,
        *,
        status: widgets.HTML | None = None,
        on_error: Callable[[BaseException, str], None] | None = None,
    ) -> Any:
        """``run_action``; the poller leaves the buttons alone while one is held."""
        held = int(button is not None)
        self._busy += held
        try:
            return run_action(
                fn, button=button, status=status or self.status, on_error=on_error or self._error
            )
        finally:
            self._busy -= held
            if held:
                self._sync_controls()  # run_action re-enabled the button whatever the status

    def _endpoint_action(self, fn: Callable[[str], Any], button: widgets.Button) -> Any:
        """One API call on the attached endpoint, then a refresh."""
        name = self.endpoint
        if name is None:
            return None
        self.state.error = self._status_error = None
        result = self._act(lambda: fn(name), button)
        self._act(self.refresh, None)
        return result

    def _start_polling(self) -> None:
        generation = self._generation
        self._thread = threading.Thread(
            target=self._poll, args=(generation,), name=f"poll-{self.endpoint}", daemon=True
        )
        self._thread.start()

    def _poll(self, generation: int) -> None:
        """Refresh every ``poll_interval`` s until closed, re-attached, deleted or Failed."""
        failures = 0
        while not self._closed.wait(self.poll_interval) and generation == self._generation:
            try:
                status = self.refresh().status
                if failures:  # recovered: drop the stale polling error
                    failures, self.state.error, self._status_error = 0, None, None
            except Exception as exc:
                failures += 1
                self._error(exc, describe_error(exc))
                if failures >= _MAX_POLL_ERRORS:
                    return
                continue
            if status in _FINAL:
                return

    def _mark_deleted(self) -> None:
        with self._lock:
            self._generation += 1
            self._close_predictor()
            self.state.status, self.state.url = DELETED, None
            self.confirm_delete.value = False
            self._render_status()
            self._sync_controls()
            self._select_existing(None)

    def _close_predictor(self) -> None:
        if self._predictor is not None:
            self._predictor.close()
            self._predictor = None

    def _baseline(self) -> tuple[Any, Any]:
        """(statistics, constraints); a DataFrame is baselined once per set of input columns."""
        if not isinstance(self.baseline, pd.DataFrame):
            return str(self.baseline), str(self.baseline)
        exclude = tuple(self._not_inputs(self.baseline))
        if exclude not in self._baselines:
            from ..monitoring import DefaultModelMonitor

            monitor = DefaultModelMonitor(workspace=self.ws).suggest_baseline(
                self.baseline, exclude=list(exclude)
            )
            self._baselines[exclude] = (
                monitor.baseline_statistics(),
                monitor.suggested_constraints(),
            )
        return self._baselines[exclude]

    def _not_inputs(self, frame: pd.DataFrame) -> list[str]:
        """Columns of ``frame`` the endpoint does not take (e.g. the target)."""
        columns = self._input_columns()
        if columns:
            return [c for c in frame.columns if c not in columns]
        target = self._model_parameters(self._current_model()).get("target")
        return [target] if target in frame.columns else []

    def _current_model(self) -> str | None:
        """The attached endpoint's first model, else the model chosen in the form."""
        if self.endpoint is not None and self.state.status != DELETED:
            for variant in self.state.variants.values():
                return str(variant["model"])
        return self.model.value

    def _input_columns(self) -> list[str] | None:
        """The endpoint's raw input columns, else the chosen model's feature names."""
        if self.endpoint is not None and self.state.status != DELETED:
            try:
                record = self.ws.catalog.get("endpoint", self.endpoint)
            except ResourceNotFound:
                record = {"parameters": {}}
            columns = record["parameters"].get("input_columns")
            if columns:
                return list(columns)
        return self._model_parameters(self._current_model()).get("feature_names") or None

    def _model_parameters(self, model: str | None) -> dict[str, Any]:
        if model is None or not self.ws.catalog.exists("model", model):
            return {}
        return dict(self.ws.catalog.get("model", model)["parameters"])

    def _model_names(self) -> list[str]:
        return [r["name"] for r in self.ws.catalog.list("model")]  # newest first

    def _endpoint_options(self) -> list[tuple[str, str | None]]:
        return [("", None), *((r["name"], r["name"]) for r in self.ws.catalog.list("endpoint"))]

    def _select_existing(self, name: str | None) -> None:
        """Update the existing-endpoints dropdown without attaching again."""
        self._syncing = True
        try:
            options = self._endpoint_options()
            self.existing.options = options
            self.existing.value = name if name in {v for _, v in options} else None
        finally:
            self._syncing = False

    def _prefill_request(self) -> None:
        """One example row of the right width, unless the user has typed a request."""
        if self.request.value.strip() not in ("", self._example.strip()):
            return
        columns = self._input_columns()
        self._example = _example_request(self.content_type.value, columns)
        self.request.value = self._example
        self.request.placeholder = ",".join(columns) if columns else "one row per line"

    # -- callbacks -----------------------------------------------------------------------
    def _on_model(self, change: dict[str, Any]) -> None:
        if self.endpoint_name.value in ("", _endpoint_name_for(change["old"])):
            self.endpoint_name.value = _endpoint_name_for(change["new"])
        if self.endpoint is None or self.state.status == DELETED:
            self._act(self._prefill_request, None)

    def _on_content_type(self, change: dict[str, Any]) -> None:
        self.accept.value = change["new"]
        self._act(self._prefill_request, None)

    def _on_existing(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"] is not None:
            self.state.error = self._status_error = None
            self._act(lambda: self.attach(change["new"]), None)

    def _error(self, _exc: BaseException | None, message: str) -> None:
        self.state.error = self._status_error = message
        self._render_status()

    def _invoke_error(self, _exc: BaseException, message: str) -> None:
        state = self.state
        state.error, state.last_response, state.last_variant = message, None, None
        state.last_latency_ms = None
        self.response.value = error_html(message)

    # -- rendering -----------------------------------------------------------------------
    def _sync_weights(self, variants: list[dict[str, Any]]) -> None:
        """One slider per variant, reset only when the endpoint's variants or weights change."""
        key = tuple((v["VariantName"], float(v["DesiredWeight"])) for v in variants)
        if key == self._weights_key:
            return
        self._weights_key = key
        top = max([1.0, *(weight for _, weight in key)])
        self.weight_sliders = {
            name: widgets.FloatSlider(
                value=weight, min=0.0, max=top, step=0.05, description=name, style=_LABEL_STYLE
            )
            for name, weight in key
        }
        self.weights_box.children = tuple(self.weight_sliders.values())
        names = {name for name, _ in key}
        self.new_variant_name.value = next(
            f"Variant{i}" for i in range(len(names) + 1, 100) if f"Variant{i}" not in names
        )

    def _render_chart(self, name: str) -> None:
        key = tuple((n, v["invocations"]) for n, v in self.state.variants.items())
        if key == self._chart_key or time.monotonic() - self._chart_time < _CHART_INTERVAL_S:
            return
        rows = self.ws.catalog.metric_values("endpoint", name)
        self.chart.value = endpoint_chart_png(rows)
        self.state.n_chart_points = _points_in_window(rows)
        self._chart_key, self._chart_time = key, time.monotonic()

    def _render_status(self) -> None:
        self.status.value = _status_html(self.state, self._status_error)
        live = self.state.status != DELETED
        self.variants_table.value = _variants_html(self.state.variants) if live else ""

    def _sync_controls(self) -> None:
        if self._busy:
            return
        status, attached = self.state.status, self.endpoint is not None
        serving, in_service = attached and status in _SERVING, attached and status == "InService"
        self.invoke_button.disabled = not serving
        self.apply_weights_button.disabled = not in_service or not self.weight_sliders
        for slider in self.weight_sliders.values():
            slider.disabled = not in_service
        self.add_variant_button.disabled = not in_service
        self.monitor_button.disabled = not (
            serving and self.state.capture and self.baseline is not None
        )
        self.confirm_delete.disabled = not attached or status == DELETED
        self.delete_button.disabled = self.confirm_delete.disabled or not self.confirm_delete.value

    def _show_execution(self, execution: Any) -> None:
        if execution.status == "Failed":
            self.state.violations = None
            reason = execution.failure_reason or "no reason recorded"
            self.violations.value = error_html(f"Monitoring execution failed: {reason}")
            return
        found = (execution.constraint_violations() or {}).get("violations", [])
        self.state.violations = len(found)
        header = (
            f"<b>{html.escape(execution.status)}</b> &middot; execution"
            f" <code>{html.escape(execution.name)}</code> &middot; {len(found)} violation(s)"
        )
        table = frame_html(pd.DataFrame(found), index=False) if found else ""
        self.violations.value = header + table


# -- pure helpers ----------------------------------------------------------------------------
def endpoint_chart_png(rows: list[dict[str, Any]], window_s: float = _CHART_WINDOW_S) -> bytes:
    """PNG of invocations per second (top) and p50 latency (bottom) per variant.

    ``rows`` are the catalogue's metric values of an endpoint (metric, step, value, with
    metrics ``<Variant>:Invocations`` and ``<Variant>:LatencyP50Ms`` per second); the last
    ``window_s`` seconds are drawn, seconds without calls as 0 invocations.

    Example
    -------
    >>> rows = [{"metric": "A:Invocations", "step": 100, "value": 3.0},
    ...         {"metric": "A:LatencyP50Ms", "step": 100, "value": 1.2}]
    >>> endpoint_chart_png(rows)[:4]
    b'\\x89PNG'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    FigureCanvasAgg(fig)  # never pyplot: no global state, no GUI backend
    frame = _window(rows, window_s)
    if frame.empty:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "No invocations yet", ha="center", va="center", color="grey")
        ax.set_axis_off()
        return figure_png(fig)
    calls, latency = fig.subplots(2, 1, sharex=True)
    end = int(frame["step"].max())
    for variant, group in frame.groupby("variant", sort=True):
        counts = group[group["series"] == "Invocations"].groupby("step")["value"].sum()
        if not counts.empty:
            counts = counts.reindex(range(int(counts.index.min()), end + 1), fill_value=0.0)
            calls.plot(counts.index, counts.to_numpy(), label=str(variant))
        p50 = group[group["series"] == "LatencyP50Ms"].groupby("step")["value"].last()
        latency.plot(p50.index, p50.to_numpy(), marker=".", label=str(variant))
    calls.set_ylabel("calls / s")
    latency.set_ylabel("p50 ms")
    for ax in (calls, latency):
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    latency.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    latency.xaxis.set_major_formatter(FuncFormatter(_clock))
    calls.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    return figure_png(fig)


def _window(rows: list[dict[str, Any]], window_s: float) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["metric", "step", "value"])
    frame = frame[frame["metric"].str.contains(":", regex=False)]
    if frame.empty:
        return frame.assign(variant=[], series=[])
    frame = frame[frame["step"] > frame["step"].max() - window_s]
    parts = frame["metric"].str.rsplit(":", n=1, expand=True)
    return frame.assign(variant=parts[0], series=parts[1])


def _points_in_window(rows: list[dict[str, Any]]) -> int:
    return len(_window(rows, _CHART_WINDOW_S))


def _clock(step: float, _position: Any = None) -> str:
    """A unix second as local wall-clock time, as the user reads it."""
    return datetime.fromtimestamp(int(step)).strftime("%H:%M:%S")


def _read_description(state: DeployPanelState, described: dict[str, Any]) -> None:
    stats = described.get("Stats") or {}
    live = stats.get("variants") or {}
    state.status, state.url = str(described["EndpointStatus"]), described.get("Url")
    state.capture = bool(described.get("DataCaptureConfig"))
    state.failure_reason = described.get("FailureReason")
    state.cold_starts = int(stats.get("cold_starts") or 0)
    state.last_cold_start_ms = stats.get("last_cold_start_ms")
    state.variants = {
        v["VariantName"]: _variant_state(v, live.get(v["VariantName"]) or {})
        for v in described["ProductionVariants"]
    }


def _variant_state(variant: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": variant["ModelName"],
        "weight": float(variant["CurrentWeight"]),
        "workers": int(variant["CurrentInstanceCount"]),
        "invocations": int(live.get("invocations") or 0),
        "p50_ms": live.get("latency_p50_ms"),
        "p99_ms": live.get("latency_p99_ms"),
        "errors": int(live.get("errors_4xx") or 0) + int(live.get("errors_5xx") or 0),
    }


def _status_html(state: DeployPanelState, error: str | None) -> str:
    lines = []
    if state.endpoint:
        line = (
            f"<b>{html.escape(state.status)}</b> &middot; endpoint"
            f" <code>{html.escape(state.endpoint)}</code>"
        )
        if state.url and state.status != DELETED:
            url = html.escape(state.url)
            line += f' &middot; <a href="{url}" target="_blank">{url}</a>'
        if state.status != DELETED:
            workers = ", ".join(f"{n} {v['workers']}" for n, v in state.variants.items())
            line += f" &middot; workers: {html.escape(workers)}"
            line += f" &middot; cold starts: {state.cold_starts}"
            if state.last_cold_start_ms is not None:
                line += f" (last {state.last_cold_start_ms:.0f} ms)"
            line += f" &middot; capture {'on' if state.capture else 'off'}"
        lines.append(line)
    if state.status == "Failed" and state.failure_reason:
        lines.append(error_html(state.failure_reason))
    if error:
        lines.append(error_html(error))
    return "<br>".join(lines)


def _variants_html(variants: dict[str, dict[str, Any]]) -> str:
    if not variants:
        return ""
    frame = pd.DataFrame.from_dict(variants, orient="index")
    frame.index.name = "variant"
    return frame_html(frame.reset_index(), index=False)


def _response_html(answer: str, variant: str | None, latency_ms: float) -> str:
    shown = answer if len(answer) <= _MAX_RESPONSE_CHARS else answer[:_MAX_RESPONSE_CHARS] + "..."
    who = f"variant <b>{html.escape(variant)}</b> &middot; " if variant else ""
    return f"{who}{latency_ms:.1f} ms<pre>{html.escape(shown)}</pre>"


def _example_request(content_type: str, columns: list[str] | None) -> str:
    """One row of zeros, in ``content_type``, with the endpoint's columns ("" if unknown)."""
    if not columns:
        return ""
    if content_type == "text/csv":
        return ",".join("0" for _ in columns)
    record = dict.fromkeys(columns, 0)
    if content_type == "application/json":
        return json.dumps({"instances": [record]})
    return json.dumps(record)


def _endpoint_name_for(model: str | None) -> str:
    """An endpoint name derived from a model name (letters, digits and hyphens)."""
    if not model:
        return ""
    stem = re.sub(r"[^A-Za-z0-9-]+", "-", model).strip("-")[:59].rstrip("-")
    return f"{stem}-ep" if stem else ""


def _check_baseline(baseline: Any) -> Any:
    if baseline is None or isinstance(baseline, pd.DataFrame):
        return baseline
    if isinstance(baseline, (str, PathLike)):
        folder = Path(baseline)
        missing = [n for n in ("statistics.json", "constraints.json") if not (folder / n).is_file()]
        if not missing:
            return folder
        raise ValidationError(
            "baseline", str(baseline), "a folder holding statistics.json and constraints.json",
            hint=f"Missing: {', '.join(missing)}.",
        )  # fmt: skip
    raise ValidationError(
        "baseline", type(baseline).__name__, "a baseline folder, a DataFrame or None"
    )
