"""Root pytest configuration: tests and notebooks never write to a real workspace."""

from __future__ import annotations

import os
import tempfile


def pytest_configure(config) -> None:  # noqa: ANN001
    # Notebooks checked by nbval and subprocesses inherit this; unit tests override it
    # per test with the `workspace` fixture.
    os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="wb-test-home-"))
    os.environ.setdefault("MPLBACKEND", "Agg")
