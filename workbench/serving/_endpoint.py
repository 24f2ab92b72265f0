"""Endpoints in the catalogue: create, describe, list, update (blue/green) and delete.

An endpoint is a detached server process (``_server.py``) recorded as kind ``endpoint``:
its status (Creating, InService, Updating, Failed), URL, process and configuration
(production variants, data capture, serverless, micro-batching, multi-model). A server
whose process died is shown as Failed the next time the record is read.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import secrets
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import Workspace, get_workspace, utcnow
from ..core._atomic import atomic_write_text
from ..core._process import is_running
from ..exceptions import ResourceInUse, ResourceNotFound, ValidationError, WorkbenchError

__all__ = [
    "KIND",
    "MicroBatchConfig",
    "ServerlessInferenceConfig",
    "create_endpoint",
    "delete_endpoint",
    "describe_endpoint",
    "list_endpoints",
    "production_variant",
    "update_endpoint",
    "update_endpoint_weights_and_capacities",
]

KIND = "endpoint"
ACTIVE = ("Creating", "InService", "Updating")
_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_START_TIMEOUT = 120.0
_STOP_GRACE = 35.0


class EndpointError(WorkbenchError):
    """An endpoint could not be created, updated or reached."""


@dataclass
class ServerlessInferenceConfig:
    """SageMaker's serverless endpoint settings, plus the idle period (local only).

    Workers stop after ``idle_timeout_in_seconds`` without a request and start again on the
    next one; that request's cold start is reported (``X-Workbench-Cold-Start-Ms`` header,
    ``describe_endpoint(...)["Stats"]``). ``memory_size_in_mb`` is recorded, not enforced.

    Example
    -------
    >>> ServerlessInferenceConfig(max_concurrency=4, idle_timeout_in_seconds=30)
    ServerlessInferenceConfig(memory_size_in_mb=2048, max_concurrency=4, idle_timeout_in_seconds=30)
    """

    memory_size_in_mb: int = 2048
    max_concurrency: int = 5
    idle_timeout_in_seconds: float = 60.0

    def check(self) -> dict[str, Any]:
        if self.memory_size_in_mb not in range(1024, 6145, 1024):
            raise ValidationError(
                "serverless_inference_config.memory_size_in_mb",
                self.memory_size_in_mb,
                "1024 to 6144 in steps of 1024 (SageMaker's sizes)",
            )
        if not isinstance(self.max_concurrency, int) or not 1 <= self.max_concurrency <= 200:
            raise ValidationError(
                "serverless_inference_config.max_concurrency", self.max_concurrency, "1 to 200"
            )
        if not self.idle_timeout_in_seconds > 0:
            raise ValidationError(
                "serverless_inference_config.idle_timeout_in_seconds",
                self.idle_timeout_in_seconds,
                "a number of seconds > 0",
            )
        return {
            "memory_size_in_mb": self.memory_size_in_mb,
            "max_concurrency": self.max_concurrency,
            "idle_timeout_s": float(self.idle_timeout_in_seconds),
        }


@dataclass
class MicroBatchConfig:
    """Adaptive micro-batching: calls arriving together are predicted in one model call.

    A worker takes up to ``max_batch_size`` waiting calls, waiting at most ``max_wait_ms``
    for more once it has one; under no load a call waits for nothing but ``max_wait_ms``.

    Example
    -------
    >>> MicroBatchConfig(max_batch_size=32, max_wait_ms=2)
    MicroBatchConfig(max_batch_size=32, max_wait_ms=2)
    """

    max_batch_size: int = 32
    max_wait_ms: float = 1.0

    def check(self) -> dict[str, Any]:
        if not isinstance(self.max_batch_size, int) or self.max_batch_size < 1:
            raise ValidationError("batch.max_batch_size", self.max_batch_size, "an integer >= 1")
        if not 0 <= self.max_wait_ms <= 1000:
            raise ValidationError("batch.max_wait_ms", self.max_wait_ms, "0 to 1000 ms")
        return {"max_batch_size": self.max_batch_size, "max_wait_ms": float(self.max_wait_ms)}


def production_variant(
    model_name: str,
    instance_type: str = "local",
    initial_instance_count: int = 1,
    variant_name: str = "AllTraffic",
    initial_weight: float = 1.0,
) -> dict[str, Any]:
    """SageMaker's ``production_variant`` dict: one model behind an endpoint, with a weight.

    Example
    -------
    >>> production_variant("model-a", variant_name="A", initial_weight=0.9)["VariantName"]
    'A'
    """
    return {
        "ModelName": model_name,
        "InstanceType": instance_type,
        "InitialInstanceCount": initial_instance_count,
        "VariantName": variant_name,
        "InitialVariantWeight": initial_weight,
    }


# -- checks --------------------------------------------------------------------------------
def _check_variants(ws: Workspace, variants: Any, multi_model: bool) -> list[dict[str, Any]]:
    if not isinstance(variants, list) or not variants:
        raise ValidationError("production_variants", variants, "a non-empty list of variants")
    if len(variants) > 10:
        raise ValidationError("production_variants", f"{len(variants)} variants", "at most 10")
    names = set()
    out = []
    for i, v in enumerate(variants):
        where = f"production_variants[{i}]"
        if not isinstance(v, dict) or "ModelName" not in v:
            raise ValidationError(where, v, "a dict from production_variant(model_name, ...)")
        name = str(v.get("VariantName", "AllTraffic"))
        if not _NAME_RE.match(name) or name in names:
            raise ValidationError(
                f"{where}.VariantName", name, "a unique name of letters, digits, -"
            )
        names.add(name)
        count = v.get("InitialInstanceCount", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 64:
            raise ValidationError(f"{where}.InitialInstanceCount", count, "an integer 1..64")
        weight = v.get("InitialVariantWeight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise ValidationError(f"{where}.InitialVariantWeight", weight, "a number >= 0")
        if not multi_model:
            _check_model(ws, str(v["ModelName"]), f"{where}.ModelName")
        out.append({
            "VariantName": name, "ModelName": str(v["ModelName"]),
            "InitialInstanceCount": count, "InitialVariantWeight": float(weight),
        })  # fmt: skip
    if sum(v["InitialVariantWeight"] for v in out) <= 0:
        raise ValidationError("production_variants", "weights summing to 0", "a positive total")
    return out


def _check_model(ws: Workspace, name: str, field: str) -> None:
    from ..core import sha256_file

    try:
        record = ws.catalog.get("model", name)
    except ResourceNotFound:
        known = [r["name"] for r in ws.catalog.list("model")][:10]
        raise ValidationError(field, name, "a model in the workspace: " + (", ".join(known) or "none")) from None  # fmt: skip
    artifact = record["artifacts"].get("model_data") or {}
    path = Path(artifact.get("path", ""))
    if not path.is_file() or sha256_file(path) != artifact.get("sha256"):
        from ..exceptions import ArtifactIntegrityError

        raise ArtifactIntegrityError(
            f"Refusing to deploy model {name!r}: its artifact {path} is missing or its sha256 "
            "does not match the catalogue"
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- create ----------------------------------------------------------------------------------
def create_endpoint(
    endpoint_name: str,
    production_variants: list[dict[str, Any]],
    data_capture_config: Any = None,
    serverless_inference_config: ServerlessInferenceConfig | None = None,
    batch: MicroBatchConfig | None = None,
    multi_model: dict[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    api_token: str | None = None,
    timeout_s: float = 60.0,
    wait: bool = True,
    keep_alive_period_in_seconds: float | None = None,
    workspace: Workspace | str | None = None,
) -> dict[str, Any]:
    """Start an endpoint server for ``production_variants``; return its description.

    Binding anything but loopback needs an API token (one is generated when not given);
    clients send it as ``Authorization: Bearer <token>``.

    Example
    -------
    >>> create_endpoint("fraud", [production_variant("model-a")])["EndpointStatus"]  # doctest: +SKIP
    'InService'
    """
    ws = get_workspace(workspace)
    if not isinstance(endpoint_name, str) or not _NAME_RE.match(endpoint_name):
        raise ValidationError(
            "endpoint_name",
            endpoint_name,
            "1-63 letters, digits and hyphens, starting alphanumeric",
        )
    variants = _check_variants(ws, production_variants, multi_model is not None)
    capture = None
    if data_capture_config is not None:
        data_capture_config.check()
        capture = data_capture_config.to_dict()
    serverless = serverless_inference_config.check() if serverless_inference_config else None
    if serverless and (len(variants) > 1 or capture):
        raise ValidationError(
            "serverless_inference_config", serverless_inference_config,
            "one variant and no data capture (SageMaker's serverless limits)",
        )  # fmt: skip
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536):  # fmt: skip
        raise ValidationError("port", port, "a TCP port number (0 or None: any free port)")
    if not isinstance(timeout_s, (int, float)) or not 0 < timeout_s <= 3600:
        raise ValidationError("timeout_s", timeout_s, "seconds, > 0 and <= 3600")
    if not _loopback(host) and api_token is None:
        api_token = secrets.token_urlsafe(32)
    if ws.catalog.exists(KIND, endpoint_name):
        record = _reconcile(ws, ws.catalog.get(KIND, endpoint_name))
        if record["status"] in ACTIVE:
            raise ResourceInUse(f"Endpoint {endpoint_name!r} already exists ({record['status']})")
        ws.catalog.delete(KIND, endpoint_name)  # a Failed one is replaced
    parameters = {
        "production_variants": variants,
        "data_capture": capture,
        "serverless": serverless,
        "batch": batch.check() if batch else None,
        "multi_model": multi_model,
        "host": host,
        "timeout_s": float(timeout_s),
        "input_columns": None,  # the server records the first model's raw input columns
    }
    ws.catalog.create(KIND, endpoint_name, status="Creating", parameters=parameters,
                      extra={"auth": api_token is not None})  # fmt: skip
    folder = ws.folder(KIND, endpoint_name)
    folder.mkdir(parents=True, exist_ok=True)
    admin_token = secrets.token_urlsafe(32)
    _write_secret(folder / "admin-token", admin_token)
    if api_token is not None:
        _write_secret(folder / "token", api_token)
    for variant in variants:
        if not multi_model:
            ws.catalog.add_lineage(
                ("model", variant["ModelName"]), (KIND, endpoint_name), "deployed"
            )
    spec = {
        "entry": "workbench.serving._server:main",
        "name": endpoint_name,
        "workspace": str(ws.path),
        "folder": str(folder),
        "host": host,
        "port": port or 0,
        "token": api_token,
        "admin_token": admin_token,
        "variants": variants,
        "data_capture": capture,
        "serverless": serverless,
        "batch": parameters["batch"],
        "multi_model": multi_model,
        "timeout_s": float(timeout_s),
    }
    started = time.perf_counter()
    try:
        _launch(spec, folder, keep_alive_period_in_seconds)
    except BaseException as exc:
        ws.catalog.update(KIND, endpoint_name, status="Failed",
                          failure_reason=f"could not start the server: {exc}")  # fmt: skip
        raise
    if wait:
        _wait_in_service(ws, endpoint_name)
        ws.catalog.update(KIND, endpoint_name,
                          extra={"startup_s": round(time.perf_counter() - started, 3)})  # fmt: skip
    return describe_endpoint(endpoint_name, workspace=ws)


def _write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)


def _launch(spec: dict[str, Any], folder: Path, keep_alive: float | None) -> None:
    """Start the server detached: forked from the warm fork server, or as a new process."""
    from ..training._launcher import _CAN_FORK, DEFAULT_KEEP_ALIVE, get_launcher

    keep = DEFAULT_KEEP_ALIVE if keep_alive is None else float(keep_alive)
    if keep > 0 and _CAN_FORK:
        get_launcher().submit(spec, keep_alive=keep)
        return
    spec_file = folder / "server-spec.json"
    fd = os.open(spec_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(spec, handle)
    subprocess.Popen(
        [sys.executable, "-m", "workbench.serving._server", str(spec_file)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )  # fmt: skip


def _wait_in_service(ws: Workspace, name: str, timeout: float = _START_TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        record = _reconcile(ws, ws.catalog.get(KIND, name))
        if record["status"] == "InService":
            return record
        if record["status"] == "Failed":
            log = ws.folder(KIND, name) / "logs" / "server.log"
            tail = log.read_text(errors="replace").strip().splitlines()[-5:] if log.exists() else []
            raise EndpointError(
                f"Endpoint {name!r} failed to start: {record['failure_reason']}"
                + ("\n" + "\n".join(tail) if tail else "")
            )
        if time.monotonic() > deadline:
            raise EndpointError(f"Endpoint {name!r} did not reach InService in {timeout:g} s")
        time.sleep(0.02)


# -- read ------------------------------------------------------------------------------------
def _reconcile(ws: Workspace, record: dict[str, Any]) -> dict[str, Any]:
    """An active endpoint whose server process is gone is Failed."""
    if record["status"] not in ACTIVE:
        return record
    process = record["extra"].get("process")
    if process is None:
        created = record["created_at"]
        from datetime import UTC, datetime

        age = (datetime.now(UTC) - datetime.fromisoformat(created)).total_seconds()
        if age < _START_TIMEOUT:
            return record
        reason = "the endpoint's server process never started"
    elif is_running(process):
        return record
    else:
        reason = f"the endpoint's server process (pid {process['pid']}) ended"
    updated = ws.catalog.update(
        KIND, record["name"], status="Failed", expected_status=ACTIVE,
        failure_reason=reason, message=reason,
    )  # fmt: skip
    return updated or ws.catalog.get(KIND, record["name"])


def describe_endpoint(
    endpoint_name: str, workspace: Workspace | str | None = None
) -> dict[str, Any]:
    """SageMaker's DescribeEndpoint fields, plus ``Url`` and live ``Stats``."""
    ws = get_workspace(workspace)
    record = _reconcile(ws, ws.catalog.get(KIND, endpoint_name))
    params, extra = record["parameters"], record["extra"]
    stats = extra.get("stats") or {}
    variants = []
    for v in params["production_variants"]:
        live = stats.get("variants", {}).get(v["VariantName"], {})
        variants.append({
            "VariantName": v["VariantName"], "ModelName": v["ModelName"],
            "CurrentWeight": v["InitialVariantWeight"], "DesiredWeight": v["InitialVariantWeight"],
            "CurrentInstanceCount": live.get("workers", v["InitialInstanceCount"]),
            "DesiredInstanceCount": v["InitialInstanceCount"],
        })  # fmt: skip
    out: dict[str, Any] = {
        "EndpointName": endpoint_name,
        "EndpointStatus": record["status"],
        "FailureReason": record["failure_reason"],
        "ProductionVariants": variants,
        "CreationTime": record["created_at"],
        "LastModifiedTime": record["updated_at"],
        "Url": extra.get("url"),
        "Auth": bool(extra.get("auth")),
        "StartupSeconds": extra.get("startup_s"),
        "Stats": stats,
    }
    if params.get("data_capture"):
        out["DataCaptureConfig"] = params["data_capture"]
    if params.get("serverless"):
        out["ServerlessConfig"] = params["serverless"]
    if params.get("multi_model"):
        out["MultiModelConfig"] = params["multi_model"]
    if params.get("batch"):
        out["MicroBatchConfig"] = params["batch"]
    return out


