"""``workbench doctor``: the workshop set-up check an attendee runs before day 1.

Each check says what it looked at, whether it is fine, and what to do when it is not:
the Python version, the pinned libraries, the Jupyter kernel, the widget extensions, free
loopback ports for JupyterLab, Voila and endpoints, a writable workspace, disk and memory.
Libraries are looked up in the installed metadata, never imported, so the check takes
about a second.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import uuid
from dataclasses import dataclass
from importlib import metadata

from ._runner import KERNEL_NAME

__all__ = ["Check", "doctor", "format_checks"]

#: Libraries the labs need, with the versions the lock pins (major.minor checked).
PINNED = {
    "numpy": "1.23",
    "pandas": "2.3",
    "scikit-learn": "1.7",
    "xgboost-cpu": "3.2",
    "mxnet": "1.9",
    "optuna": "5.0",
    "dask": "2026.8",
    "ipywidgets": "8.1",
    "papermill": "2.7",
    "voila": "0.5",
}
#: JupyterLab, Voila's default and the first endpoint ports.
PORTS = (8888, 8866)
MIN_FREE_DISK_GB = 2.0
MIN_MEMORY_GB = 2.0


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def doctor(workspace: str | os.PathLike[str] | None = None) -> list[Check]:
    """Run every set-up check; nothing is changed except a test file in the workspace.

    Example
    -------
    >>> from workbench.labs import doctor
    >>> all(check.ok for check in doctor())   # doctest: +SKIP
    True
    """
    from ..core import Workspace

    ws = Workspace(workspace)
    checks = [_python()]
    checks += [_library(name, want) for name, want in PINNED.items()]
    checks += [_kernel(), _widgets()]
    checks += [_port(port) for port in PORTS]
    checks += [_writable(ws.path), _disk(ws.path), _memory()]
    return checks


def format_checks(checks: list[Check]) -> str:
    """The report as aligned text lines, failures with what to do."""
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:<{width}}  {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"{'':4}  {'':<{width}}  -> {c.fix}")
    failed = sum(not c.ok for c in checks)
    lines.append(f"{len(checks) - failed} of {len(checks)} checks passed")
    return "\n".join(lines)


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] == (3, 11)
    return Check("python", ok, version, "" if ok else "use Python 3.11 (`make setup`)")


def _library(name: str, want: str) -> Check:
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        return Check(name, False, "not installed", "run `make setup` (installs the lock)")
    ok = have == want or have.startswith(want + ".")
    fix = "" if ok else f"the labs are tested with {want}.x; run `make setup`"
    return Check(name, ok, have, fix)


def _kernel() -> Check:
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if KERNEL_NAME in specs:
        return Check("jupyter kernel", True, f"{KERNEL_NAME!r} at {specs[KERNEL_NAME]}")
    return Check(
        "jupyter kernel",
        False,
        f"no kernel named {KERNEL_NAME!r} (found: {', '.join(sorted(specs)) or 'none'})",
        "run `make setup`, or `python -m ipykernel install --sys-prefix --name workbench`",
    )


def _widgets() -> Check:
    missing = []
    for name in ("ipywidgets", "jupyterlab_widgets", "widgetsnbextension"):
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Check("widgets", False, f"missing {', '.join(missing)}", "run `make setup`")
    return Check("widgets", True, "ipywidgets with the JupyterLab extension")


def _port(port: int) -> Check:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            return Check(
                f"port {port}",
                False,
                f"in use ({exc.strerror})",
                "stop what listens there, or pass another port to Jupyter / Voila",
            )
    return Check(f"port {port}", True, "free on 127.0.0.1")


def _writable(path: os.PathLike[str] | str) -> Check:
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=f".doctor-{uuid.uuid4().hex}"):
            pass
    except OSError as exc:
        return Check(
            "workspace",
            False,
            f"{path} is not writable ({exc.strerror})",
            "set WORKBENCH_HOME to a folder you can write, or pass --workspace",
        )
    return Check("workspace", True, f"{path} is writable")


def _disk(path: os.PathLike[str] | str) -> Check:
    existing = os.fspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing) or "."
    free = shutil.disk_usage(existing).free / 1e9
    ok = free >= MIN_FREE_DISK_GB
    fix = "" if ok else f"free at least {MIN_FREE_DISK_GB:g} GB for jobs and models"
    return Check("disk", ok, f"{free:.1f} GB free", fix)


def _memory() -> Check:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return Check("memory", True, "unknown (not reported by this system)")
    ok = total >= MIN_MEMORY_GB
    fix = "" if ok else f"the labs need about {MIN_MEMORY_GB:g} GB in FAST mode"
    return Check("memory", ok, f"{total:.1f} GB", fix)
