"""Model folders of the numpy algorithms: named arrays in ``.npz`` plus a JSON description.

Never pickled: arrays load with ``allow_pickle=False`` and the description is JSON, so a
model folder cannot run code when it is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ValidationError

__all__ = ["load_arrays", "save_arrays"]


def save_arrays(
    model_dir: str | Path,
    model_file: str,
    meta_file: str,
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
) -> None:
    """Write ``arrays`` to ``model_dir/model_file`` and ``meta`` to ``model_dir/meta_file``."""
    folder = Path(model_dir)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / model_file, **arrays)
    (folder / meta_file).write_text(json.dumps(meta, indent=2))


def load_arrays(
    model_dir: str | Path, model_file: str, meta_file: str, model_format: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and description written by :func:`save_arrays`; checks ``meta["format"]``."""
    folder = Path(model_dir)
    meta = json.loads((folder / meta_file).read_text())
    if meta.get("format") != model_format:
        raise ValidationError(f"model {meta_file}", meta.get("format"), f"format {model_format!r}")
    with np.load(folder / model_file, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    return arrays, meta
