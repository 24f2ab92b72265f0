"""Starting jobs out of the kernel: a warm fork server, or a cold process.

A fresh Python process spends over a second importing xgboost, pandas and scikit-learn.
Like SageMaker's warm pools (``keep_alive_period_in_seconds``), the kernel keeps one fork
server (``_forkserver.py``) with those modules imported; a job is forked from it in
milliseconds, so back-to-back and parallel jobs all start warm. With
``keep_alive_period_in_seconds=0``, or where ``fork`` is not available, each job starts
cold in a new process instead.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = [
    "DEFAULT_KEEP_ALIVE",
    "DEFAULT_PRELOAD",
    "Launcher",
    "get_launcher",
    "start_job",
    "warm_up",
]

DEFAULT_PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "xgboost",
    "sklearn.linear_model",
    "workbench.algorithms",
    "workbench.features._processing",
    "workbench.serving._server",
)
DEFAULT_KEEP_ALIVE = 1800.0
_STARTUP_TIMEOUT = 300.0
_CAN_FORK = sys.platform.startswith("linux") and hasattr(os, "fork")


class Launcher:
    """This kernel's way of starting job supervisors."""

    def __init__(self, preload: tuple[str, ...] = DEFAULT_PRELOAD) -> None:
        self.preload = preload
        self._server: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def submit(self, spec: dict[str, Any], keep_alive: float = DEFAULT_KEEP_ALIVE) -> int:
        """Start the job described by ``spec``; return its supervisor's pid."""
        if keep_alive <= 0 or not _CAN_FORK:
            return self._spawn_cold(spec)
        for attempt in range(2):
            try:
                return int(self._request({"job": spec}, keep_alive)["pid"])
            except (OSError, ValueError, EOFError):
                self._discard()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def warm(self, keep_alive: float = DEFAULT_KEEP_ALIVE) -> None:
        """Start the fork server now (it imports in the background)."""
        if _CAN_FORK:
            with self._lock:
                self._ensure(keep_alive)

    def wait_ready(self, timeout: float = _STARTUP_TIMEOUT) -> bool:
        """Block until the fork server has finished its imports."""
        if not _CAN_FORK:
            return False
        return bool(self._request({"ping": True}, DEFAULT_KEEP_ALIVE, timeout).get("pong"))

    def shutdown(self) -> None:
        """Stop the fork server; running jobs are not affected."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            try:
                if server.stdin:
                    server.stdin.close()
                server.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                server.kill()

    def _ensure(self, keep_alive: float) -> subprocess.Popen[bytes]:
        if self._server is None or self._server.poll() is not None:
            self._server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "workbench.training._forkserver",
                    "--preload",
                    ",".join(self.preload),
                    "--keep-alive",
                    str(keep_alive),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        return self._server

    def _request(
        self, message: dict[str, Any], keep_alive: float, timeout: float = _STARTUP_TIMEOUT
    ) -> dict[str, Any]:
        with self._lock:
            server = self._ensure(keep_alive)
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write((json.dumps(message) + "\n").encode())
            server.stdin.flush()
            ready, _, _ = select.select([server.stdout], [], [], timeout)
            line = server.stdout.readline() if ready else b""
        if not line:
            raise EOFError("the job fork server did not answer")
        return json.loads(line)

    def _discard(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None and server.poll() is None:
            server.kill()

    def _spawn_cold(self, spec: dict[str, Any]) -> int:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.training._supervisor", "--preload", ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        assert proc.stdin is not None
        proc.stdin.write((json.dumps(spec) + "\n").encode())
        proc.stdin.close()
        threading.Thread(target=proc.wait, daemon=True).start()  # reap it when it ends
        return proc.pid


_launcher: Launcher | None = None
_launcher_lock = threading.Lock()


def get_launcher() -> Launcher:
    """This kernel's launcher."""
    global _launcher
    with _launcher_lock:
        if _launcher is None:
            _launcher = Launcher()
            atexit.register(_launcher.shutdown)
        return _launcher


def start_job(
    catalog: Any,
    kind: str,
    name: str,
    prepare: Callable[[], dict[str, Any]],
    keep_alive: float | None = None,
) -> None:
    """Write a job's files (``prepare`` returns its spec), start it, record its process.

    If anything fails before the job runs, the catalogue entry is marked Failed with the
    reason and the error is re-raised; nothing is left InProgress.
    """
    from ..core._process import process_identity

    try:
        spec = prepare()
        keep = DEFAULT_KEEP_ALIVE if keep_alive is None else float(keep_alive)
        pid = get_launcher().submit(spec, keep_alive=keep)
    except BaseException as exc:
        catalog.update(
            kind,
            name,
            status="Failed",
            expected_status=("InProgress",),
            failure_reason=f"ClientError: could not start the job: {exc}",
        )
        raise
    try:
        identity = process_identity(pid)
    except Exception:  # the supervisor already exited; reconciling the record handles it
        identity = {"pid": pid, "create_time": 0.0}
    catalog.update(kind, name, extra={"process": identity})


def warm_up(wait: bool = False) -> None:
    """Start the warm job runner now, so the first job does not pay for the imports.

    Example
    -------
    >>> import workbench as wb
    >>> wb.training.warm_up()   # e.g. at the top of a notebook  # doctest: +SKIP
    """
    launcher = get_launcher()
    launcher.warm()
    if wait:
        launcher.wait_ready()
