"""DeployPanel, headless (ipywidgets builds on a DummyComm): deploy, invoke, traffic, monitor."""

from __future__ import annotations

import json
import os
import signal

import psutil
import pytest

import workbench as wb
from workbench.exceptions import ValidationError
from workbench.serving import create_endpoint, describe_endpoint, production_variant
from workbench.serving._panel import DeployPanel, endpoint_chart_png

from .._helpers import wait_for as _wait_for
from .conftest import csv_rows

PNG = b"\x89PNG"
ZEROS = "0,0,0,0,0,0"


def _panel(served, *args, **kwargs) -> DeployPanel:
    return DeployPanel(*args, workspace=served["ws"], poll_interval=0.2, **kwargs)


def _delete(served, name: str) -> None:
    if served["ws"].catalog.exists("endpoint", name):
        wb.delete_endpoint(name, workspace=served["ws"])


def _controls(panel: DeployPanel) -> list[bool]:
    buttons = [panel.invoke_button, panel.apply_weights_button, panel.add_variant_button]
    return [b.disabled for b in [*buttons, panel.monitor_button, panel.delete_button]]


def test_deploy_invoke_chart_and_delete_through_the_buttons(served):
    ws, frame = served["ws"], served["frame"]
    panel = _panel(served, served["xgb"])
    try:
        assert panel.model.value == served["xgb"]
        assert list(panel.model.options) == [served["script"], served["xgb2"], served["xgb"]]
        assert panel.endpoint_name.value == f"{served['xgb']}-ep"
        assert panel.request.value == ZEROS  # the model's six features
        assert all(_controls(panel)) and not panel.polling
        panel.endpoint_name.value = "panel-a"
        panel.deploy_button.click()
        state = panel.state
        assert (state.endpoint, state.status, state.error) == ("panel-a", "InService", None)
        assert state.url.startswith("http://127.0.0.1:") and state.url in panel.status.value
        assert state.variants["AllTraffic"]["model"] == served["xgb"]
        assert state.variants["AllTraffic"]["workers"] == 1 and not state.capture
        assert panel.polling and panel.existing.value == "panel-a"
        assert not panel.invoke_button.disabled and panel.monitor_button.disabled
        pid = ws.catalog.get("endpoint", "panel-a")["extra"]["process"]["pid"]

        panel.request.value = csv_rows(frame, 1)
        panel.invoke_button.click()
        assert state.error is None and 0 < float(state.last_response) < 1  # a probability
        assert state.last_variant == "AllTraffic" and state.last_latency_ms > 0
        assert state.last_response.strip() in panel.response.value

        panel.request.value = "1,2,not-a-number,4,5,6\n"
        panel.invoke_button.click()  # a 400 is shown, never raised
        assert "(400)" in state.error and "not-a-number" in state.error
        assert "color" in panel.response.value and "(400)" in panel.response.value
        assert state.last_response is None and not panel.invoke_button.disabled

        panel.request.value = ""
        panel.content_type.value = "application/json"  # prefills a JSON record, Accept follows
        assert json.loads(panel.request.value) == {
            "instances": [dict.fromkeys(frame.columns[:6], 0)]
        }
        assert panel.accept.value == "application/json"
        assert "predictions" in json.loads(panel.invoke())

        for _ in range(20):
            panel.invoke()
        assert _wait_for(lambda: state.variants["AllTraffic"]["invocations"] >= 21)
        assert _wait_for(lambda: panel.state.n_chart_points > 0)
        assert panel.chart.value[:4] == PNG and panel.chart.value != endpoint_chart_png([])

        panel.delete_button.click()  # not confirmed: nothing happens
        assert state.status == "InService" and "confirm" in state.error
        panel.confirm_delete.value = True
        assert not panel.delete_button.disabled
        panel.delete_button.click()
        assert panel.state.status == "Deleted" and "Deleted" in panel.status.value
        assert not ws.catalog.exists("endpoint", "panel-a")
        assert all(_controls(panel)) and panel.confirm_delete.disabled
        assert _wait_for(lambda: not panel.polling, 5)
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert not panel.deploy_button.disabled  # deploy again from the same panel
    finally:
        panel.close()
        _delete(served, "panel-a")


def test_weights_and_a_blue_green_variant(served):
    ws = served["ws"]
    create_endpoint("panel-ab", [production_variant(served["xgb"])], workspace=ws)
    panel = _panel(served, endpoint_name="panel-ab")  # an existing endpoint: attach
    try:
        state = panel.state
        assert state.status == "InService" and panel.existing.value == "panel-ab"
        assert list(panel.weight_sliders) == ["AllTraffic"] and panel.polling
        assert panel.new_variant_name.value == "Variant2"
        panel.new_model.value = served["xgb2"]
        panel.new_weight.value = 3.0
        panel.add_variant_button.click()
        assert state.error is None
        variants = describe_endpoint("panel-ab", workspace=ws)["ProductionVariants"]
        assert [(v["VariantName"], v["ModelName"], v["CurrentWeight"]) for v in variants] == [
            ("AllTraffic", served["xgb"], 1.0),
            ("Variant2", served["xgb2"], 3.0),
        ]
        assert {n: s.value for n, s in panel.weight_sliders.items()} == {
            "AllTraffic": 1.0,
            "Variant2": 3.0,
        }
        assert set(state.variants) == {"AllTraffic", "Variant2"}
        assert panel.new_variant_name.value == "Variant3"

        panel.weight_sliders["AllTraffic"].value = 0.0
        panel.weight_sliders["Variant2"].value = 1.0
        panel.apply_weights_button.click()
        assert state.error is None
        variants = describe_endpoint("panel-ab", workspace=ws)["ProductionVariants"]
        assert {v["VariantName"]: v["CurrentWeight"] for v in variants} == {
            "AllTraffic": 0.0,
            "Variant2": 1.0,
        }
        assert state.variants["Variant2"]["weight"] == 1.0
        for _ in range(5):
            panel.invoke()
            assert state.last_variant == "Variant2"

        panel.weight_sliders["Variant2"].value = 0.0
        panel.apply_weights_button.click()  # weights summing to 0: refused, shown in red
        assert "positive total" in state.error and "color" in panel.status.value
        assert not panel.apply_weights_button.disabled
        variants = describe_endpoint("panel-ab", workspace=ws)["ProductionVariants"]
        assert variants[1]["CurrentWeight"] == 1.0
    finally:
        panel.close()
        _delete(served, "panel-ab")


