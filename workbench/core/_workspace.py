"""The workspace: a folder with the SQLite catalogue and every object's artifacts."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ._catalog import Catalog

__all__ = ["Workspace", "get_workspace", "DEFAULT_DIRNAME"]

DEFAULT_DIRNAME = ".workbench"
_lock = threading.Lock()
_catalogs: dict[Path, Catalog] = {}


class Workspace:
    """A workspace folder: ``catalog.db`` plus one folder per object kind.

    The location is, in order: the ``path`` given, the ``WORKBENCH_HOME`` environment
    variable, or ``.workbench`` in the current working directory.

    Example
    -------
    >>> ws = Workspace("/tmp/wb-doc")   # doctest: +SKIP
    >>> ws.catalog.list("training-job")  # doctest: +SKIP
    []
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            path = os.environ.get("WORKBENCH_HOME") or Path.cwd() / DEFAULT_DIRNAME
        self.path = Path(path).expanduser().resolve()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def catalog(self) -> Catalog:
        """The catalogue, created on first use (schema set up once per process)."""
        db = self.path / "catalog.db"
        with _lock:
            cat = _catalogs.get(db)
            if cat is None or not db.exists():
                cat = _catalogs[db] = Catalog(db)
        return cat

    def folder(self, kind: str, name: str) -> Path:
        """The artifact folder of one object, e.g. ``<ws>/training-jobs/<name>``."""
        return self.path / f"{kind}s" / name


def get_workspace(workspace: Workspace | str | os.PathLike[str] | None = None) -> Workspace:
    """Return ``workspace`` as a :class:`Workspace` (the default one when ``None``)."""
    if isinstance(workspace, Workspace):
        return workspace
    return Workspace(workspace)
