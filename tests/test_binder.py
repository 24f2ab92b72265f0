"""binder/: the same pins as the lock, postBuild fails fast and installs workbench, start runs."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def test_environment_installs_the_lock_and_python_3_11():
    text = (BINDER / "environment.yml").read_text()
    assert "- python=3.11" in text
    requirement = next(
        line.split("-r", 1)[1].strip() for line in text.splitlines() if "-r " in line
    )
    assert (BINDER / requirement).resolve() == ROOT / "requirements" / "lock.txt"
    root_env = (ROOT / "environment.yml").read_text()
    assert "- python=3.11" in root_env and "-r requirements/lock.txt" in root_env


def test_post_build_stops_on_errors_and_installs_workbench_and_its_kernel():
    lines = (BINDER / "postBuild").read_text().splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "set -e" in lines
    assert "pip install --no-deps -e ." in lines
    assert any("ipykernel install" in line and "--name workbench" in line for line in lines)
    assert os.access(BINDER / "postBuild", os.X_OK)


def test_start_sets_the_workspace_and_runs_the_server_command(tmp_path):
    env = {"HOME": str(tmp_path), "PATH": os.environ["PATH"]}
    out = subprocess.run(
        [str(BINDER / "start"), "sh", "-c", 'echo "$WORKBENCH_HOME"'],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out.strip() == str(tmp_path / ".workbench")
    assert (tmp_path / ".workbench").is_dir()
