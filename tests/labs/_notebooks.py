"""Reading lab notebooks statically, for the convention tests (nothing is executed)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from workbench.labs import list_labs

SOLUTION_FIRST_LINE = "# Solution (hidden in JupyterLab: click the dots to expand)"


def lab_paths() -> dict[str, Path]:
    """Each lab notebook once (a matrix lab is listed once per value), by notebook name."""
    return {lab.notebook: lab.path for lab in list_labs()}


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(lab_paths()[name], as_version=4)


def tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.metadata.get("tags", []))


def code(cell: nbformat.NotebookNode) -> ast.Module:
    """The cell's source as Python (IPython magics and shell lines blanked)."""
    lines = [
        "" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines()
    ]
    return ast.parse("\n".join(lines))


def asserts(cell: nbformat.NotebookNode) -> bool:
    return any(isinstance(node, ast.Assert) for node in ast.walk(code(cell)))


def all_code(nb: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")
