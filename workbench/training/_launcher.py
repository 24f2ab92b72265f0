"""Starting jobs out of the kernel, with a warm pool of ready job runners.

A fresh Python process spends over a second importing xgboost, pandas and scikit-learn,
so, like SageMaker's warm pools (``keep_alive_period_in_seconds``), the launcher keeps a
runner ready: a supervisor process whose worker has already imported them. A job is
handed to an idle runner in milliseconds; a new runner is started once that job ends, so
it never competes with a running job for the CPU. Runners live in their own session, so
a kernel restart does not kill running jobs; idle runners exit when the kernel's end of
their stdin closes, or after the keep-alive period.
"""

from __future__ import annotations

import atexit
import json
import subprocess
import sys
import threading
import time
from typing import Any

__all__ = ["RunnerPool", "get_pool", "DEFAULT_PRELOAD", "DEFAULT_KEEP_ALIVE"]

DEFAULT_PRELOAD = ("numpy", "pandas", "xgboost", "sklearn.linear_model", "workbench.algorithms")
DEFAULT_KEEP_ALIVE = 1800.0


class RunnerPool:
    """Idle job runners of this kernel (at most ``size``)."""

    def __init__(self, size: int = 1, preload: tuple[str, ...] = DEFAULT_PRELOAD) -> None:
        self.size = size
        self.preload = preload
        self._idle: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._replenishing = 0

    def _spawn(self, keep_alive: float) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "workbench.training._supervisor",
                "--preload",
                ",".join(self.preload),
                "--keep-alive",
                str(keep_alive),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )

    def submit(self, spec: dict[str, Any], keep_alive: float = DEFAULT_KEEP_ALIVE) -> int:
        """Hand ``spec`` to an idle runner (or a new one); return the supervisor's pid."""
        payload = (json.dumps(spec) + "\n").encode()
        for _ in range(3):
            runner = self._take() if keep_alive > 0 else None
            runner = runner or self._spawn(keep_alive)
            try:
                assert runner.stdin is not None
                runner.stdin.write(payload)
                runner.stdin.close()
            except (BrokenPipeError, OSError):
                runner.wait()
                continue
            if keep_alive > 0:
                self._replenish_after(runner, keep_alive)
            return runner.pid
        raise RuntimeError("Could not start a job runner process")

    def _take(self) -> subprocess.Popen[bytes] | None:
        with self._lock:
            while self._idle:
                runner = self._idle.pop(0)
                if runner.poll() is None:
                    return runner
        return None

    def _replenish_after(self, busy: subprocess.Popen[bytes], keep_alive: float) -> None:
        """Start a fresh idle runner once ``busy`` has finished its job."""

        def waiter() -> None:
            busy.wait()
            self.warm(keep_alive)

        threading.Thread(target=waiter, daemon=True, name="workbench-pool").start()

    def warm(self, keep_alive: float = DEFAULT_KEEP_ALIVE) -> None:
        """Make sure ``size`` idle runners exist (they warm up in the background)."""
        with self._lock:
            self._idle = [r for r in self._idle if r.poll() is None]
            while len(self._idle) < self.size:
                self._idle.append(self._spawn(keep_alive))

    def idle_count(self) -> int:
        with self._lock:
            return sum(1 for r in self._idle if r.poll() is None)

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Block until the idle runners have imported their modules (benchmarks use this)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self._lock:
                runners = [r for r in self._idle if r.poll() is None]
            if len(runners) >= self.size and all(_worker_idle(r.pid) for r in runners):
                return True
            time.sleep(0.05)
        return False

    def shutdown(self) -> None:
        """Close every idle runner (running jobs are not affected)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for runner in idle:
            try:
                if runner.stdin:
                    runner.stdin.close()
            except OSError:
                pass
        for runner in idle:
            try:
                runner.wait(timeout=5)
            except subprocess.TimeoutExpired:
                runner.kill()


def _worker_idle(supervisor_pid: int) -> bool:
    """True when the runner's worker exists and sleeps on its stdin (imports done)."""
    import psutil

    try:
        children = psutil.Process(supervisor_pid).children()
        return bool(children) and all(
            c.status() == psutil.STATUS_SLEEPING and c.cpu_percent(interval=0.02) < 5.0
            for c in children
        )
    except psutil.Error:
        return False


_pool: RunnerPool | None = None
_pool_lock = threading.Lock()


def get_pool() -> RunnerPool:
    """This kernel's runner pool."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = RunnerPool()
            atexit.register(_pool.shutdown)
        return _pool
