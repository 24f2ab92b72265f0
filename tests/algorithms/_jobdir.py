"""Build a SageMaker-shaped job folder for algorithm tests (no process, no catalogue)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.training._environment import TrainingEnvironment


def make_job_dir(
    root: Path,
    hyperparameters: dict,
    channels: dict[str, pd.DataFrame | np.ndarray],
    content_type: str = "text/csv",
) -> TrainingEnvironment:
    """Write label-first CSV (no header) or npy channels and the three config files."""
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (root / "model").mkdir()
    (root / "output" / "data").mkdir(parents=True)
    data_config = {}
    for name, data in channels.items():
        folder = root / "input" / "data" / name
        folder.mkdir(parents=True)
        matrix = np.asarray(data, dtype=float)
        if content_type == "text/csv":
            np.savetxt(folder / f"{name}.csv", matrix, delimiter=",", fmt="%.8g")
        else:
            np.save(folder / "data.npy", matrix)
        data_config[name] = {
            "ContentType": content_type,
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
    strings = {k: str(v) for k, v in hyperparameters.items()}
    (config / "hyperparameters.json").write_text(json.dumps(strings))
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1"}))
    return TrainingEnvironment.from_job_dir(root, "test-job")


def label_first(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.column_stack([y, X])
