"""Tuning quality and overhead: workbench's tuner against a plain Optuna loop.

Task: scikit-learn's make_classification with 30,000 rows, 40 features (8 informative, 10
redundant), 15% flipped labels and low class separation; 20,000 train / 10,000 validation,
so that hyperparameters matter. ``config_spread`` is the standard deviation of validation
AUC over 20 random configurations (in-process), and must be >= 0.01 for the comparison to
mean anything.

Search space: max_depth 2..10, eta 0.01..0.3 (log), subsample 0.5..1, colsample_bytree 0.5..1,
min_child_weight 1..10 (log), num_round 50..400; objective validation:auc; ``--seeds`` seeds.
Compared in one run, per seed: workbench Bayesian (40 trials; best AUC so far after 10, 20
and 40), workbench Random (20 trials), and a plain Optuna TPE loop calling xgboost.train
in-process (40 trials). Means over seeds are reported.

``trial_overhead_s``: for the trials of every seed's sequential workbench Random run, the
time a trial takes in the tuning loop (from its training job's start to the next trial's
start, so the loop's own work, ask / tell / noticing the end, is included) minus the same
configuration trained in-process just after that run, median over all seeds' trials.
``trial_fixed_s`` measures the same cost inside one run, immune to the machine's speed
drifting between the two runs: start-to-next-start minus the ``xgboost.train`` time the
job itself logged, median.
``parallel_speedup``: wall time of 16 Random trials with max_parallel_jobs=1 over the same
trials with max_parallel_jobs=2, one model thread per trial. Trials differ in length, so two
slots cannot halve the wall time exactly: ``parallel_bound`` is the speedup the serial run's
job durations allow when started in the same order with no overhead at all.

Run: .venv/bin/python benchmarks/tuning.py [--seeds 5] [--parts quality,timing]
(``--parts quality`` measures only the search quality, which does not depend on the machine's
load; ``--parts timing`` only the overhead and speed-up, which should run on a quiet machine.)
The last line is JSON with config_spread, bayes_auc_10/20/40, random_auc_20, optuna_auc_20/40,
trial_overhead_s and parallel_speedup. Targets: bayes_auc_20 >= optuna_auc_20 - 0.002 and
> random_auc_20; trial_overhead_s <= 0.5; parallel_speedup >= 1.7.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np

SPACE = {
    "max_depth": ("int", 2, 10, False),
    "eta": ("float", 0.01, 0.3, True),
    "subsample": ("float", 0.5, 1.0, False),
    "colsample_bytree": ("float", 0.5, 1.0, False),
    "min_child_weight": ("float", 1.0, 10.0, True),
    "num_round": ("int", 50, 400, False),
}
STATIC = {"objective": "binary:logistic", "eval_metric": "auc", "tree_method": "hist"}


def make_data():
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=30_000,
        n_features=40,
        n_informative=8,
        n_redundant=10,
        flip_y=0.15,
        class_sep=0.5,
        random_state=0,
    )
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(40)])
    df["label"] = y
    return df.iloc[:20_000].reset_index(drop=True), df.iloc[20_000:].reset_index(drop=True)


def train_inprocess(config: dict, train, valid, nthread: int = 2) -> float:
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score

    params = {**STATIC, "nthread": nthread, "seed": 0}
    params.update({k: v for k, v in config.items() if k != "num_round"})
    dtrain = xgb.DMatrix(train.drop(columns="label"), label=train["label"])
    dvalid = xgb.DMatrix(valid.drop(columns="label"), label=valid["label"])
    booster = xgb.train(params, dtrain, int(config["num_round"]))
    return float(roc_auc_score(valid["label"], booster.predict(dvalid)))


def sample_config(trial) -> dict:
    out = {}
    for name, (kind, low, high, log) in SPACE.items():
        if kind == "int":
            out[name] = trial.suggest_int(name, low, high, log=log)
        else:
            out[name] = trial.suggest_float(name, low, high, log=log)
    return out


def config_spread(train, valid) -> float:
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=123))
    aucs = []
    for _ in range(20):
        trial = study.ask()
        aucs.append(train_inprocess(sample_config(trial), train, valid))
        study.tell(trial, aucs[-1])
    return float(np.std(aucs))


def optuna_loop(seed: int, n: int, train, valid) -> list[float]:
    import optuna

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True),
    )
    values = []
    for _ in range(n):
        trial = study.ask()
        value = train_inprocess(sample_config(trial), train, valid)
        study.tell(trial, value)
        values.append(value)
    return values


def ranges():
    from workbench.tuning import ContinuousParameter, IntegerParameter

    out = {}
    for name, (kind, low, high, log) in SPACE.items():
        cls = IntegerParameter if kind == "int" else ContinuousParameter
        out[name] = cls(low, high, scaling_type="Logarithmic" if log else "Linear")
    return out


def workbench_run(strategy, seed, n, train, valid, parallel=1, nthread=2):
    import workbench as wb
    from workbench.tuning import HyperparameterTuner

    est = wb.Estimator(
        algorithm="xgboost",
        target="label",
        hyperparameters={
            "objective": "binary:logistic",
            "tree_method": "hist",
            "nthread": nthread,
            "num_round": 100,
        },
    )
    tuner = HyperparameterTuner(
        est,
        "validation:auc",
        ranges(),
        strategy=strategy,
        objective_type="Maximize",
        max_jobs=n,
        max_parallel_jobs=parallel,
        random_seed=seed,
    )
    started = time.perf_counter()
    tuner.fit({"train": train, "validation": valid}, wait=True)
    wall = time.perf_counter() - started
    frame = tuner.analytics().dataframe().sort_values("TrainingJobName")
    return frame, wall


def loop_overheads(frame, train, valid) -> list[float]:
    """Per trial: start-to-next-start in the tuning loop minus the same config in-process."""
    from datetime import datetime

    import workbench as wb

    records = [wb.TrainingJob(name).record() for name in frame["TrainingJobName"]]
    starts = [datetime.fromisoformat(r["created_at"]) for r in records]
    out = []
    for i in range(len(records) - 1):
        row = frame.iloc[i]
        config = {name: row[name] for name in SPACE}
        config["max_depth"], config["num_round"] = (
            int(config["max_depth"]),
            int(config["num_round"]),
        )
        started = time.perf_counter()
        train_inprocess(config, train, valid)
        inproc = time.perf_counter() - started
        out.append((starts[i + 1] - starts[i]).total_seconds() - inproc)
    return out


def parallel_bound(frame, slots: int = 2) -> float:
    """Serial sum of the jobs' run times over their makespan on ``slots`` slots (no overhead)."""
    from datetime import datetime

    import workbench as wb

    durations = []
    for name in frame["TrainingJobName"]:
        rec = wb.TrainingJob(name).record()
        ended, started = (datetime.fromisoformat(rec[k]) for k in ("ended_at", "created_at"))
        durations.append((ended - started).total_seconds())
    free = [0.0] * slots
    for d in durations:  # each trial starts when the first slot frees, in launch order
        i = free.index(min(free))
        free[i] += d
    return sum(durations) / max(free)


