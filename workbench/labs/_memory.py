"""Peak memory of a running lab: its kernel and every job, server and worker it started.

A lab's processes are those whose environment has the run's ``WORKBENCH_HOME`` (the kernel
inherits it from the runner, and everything the kernel starts inherits it from the
kernel), not only the runner's descendants: a warm job runner or an endpoint may have been
re-parented. Two figures are kept, sampled every ``interval`` seconds: the sum of resident
set sizes (RSS, what ``top`` shows; it counts pages forked processes share once per
process) and the sum of proportional set sizes (PSS, shared pages split between their
sharers: what the processes really take together).
"""

from __future__ import annotations

import os
import threading
from typing import Any

__all__ = ["MemorySampler"]

_MB = 1024 * 1024


class MemorySampler:
    """Sample the memory of the processes working for ``workspace_path`` until stopped.

    Example
    -------
    >>> with MemorySampler("/tmp/ws") as sampler:   # doctest: +SKIP
    ...     run_the_lab()
    >>> sampler.peak_rss_mb                          # doctest: +SKIP
    """

    def __init__(self, workspace_path: str, interval: float = 0.25) -> None:
        self.workspace_path = str(workspace_path)
        self.interval = interval
        self.peak_rss_mb = 0.0
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, name="lab-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        import psutil

        rss = pss = 0
        me = os.getpid()
        for proc in psutil.process_iter():
            try:
                if proc.pid == me or proc.environ().get("WORKBENCH_HOME") != self.workspace_path:
                    continue
                info = proc.memory_full_info()
            except (psutil.Error, OSError):
                continue  # ended, or not ours to read
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        self.peak_rss_mb = max(self.peak_rss_mb, round(rss / _MB, 1))
        self.peak_pss_mb = max(self.peak_pss_mb, round(pss / _MB, 1))
