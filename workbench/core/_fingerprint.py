"""Content fingerprints of input data, for lineage (data -> job -> model)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ._atomic import sha256_file

__all__ = ["fingerprint"]


def fingerprint(data: Any, columns: list[str] | None = None) -> str:
    """A short stable content hash of a DataFrame, array, file or folder.

    DataFrames hash their values, index, column names and dtypes; arrays their bytes, shape
    and dtype (plus ``columns`` if given); files their bytes; folders their files' relative
    names and contents in sorted order.
    """
    digest = hashlib.sha256()
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            digest.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
            digest.update(sha256_file(f).encode())
        return "sha256:" + digest.hexdigest()[:32]
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        digest.update(repr([(str(c), str(t)) for c, t in data.dtypes.items()]).encode())
        digest.update(pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes())
    elif isinstance(data, np.ndarray):
        digest = hashlib.blake2b(digest_size=16)  # ~3x faster than sha256 on large arrays
        digest.update(f"{data.dtype}{data.shape}{columns or ''}".encode())
        digest.update(np.ascontiguousarray(data).data)
        return "blake2b:" + digest.hexdigest()
    else:
        raise TypeError(f"Cannot fingerprint {type(data).__name__}")
    return "sha256:" + digest.hexdigest()[:32]
