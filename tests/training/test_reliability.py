import os
import signal
import subprocess
import sys
import time

import pytest

import workbench as wb

SLEEPER = """
import signal, sys, time
if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
for _ in range(1200):
    time.sleep(0.1)
"""


def _sleeper(tmp_path, ignore_term=False, **kwargs):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "sleep.py").write_text(SLEEPER)
    hps = {"ignore-term": ""} if ignore_term else {}
    return wb.Estimator(entry_point="sleep.py", source_dir=str(src), hyperparameters=hps, **kwargs)


def _wait_for(predicate, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _started(job):
    return lambda: "ready" in job.logs()


def test_stop_ends_a_job_stopped_without_a_model(workspace, tmp_path, splits):
    job = _sleeper(tmp_path).fit({"train": splits[0]}, wait=False)
    _wait_for(_started(job))
    job.stop()
    job.wait(logs=False)
    assert job.status == "Stopped" and job.model_data is None
    assert [e["status"] for e in job.describe()["SecondaryStatusTransitions"]][-2:] == [
        "Stopping",
        "Stopped",
    ]


def test_a_job_ignoring_sigterm_is_killed_after_the_grace_period(workspace, tmp_path, splits):
    job = _sleeper(tmp_path, ignore_term=True).fit({"train": splits[0]}, wait=False)
    _wait_for(_started(job))
    start = time.time()
    job.stop(grace_period=1.0)
    job.wait(logs=False)
    assert job.status == "Stopped"
    assert 0.9 <= time.time() - start < 30


def test_kill_9_of_the_training_process_fails_the_job_with_a_reason(workspace, tmp_path, splits):
    job = _sleeper(tmp_path).fit({"train": splits[0]}, wait=False)
    _wait_for(_started(job))
    os.kill(job.record()["extra"]["worker_pid"], signal.SIGKILL)
    with pytest.raises(wb.exceptions.JobFailedError, match="SIGKILL"):
        job.wait(logs=False)
    assert not (job.job_dir / "output" / "model.tar.gz").exists()


def test_kill_9_of_the_job_supervisor_is_reconciled_and_leaves_no_worker(
    workspace, tmp_path, splits
):
    job = _sleeper(tmp_path).fit({"train": splits[0]}, wait=False)
    _wait_for(_started(job))
    extra = job.record()["extra"]
    os.kill(extra["process"]["pid"], signal.SIGKILL)
    _wait_for(lambda: job.status == "Failed", timeout=10)
    assert "killed or crashed" in job.describe()["FailureReason"]
    _wait_for(lambda: not _alive(extra["worker_pid"]), timeout=10)
    assert not (job.job_dir / "output" / "model.tar.gz").exists()


def test_max_run_stops_the_job(workspace, tmp_path, splits):
    job = _sleeper(tmp_path, max_run=1).fit({"train": splits[0]}, wait=False)
    job.wait(logs=False)
    desc = job.describe()
    assert (
        desc["TrainingJobStatus"] == "Stopped" and desc["SecondaryStatus"] == "MaxRuntimeExceeded"
    )


def test_cold_start_without_the_warm_pool(workspace, splits):
    est = wb.Estimator(
        algorithm="xgboost",
        target="y",
        hyperparameters={"num_round": 3},
        keep_alive_period_in_seconds=0,
    )
    assert est.fit({"train": splits[0]}, logs=False).status == "Completed"


KERNEL = """
import os, signal, sys
import pandas as pd
import workbench as wb
df = pd.read_csv(sys.argv[1])
est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters={"num_round": 300, "max_depth": 6})
job = est.fit({"train": df}, wait=False)
print(job.name, flush=True)
os.kill(os.getpid(), signal.SIGKILL)   # the kernel dies with its job running
"""


def test_a_killed_kernel_leaves_its_job_running_and_findable(workspace, tmp_path, binary_frame):
    data = tmp_path / "train.csv"
    binary_frame.to_csv(data, index=False)
    proc = subprocess.run(
        [sys.executable, "-c", KERNEL, str(data)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL
    name = proc.stdout.strip()
    job = wb.TrainingJob(name)
    job.wait(logs=False)
    assert job.status == "Completed" and job.model_data


TWO_KERNELS = """
import sys
import pandas as pd
import workbench as wb
df = pd.read_csv(sys.argv[1])
est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters={"num_round": 5})
jobs = [est.fit({"train": df}, logs=False) for _ in range(3)]
print(" ".join(j.name for j in jobs))
"""


def test_two_kernels_starting_jobs_at_once_get_distinct_names(workspace, tmp_path, binary_frame):
    data = tmp_path / "train.csv"
    binary_frame.to_csv(data, index=False)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", TWO_KERNELS, str(data)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    names = []
    for proc in procs:
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0
        names += out.split()
    assert len(names) == 6 == len(set(names))
    records = workspace.catalog.list("training-job")
    assert sorted(r["name"] for r in records) == sorted(names)
    assert all(r["status"] == "Completed" for r in records)
    assert len(workspace.catalog.list("model")) == 6


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_stop_right_after_fit_ends_stopped_not_failed(workspace, tmp_path, splits):
    for _ in range(3):
        job = _sleeper(tmp_path).fit({"train": splits[0]}, wait=False)
        start = time.time()
        job.stop(grace_period=600)
        job.wait(logs=False)
        assert job.status == "Stopped"
        assert job.describe()["FailureReason"] is None
        assert time.time() - start < 60, "SIGTERM was lost; the grace-period SIGKILL stopped it"
