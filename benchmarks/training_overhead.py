"""Overhead of a workbench training job against the same xgboost.train call in-process.

XGBoost on a generated 100,000 x 30 classification set, 200 rounds, max_depth 6, hist,
2 threads, data handed over as a DataFrame. Alternating pairs in one run: a workbench job
end to end (fit call -> Completed, model artifact written) and the same ``xgboost.train``
call (DMatrix from the DataFrame, same params, same train-set evaluation) in this process.

startup_s: fit call until the training code starts, for warm jobs (median).
cold_startup_s: the same for the first job after the process (kernel) starts.

Run: .venv/bin/python benchmarks/training_overhead.py [--pairs 5]
The last line is JSON: {"job_s", "inprocess_s", "ratio", "startup_s", "cold_startup_s", ...}.
Targets: ratio <= 1.15, startup_s <= 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

ROWS, COLS, ROUNDS = 100_000, 30, 200
PARAMS = {
    "objective": "binary:logistic",
    "max_depth": 6,
    "tree_method": "hist",
    "nthread": 2,
    "eval_metric": "logloss",
}


def make_frame():
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=ROWS, n_features=COLS, n_informative=12, n_redundant=6, random_state=0
    )
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(COLS)])
    df["label"] = y
    return df


def run_job(est, df):
    start = time.perf_counter()
    job = est.fit({"train": df}, logs=False)
    elapsed = time.perf_counter() - start
    assert job.status == "Completed" and job.model_data, job.describe()["FailureReason"]
    extra = job.record()["extra"]
    return elapsed, extra["training_code_started"] - extra["fit_called"]


def run_inprocess(df):
    import xgboost as xgb

    start = time.perf_counter()
    dtrain = xgb.DMatrix(df.drop(columns="label"), label=df["label"])
    booster = xgb.train(PARAMS, dtrain, ROUNDS, evals=[(dtrain, "train")], verbose_eval=False)
    elapsed = time.perf_counter() - start
    assert booster.num_boosted_rounds() == ROUNDS
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    os.environ["WORKBENCH_HOME"] = tempfile.mkdtemp(prefix="wb-bench-")
    import workbench as wb
    from workbench.training._launcher import get_launcher

    df = make_frame()
    hps = {k: v for k, v in PARAMS.items() if k != "eval_metric"}
    est = wb.Estimator(
        algorithm="xgboost", target="label", hyperparameters={**hps, "num_round": ROUNDS}
    )
    cold_job_s, cold_startup = run_job(est, df)  # first job after the "kernel" started
    get_launcher().wait_ready()
    run_inprocess(df)  # warm the in-process side too (xgboost import, page cache)
    jobs, inproc, startups = [], [], []
    for i in range(args.pairs):
        order = (run_job, run_inprocess) if i % 2 == 0 else (run_inprocess, run_job)
        for fn in order:
            if fn is run_job:
                elapsed, startup = run_job(est, df)
                jobs.append(elapsed)
                startups.append(startup)
            else:
                inproc.append(run_inprocess(df))
        print(
            f"pair {i + 1}: job {jobs[-1]:.3f} s, in-process {inproc[-1]:.3f} s, "
            f"startup {startups[-1]:.3f} s",
            flush=True,
        )
    job_s, inprocess_s = statistics.median(jobs), statistics.median(inproc)
    result = {
        "job_s": round(job_s, 4),
        "inprocess_s": round(inprocess_s, 4),
        "ratio": round(job_s / inprocess_s, 4),
        "startup_s": round(statistics.median(startups), 4),
        "cold_startup_s": round(cold_startup, 4),
        "cold_job_s": round(cold_job_s, 4),
        "pairs": args.pairs,
        "job_runs_s": [round(x, 4) for x in jobs],
        "inprocess_runs_s": [round(x, 4) for x in inproc],
        "rows": ROWS,
        "features": COLS,
        "rounds": ROUNDS,
        "targets": {"ratio": 1.15, "startup_s": 0.5},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
