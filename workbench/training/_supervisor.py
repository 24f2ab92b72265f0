"""The supervisor of one training job: the process the catalogue knows as the job.

Forked from the warm fork server (or started cold), it starts the worker that runs the
training code (forked, or a new process), then streams the worker's output to the job's log, parses metrics, enforces stop and max_run
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
    """Cold start: ``python -m workbench.training._supervisor`` reads one spec on stdin."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--preload", default="")
    args = parser.parse_args(argv)
    worker = SpawnedWorker(args.preload)
    line = sys.stdin.readline()
    if not line.strip():
        worker.kill()
        return 0
    return Supervisor(json.loads(line), worker).run()


class SpawnedWorker:
    """A worker in a new Python process (cold start: it imports everything itself)."""

    def __init__(self, preload: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.training._worker", preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            process_group=0,
        )
        self.pid = self.proc.pid
        assert self.proc.stdout is not None
        self.stdout_fd = self.proc.stdout.fileno()

    def start(self, spec: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(spec) + "\n").encode())
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def wait(self) -> int:
        return self.proc.wait()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    cpu_seconds: dict[str, float] | None = None


class ForkedWorker:
    """A worker forked from a warm supervisor: the heavy modules are already imported."""

    def __init__(self) -> None:
        self.pid = 0
        self.stdout_fd = -1
        self.cpu_seconds: dict[str, float] | None = None

    def start(self, spec: dict[str, Any]) -> None:
        read_end, write_end = os.pipe()
        # A stop can arrive at any moment. SIGTERM stays blocked across the fork so that the
        # child never runs the supervisor's handler (a stop it would swallow), and both sides
        # put the child in its own process group, so the supervisor's killpg finds the group
        # as soon as fork returns (the child alone may not have run yet).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            raise
        if pid == 0:  # the worker
            os.close(read_end)
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.setpgid(0, 0)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
                _redirect_stdio(write_end, write_end)
                from ._worker import _die_with_parent, run

                _die_with_parent()
                code = run(spec)
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        try:
            os.setpgid(pid, pid)
        except OSError:  # the child already died (ESRCH)
            pass
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        os.close(write_end)
        self.pid, self.stdout_fd = pid, read_end

    def wait(self) -> int:
        _, status, usage = os.wait4(self.pid, 0)
        os.close(self.stdout_fd)
        self.cpu_seconds = {
            "user": usage.ru_utime,
            "system": usage.ru_stime,
            "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        }
        return os.waitstatus_to_exitcode(status)


def _redirect_stdio(stdout_fd: int, stderr_fd: int) -> None:
    """Point fds 0/1/2 (and sys.std*) at /dev/null and the given fds, line-buffered."""
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    for fd in {devnull, stdout_fd, stderr_fd} - {0, 1, 2}:
        os.close(fd)
    sys.stdout.reconfigure(line_buffering=True, write_through=True)
    sys.stderr.reconfigure(line_buffering=True, write_through=True)


class Supervisor:
    def __init__(self, spec: dict[str, Any], worker: SpawnedWorker | ForkedWorker) -> None:
        self.spec = spec
        self.worker = worker
        self.name: str = spec["job_name"]
        self.kind: str = spec.get("catalog_kind", KIND)
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
        self.returncode: int | None = None
        self._partial = b""

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_sigterm)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        self.worker.start(self.spec)
        self.catalog.update(
            self.kind,
            self.name,
            started_at=utcnow(),
            extra={
                "process": process_identity(os.getpid()),
                "worker_pid": self.worker.pid,
                "secondary_status": "Training",
            },
        )
        log_path = self.job_dir / "logs" / "training.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            self._pump(log)
        self.returncode = self.worker.wait()
        self._flush_metrics(force=True)
        return self._finish(self.returncode)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        if self.stop_at is None:
            self.stop_at = time.time()
            self.stop_reason = self.stop_reason or "Stopped by request"

    def _pump(self, log: Any) -> None:
        fd = self.worker.stdout_fd
        max_run = float(self.spec.get("max_run") or 0)
        grace = float(self.spec.get("grace_period", 120))
        signalled = False
        while True:
            now = time.time()
            if max_run and self.stop_at is None and now - self.started > max_run:
                self.stop_at, self.stop_reason = now, f"MaxRuntimeExceeded: max_run={max_run:g}s"
            if self.stop_at is not None and not signalled:
                signalled = True
                extra = self.catalog.get(self.kind, self.name)["extra"]
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
            self.catalog.update(
                self.kind, self.name, extra={"training_code_started": self.code_started}
            )
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
        self.catalog.add_metric_values(self.kind, self.name, rows)
        self.catalog.update(self.kind, self.name, metrics=dict(self.parser.last))

    def _mark(self, status: str, message: str) -> None:
        self.catalog.update(
            self.kind, self.name, status=status, expected_status=("InProgress",), message=message
        )

    def _finish(self, code: int) -> int:
        if code == 0:
            try:
                if self.kind == KIND:
                    artifacts = self._package()
                    self._register_model(artifacts)
                else:
                    artifacts = self._record_outputs()
            except Exception as exc:  # e.g. disk full: the job fails, nothing half-written
                return self._end("Failed", f"ClientError: could not record the outputs: {exc}")
            return self._end("Completed", None, artifacts=artifacts)
        if self.stop_at is not None:
            return self._end("Stopped", self.stop_reason)
        return self._end("Failed", self._failure_reason(code))

    def _end(self, status: str, reason: str | None, artifacts: dict[str, Any] | None = None) -> int:
        secondary = "MaxRuntimeExceeded" if reason and reason.startswith("MaxRuntime") else status
        extra: dict[str, Any] = {
            "secondary_status": secondary,
            "exit_code": self.returncode,
            "cpu_seconds": self.worker.cpu_seconds,
        }
        self.catalog.update(
            self.kind,
            self.name,
            status=status,
            expected_status=("InProgress", "Stopping"),
            failure_reason=reason if status == "Failed" else None,
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
        if (self.job_dir / "recipe").is_dir():  # the feature recipe travels with the model
            members.append((self.job_dir / "recipe", "recipe"))
        _write_tar(model_tar, members)
        artifacts = {"model_data": _describe(model_tar)}
        data_dir = out_dir / "data"
        if data_dir.is_dir() and any(data_dir.iterdir()):
            output_tar = out_dir / "output.tar.gz"
            _write_tar(output_tar, [(p, p.name) for p in sorted(data_dir.iterdir())])
            artifacts["output_data"] = _describe(output_tar)
        return artifacts

    def _record_outputs(self) -> dict[str, Any]:
        """Other jobs: checksum every output and link the job to each output's data.

        The outputs are the spec's ``outputs`` ({name: folder}) when it has them, else every
        folder of ``processing/output``.
        """
        from ..core import fingerprint

        self._secondary("Uploading")
        named = self.spec.get("outputs")
        if named:
            folders = [(name, Path(path)) for name, path in named.items()]
        else:
            out_root = self.job_dir / "processing" / "output"
            folders = [(p.name, p) for p in sorted(out_root.iterdir()) if p.is_dir()]
        artifacts: dict[str, Any] = {}
        for name, folder in folders:
            files = sorted(f for f in folder.rglob("*") if f.is_file())
            artifacts[name] = {
                "path": str(folder),
                "files": {str(f.relative_to(folder)): sha256_file(f) for f in files},
                "fingerprint": fingerprint(folder),
            }
            self.catalog.add_lineage(
                (self.kind, self.name), ("data", artifacts[name]["fingerprint"]), f"output:{name}"
            )
        return artifacts

    def _secondary(self, status: str) -> None:
        self.catalog.update(self.kind, self.name, extra={"secondary_status": status})

    def _register_model(self, artifacts: dict[str, Any]) -> None:
        job = self.catalog.get(self.kind, self.name)
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