def fixed_costs(frame) -> list[float]:
    """Per trial: start-to-next-start minus the training time the job logged."""
    import re
    from datetime import datetime

    import workbench as wb

    jobs = [wb.TrainingJob(name) for name in frame["TrainingJobName"]]
    starts = [datetime.fromisoformat(job.record()["created_at"]) for job in jobs]
    out = []
    for i in range(len(jobs) - 1):
        trained = float(re.search(r"Trained in ([0-9.]+) s", jobs[i].logs()).group(1))
        out.append((starts[i + 1] - starts[i]).total_seconds() - trained)
    return out


def best_so_far(values, k) -> float:
    return float(np.nanmax(np.asarray(values[:k], dtype=float)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--parts", default="quality,timing")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    os.environ["WORKBENCH_HOME"] = tempfile.mkdtemp(prefix="wb-bench-tuning-")
    train, valid = make_data()
    result: dict = {"seeds": args.seeds}
    random_runs: dict[int, object] = {}  # seed -> the Random run's trials, reused for timing
    if "quality" in parts:
        spread = config_spread(train, valid)
        print(f"config_spread {spread:.4f}", flush=True)
        bayes: dict[int, list[float]] = {10: [], 20: [], 40: []}
        rand: list[float] = []
        opt: dict[int, list[float]] = {20: [], 40: []}
        for seed in range(args.seeds):
            frame, _ = workbench_run("Bayesian", seed, 40, train, valid)
            values = frame["FinalObjectiveValue"].tolist()
            for k in bayes:
                bayes[k].append(best_so_far(values, k))
            frame, _ = workbench_run("Random", seed, 20, train, valid)
            random_runs[seed] = frame
            rand.append(best_so_far(frame["FinalObjectiveValue"].tolist(), 20))
            values = optuna_loop(seed, 40, train, valid)
            for k in opt:
                opt[k].append(best_so_far(values, k))
            print(
                f"seed {seed}: bayes@20 {bayes[20][-1]:.4f} random@20 {rand[-1]:.4f} "
                f"optuna@20 {opt[20][-1]:.4f}",
                flush=True,
            )
        result.update(
            config_spread=round(spread, 4),
            bayes_auc_10=round(statistics.mean(bayes[10]), 5),
            bayes_auc_20=round(statistics.mean(bayes[20]), 5),
            bayes_auc_40=round(statistics.mean(bayes[40]), 5),
            random_auc_20=round(statistics.mean(rand), 5),
            optuna_auc_20=round(statistics.mean(opt[20]), 5),
            optuna_auc_40=round(statistics.mean(opt[40]), 5),
        )
    if "timing" in parts:
        overheads: list[float] = []
        fixed: list[float] = []
        for seed in range(args.seeds):
            frame = random_runs.get(seed)
            if frame is None:
                frame, _ = workbench_run("Random", seed, 20, train, valid)
            overheads += loop_overheads(frame, train, valid)
            fixed += fixed_costs(frame)
        serial, wall_1 = workbench_run("Random", 99, 16, train, valid, parallel=1, nthread=1)
        _, wall_2 = workbench_run("Random", 99, 16, train, valid, parallel=2, nthread=1)
        result.update(
            trial_overhead_s=round(statistics.median(overheads), 4),
            trial_fixed_s=round(statistics.median(fixed), 4),
            parallel_speedup=round(wall_1 / wall_2, 3),
            parallel_bound=round(parallel_bound(serial), 3),
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
