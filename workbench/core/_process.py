"""Process identity that survives pid reuse: (pid, start time)."""

from __future__ import annotations

from typing import Any

import psutil

__all__ = ["process_identity", "is_running"]


def process_identity(pid: int) -> dict[str, Any]:
    """``{"pid": pid, "create_time": t}`` for a running process."""
    return {"pid": pid, "create_time": psutil.Process(pid).create_time()}


def is_running(identity: dict[str, Any] | None) -> bool:
    """True if the process recorded in ``identity`` still runs (and is not a zombie)."""
    if not identity or not identity.get("pid"):
        return False
    try:
        proc = psutil.Process(int(identity["pid"]))
        if abs(proc.create_time() - float(identity.get("create_time", 0))) > 0.05:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False
