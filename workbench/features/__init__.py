"""Feature engineering: profiles, declarative recipes, leakage-safe splits, processing jobs,
and Model Monitor baselines.

Example
-------
>>> from workbench.features import Recipe, process, profile
>>> recipe = Recipe(target="y").add("impute", columns=["a"], strategy="median")
>>> job = process(df, recipe, split_method="stratified")     # doctest: +SKIP
>>> est.fit(job.channels())   # the model carries the fitted recipe  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from ._baseline import Baseline, check_against_baseline, suggest_baseline, write_violations
from ._processing import ProcessingJob, process
from ._profile import Profile, profile
from ._recipe import FittedRecipe, Recipe, load_recipe, register_function
from ._split import Split, split

__all__ = [
    "Baseline",
    "FeaturePanel",
    "FittedRecipe",
    "ProcessingJob",
    "Profile",
    "Recipe",
    "Split",
    "check_against_baseline",
    "list_processing_jobs",
    "load_recipe",
    "process",
    "profile",
    "register_function",
    "split",
    "suggest_baseline",
    "write_violations",
]


def __getattr__(name: str) -> Any:
    if name == "FeaturePanel":  # only the panel imports ipywidgets
        from ._panel import FeaturePanel

        return FeaturePanel
    raise AttributeError(f"module 'workbench.features' has no attribute {name!r}")


def list_processing_jobs(workspace: Any = None) -> Any:
    """Processing jobs in the workspace, newest first, as a DataFrame."""
    import pandas as pd

    from ..core import get_workspace
    from ..training._job import reconcile

    ws = get_workspace(workspace)
    rows = []
    for rec in ws.catalog.list("processing-job"):
        rec = reconcile(ws, rec)
        rows.append(
            {
                "name": rec["name"],
                "status": rec["status"],
                "created": rec["created_at"],
                "split": (rec["parameters"].get("split") or {}).get("method"),
                "outputs": sorted(rec["artifacts"]),
                "failure_reason": rec["failure_reason"],
            }
        )
    return pd.DataFrame(
        rows, columns=["name", "status", "created", "split", "outputs", "failure_reason"]
    )
