"""A training worker: imports heavy modules ahead of time, then runs exactly one job.

Started by a supervisor (``_supervisor.py``) with its stdout/stderr piped to it. It
waits for one JSON job spec on stdin, runs the built-in algorithm or the user's script
in SageMaker's layout, and exits with the job's exit code (0 = Completed).
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import runpy
import signal
import sys
import traceback
from typing import Any

STARTED_MARKER = "[workbench] training code started"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _die_with_parent()
    for module in argv[0].split(",") if argv and argv[0] else []:
        try:
            importlib.import_module(module)
        except Exception:  # a missing optional module only costs the job its warm start
            pass
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    spec = json.loads(line)
    return run(spec)


def run(spec: dict[str, Any]) -> int:
    os.environ.update(spec.get("env", {}))
    os.chdir(spec["cwd"])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if spec["kind"] == "script":
        return _run_script(spec)
    if spec["kind"] == "processing":
        return _run_processing(spec)
    if spec["kind"] == "transform":
        return _run_transform(spec)
    return _run_algorithm(spec)


def _run_processing(spec: dict[str, Any]) -> int:
    from workbench.features._processing import run_in_job

    return _run_in_job(spec, "processing job", run_in_job)


def _run_transform(spec: dict[str, Any]) -> int:
    from workbench.serving._batch import run_in_job

    return _run_in_job(spec, "transform job", run_in_job)


def _run_in_job(spec: dict[str, Any], what: str, run_in_job: Any) -> int:
    """Run a processing or transform job's code; WorkbenchError -> ClientError, else AlgorithmError."""
    from workbench.exceptions import WorkbenchError

    print(f"{STARTED_MARKER}: {what} {spec['job_name']}", flush=True)
    try:
        run_in_job(spec)
    except WorkbenchError as exc:
        traceback.print_exc()
        _write_failure(spec, f"ClientError: {exc}")
        return 2
    except Exception as exc:
        traceback.print_exc()
        _write_failure(spec, f"AlgorithmError: {type(exc).__name__}: {exc}")
        return 1
    return 0


def _write_failure(spec: dict[str, Any], text: str) -> None:
    out = os.path.join(spec["job_dir"], "output")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "failure"), "w") as handle:
        handle.write(text)


def _run_algorithm(spec: dict[str, Any]) -> int:
    from workbench.algorithms import get_algorithm
    from workbench.exceptions import WorkbenchError
    from workbench.training._environment import TrainingEnvironment

    env = TrainingEnvironment.from_job_dir(spec["job_dir"], spec["job_name"])
    try:
        algorithm = get_algorithm(spec["algorithm"])
        print(f"{STARTED_MARKER}: built-in algorithm {algorithm.name}", flush=True)
        hps = algorithm.validate_hyperparameters(env.hyperparameters)
        algorithm.check_inputs(hps, env.channels)
        algorithm.train(env, hps)
    except WorkbenchError as exc:
        traceback.print_exc()
        env.write_failure(f"ClientError: {exc}")
        return 2
    except Exception as exc:
        traceback.print_exc()
        env.write_failure(f"AlgorithmError: {type(exc).__name__}: {exc}")
        return 1
    return 0


def _run_script(spec: dict[str, Any]) -> int:
    script = spec["entry_point"]
    sys.argv = [script, *spec.get("args", [])]
    sys.path.insert(0, spec["cwd"])
    shown = " ".join([sys.executable.rsplit("/", 1)[-1], *sys.argv])
    print(f"{STARTED_MARKER}: invoking script with the following command:\n{shown}", flush=True)
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the supervisor dies, so no worker outlives its job record."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(1)
    except OSError:
        pass


if __name__ == "__main__":
    code = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: destructors of native libraries can take seconds.
    os._exit(code)
