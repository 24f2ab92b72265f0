"""The workshop labs as papermill pipelines.

Example
-------
>>> from workbench.labs import list_labs, run_lab
>>> run_lab("day1", parameters={"FAST": True})   # doctest: +SKIP
>>> run_labs(all_labs=True, parameters={"FAST": True})   # the whole workshop  # doctest: +SKIP
"""

from ._doctor import Check, doctor, format_checks
from ._handoff import latest_training_job
from ._projects import PROJECTS, ProblemStatement, Project, get_project
from ._registry import Lab, find_labs, labs_dir, list_labs, select_labs
from ._runner import LabFailedError, LabRun, run_lab, run_labs

__all__ = [
    "Check",
    "Lab",
    "LabFailedError",
    "LabRun",
    "PROJECTS",
    "ProblemStatement",
    "Project",
    "doctor",
    "find_labs",
    "format_checks",
    "get_project",
    "labs_dir",
    "latest_training_job",
    "list_labs",
    "run_lab",
    "run_labs",
    "select_labs",
]
