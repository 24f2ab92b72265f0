"""MXNet for the deep built-in algorithms: imported on first use, on one OpenMP thread.

MXNet 1.9.1 is the last release of a retired project (it pins numpy<1.24), so only the
algorithms that need it import it, through :func:`import_mxnet`, inside their functions.
The small networks of these algorithms ran 3-30x slower per step with two OpenMP threads
on a busy 2-core machine than with one, so one thread is the default; ``OMP_NUM_THREADS``
overrides it. The setting holds for the whole process (a kernel that loaded a model too).
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

__all__ = ["import_mxnet", "device"]

_THREADS_SET: list[bool] = []


def import_mxnet() -> Any:
    """``import mxnet``, with one OpenMP thread unless ``OMP_NUM_THREADS`` says otherwise."""
    import mxnet as mx

    if not _THREADS_SET:
        if "OMP_NUM_THREADS" not in os.environ:
            mx.base._LIB.MXSetNumOMPThreads(ctypes.c_int(1))
        _THREADS_SET.append(True)
    return mx


def device(mx: Any) -> Any:
    """The first GPU when MXNet sees one, else the CPU."""
    return mx.gpu() if mx.context.num_gpus() > 0 else mx.cpu()
