"""How labs hand results to each other through the workspace: by training job base name.

A Day 2 lab trains with ``base_job_name="maintenance-rcf"``; the Day 3 lab of the same
track finds that job (and its model) by the same name, so the two notebooks share nothing
but the workspace.
"""

from __future__ import annotations

from typing import Any

from ..core import Workspace, get_workspace
from ..exceptions import ResourceNotFound

__all__ = ["latest_training_job"]


def latest_training_job(base_job_name: str, workspace: Workspace | str | None = None) -> Any:
    """The newest Completed training job named ``<base_job_name>-<timestamp>``.

    Example
    -------
    >>> job = latest_training_job("maintenance-rcf")   # doctest: +SKIP
    >>> predictor = job.model().deploy(endpoint_name="maintenance")   # doctest: +SKIP
    """
    from ..training import TrainingJob
    from ..training._job import KIND, reconcile

    ws = get_workspace(workspace)
    prefix = f"{base_job_name}-"
    records = [
        rec
        for rec in ws.catalog.list(KIND)
        if rec["name"].startswith(prefix) and reconcile(ws, rec)["status"] == "Completed"
    ]
    if not records:
        raise ResourceNotFound(
            f"No completed training job named {prefix}<timestamp> in workspace {ws.path}; "
            "run the lab that trains it first (its Day 2 lab)"
        )
    newest = max(records, key=lambda rec: (rec["created_at"], rec["name"]))
    return TrainingJob(newest["name"], workspace=ws)
