"""What a training process sees: SageMaker's training layout and SM_* variables.

The layout of a job folder mirrors ``/opt/ml``::

    input/config/hyperparameters.json   (every value a string)
    input/config/inputdataconfig.json
    input/config/resourceconfig.json
    input/data/<channel>/
    model/                              -> tarred into output/model.tar.gz
    output/data/                        -> tarred into output/output.tar.gz
    output/failure                      (first 1024 characters become FailureReason)
    code/                               (script mode: a copy of source_dir)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["TrainingEnvironment", "build_env_vars", "CURRENT_HOST"]

CURRENT_HOST = "algo-1"


@dataclass
class TrainingEnvironment:
    """Paths and configuration of one training job, as a training process sees them."""

    job_name: str
    job_dir: Path
    hyperparameters: dict[str, str]
    input_data_config: dict[str, dict[str, Any]]
    num_cpus: int = field(default_factory=lambda: os.cpu_count() or 1)

    @classmethod
    def from_job_dir(cls, job_dir: str | os.PathLike[str], job_name: str) -> TrainingEnvironment:
        job_dir = Path(job_dir)
        config = job_dir / "input" / "config"
        return cls(
            job_name=job_name,
            job_dir=job_dir,
            hyperparameters=json.loads((config / "hyperparameters.json").read_text()),
            input_data_config=json.loads((config / "inputdataconfig.json").read_text()),
        )

    @property
    def input_dir(self) -> Path:
        return self.job_dir / "input"

    @property
    def config_dir(self) -> Path:
        return self.job_dir / "input" / "config"

    @property
    def model_dir(self) -> Path:
        return self.job_dir / "model"

    @property
    def output_dir(self) -> Path:
        return self.job_dir / "output"

    @property
    def output_data_dir(self) -> Path:
        return self.job_dir / "output" / "data"

    @property
    def code_dir(self) -> Path:
        return self.job_dir / "code"

    @property
    def channels(self) -> list[str]:
        return sorted(self.input_data_config)

    def channel_dir(self, channel: str) -> Path:
        return self.job_dir / "input" / "data" / channel

    def content_type(self, channel: str) -> str:
        return str(self.input_data_config.get(channel, {}).get("ContentType", ""))

    def write_failure(self, text: str) -> None:
        """Write ``output/failure`` (the job's FailureReason)."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        (self.output_dir / "failure").write_text(text)


def build_env_vars(
    env: TrainingEnvironment,
    user_hyperparameters: Mapping[str, Any],
    *,
    module_name: str | None = None,
    user_args: list[str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The SM_* variables of the SageMaker training toolkit, plus TRAINING_JOB_NAME/ARN."""
    hosts = [CURRENT_HOST]
    channels = env.channels
    training_env = {
        "channel_input_dirs": {c: str(env.channel_dir(c)) for c in channels},
        "current_host": CURRENT_HOST,
        "hosts": hosts,
        "hyperparameters": dict(user_hyperparameters),
        "input_config_dir": str(env.config_dir),
        "input_data_config": env.input_data_config,
        "input_dir": str(env.input_dir),
        "job_name": env.job_name,
        "log_level": 20,
        "model_dir": str(env.model_dir),
        "module_name": module_name,
        "num_cpus": env.num_cpus,
        "num_gpus": 0,
        "output_data_dir": str(env.output_data_dir),
        "output_dir": str(env.output_dir),
        "resource_config": {
            "current_host": CURRENT_HOST,
            "hosts": hosts,
            "network_interface_name": "eth0",
        },
    }
    out = {
        "TRAINING_JOB_NAME": env.job_name,
        "TRAINING_JOB_ARN": f"arn:workbench:sagemaker:local:000000000000:training-job/{env.job_name}",
        "SM_MODEL_DIR": str(env.model_dir),
        "SM_INPUT_DIR": str(env.input_dir),
        "SM_INPUT_CONFIG_DIR": str(env.config_dir),
        "SM_OUTPUT_DIR": str(env.output_dir),
        "SM_OUTPUT_DATA_DIR": str(env.output_data_dir),
        "SM_OUTPUT_INTERMEDIATE_DIR": str(env.output_dir / "intermediate"),
        "SM_CHANNELS": json.dumps(channels),
        "SM_HPS": json.dumps(dict(user_hyperparameters)),
        "SM_HOSTS": json.dumps(hosts),
        "SM_CURRENT_HOST": CURRENT_HOST,
        "SM_NUM_CPUS": str(env.num_cpus),
        "SM_NUM_GPUS": "0",
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_LOG_LEVEL": "20",
        "SM_INPUT_DATA_CONFIG": json.dumps(env.input_data_config),
        "SM_RESOURCE_CONFIG": json.dumps(training_env["resource_config"]),
        "SM_USER_ARGS": json.dumps(user_args or []),
        "SM_TRAINING_ENV": json.dumps(training_env),
    }
    if module_name:
        out["SM_MODULE_NAME"] = module_name
        out["SM_MODULE_DIR"] = str(env.code_dir)
    for channel in channels:
        out[f"SM_CHANNEL_{channel.upper()}"] = str(env.channel_dir(channel))
    for key, value in user_hyperparameters.items():
        out[f"SM_HP_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    out.update(extra or {})
    return out
