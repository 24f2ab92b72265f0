"""Run one sample-project lab end to end and return its results (shared by its tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import workbench as wb
from workbench.labs import run_lab


def run_project_lab(stem: str, run_dir: Path, keys: set[str]) -> dict[str, Any]:
    """Run ``projects/<stem>`` in FAST mode; check it completed, left no endpoint, has ``keys``."""
    try:
        result = run_lab(f"projects/{stem}", {"FAST": True}, run_dir=run_dir)
    finally:
        left = list(wb.list_endpoints()["name"])
        for name in left:  # never leave a server running, even if the lab failed
            wb.delete_endpoint(name)
    assert left == [], f"the lab left endpoints running: {left}"
    assert result.status == "Completed"
    assert [nb["lab"] for nb in result.notebooks] == [f"projects/{stem}"]
    results = json.loads((run_dir / f"{stem}.json").read_text())
    assert results == result.notebooks[0]["results"]
    assert keys <= set(results), sorted(keys - set(results))
    return results
