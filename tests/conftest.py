"""Shared fixtures: an isolated workspace per test and small training frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.core import Workspace


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Workspace:
    """A fresh workspace, also made the default through WORKBENCH_HOME."""
    home = tmp_path / "ws"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    return Workspace(home)


@pytest.fixture(scope="session")
def binary_frame() -> pd.DataFrame:
    """800 rows, 6 numeric features with signal, binary target ``y``."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 6))
    logits = 1.5 * X[:, 0] - 2.0 * X[:, 1] + X[:, 2] * X[:, 3]
    y = (logits + rng.logistic(size=800) > 0).astype(int)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    df["y"] = y
    return df


@pytest.fixture(scope="session")
def splits(binary_frame):
    return binary_frame.iloc[:600].reset_index(drop=True), binary_frame.iloc[600:].reset_index(
        drop=True
    )
