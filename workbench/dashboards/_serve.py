"""Serving the dashboards with Voila on loopback: ``workbench dashboard NAME``.

:func:`serve_dashboard` runs Voila in the foreground until Ctrl-C (the CLI's command);
:func:`start_dashboard` (and :func:`start_voila` for any notebook) starts it in the
background and returns a :class:`VoilaServer` handle once the server answers, for tests and
the screenshot script. Voila listens on 127.0.0.1 only, serves no files besides the page,
and runs the notebook in a kernel of this interpreter with ``WORKBENCH_HOME`` set to the
workspace.

Example
-------
>>> from workbench.dashboards import list_dashboards, start_dashboard
>>> list_dashboards()                                              # doctest: +SKIP
['labelling', 'leaderboard', 'monitoring']
>>> with start_dashboard("leaderboard", workspace="/tmp/ws") as server:  # doctest: +SKIP
...     print(server.url)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path
from typing import Any

from ..core import Workspace, get_workspace
from ..exceptions import ValidationError, WorkbenchError

__all__ = [
    "DASHBOARDS_DIR",
    "DashboardError",
    "VoilaServer",
    "dashboard_path",
    "free_port",
    "list_dashboards",
    "serve_dashboard",
    "start_dashboard",
    "start_voila",
    "voila_command",
]

#: Where the dashboard notebooks live (``dashboards/`` at the top of the repository).
DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "dashboards"
DEFAULT_PORT = 8866
KERNEL_NAME = "workbench"
_START_TIMEOUT = 60.0


class DashboardError(WorkbenchError):
    """Voila could not be started or stopped (busy port, early exit, no answer)."""


def list_dashboards() -> list[str]:
    """The dashboards' names (the notebooks in ``dashboards/``), sorted.

    Example
    -------
    >>> "leaderboard" in list_dashboards()
    True
    """
    if not DASHBOARDS_DIR.is_dir():
        return []
    return sorted(p.stem for p in DASHBOARDS_DIR.glob("*.ipynb") if not p.stem.startswith("."))


def dashboard_path(name: str) -> Path:
    """The notebook of dashboard ``name``; an unknown name raises ValidationError listing them.

    Example
    -------
    >>> dashboard_path("leaderboard").name
    'leaderboard.ipynb'
    """
    known = list_dashboards()
    if not isinstance(name, str) or name not in known:
        raise ValidationError(
            "name", name, "one of " + (", ".join(known) if known else f"none ({DASHBOARDS_DIR})")
        )
    return DASHBOARDS_DIR / f"{name}.ipynb"


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check_port(port: Any) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValidationError("port", port, "an integer from 1 to 65535")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As Voila binds: connections of a stopped server lingering in TIME_WAIT do not
        # count, a socket listening on the port does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise DashboardError(
                f"Port {port} on 127.0.0.1 is busy ({exc.strerror or exc}): another Voila or "
                f"server uses it. Stop it or pick another port, e.g. --port {free_port()}."
            ) from None
    return port


def _kernel_dir() -> Path:
    """A Jupyter data folder whose ``workbench`` kernel is this interpreter."""
    root = Path(tempfile.gettempdir()) / f"workbench-voila-{os.getuid()}"
    spec = root / "kernels" / KERNEL_NAME / "kernel.json"
    body = {
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                 "-f", "{connection_file}"],
        "display_name": "Python (workbench)",
        "language": "python",
    }  # fmt: skip
    text = json.dumps(body, indent=1)
    if not spec.is_file() or spec.read_text() != text:
        spec.parent.mkdir(parents=True, exist_ok=True)
        tmp = spec.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(spec)
    return root


def voila_command(notebook: str | os.PathLike[str], port: int) -> list[str]:
    """The Voila command line for ``notebook`` on ``127.0.0.1:port`` (voila 0.5 options).

    Example
    -------
    >>> voila_command("dashboards/leaderboard.ipynb", 8866)[:3]   # doctest: +SKIP
    ['/.../python', '-m', 'voila']
    """
    return [
        sys.executable, "-m", "voila", str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",          # loopback only
        "--Voila.port_retries=0",        # a busy port is an error, not another port
        "--theme=light",
        "--strip_sources=True",
        "--show_tracebacks=False",
        r"--VoilaConfiguration.file_allowlist=$^",   # serve no files: images are inline
        "--VoilaExecutor.timeout=120",
    ]  # fmt: skip


def _environment(workspace: Workspace) -> dict[str, str]:
    env = dict(os.environ)
    env["WORKBENCH_HOME"] = str(workspace.path)
    env["JUPYTER_PATH"] = os.pathsep.join(
        [str(_kernel_dir()), *filter(None, [env.get("JUPYTER_PATH")])]
    )
    env.pop("MPLBACKEND", None)  # the kernel picks the inline backend itself
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class VoilaServer:
    """A Voila server running in the background: ``url``, ``port``, ``process``, ``stop()``.

    Made by :func:`start_voila` / :func:`start_dashboard`; a context manager that stops the
    server (and the kernels it started) on exit. ``log()`` returns what Voila printed.

    Example
    -------
    >>> with start_dashboard("monitoring") as server:             # doctest: +SKIP
    ...     urllib.request.urlopen(server.url).status
    200
    """

    def __init__(
        self, process: subprocess.Popen[bytes], port: int, notebook: Path, log_path: Path
    ) -> None:
        self.process = process
        self.port = port
        self.notebook = notebook
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}/"
        self._log_text: str | None = None  # kept once the log file is removed

    def __repr__(self) -> str:
        state = "running" if self.process.poll() is None else f"exited {self.process.returncode}"
        return f"VoilaServer({self.notebook.name!r}, url={self.url!r}, {state})"

    def __enter__(self) -> VoilaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        """Everything Voila wrote to stdout and stderr (kept after ``stop()``)."""
        if self._log_text is not None:
            return self._log_text
        try:
            return self.log_path.read_text("utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            return ""

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """Stop Voila (SIGTERM, then SIGKILL after ``timeout``); return its exit code.

        On SIGTERM Voila shuts down the kernels it started; a kernel whose server was killed
        notices its parent is gone and exits on its own (ipykernel's parent poller).
        """
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self._log_text is None and self.log_path.name.startswith("voila-"):
            self._log_text = self.log()
            self.log_path.unlink(missing_ok=True)  # a temporary file of start_voila
        return self.process.returncode

    def wait_until_ready(self, timeout: float = _START_TIMEOUT) -> None:
        """Wait until the server answers HTTP (without rendering the page, which runs a kernel)."""
        deadline = time.monotonic() + timeout
        probe = f"http://127.0.0.1:{self.port}/voila/static/workbench-ready-probe"
        while True:
            if self.process.poll() is not None:
                raise DashboardError(
                    f"Voila exited with code {self.process.returncode} before answering on port "
                    f"{self.port}. Its output:\n{self.log()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(probe, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer (404 here) means the server is up
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise DashboardError(
                    f"Voila did not answer on port {self.port} within {timeout:g} s. "
                    f"Its output:\n{self.log()[-3000:]}"
                )
            time.sleep(0.1)


def start_voila(
    notebook: str | os.PathLike[str],
    *,
    port: int | None = None,
    workspace: Workspace | str | None = None,
    timeout: float = _START_TIMEOUT,
    extra_args: list[str] | None = None,
) -> VoilaServer:
    """Start Voila on ``notebook`` in the background; return once it answers HTTP.

    ``port`` None picks a free one. The server runs in its own process group (so stopping it
    stops its kernels too) and logs to a temporary file (``server.log()``).

    Example
    -------
    >>> server = start_voila("my_dashboard.ipynb", workspace="/tmp/ws")   # doctest: +SKIP
    >>> server.url; server.stop()                                          # doctest: +SKIP
    """
    path = Path(notebook).expanduser().resolve()
    if not path.is_file() or path.suffix != ".ipynb":
        raise ValidationError("notebook", str(notebook), "an existing .ipynb file")
    port = free_port() if port is None else _check_port(port)
    ws = get_workspace(workspace)
    fd, log_name = tempfile.mkstemp(prefix=f"voila-{path.stem}-", suffix=".log")
    with os.fdopen(fd, "wb") as log:
        process = subprocess.Popen(
            [*voila_command(path, port), *(extra_args or [])],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_environment(ws),
            cwd=str(path.parent),
            start_new_session=True,
        )
    server = VoilaServer(process, port, path, Path(log_name))
    try:
        server.wait_until_ready(timeout)
    except BaseException:
        server.stop()
        raise
    return server


def start_dashboard(
    name: str,
    *,
    port: int | None = None,
    workspace: Workspace | str | None = None,
    timeout: float = _START_TIMEOUT,
) -> VoilaServer:
    """Start dashboard ``name`` in the background (see :func:`start_voila`).

    Example
    -------
    >>> with start_dashboard("labelling", workspace="/tmp/ws") as server:   # doctest: +SKIP
    ...     page.goto(server.url)
    """
    return start_voila(dashboard_path(name), port=port, workspace=workspace, timeout=timeout)


def serve_dashboard(
    name: str,
    *,
    port: int = DEFAULT_PORT,
    workspace: Workspace | str | None = None,
    open_browser: bool = False,
) -> int:
    """Serve dashboard ``name`` with Voila on ``http://127.0.0.1:<port>/`` until Ctrl-C.

    Returns Voila's exit code (0 after Ctrl-C). A busy port raises DashboardError naming it.

    Example
    -------
    >>> serve_dashboard("leaderboard", port=8866)    # doctest: +SKIP
    Serving the leaderboard dashboard on http://127.0.0.1:8866/ (workspace ...); Ctrl-C stops it.
    """
    path = dashboard_path(name)
    _check_port(port)
    ws = get_workspace(workspace)
    url = f"http://127.0.0.1:{port}/"
    print(f"Serving the {name} dashboard on {url} (workspace {ws.path}); Ctrl-C stops it.")
    process = subprocess.Popen(
        voila_command(path, port), env=_environment(ws), cwd=str(path.parent),
        start_new_session=True,
    )  # fmt: skip
    server = VoilaServer(process, port, path, Path(os.devnull))
    try:
        if open_browser:
            server.wait_until_ready()
            webbrowser.open(url)
        return process.wait()
    except KeyboardInterrupt:
        print("\nStopping Voila.")
        server.stop()
        return 0
    finally:
        if process.poll() is None:
            server.stop()
