"""Running labs with papermill: parameters checked, executed notebooks and a summary kept.

Each lab runs with its own folder as working directory (like nbval and Voila), in the
``workbench`` kernel, with ``WORKBENCH_HOME`` set so its jobs land in the caller's
workspace. A lab writes its key results to ``<RUN_DIR>/<lab>.json``; the runner gathers
them into ``summary.md`` and ``summary.json`` in the run folder.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..core import Workspace, atomic_write_json, atomic_write_text, get_workspace
from ..exceptions import ValidationError, WorkbenchError
from ._registry import Lab, find_labs

__all__ = ["LabRun", "LabFailedError", "run_lab", "KERNEL_NAME"]

KERNEL_NAME = "workbench"


class LabFailedError(WorkbenchError):
    """A lab's cell raised; the executed notebook shows where."""


@dataclass
class LabRun:
    """What one ``run_lab`` call did."""

    name: str
    run_dir: Path
    notebooks: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    status: str = "Completed"

    @property
    def summary_path(self) -> Path:
        return self.run_dir / "summary.md"


def run_lab(
    name: str,
    parameters: dict[str, Any] | None = None,
    *,
    run_dir: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    workspace: Workspace | str | None = None,
    execution_timeout: int = 1800,
    log_output: bool = False,
) -> LabRun:
    """Run lab ``name`` (e.g. ``"day1"``) end to end through papermill.

    Unknown parameters are refused before anything runs. Raises LabFailedError naming
    the failing cell; the executed notebook is kept either way.
    """
    import papermill as pm

    labs = find_labs(name)
    parameters = dict(parameters or {})
    for lab in labs:
        _check_parameters(lab, parameters)
    run_path = _run_dir(run_dir, name)
    kernel = kernel_name or _ensure_kernel()
    ws = get_workspace(workspace)
    result = LabRun(name=name, run_dir=run_path)
    started = time.time()
    previous = os.environ.get("WORKBENCH_HOME")
    os.environ["WORKBENCH_HOME"] = str(ws.path)
    try:
        for lab in labs:
            result.notebooks.append(
                _execute(pm, lab, parameters, run_path, kernel, execution_timeout, log_output)
            )
            if result.notebooks[-1]["status"] != "Completed":
                result.status = "Failed"
                break
    finally:
        if previous is None:
            os.environ.pop("WORKBENCH_HOME", None)
        else:
            os.environ["WORKBENCH_HOME"] = previous
        result.duration_s = round(time.time() - started, 2)
        _write_summary(result, ws)
    if result.status == "Failed":
        failed = result.notebooks[-1]
        raise LabFailedError(
            f"Lab {failed['lab']} failed at cell {failed['error']['cell_index']}: "
            f"{failed['error']['ename']}: {failed['error']['evalue']} "
            f"(executed notebook: {failed['output']})"
        )
    return result


def _check_parameters(lab: Lab, parameters: dict[str, Any]) -> None:
    import papermill as pm

    known = pm.inspect_notebook(str(lab.path))
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ValidationError(
            f"parameters of lab {lab.name}", unknown, "one of " + ", ".join(sorted(known))
        )


def _run_dir(run_dir: str | os.PathLike[str] | None, name: str) -> Path:
    if run_dir is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = Path.cwd() / "runs" / f"{stamp}-{name.replace('/', '-')}"
    path = Path(run_dir).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ValidationError("run_dir", str(path), f"a writable folder ({exc.strerror})") from None
    return path


def _ensure_kernel() -> str:
    """The ``workbench`` kernel for this interpreter, registered in ``sys.prefix`` if missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return KERNEL_NAME
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(kernel_name=KERNEL_NAME, display_name="Python (workbench)", prefix=sys.prefix)
    return KERNEL_NAME


def _execute(
    pm: Any,
    lab: Lab,
    parameters: dict[str, Any],
    run_path: Path,
    kernel: str,
    timeout: int,
    log_output: bool,
) -> dict[str, Any]:
    output = run_path / f"{lab.name.replace('/', '__')}.ipynb"
    params = {"RUN_DIR": str(run_path), **parameters}
    record: dict[str, Any] = {"lab": lab.name, "notebook": str(lab.path), "output": str(output)}
    started = time.time()
    try:
        pm.execute_notebook(
            str(lab.path),
            str(output),
            parameters=params,
            cwd=str(lab.path.parent),
            kernel_name=kernel,
            progress_bar=False,
            log_output=log_output,
            execution_timeout=timeout,
        )
        record["status"] = "Completed"
    except pm.PapermillExecutionError as exc:
        record["status"] = "Failed"
        record["error"] = {"cell_index": exc.cell_index, "ename": exc.ename, "evalue": exc.evalue}
    record["duration_s"] = round(time.time() - started, 2)
    results = run_path / f"{lab.path.stem}.json"
    record["results"] = json.loads(results.read_text()) if results.exists() else {}
    return record


def _write_summary(result: LabRun, workspace: Workspace) -> None:
    data = asdict(result)
    data["run_dir"] = str(result.run_dir)
    data["workspace"] = str(workspace.path)
    atomic_write_json(result.run_dir / "summary.json", data)
    lines = [
        f"# Lab run: {result.name}",
        "",
        f"- status: **{result.status}**, {result.duration_s:.1f} s",
        f"- run folder: `{result.run_dir}`",
        f"- workspace: `{workspace.path}`",
        "",
        "| lab | status | seconds | executed notebook |",
        "| --- | --- | --- | --- |",
    ]
    for nb in result.notebooks:
        lines.append(
            f"| {nb['lab']} | {nb['status']} | {nb['duration_s']:.1f} | `{Path(nb['output']).name}` |"
        )
    for nb in result.notebooks:
        if nb.get("error"):
            err = nb["error"]
            lines += [
                "",
                f"**{nb['lab']} failed** at cell {err['cell_index']}: {err['ename']}: {err['evalue']}",
            ]
        if nb.get("results"):
            lines += ["", f"## {nb['lab']}: results", ""]
            lines += [f"- {key}: {value}" for key, value in nb["results"].items()]
    atomic_write_text(result.summary_path, "\n".join(lines) + "\n")