def list_endpoints(workspace: Workspace | str | None = None) -> Any:
    """The workspace's endpoints, newest first, as a DataFrame."""
    import pandas as pd

    ws = get_workspace(workspace)
    rows = []
    for record in ws.catalog.list(KIND):
        record = _reconcile(ws, record)
        variants = record["parameters"].get("production_variants", [])
        rows.append({
            "name": record["name"], "status": record["status"], "url": record["extra"].get("url"),
            "variants": ", ".join(v["VariantName"] for v in variants),
            "models": ", ".join(v["ModelName"] for v in variants),
            "created": record["created_at"], "failure_reason": record["failure_reason"],
        })  # fmt: skip
    columns = ["name", "status", "url", "variants", "models", "created", "failure_reason"]
    return pd.DataFrame(rows, columns=columns)


# -- update ----------------------------------------------------------------------------------
def _admin(ws: Workspace, name: str, path: str, payload: dict[str, Any], timeout: float) -> Any:
    record = _reconcile(ws, ws.catalog.get(KIND, name))
    if record["status"] not in ("InService", "Updating"):
        raise EndpointError(f"Endpoint {name!r} is {record['status']}, not InService")
    token = (ws.folder(KIND, name) / "admin-token").read_text().strip()
    request = urllib.request.Request(
        record["extra"]["url"] + path, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-Workbench-Admin-Token": token},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise EndpointError(f"Endpoint {name!r} refused the update: {detail}") from None
    except OSError as exc:
        raise EndpointError(f"Endpoint {name!r} could not be reached: {exc}") from None


def update_endpoint(
    endpoint_name: str,
    production_variants: list[dict[str, Any]] | None = None,
    model_name: str | None = None,
    wait: bool = True,
    workspace: Workspace | str | None = None,
) -> dict[str, Any]:
    """Blue/green update: new variants (or one new model) replace the old without dropping calls.

    The server starts the new model workers, checks they loaded, switches traffic to them,
    and lets the old workers finish what they hold before stopping them. If the new workers
    fail to start, the endpoint keeps serving the old configuration.

    Example
    -------
    >>> update_endpoint("fraud", model_name="xgboost-2026-01-02-...")   # doctest: +SKIP
    """
    ws = get_workspace(workspace)
    record = _reconcile(ws, ws.catalog.get(KIND, endpoint_name))
    params = record["parameters"]
    if production_variants is None:
        if model_name is None:
            raise ValidationError("production_variants", None, "variants, or a model_name")
        old = params["production_variants"]
        production_variants = [dict(v, ModelName=model_name) for v in old]
    variants = _check_variants(ws, production_variants, bool(params.get("multi_model")))
    ws.catalog.update(KIND, endpoint_name, status="Updating", expected_status=("InService",))
    try:
        _admin(ws, endpoint_name, "/workbench/update", {"variants": variants}, _START_TIMEOUT)
    except BaseException as exc:
        ws.catalog.update(KIND, endpoint_name, status="InService", expected_status=("Updating",),
                          message=f"update failed, still serving the old configuration: {exc}")  # fmt: skip
        raise
    ws.catalog.update(
        KIND, endpoint_name, status="InService",
        parameters={"production_variants": variants},
        extra={"updated_at": utcnow()},
    )  # fmt: skip
    for variant in variants:
        if not params.get("multi_model"):
            ws.catalog.add_lineage(
                ("model", variant["ModelName"]), (KIND, endpoint_name), "deployed"
            )
    return describe_endpoint(endpoint_name, workspace=ws)


def update_endpoint_weights_and_capacities(
    endpoint_name: str,
    desired_weights_and_capacities: list[dict[str, Any]],
    workspace: Workspace | str | None = None,
) -> dict[str, Any]:
    """Change variant weights and instance counts in place (SageMaker's API of this name)."""
    ws = get_workspace(workspace)
    record = ws.catalog.get(KIND, endpoint_name)
    current = {v["VariantName"]: dict(v) for v in record["parameters"]["production_variants"]}
    for i, item in enumerate(desired_weights_and_capacities or []):
        name = item.get("VariantName")
        if name not in current:
            raise ValidationError(
                f"desired_weights_and_capacities[{i}].VariantName", name,
                "one of " + ", ".join(current),
            )  # fmt: skip
        if "DesiredWeight" in item:
            current[name]["InitialVariantWeight"] = item["DesiredWeight"]
        if "DesiredInstanceCount" in item:
            current[name]["InitialInstanceCount"] = item["DesiredInstanceCount"]
    return update_endpoint(endpoint_name, list(current.values()), workspace=ws)


# -- delete ----------------------------------------------------------------------------------
def delete_endpoint(endpoint_name: str, workspace: Workspace | str | None = None) -> None:
    """Stop the endpoint's server (finishing calls in flight) and remove the endpoint."""
    ws = get_workspace(workspace)
    record = ws.catalog.get(KIND, endpoint_name)
    process = record["extra"].get("process")
    if process and is_running(process):
        pid = int(process["pid"])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_exit(pid, _STOP_GRACE):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _wait_exit(pid, 5)
    ws.catalog.delete(KIND, endpoint_name)
    folder = ws.folder(KIND, endpoint_name)
    for secret in ("admin-token", "token", "server-spec.json"):
        with contextlib.suppress(FileNotFoundError):
            (folder / secret).unlink()
    atomic_write_text(folder / "DELETED", f"{utcnow()}\n")


def _wait_exit(pid: int, timeout: float) -> bool:
    """Wait for a (non-child) process to exit; True if it did."""
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.05)
        return False
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)
