"""Running labs as a pipeline with papermill: checked parameters, a cache, and a run report.

Each lab runs with its own folder as working directory (like nbval and Voila), in the
``workbench`` kernel, with ``WORKBENCH_HOME`` set so its jobs land in the caller's
workspace, where the next lab finds them by name. A lab writes its key results to
``<RUN_DIR>/<lab>.json``; the runner gathers them, with durations and peak memory, into
``summary.md``, ``summary.html`` and ``summary.json`` in the run folder. A lab whose
notebook, parameters and inputs did not change since it last completed in this workspace
is restored from the cache instead of run (``force=True`` runs it anyway).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ..core import Workspace, get_workspace
from ..exceptions import ValidationError, WorkbenchError
from ._cache import catalog_objects, lab_keys, lookup, run_dir_files, store, with_upstream
from ._memory import MemorySampler
from ._registry import Lab, select_labs
from ._report import write_report

__all__ = ["LabRun", "LabFailedError", "run_lab", "run_labs", "KERNEL_NAME"]

KERNEL_NAME = "workbench"
_REPORT_FILES = {"summary.json", "summary.md", "summary.html"}


class LabFailedError(WorkbenchError):
    """A lab's cell raised; the executed notebook shows where."""


@dataclass
class LabRun:
    """What one pipeline run did: a record per lab, in the order they ran."""

    name: str
    run_dir: Path
    notebooks: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    status: str = "Completed"
    kernel: str = KERNEL_NAME
    workspace: str = ""

    @property
    def summary_path(self) -> Path:
        return self.run_dir / "summary.md"

    @property
    def report_path(self) -> Path:
        return self.run_dir / "summary.html"

    def by_status(self, status: str) -> list[str]:
        """Names of the labs with ``status`` (Completed, Cached, Failed, Not run)."""
        return [nb["lab"] for nb in self.notebooks if nb["status"] == status]


