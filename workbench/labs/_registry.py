"""Finding labs: notebooks under ``labs/<day>_<topic>/``, named ``day1`` or ``day1/<notebook>``.

A lab notebook may say more about itself in its metadata, under ``"workbench"``:

- ``"tracks"``: the sample projects whose track it belongs to (``["fraud"]``);
- ``"needs"``: the labs whose workspace objects it reads (a Day 3 lab needs its Day 2 lab),
  so the pipeline's cache re-runs it when one of them re-ran;
- ``"matrix"``: ``{"PROJECT": ["fraud", ...]}`` runs the notebook once per value, as labs named
  ``day1/03_define_problem[fraud]``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import ValidationError

__all__ = ["Lab", "labs_dir", "list_labs", "find_labs", "known_names", "select_labs"]


@dataclass(frozen=True)
class Lab:
    """One lab: a notebook, with the matrix values it runs with (if any)."""

    group: str  # e.g. "day1"
    name: str  # e.g. "day1/01_intro_fraud" or "day1/03_define_problem[fraud]"
    path: Path
    tracks: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    matrix: dict[str, Any] = field(default_factory=dict)  # this lab's values of the matrix

    @property
    def notebook(self) -> str:
        """The lab's name without its matrix values (``day1/03_define_problem``)."""
        return f"{self.group}/{self.path.stem}"

    @property
    def results_file(self) -> str:
        """The file the lab writes its key results to, inside its run folder."""
        suffix = "".join(f"-{value}" for value in self.matrix.values())
        return f"{self.path.stem}{suffix}.json"

    @property
    def output_file(self) -> str:
        """The executed notebook's file name in the run folder."""
        return self.name.replace("/", "__").replace("[", "-").replace("]", "") + ".ipynb"


def labs_dir() -> Path:
    """The labs folder: ``WORKBENCH_LABS_DIR``, or ``labs/`` beside the package."""
    override = os.environ.get("WORKBENCH_LABS_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "labs"


def list_labs() -> list[Lab]:
    """Every lab, in workshop order (folders, then notebooks, then matrix values)."""
    root = labs_dir()
    labs = []
    for folder in sorted(
        p for p in root.glob("*") if p.is_dir() and not p.name.startswith((".", "_"))
    ):
        group = folder.name.split("_", 1)[0]
        for nb in sorted(folder.glob("*.ipynb")):
            labs.extend(_labs_of(group, nb))
    return labs


def _labs_of(group: str, path: Path) -> list[Lab]:
    meta = json.loads(path.read_text()).get("metadata", {}).get("workbench", {})
    base = {
        "group": group,
        "path": path,
        "tracks": tuple(meta.get("tracks", ())),
        "needs": tuple(meta.get("needs", ())),
    }
    matrix = meta.get("matrix") or {}
    if not matrix:
        return [Lab(name=f"{group}/{path.stem}", **base)]
    if len(matrix) != 1:
        raise ValidationError(f"metadata.workbench.matrix of {path}", matrix, "one parameter")
    ((key, values),) = matrix.items()
    return [
        Lab(name=f"{group}/{path.stem}[{value}]", matrix={key: value}, **base) for value in values
    ]


def find_labs(name: str) -> list[Lab]:
    """Labs for ``name``: a group (``day1``) runs all its notebooks in order.

    ``name`` may be a group, a folder (``day2_projects``), a lab (``day1/01_intro_fraud``), a
    notebook's file stem, or one matrix value of a lab (``day1/03_define_problem[maintenance]``).
    """
    labs = list_labs()
    chosen = [
        lab
        for lab in labs
        if name in (lab.group, lab.path.parent.name, lab.name, lab.notebook, lab.path.stem)
    ]
    if not chosen:
        raise ValidationError("lab", name, "one of " + ", ".join(known_names(labs)))
    return chosen


def known_names(labs: list[Lab] | None = None) -> list[str]:
    """Groups and lab names, for error messages and ``workbench labs list``."""
    labs = list_labs() if labs is None else labs
    groups = list(dict.fromkeys(lab.group for lab in labs))
    return groups + list(dict.fromkeys(lab.notebook for lab in labs))


def select_labs(
    names: list[str] | None = None, *, all_labs: bool = False, track: str | None = None
) -> list[Lab]:
    """The labs a pipeline runs, each once, in workshop order.

    ``all_labs`` takes every lab; ``track`` keeps the labs of one sample project (a matrix lab
    over ``PROJECT`` runs only for that project).
    """
    labs = list_labs()
    if not (names or all_labs or track):
        raise ValidationError("labs", names, "lab names, --all or --track")
    chosen = {lab.name for lab in labs}
    if names and not all_labs:
        chosen = {lab.name for name in names for lab in find_labs(name)}
    if track is not None:
        tracks = sorted({t for lab in labs for t in lab.tracks})
        if track not in tracks:
            raise ValidationError("track", track, "one of " + ", ".join(tracks))
        chosen &= {
            lab.name
            for lab in labs
            if track in lab.tracks and lab.matrix.get("PROJECT", track) == track
        }
    return [lab for lab in labs if lab.name in chosen]
