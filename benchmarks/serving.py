"""Serving: a workbench endpoint against a minimal FastAPI app and ``mlflow models serve``.

One XGBoost model (100,000 x 30 generated rows, 200 trees of depth 6) is served three
ways on loopback, one worker each:

* workbench: ``deploy(model)`` (uvicorn front process + one model worker process);
* minimal: a FastAPI + uvicorn app whose route parses the CSV body with ``numpy.loadtxt``
  and calls ``Booster.inplace_predict`` (the least a server can do);
* MLflow: ``mlflow models serve`` in its own virtualenv (``.bench/mlflow``, created with uv
  on first run; skipped with a note if it cannot be installed).

Measured for each, with all three servers up and the measurements alternating between
them in 4 rounds (so the machine's drift hits them alike): single-row p50 / p99 over 2,000
sequential keep-alive requests; throughput with 16 keep-alive connections for 15 s in all
(an asyncio client on uvloop, with TCP_NODELAY like every client here); p50 of 200
1,000-row CSV requests; start-up from the start call until ``/ping`` answers (for
workbench: the ``deploy`` call, which returns once the endpoint answers).

Run: .venv/bin/python benchmarks/serving.py [--duration 15] [--requests 2000] [--no-mlflow]
The last line is JSON with every figure and p50_ratio, throughput_ratio (workbench over
minimal), mlflow_throughput_ratio (workbench over MLflow, null if skipped), batch_ratio and
startup_s. Targets: p50_ratio <= 1.2, throughput_ratio >= 1, mlflow_throughput_ratio >= 10,
batch_ratio <= 1.2, startup_s <= 2.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_VENV = ROOT / ".bench" / "mlflow"
MLFLOW_PINS = ["mlflow==3.17.2", "xgboost==3.2.0", "numpy<2.4", "pandas<3"]

MINIMAL_APP = """
import io, os
import numpy as np
import xgboost as xgb
from fastapi import FastAPI, Request, Response

booster = xgb.Booster(model_file=os.environ["MODEL_FILE"])
booster.set_param({"nthread": 1})  # one thread per worker process, as workbench's workers
app = FastAPI()


@app.get("/ping")
async def ping():
    return Response(status_code=200)


@app.post("/invocations")
async def invocations(request: Request):
    X = np.loadtxt(io.BytesIO(await request.body()), delimiter=",", ndmin=2)
    scores = booster.inplace_predict(X)
    return Response("\\n".join(map(repr, scores.tolist())) + "\\n", media_type="text/csv")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ping(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise TimeoutError(f"nothing answered /ping on port {port}")


def train(workdir: Path) -> tuple[str, Path, np.ndarray]:
    """The benchmark model, trained as a workbench job; returns (name, ubj file, rows)."""
    import pandas as pd

    import workbench as wb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 30))
    y = (X[:, :5].sum(axis=1) + rng.logistic(size=100_000) > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(30)])
    frame["label"] = y
    est = wb.Estimator(
        algorithm="xgboost",
        target="label",
        hyperparameters={"objective": "binary:logistic", "num_round": 200, "max_depth": 6},
    )
    job = est.fit({"train": frame}, logs=False)
    model = wb.Model(job.name)
    ubj = workdir / "model.ubj"
    model._impl.booster.save_model(str(ubj))
    return job.name, ubj, X[:1000]


def csv_body(rows: np.ndarray, header: bool = False) -> bytes:
    """Label-free CSV rows; MLflow's CSV input needs a header row, SageMaker's has none."""
    lines = [",".join(repr(float(v)) for v in row) for row in rows]
    if header:
        lines.insert(0, ",".join(f"f{i}" for i in range(rows.shape[1])))
    return ("\n".join(lines) + "\n").encode()


