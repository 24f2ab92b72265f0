"""Shared plumbing of the algorithm checks: train a built-in algorithm in a temp job folder."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


@contextlib.contextmanager
def trained(
    name: str, hyperparameters: dict[str, Any], channels: dict[str, np.ndarray]
) -> Iterator[tuple[Any, str]]:
    """Train ``name`` on label-first npy channels in a job folder; yield (model, log text)."""
    from workbench.algorithms import get_algorithm
    from workbench.training._environment import TrainingEnvironment

    algo = get_algorithm(name)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = root / "input" / "config"
        config.mkdir(parents=True)
        (root / "model").mkdir()
        (root / "output" / "data").mkdir(parents=True)
        data_config = {}
        for channel, matrix in channels.items():
            folder = root / "input" / "data" / channel
            folder.mkdir(parents=True)
            np.save(folder / "data.npy", np.asarray(matrix, dtype=np.float64))
            data_config[channel] = {"ContentType": "application/x-npy"}
        strings = {k: str(v) for k, v in hyperparameters.items()}
        (config / "hyperparameters.json").write_text(json.dumps(strings))
        (config / "inputdataconfig.json").write_text(json.dumps(data_config))
        (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1"}))
        env = TrainingEnvironment.from_job_dir(root, f"check-{name}")
        typed = algo.validate_hyperparameters(env.hyperparameters)
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            algo.train(env, typed)
        yield algo.load(env.model_dir), log.getvalue()


def check(
    algorithm: str,
    text: str,
    metric: str,
    score: float,
    reference: float,
    reference_name: str,
    passed: bool,
) -> dict[str, Any]:
    return {
        "algorithm": algorithm,
        "check": text,
        "metric": metric,
        "score": round(float(score), 6),
        "reference": round(float(reference), 6),
        "reference_name": reference_name,
        "passed": bool(passed),
    }
