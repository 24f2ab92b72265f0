"""Listing training jobs as a DataFrame."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..core import get_workspace
from ._job import KIND, reconcile

__all__ = ["list_training_jobs"]

COLUMNS = [
    "name", "status", "algorithm", "created", "duration_s", "metrics", "failure_reason", "model_data",
]  # fmt: skip


def list_training_jobs(workspace: Any = None, status: str | None = None) -> Any:
    import pandas as pd

    ws = get_workspace(workspace)
    rows = []
    for rec in ws.catalog.list(KIND):
        rec = reconcile(ws, rec)
        if status and rec["status"] != status:
            continue
        params = rec["parameters"]
        duration = None
        if rec["started_at"] and rec["ended_at"]:
            delta = datetime.fromisoformat(rec["ended_at"]) - datetime.fromisoformat(
                rec["started_at"]
            )
            duration = round(delta.total_seconds(), 2)
        rows.append(
            {
                "name": rec["name"],
                "status": rec["status"],
                "algorithm": params.get("algorithm") or params.get("entry_point"),
                "created": rec["created_at"],
                "duration_s": duration,
                "metrics": rec["metrics"],
                "failure_reason": rec["failure_reason"],
                "model_data": rec["artifacts"].get("model_data", {}).get("path"),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