def sequential(port: int, body: bytes, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    headers = {"Content-Type": "text/csv", "Accept": "text/csv"}
    out = []
    for i in range(n + 20):
        started = time.perf_counter()
        conn.request("POST", "/invocations", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"status {response.status}")
        if i >= 20:  # warm-up
            out.append((time.perf_counter() - started) * 1000)
    conn.close()
    return out


async def _client(port: int, request: bytes, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    done = errors = 0
    while time.monotonic() < deadline:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        if head.startswith(b"HTTP/1.1 200"):
            done += 1
        else:
            errors += 1
    writer.close()
    counts.append(done)
    counts.append(-errors)


def throughput(port: int, body: bytes, seconds: float, connections: int = 16) -> dict:
    import uvloop

    request = (
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n"
        b"Accept: text/csv\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )

    async def run() -> list[int]:
        counts: list[int] = []
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(_client(port, request, deadline, counts) for _ in range(connections))
        )
        return counts

    counts = uvloop.run(run())
    ok = sum(c for c in counts if c > 0)
    errors = -sum(c for c in counts if c < 0)
    return {"rps": ok / seconds, "errors": errors}


ROUNDS = 4  # measurements alternate between the servers, so drift hits them alike


def measure(servers: dict[str, tuple[int, bool]], rows: np.ndarray, args) -> dict[str, dict]:
    """Every figure for every server, in alternating rounds; ``servers``: name -> (port, header)."""
    samples: dict[str, dict[str, list]] = {
        name: {"single": [], "batch": [], "rps": [], "errors": []} for name in servers
    }
    for _ in range(ROUNDS):
        for name, (port, header) in servers.items():
            one, thousand = csv_body(rows[:1], header), csv_body(rows[:1000], header)
            got = samples[name]
            got["single"] += sequential(port, one, args.requests // ROUNDS)
            got["batch"] += sequential(port, thousand, 200 // ROUNDS)
            load = throughput(port, one, args.duration / ROUNDS)
            got["rps"].append(load["rps"])
            got["errors"].append(load["errors"])
    return {
        name: {
            "p50_ms": round(statistics.median(got["single"]), 3),
            "p99_ms": round(float(np.percentile(got["single"], 99)), 3),
            "rps_16": round(statistics.mean(got["rps"]), 1),
            "errors_16": sum(got["errors"]),
            "batch_1000_p50_ms": round(statistics.median(got["batch"]), 3),
        }
        for name, got in samples.items()
    }


def minimal_server(workdir: Path, ubj: Path) -> tuple[subprocess.Popen, int, float]:
    (workdir / "minimal_app.py").write_text(textwrap.dedent(MINIMAL_APP))
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "minimal_app:app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"],
        cwd=workdir, env=dict(os.environ, MODEL_FILE=str(ubj)),
    )  # fmt: skip
    wait_ping(port)
    return proc, port, time.perf_counter() - started


def mlflow_server(workdir: Path, ubj: Path) -> tuple[subprocess.Popen | None, int, float, str]:
    """``mlflow models serve`` from its own venv, or (None, 0, 0, why it was skipped)."""
    python = MLFLOW_VENV / "bin" / "python"
    try:
        if not python.exists():
            uv = ROOT / ".venv" / "bin" / "uv"
            subprocess.run([str(uv), "venv", "--python", "3.11", str(MLFLOW_VENV)],
                           check=True, capture_output=True)  # fmt: skip
            subprocess.run([str(uv), "pip", "install", "--python", str(python), *MLFLOW_PINS],
                           check=True, capture_output=True)  # fmt: skip
        model_dir = workdir / "mlflow-model"
        script = (
            "import sys, xgboost as xgb, mlflow.xgboost\n"
            "b = xgb.Booster(model_file=sys.argv[1])\n"
            "mlflow.xgboost.save_model(b, sys.argv[2])\n"
        )
        subprocess.run([str(python), "-c", script, str(ubj), str(model_dir)],
                       check=True, capture_output=True)  # fmt: skip
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return None, 0, 0.0, f"mlflow could not be installed or used: {exc} {detail[-300:]!r}"
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(MLFLOW_VENV / "bin" / "mlflow"), "models", "serve", "-m", str(model_dir),
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # mlflow starts its server with `bash -c "exec uvicorn ..."`: uvicorn must be on PATH
        env=dict(os.environ, PATH=f"{MLFLOW_VENV / 'bin'}{os.pathsep}{os.environ['PATH']}"),
    )  # fmt: skip
    try:
        wait_ping(port, timeout=180)
    except TimeoutError as exc:
        proc.kill()
        return None, 0, 0.0, str(exc)
    return proc, port, time.perf_counter() - started, ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wb-bench-serving-"))
    os.environ["WORKBENCH_HOME"] = str(workdir / "ws")
    import workbench as wb

    name, ubj, rows = train(workdir)
    print("model trained", flush=True)
    result: dict = {}
    procs: list[subprocess.Popen] = []
    servers: dict[str, tuple[int, bool]] = {}
    try:
        proc, port, startup = minimal_server(workdir, ubj)
        procs.append(proc)
        servers["minimal"] = (port, False)
        startups = {"minimal": startup}
        wb.training.warm_up(wait=True)  # the kernel's fork server, as in a notebook session
        started = time.perf_counter()
        wb.deploy(name, endpoint_name="bench")
        startups["workbench"] = time.perf_counter() - started
        servers["workbench"] = (int(wb.describe_endpoint("bench")["Url"].rsplit(":", 1)[1]), False)
        note = "skipped (--no-mlflow)"
        if not args.no_mlflow:
            proc, port, startup, note = mlflow_server(workdir, ubj)
            if proc is not None:
                procs.append(proc)
                servers["mlflow"] = (port, True)  # MLflow's CSV input needs a header row
                startups["mlflow"] = startup
        for key, figures in measure(servers, rows, args).items():
            result[key] = {**figures, "startup_s": round(startups[key], 3)}
            print(key, result[key], flush=True)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        if "workbench" in servers:
            wb.delete_endpoint("bench")
    wbr, mini, mlf = result["workbench"], result["minimal"], result.get("mlflow")
    result.update(
        p50_ratio=round(wbr["p50_ms"] / mini["p50_ms"], 3),
        throughput_ratio=round(wbr["rps_16"] / mini["rps_16"], 3),
        mlflow_throughput_ratio=round(wbr["rps_16"] / mlf["rps_16"], 2) if mlf else None,
        batch_ratio=round(wbr["batch_1000_p50_ms"] / mini["batch_1000_p50_ms"], 3),
        startup_s=wbr["startup_s"],
        mlflow_note=None if mlf else note,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
