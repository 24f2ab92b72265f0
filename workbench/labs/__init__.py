"""The workshop labs as papermill pipelines.

Example
-------
>>> from workbench.labs import list_labs, run_lab
>>> run_lab("day1", parameters={"FAST": True})   # doctest: +SKIP
"""

from ._registry import Lab, find_labs, labs_dir, list_labs
from ._runner import LabFailedError, LabRun, run_lab

__all__ = ["Lab", "LabFailedError", "LabRun", "find_labs", "labs_dir", "list_labs", "run_lab"]
