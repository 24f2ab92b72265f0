"""Finding labs: notebooks under ``labs/<day>_<topic>/``, named ``day1`` or ``day1/<notebook>``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import ValidationError

__all__ = ["Lab", "labs_dir", "list_labs", "find_labs"]


@dataclass(frozen=True)
class Lab:
    """One lab notebook."""

    group: str  # e.g. "day1"
    name: str  # e.g. "day1/01_intro_fraud"
    path: Path


def labs_dir() -> Path:
    """The labs folder: ``WORKBENCH_LABS_DIR``, or ``labs/`` beside the package."""
    override = os.environ.get("WORKBENCH_LABS_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "labs"


def list_labs() -> list[Lab]:
    """Every lab notebook, in workshop order."""
    root = labs_dir()
    labs = []
    for folder in sorted(
        p for p in root.glob("*") if p.is_dir() and not p.name.startswith((".", "_"))
    ):
        group = folder.name.split("_", 1)[0]
        for nb in sorted(folder.glob("*.ipynb")):
            if ".ipynb_checkpoints" not in nb.parts:
                labs.append(Lab(group=group, name=f"{group}/{nb.stem}", path=nb))
    return labs


def find_labs(name: str) -> list[Lab]:
    """Labs for ``name``: a group (``day1``) runs all its notebooks in order."""
    labs = list_labs()
    chosen = [lab for lab in labs if name in (lab.group, lab.name, lab.path.stem)]
    if not chosen:
        known = sorted({lab.group for lab in labs} | {lab.name for lab in labs})
        raise ValidationError("lab", name, "one of " + ", ".join(known))
    return chosen
