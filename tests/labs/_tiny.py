"""Tiny lab notebooks in a temporary labs folder, for testing the pipeline without real labs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

PARAMETERS = "RUN_DIR = '.'\nSEED = 0\nFAST = True\nINTERACTIVE = False"


def write_lab(
    path: Path,
    sources: list[str],
    *,
    parameters: str = PARAMETERS,
    workbench: dict[str, Any] | None = None,
) -> Path:
    """A notebook whose first cell is the parameters cell, then one code cell per source."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in [parameters, *sources]]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "workbench", "language": "python",
                                 "display_name": "Python (workbench)"}  # fmt: skip
    if workbench is not None:
        nb.metadata["workbench"] = workbench
    nbformat.write(nb, path)
    return path


def results_cell(stem: str, expression: str = "{'seed': SEED}") -> str:
    """A cell writing ``<RUN_DIR>/<stem>.json`` like a real lab."""
    return (
        "import json, os\n"
        f"with open(os.path.join(RUN_DIR, '{stem}.json'), 'w') as f:\n"
        f"    json.dump({expression}, f)"
    )
