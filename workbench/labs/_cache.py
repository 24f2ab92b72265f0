"""The pipeline's cache: a lab whose notebook, parameters and inputs did not change is not re-run.

A lab's key hashes its notebook (cells' types, sources and tags; not outputs), its
parameters (not ``RUN_DIR``, which changes every run), the other files in its folder, the
workbench source code, the kernel name, and the runs of the labs it ``needs`` (their run ids
as cached in this workspace). The entry
lives in the workspace (``<workspace>/labs/cache/<key>/``) beside the objects the lab made:
the executed notebook, its results and the files it wrote to the run folder. An entry only
counts while every workspace object the lab created still exists, so an emptied workspace
or a deleted model re-runs the lab.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from ..core import Workspace, atomic_write_json
from ._registry import Lab

__all__ = ["lab_keys", "with_upstream", "CacheEntry", "lookup", "store"]

_ENTRY = "entry.json"


def lab_keys(
    labs: list[Lab], params_of: Callable[[Lab], dict[str, Any]], kernel: str
) -> dict[str, str]:
    """Cache keys of ``labs`` and of the labs they need, by lab name."""
    keys: dict[str, str] = {}
    pending = list(labs)
    while pending:
        lab = pending.pop()
        if lab.name in keys:
            continue
        params = params_of(lab)
        digest = hashlib.sha256()
        for part in (
            _notebook_digest(lab.path),
            json.dumps({k: v for k, v in params.items() if k != "RUN_DIR"}, sort_keys=True),
            _folder_digest(lab.path.parent),
            _source_digest(),
            kernel,
        ):
            digest.update(part.encode())
            digest.update(b"\0")
        keys[lab.name] = digest.hexdigest()[:32]
        pending.extend(needed_labs(lab))
    return keys


def needed_labs(lab: Lab) -> list[Lab]:
    """The labs ``lab`` reads workspace objects from (every matrix value of a matrix lab)."""
    from ._registry import list_labs

    return [other for other in list_labs() if set(lab.needs) & {other.name, other.notebook}]


def with_upstream(key: str, lab: Lab, keys: dict[str, str], workspace: Workspace) -> str:
    """``key`` chained to the runs of the labs ``lab`` needs, as they stand in the workspace.

    A lab that reads a Day 2 model re-runs when Day 2 re-ran (a new run id), not only when
    Day 2's inputs changed.
    """
    runs = []
    for other in needed_labs(lab):
        entry = lookup(workspace, with_upstream(keys[other.name], other, keys, workspace))
        runs.append(entry.record.get("run_id", "") if entry else f"missing:{other.name}")
    if not runs:
        return key
    return hashlib.sha256("\0".join([key, *runs]).encode()).hexdigest()[:32]


def _notebook_digest(path: Path) -> str:
    nb = json.loads(path.read_text())
    cells = [
        [cell["cell_type"], "".join(cell["source"]), cell.get("metadata", {}).get("tags", [])]
        for cell in nb["cells"]
    ]
    meta = nb.get("metadata", {}).get("workbench", {})
    return hashlib.sha256(json.dumps([cells, meta], sort_keys=True).encode()).hexdigest()


def _folder_digest(folder: Path) -> str:
    """Data files beside the notebooks (not the notebooks: each lab hashes its own)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix != ".ipynb" and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@cache
def _source_digest() -> str:
    """workbench's own code: a lab that ran on other code is not the same lab run."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class CacheEntry:
    """A completed lab run kept in the workspace."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.record: dict[str, Any] = json.loads((folder / _ENTRY).read_text())

    def restore(self, run_dir: Path, output: Path) -> dict[str, Any]:
        """Copy the executed notebook and the lab's files into ``run_dir``; the lab's record."""
        shutil.copyfile(self.folder / "notebook.ipynb", output)
        files = self.folder / "files"
        if files.is_dir():
            shutil.copytree(files, run_dir, dirs_exist_ok=True)
        return self.record


def lookup(workspace: Workspace, key: str) -> CacheEntry | None:
    """The entry for ``key``, if there is one and every object the lab made still exists."""
    folder = _root(workspace) / key
    if not (folder / _ENTRY).exists():
        return None
    entry = CacheEntry(folder)
    for kind, name in entry.record.get("created", []):
        if not workspace.catalog.exists(kind, name):
            return None
    return entry


def store(
    workspace: Workspace,
    key: str,
    record: dict[str, Any],
    output: Path,
    run_dir: Path,
    written: list[Path],
) -> None:
    """Keep a completed lab: its record, executed notebook and the files it wrote."""
    root = _root(workspace)
    folder = root / key
    staging = root / f".{key}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "files").mkdir(parents=True)
    shutil.copyfile(output, staging / "notebook.ipynb")
    for path in written:
        target = staging / "files" / path.relative_to(run_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    atomic_write_json(staging / _ENTRY, record)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)  # the entry appears whole or not at all


def _root(workspace: Workspace) -> Path:
    return workspace.path / "labs" / "cache"


def catalog_objects(workspace: Workspace) -> set[tuple[str, str]]:
    """Every (kind, name) in the workspace's catalogue."""
    with workspace.catalog.reader() as conn:
        return {(kind, name) for kind, name in conn.execute("SELECT kind, name FROM objects")}


def run_dir_files(run_dir: Path) -> dict[Path, tuple[int, int]]:
    """Files under ``run_dir`` with their modification time and size."""
    return {
        path: (path.stat().st_mtime_ns, path.stat().st_size)
        for path in run_dir.rglob("*")
        if path.is_file()
    }
