"""The supervisor of one training job: the process the catalogue knows as the job.

It starts a worker (which imports the heavy modules while the supervisor is idle), waits
for a job spec on stdin (a warm pool hands one over, or the launcher right away), then
streams the worker's output to the job's log, parses metrics, enforces stop and max_run
(SIGTERM, then SIGKILL after the grace period), and records the final status. Only a
worker that exits 0 gets its model packed, written to a temporary name and renamed, so a
killed job never leaves a half-written ``model.tar.gz``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from ..core import Catalog, sha256_file, utcnow
from ..core._process import process_identity
from ._metrics import MetricParser
from ._worker import STARTED_MARKER

KIND = "training-job"
_FLUSH_EVERY = 0.5
_TERMINAL = ("Completed", "Failed", "Stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preload", default="")
    parser.add_argument("--keep-alive", type=float, default=1800.0)
    args = parser.parse_args(argv)
    worker = _spawn_worker(args.preload)
    ready, _, _ = select.select([sys.stdin], [], [], max(args.keep_alive, 0.0) or None)
    line = sys.stdin.readline() if ready else ""
    if not line.strip():  # keep-alive expired, or the kernel that owned the pool exited
        worker.kill()
        worker.wait()
        return 0
    return Supervisor(json.loads(line), worker).run()


def _spawn_worker(preload: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "workbench.training._worker", preload],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        process_group=0,
    )


class Supervisor:
    def __init__(self, spec: dict[str, Any], worker: subprocess.Popen[bytes]) -> None:
        self.spec = spec
        self.worker = worker
        self.name: str = spec["job_name"]
        self.job_dir = Path(spec["job_dir"])
        self.catalog = Catalog(spec["catalog"])
        self.parser = MetricParser(spec.get("metric_definitions", []))
        self.pending: list[tuple[str, int, float, float]] = []
        self.tail: list[str] = []
        self.stop_at: float | None = None
        self.kill_at: float | None = None
        self.stop_reason = ""
        self.started = time.time()
        self.code_started: float | None = None
        self._partial = b""

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_sigterm)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.catalog.update(
            KIND,
            self.name,
            started_at=utcnow(),
            extra={
                "process": process_identity(os.getpid()),
                "worker_pid": self.worker.pid,
                "secondary_status": "Training",
            },
        )
        assert self.worker.stdin is not None
        try:
            self.worker.stdin.write((json.dumps(self.spec) + "\n").encode())
            self.worker.stdin.close()
        except BrokenPipeError:
            pass
        log_path = self.job_dir / "logs" / "training.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            self._pump(log)
        code = self.worker.wait()
        self._flush_metrics(force=True)
        return self._finish(code)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        if self.stop_at is None:
            self.stop_at = time.time()
            self.stop_reason = self.stop_reason or "Stopped by request"

    def _pump(self, log: Any) -> None:
        assert self.worker.stdout is not None
        fd = self.worker.stdout.fileno()
        max_run = float(self.spec.get("max_run") or 0)
        grace = float(self.spec.get("grace_period", 120))
        signalled = False
        while True:
            now = time.time()
            if max_run and self.stop_at is None and now - self.started > max_run:
                self.stop_at, self.stop_reason = now, f"MaxRuntimeExceeded: max_run={max_run:g}s"
            if self.stop_at is not None and not signalled:
                signalled = True
                extra = self.catalog.get(KIND, self.name)["extra"]
                self.kill_at = now + float(extra.get("grace_period", grace))
                self._signal_worker(signal.SIGTERM)
                self._mark("Stopping", self.stop_reason)
            if self.kill_at is not None and now >= self.kill_at:
                self._signal_worker(signal.SIGKILL)
                self.kill_at = None
            try:
                ready, _, _ = select.select([fd], [], [], 0.25)
            except InterruptedError:
                continue
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                self._lines(chunk)
            self._flush_metrics()
        if self._partial:
            self._line(self._partial.decode("utf-8", "replace"))

    def _signal_worker(self, sig: int) -> None:
        try:
            os.killpg(self.worker.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _lines(self, chunk: bytes) -> None:
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        for raw in complete:
            self._line(raw.decode("utf-8", "replace").rstrip("\r"))

    def _line(self, line: str) -> None:
        if self.code_started is None and line.startswith(STARTED_MARKER):
            self.code_started = time.time()
            self.catalog.update(KIND, self.name, extra={"training_code_started": self.code_started})
        self.tail.append(line)
        if len(self.tail) > 200:
            del self.tail[:100]
        now = time.time()
        for metric, step, value in self.parser.feed(line):
            self.pending.append((metric, step, value, now))

    def _flush_metrics(self, force: bool = False) -> None:
        if not self.pending:
            return
        if not force and time.time() - self.pending[0][3] < _FLUSH_EVERY:
            return
        rows, self.pending = self.pending, []
        self.catalog.add_metric_values(KIND, self.name, rows)
        self.catalog.update(KIND, self.name, metrics=dict(self.parser.last))

    def _mark(self, status: str, message: str) -> None:
        self.catalog.update(
            KIND, self.name, status=status, expected_status=("InProgress",), message=message
        )

    def _finish(self, code: int) -> int:
        if code == 0:
            try:
                artifacts = self._package()
            except Exception as exc:  # e.g. disk full: the job fails, nothing half-written
                return self._end("Failed", f"ClientError: could not package the model: {exc}")
            self._register_model(artifacts)
            return self._end("Completed", None, artifacts=artifacts)
        if self.stop_at is not None:
            return self._end("Stopped", self.stop_reason)
        return self._end("Failed", self._failure_reason(code))

    def _end(self, status: str, reason: str | None, artifacts: dict[str, Any] | None = None) -> int:
        secondary = "MaxRuntimeExceeded" if reason and reason.startswith("MaxRuntime") else status
        extra: dict[str, Any] = {"secondary_status": secondary, "exit_code": self.worker.returncode}
        self.catalog.update(
            KIND,
            self.name,
            status=status,
            expected_status=("InProgress", "Stopping"),
            failure_reason=reason if status != "Completed" else None,
            message=reason,
            ended_at=utcnow(),
            artifacts=artifacts,
            extra=extra,
        )
        return 0 if status == "Completed" else 1

    def _failure_reason(self, code: int) -> str:
        failure = self.job_dir / "output" / "failure"
        if failure.exists() and failure.read_text().strip():
            return failure.read_text(errors="replace").strip()[:1024]
        if code < 0:
            name = (
                signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else -code
            )
            return f"AlgorithmError: the training process was killed by signal {name}"
        last = _last_error_line(self.tail)
        prefix = "AlgorithmError: ExecuteUserScriptError: " if self.spec["kind"] == "script" else ""
        if last:
            return f"{prefix}{last} (exit code {code})"[:1024]
        return f"{prefix}the training process exited with code {code}"

    def _package(self) -> dict[str, Any]:
        out_dir = self.job_dir / "output"
        out_dir.mkdir(parents=True, exist_ok=True)
        self._secondary("Uploading")
        model_tar = out_dir / "model.tar.gz"
        members = [(p, p.name) for p in sorted((self.job_dir / "model").iterdir())]
        code_dir = self.job_dir / "code"
        if self.spec["kind"] == "script" and code_dir.is_dir():
            members.append((code_dir, "code"))
        _write_tar(model_tar, members)
        artifacts = {"model_data": _describe(model_tar)}
        data_dir = out_dir / "data"
        if data_dir.is_dir() and any(data_dir.iterdir()):
            output_tar = out_dir / "output.tar.gz"
            _write_tar(output_tar, [(p, p.name) for p in sorted(data_dir.iterdir())])
            artifacts["output_data"] = _describe(output_tar)
        return artifacts

    def _secondary(self, status: str) -> None:
        self.catalog.update(KIND, self.name, extra={"secondary_status": status})

    def _register_model(self, artifacts: dict[str, Any]) -> None:
        job = self.catalog.get(KIND, self.name)
        params = job["parameters"]
        model_params = {
            "training_job": self.name,
            "algorithm": params.get("algorithm"),
            "entry_point": params.get("entry_point"),
            "problem_type": params.get("problem_type"),
            "feature_names": params.get("feature_names"),
            "target": params.get("target"),
        }
        if not self.catalog.exists("model", self.name):
            self.catalog.create("model", self.name, status="Created", parameters=model_params)
        self.catalog.update("model", self.name, artifacts={"model_data": artifacts["model_data"]})
        self.catalog.add_lineage((KIND, self.name), ("model", self.name), "produced")


def _write_tar(target: Path, members: list[tuple[Path, str]]) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        # Level 1: model files are small and mostly incompressible floats; speed matters more.
        with tarfile.open(tmp, "w:gz", compresslevel=1) as tar:
            for path, arcname in members:
                tar.add(path, arcname=arcname)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _describe(path: Path) -> dict[str, Any]:
    return {"path": str(path), "sha256": sha256_file(path), "size": path.stat().st_size}


def _last_error_line(lines: list[str]) -> str | None:
    """The exception line of the last traceback in the log (what SageMaker reports)."""
    start = None
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            start = i
    candidates = lines[start + 1 :] if start is not None else lines[-5:]
    for line in reversed(candidates):
        if line.strip() and not line.startswith((" ", "\t", STARTED_MARKER)) and ":" in line:
            return line.strip()
    for line in reversed(lines):
        if line.strip() and not line.startswith(STARTED_MARKER):
            return line.strip()
    return None


if __name__ == "__main__":
    sys.exit(main())
