"""Run one sample-project track end to end: its Day 2 lab, then its Day 3 lab (shared by tests).

Both labs run into the caller's workspace and one run folder, the way the workshop runs them:
Day 3 finds the model Day 2 trained by its name, never through files in the run folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import workbench as wb
from workbench.exceptions import ValidationError
from workbench.labs import run_lab

# track key -> its number in labs/day2_projects and labs/day3_projects
TRACKS = {"maintenance": 1, "recommendation": 2, "forecasting": 3, "topics": 4, "images": 5}


def track_labs(key: str) -> tuple[str, str]:
    """The lab names of a track: ``(day2/0N_<key>_model, day3/0N_<key>_in_production)``.

    Example
    -------
    >>> track_labs("images")
    ('day2/05_images_model', 'day3/05_images_in_production')
    """
    if key not in TRACKS:
        raise ValidationError("track", key, "one of " + ", ".join(TRACKS))
    n = TRACKS[key]
    return f"day2/{n:02d}_{key}_model", f"day3/{n:02d}_{key}_in_production"


def run_track(key: str, run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run a track's two labs in FAST mode into ``run_dir``; return (Day 2, Day 3) results.

    Checks that each lab completed, wrote its results file (the one the runner reports) and
    that no endpoint is left running; leftover endpoints are deleted even if a lab failed.

    Example
    -------
    >>> model, production = run_track("maintenance", tmp_path / "run")  # doctest: +SKIP
    """
    results = []
    try:
        for name in track_labs(key):
            run = run_lab(name, {"FAST": True}, run_dir=run_dir)
            assert run.status == "Completed", (name, run.status)
            assert [nb["lab"] for nb in run.notebooks] == [name]
            assert run.notebooks[0]["status"] == "Completed", run.notebooks[0]
            stem = name.split("/", 1)[1]
            written = json.loads((run_dir / f"{stem}.json").read_text())
            assert written == run.notebooks[0]["results"], "the runner reports the lab's results"
            results.append(written)
    finally:
        left = list(wb.list_endpoints()["name"])
        for endpoint in left:  # never leave a server running, even if a lab failed
            wb.delete_endpoint(endpoint)
    assert left == [], f"the labs left endpoints running: {left}"
    day2, day3 = results
    # Day 3 served the model Day 2 trained (found by name in the same workspace)
    trained = day2.get("training_job") or day2.get("ntm_training_job")
    assert day3["training_job"] == trained, (day3["training_job"], trained)
    assert wb.TrainingJob(trained).status == "Completed"
    assert day3["endpoints_left"] == []
    presentation = Path(day3["presentation"])
    assert presentation == run_dir.resolve() / f"{key}_presentation.md", presentation
    assert presentation.read_text().count("## ") >= 5, (
        "problem, model, endpoint, monitoring, architecture"
    )
    return day2, day3