def run_labs(
    names: list[str] | None = None,
    parameters: dict[str, Any] | None = None,
    *,
    all_labs: bool = False,
    track: str | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    workspace: Workspace | str | None = None,
    force: bool = False,
    execution_timeout: int = 1800,
    log_output: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> LabRun:
    """Run labs in workshop order, each once, as one pipeline with one run folder.

    Everything is checked before anything runs: lab names, parameters (each ``-p`` must be a
    parameter of a chosen lab), the kernel, the run folder. A failing lab stops the pipeline
    with LabFailedError naming the cell; its executed notebook and the report are kept.

    Example
    -------
    >>> run = run_labs(all_labs=True, parameters={"FAST": True})   # doctest: +SKIP
    >>> run.by_status("Cached")                                     # doctest: +SKIP
    """
    labs = select_labs(names, all_labs=all_labs, track=track)
    parameters = dict(parameters or {})
    labs, lab_params, known = _plan_parameters(labs, parameters)
    kernel = _resolve_kernel(kernel_name)
    label = "all" if all_labs else "-".join(names or [])
    if track:
        label = f"{label}-track-{track}".lstrip("-")
    run_path = _run_dir(run_dir, label)
    ws = get_workspace(workspace)
    keys = lab_keys(
        labs,
        lambda lab: (
            lab_params.get(lab.name)
            or {**lab.matrix, **{k: v for k, v in parameters.items() if k in known(lab.path)}}
        ),
        kernel,
    )
    result = LabRun(name=label, run_dir=run_path, kernel=kernel, workspace=str(ws.path))
    started = time.time()
    previous = os.environ.get("WORKBENCH_HOME")
    os.environ["WORKBENCH_HOME"] = str(ws.path)
    outputs = {lab.output_file for lab in labs} | _REPORT_FILES
    try:
        for lab in labs:
            params = {"RUN_DIR": str(run_path), **lab_params[lab.name]}
            key = with_upstream(keys[lab.name], lab, keys, ws)
            entry = None if force else lookup(ws, key)
            if entry is not None:
                record = _restore(entry, lab, run_path)
            else:
                record = _run_one(lab, params, run_path, kernel, ws, key, outputs,
                                  execution_timeout, log_output)  # fmt: skip
            result.notebooks.append(record)
            if progress is not None:
                progress(record)
            if record["status"] == "Failed":
                result.status = "Failed"
                break
    finally:
        if previous is None:
            os.environ.pop("WORKBENCH_HOME", None)
        else:
            os.environ["WORKBENCH_HOME"] = previous
        ran = {nb["lab"] for nb in result.notebooks}
        result.notebooks += [
            {"lab": lab.name, "status": "Not run", "notebook": str(lab.path)}
            for lab in labs
            if lab.name not in ran
        ]
        if len(ran) < len(labs) and result.status != "Failed":
            result.status = "Interrupted"
        result.duration_s = round(time.time() - started, 2)
        data = asdict(result)
        data["run_dir"] = str(result.run_dir)
        write_report(data, result.run_dir)
    if result.status == "Failed":
        failed = next(nb for nb in result.notebooks if nb["status"] == "Failed")
        err = failed["error"]
        source = "\n".join("    " + line for line in err["source"].splitlines()[:8])
        where = (
            "before its first cell" if err["cell_index"] is None else f"at cell {err['cell_index']}"
        )
        raise LabFailedError(
            f"Lab {failed['lab']} failed {where}: "
            f"{err['ename']}: {err['evalue']}\n{source}\n"
            f"(executed notebook: {failed['output']}; report: {result.report_path})"
        )
    return result


def run_lab(name: str, parameters: dict[str, Any] | None = None, **kwargs: Any) -> LabRun:
    """Run lab ``name`` (``"day1"``, ``"day1/01_intro_fraud"``) end to end through papermill.

    The same as ``run_labs([name], parameters, **kwargs)``.

    Example
    -------
    >>> run_lab("day1", {"FAST": True}).summary_path   # doctest: +SKIP
    """
    return run_labs([name], parameters, **kwargs)


def _plan_parameters(
    labs: list[Lab], parameters: dict[str, Any]
) -> tuple[list[Lab], dict[str, dict[str, Any]], Callable[[Path], set[str]]]:
    """Each lab's parameters; a ``-p`` no chosen lab has is refused with their parameters.

    Setting a matrix parameter (``PROJECT``) runs that lab once, with the value given.
    """
    import papermill as pm

    inspected: dict[Path, set[str]] = {}

    def known(path: Path) -> set[str]:
        if path not in inspected:
            inspected[path] = set(pm.inspect_notebook(str(path)))
        return inspected[path]

    everything = set().union(*(known(lab.path) for lab in labs))
    unknown = sorted(set(parameters) - everything)
    if unknown:
        notebooks = list(dict.fromkeys(lab.notebook for lab in labs))
        what = f"lab {notebooks[0]}" if len(notebooks) == 1 else "labs " + ", ".join(notebooks)
        raise ValidationError(
            f"parameters of {what}", unknown, "one of " + ", ".join(sorted(everything))
        )
    planned: list[Lab] = []
    for lab in labs:
        overridden = {k: parameters[k] for k in lab.matrix if k in parameters}
        if overridden:
            lab = replace(lab, name=f"{lab.notebook}[{'-'.join(map(str, overridden.values()))}]",
                          matrix=overridden)  # fmt: skip
            if any(other.name == lab.name for other in planned):
                continue
        planned.append(lab)
    params = {
        lab.name: {**lab.matrix, **{k: v for k, v in parameters.items() if k in known(lab.path)}}
        for lab in planned
    }
    return planned, params, known


def _run_dir(run_dir: str | os.PathLike[str] | None, label: str) -> Path:
    if run_dir is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = Path.cwd() / "runs" / f"{stamp}-{label.replace('/', '-')}"
    path = Path(run_dir).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ValidationError("run_dir", str(path), f"a writable folder ({exc.strerror})") from None
    return path


def _resolve_kernel(kernel_name: str | None) -> str:
    if kernel_name is None:
        return _ensure_kernel()
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if kernel_name not in specs:
        raise ValidationError(
            "kernel",
            kernel_name,
            "an installed Jupyter kernel: " + ", ".join(sorted(specs)),
            hint="`jupyter kernelspec list` shows them; `make setup` installs `workbench`",
        )
    return kernel_name


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


def _restore(entry: Any, lab: Lab, run_path: Path) -> dict[str, Any]:
    output = run_path / lab.output_file
    previous = entry.restore(run_path, output)
    return {
        **previous,
        "status": "Cached",
        "output": str(output),
        "duration_s": 0.0,
        "original_duration_s": previous.get("duration_s"),
        "cached_from": previous.get("finished_at"),
    }


def _run_one(
    lab: Lab,
    params: dict[str, Any],
    run_path: Path,
    kernel: str,
    ws: Workspace,
    key: str,
    outputs: set[str],
    timeout: int,
    log_output: bool,
) -> dict[str, Any]:
    files_before = run_dir_files(run_path)
    objects_before = catalog_objects(ws)
    with MemorySampler(str(ws.path)) as memory:
        record = _execute(lab, params, run_path, kernel, timeout, log_output)
    record["peak_rss_mb"] = memory.peak_rss_mb
    record["peak_pss_mb"] = memory.peak_pss_mb
    record["finished_at"] = datetime.now().isoformat(timespec="seconds")
    record["run_id"] = uuid.uuid4().hex
    if record["status"] == "Completed":
        written = [
            path
            for path, stat in run_dir_files(run_path).items()
            if files_before.get(path) != stat
            and not (path.parent == run_path and path.name in outputs)
        ]
        record["created"] = [list(obj) for obj in sorted(catalog_objects(ws) - objects_before)]
        record["files"] = [str(p.relative_to(run_path)) for p in written]
        store(ws, key, record, Path(record["output"]), run_path, written)
    return record


def _execute(
    lab: Lab,
    params: dict[str, Any],
    run_path: Path,
    kernel: str,
    timeout: int,
    log_output: bool,
) -> dict[str, Any]:
    import papermill as pm

    output = run_path / lab.output_file
    record: dict[str, Any] = {"lab": lab.name, "notebook": str(lab.path), "output": str(output)}
    started = time.time()
    for attempt in range(2):
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
            record["error"] = {
                "cell_index": exc.cell_index,
                "ename": exc.ename,
                "evalue": exc.evalue,
                "source": exc.source,
            }
        except Exception as exc:  # the kernel did not start, or died between cells
            if attempt == 0 and _kernel_never_started(output):
                # A kernel start can lose a race for its ports with other kernels starting
                # at the same moment; one retry, then it is a real failure.
                continue
            record["status"] = "Failed"
            record["error"] = {
                "cell_index": None,
                "ename": type(exc).__name__,
                "evalue": str(exc),
                "source": "",
            }
        break
    record["duration_s"] = round(time.time() - started, 2)
    results = run_path / lab.results_file
    record["results"] = _read_results(results)
    return record


def _kernel_never_started(output: Path) -> bool:
    """True when no cell of the executed notebook ran (papermill saves it as it goes)."""
    import nbformat

    try:
        nb = nbformat.read(output, as_version=4)
    except (OSError, ValueError):
        return True
    return not any(cell.get("execution_count") for cell in nb.cells if cell.cell_type == "code")


def _read_results(path: Path) -> dict[str, Any]:
    import json

    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        return {"error": f"{path.name} is not valid JSON"}