def test_run_monitor_with_a_baseline_frame_shows_violations(served):
    ws, frame = served["ws"], served["frame"]
    panel = _panel(served, served["xgb"], baseline=frame)
    try:
        panel.endpoint_name.value = "panel-mon"
        panel.capture.value = True
        assert panel.monitor_button.disabled  # nothing deployed yet
        panel.deploy_button.click()
        assert panel.state.capture and not panel.monitor_button.disabled, panel.state.error
        shifted = frame.head(80).copy()
        shifted["x0"] += 6.0
        panel.request.value = csv_rows(shifted, 80)
        assert panel.invoke() is not None
        root = ws.folder("endpoint", "panel-mon") / "data-capture"
        assert _wait_for(lambda: any(root.rglob("*.jsonl")), 10)  # flushed once a second
        panel.monitor_button.click()
        assert panel.state.error is None and panel.state.violations >= 1
        assert "baseline_drift_check" in panel.violations.value and "x0" in panel.violations.value
        assert "missing_column_check" not in panel.violations.value  # the target is left out
        assert panel.run_monitor() == panel.state.violations  # a second run: a new schedule
    finally:
        panel.close()
        _delete(served, "panel-mon")


def test_close_stops_the_poller_and_an_endpoint_deleted_elsewhere_stops_it_too(served):
    ws = served["ws"]
    create_endpoint("panel-close", [production_variant(served["xgb"])], workspace=ws)
    try:
        panel = _panel(served, endpoint_name="panel-close")
        assert panel.polling
        panel.close()
        assert not panel.polling
        assert describe_endpoint("panel-close", workspace=ws)["EndpointStatus"] == "InService"

        other = _panel(served)
        other.existing.value = "panel-close"  # attach through the dropdown
        assert other.state.status == "InService" and other.polling
        wb.delete_endpoint("panel-close", workspace=ws)
        assert _wait_for(lambda: other.state.status == "Deleted" and not other.polling, 10)
        assert other.existing.value is None and "panel-close" not in dict(other.existing.options)
        other.close()
    finally:
        _delete(served, "panel-close")


def test_a_serverless_deploy_reports_cold_starts_and_a_dead_server_shows_failed(served):
    ws = served["ws"]
    panel = _panel(served, served["xgb"])
    try:
        panel.endpoint_name.value = "panel-sls"
        panel.serverless.value = True
        panel.deploy_button.click()
        assert panel.state.status == "InService", panel.state.error
        assert panel.invoke() is not None
        assert _wait_for(lambda: panel.state.cold_starts == 1, 10)
        assert "cold starts: 1 (last" in panel.status.value

        pid = ws.catalog.get("endpoint", "panel-sls")["extra"]["process"]["pid"]
        os.kill(pid, signal.SIGKILL)
        assert _wait_for(lambda: panel.state.status == "Failed" and not panel.polling, 10)
        assert "ended" in panel.state.failure_reason and "color" in panel.status.value
        assert panel.invoke_button.disabled and not panel.confirm_delete.disabled
        panel.confirm_delete.value = True
        panel.delete_button.click()  # a Failed endpoint can still be deleted
        assert panel.state.status == "Deleted" and not ws.catalog.exists("endpoint", "panel-sls")
    finally:
        panel.close()
        _delete(served, "panel-sls")


def test_bad_input_is_shown_in_red_and_starts_nothing(served, tmp_path):
    ws = served["ws"]
    with pytest.raises(ValidationError, match="model_name"):
        DeployPanel("no-such-model", workspace=ws)
    with pytest.raises(ValidationError, match="statistics.json"):
        DeployPanel(baseline=tmp_path, workspace=ws)
    with pytest.raises(ValidationError, match="poll_interval"):
        DeployPanel(workspace=ws, poll_interval=0)
    panel = _panel(served, served["xgb"])
    try:
        before = len(ws.catalog.list("endpoint"))
        panel.endpoint_name.value = "bad name!"
        panel.deploy_button.click()
        assert panel.state.endpoint is None and "endpoint_name" in panel.state.error
        assert "color" in panel.status.value and not panel.deploy_button.disabled
        panel.endpoint_name.value = "panel-never"
        panel.capture.value = panel.serverless.value = True
        panel.deploy_button.click()
        assert "serverless_inference_config" in panel.state.error
        assert len(ws.catalog.list("endpoint")) == before
        panel.model.value = served["xgb2"]  # a typed name is kept
        assert panel.endpoint_name.value == "panel-never"
        panel.content_type.value = "application/jsonlines"
        assert json.loads(panel.request.value) == {f"x{i}": 0 for i in range(6)}
        assert panel.invoke() is None and "InService" in panel.response.value
    finally:
        panel.close()
