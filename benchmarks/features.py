"""Overhead of a feature recipe against the same hand-written scikit-learn ColumnTransformer.

Data: 1,000,000 generated rows (vectorised): four numeric columns with ~5% missing values, a
50-level string categorical (Zipf-like frequencies), a datetime column over three years and a
short-text column of 3-5 words from a 200-word vocabulary.

Recipe: impute (median) then scale (standard) on the numeric columns, one_hot on the
categorical, date_parts (year, month, day, dayofweek, hour, is_weekend) on the datetime,
tfidf (max_features=100) on the text. Hand-written: ``ColumnTransformer`` with
``Pipeline([SimpleImputer(median), StandardScaler()])``, ``OneHotEncoder(handle_unknown=
"ignore", sparse_output=False)``, ``TfidfVectorizer(max_features=100)`` on the text column and,
because scikit-learn has no date-parts transformer, the recipe's own
``workbench.features._steps.DateParts`` (same implementation on both sides), dense output.
Both sides are checked to give identical arrays on the first 20,000 rows before timing.

Timing: fit on all rows then transform all rows, per side (the recipe's transform returns
a DataFrame over the same array), alternating which side goes first, ``--reps`` repetitions
(default 3), medians. Peak memory is the process's ``ru_maxrss``.

Then the same recipe runs as a processing job over the same rows (out of the process: split,
fit on the training split, transform and write every split as Parquet); its wall time and
the job process's peak memory are reported as ``processing_job_s`` and
``processing_job_peak_rss_mb`` (``--no-processing`` skips it).

Run: .venv/bin/python benchmarks/features.py [--rows 1000000] [--reps 3]
The last line is JSON: {"recipe_s", "sklearn_s", "ratio", "rows", "peak_rss_mb", ...}.
Target: ratio <= 1.10.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.features._recipe import Recipe  # noqa: E402
from workbench.features._steps import DateParts  # noqa: E402

NUMERIC = ["amount", "balance", "age", "score"]
PARTS = ["year", "month", "day", "dayofweek", "hour", "is_weekend"]
MAX_FEATURES = 100


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {
        "amount": rng.lognormal(3.0, 1.0, rows),
        "balance": rng.normal(1000.0, 300.0, rows),
        "age": rng.integers(18, 90, rows).astype(np.float64),
        "score": rng.random(rows),
    }
    for name in NUMERIC:
        data[name][rng.random(rows) < 0.05] = np.nan
    levels = np.array([f"level_{i:02d}" for i in range(50)], dtype=object)
    weights = 1.0 / np.arange(1, 51)
    data["category"] = levels[rng.choice(50, rows, p=weights / weights.sum())]
    start = np.datetime64("2021-01-01T00:00:00", "s")
    data["when"] = start + rng.integers(0, 3 * 365 * 86400, rows).astype("timedelta64[s]")
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "po", "si", "de", "ga"]
    two = [a + b for a in syllables for b in syllables]
    vocab = np.array(two + [w + "n" for w in two], dtype=object)  # 200 words
    words = vocab[rng.integers(0, len(vocab), (rows, 5))]
    count = rng.integers(3, 6, rows)
    text = words[:, 0] + " " + words[:, 1] + " " + words[:, 2]
    text = text + np.where(count >= 4, " " + words[:, 3], "")
    data["text"] = text + np.where(count >= 5, " " + words[:, 4], "")
    frame = pd.DataFrame(data)
    frame["when"] = frame["when"].astype("datetime64[ns]")
    return frame


def make_recipe() -> Recipe:
    return (
        Recipe(name="benchmark")
        .add("impute", columns=NUMERIC, strategy="median")
        .add("scale", columns=NUMERIC, method="standard")
        .add("one_hot", columns=["category"])
        .add("date_parts", columns=["when"], parts=PARTS)
        .add("tfidf", column="text", max_features=MAX_FEATURES)
    )


def make_column_transformer():
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]
    )
    return ColumnTransformer(
        [
            ("numeric", numeric, NUMERIC),
            (
                "category",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64),
                ["category"],
            ),
            ("when", DateParts(parts=tuple(PARTS)), ["when"]),
            ("text", TfidfVectorizer(max_features=MAX_FEATURES, dtype=np.float64), "text"),
        ],
        remainder="drop",
        sparse_threshold=0.0,
    )


def run_recipe(df: pd.DataFrame) -> tuple[float, int]:
    start = time.perf_counter()
    fitted = make_recipe().fit(df)
    out = fitted.transform(df)
    elapsed = time.perf_counter() - start
    return elapsed, out.shape[1]


def run_sklearn(df: pd.DataFrame) -> tuple[float, int]:
    start = time.perf_counter()
    ct = make_column_transformer().fit(df)
    out = ct.transform(df)
    elapsed = time.perf_counter() - start
    return elapsed, out.shape[1]


def check_same_output(df: pd.DataFrame) -> None:
    head = df.head(20_000)
    ours = make_recipe().fit(head).transform(head).to_numpy()
    theirs = make_column_transformer().fit(head).transform(head)
    if ours.shape != theirs.shape or not np.array_equal(ours, theirs, equal_nan=True):
        raise SystemExit("recipe and hand-written ColumnTransformer outputs differ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-processing", action="store_true", help="skip the processing job")
    args = parser.parse_args()

    started = time.perf_counter()
    df = make_frame(args.rows)
    print(f"Generated {len(df):,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    check_same_output(df)  # also warms imports and caches on both sides
    recipe_runs, sklearn_runs = [], []
    features = 0
    for rep in range(args.reps):
        order = [("recipe", run_recipe), ("sklearn", run_sklearn)]
        if rep % 2:
            order.reverse()
        for name, run in order:
            gc.collect()
            elapsed, features = run(df)
            (recipe_runs if name == "recipe" else sklearn_runs).append(elapsed)
            print(f"rep {rep + 1} {name}: {elapsed:.2f} s", flush=True)
    recipe_s = statistics.median(recipe_runs)
    sklearn_s = statistics.median(sklearn_runs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    result = {
        "recipe_s": round(recipe_s, 3),
        "sklearn_s": round(sklearn_s, 3),
        "ratio": round(recipe_s / sklearn_s, 3),
        "rows": len(df),
        "peak_rss_mb": round(peak_mb, 1),
        "features": features,
        "reps": args.reps,
        "recipe_runs_s": [round(t, 3) for t in recipe_runs],
        "sklearn_runs_s": [round(t, 3) for t in sklearn_runs],
    }
    if not args.no_processing:
        result.update(run_processing_job(df))
    print(json.dumps(result))


def run_processing_job(df: pd.DataFrame) -> dict[str, float]:
    """The recipe as a processing job in a throwaway workspace: time and the job's peak memory."""
    import tempfile

    from workbench.features import process

    workspace = tempfile.mkdtemp(prefix="wb-bench-features-")
    started = time.perf_counter()
    job = process(df, make_recipe(), workspace=workspace, logs=False)
    elapsed = time.perf_counter() - started
    print(f"processing job: {job.status} in {elapsed:.1f} s", flush=True)
    return {"processing_job_s": round(elapsed, 2), "processing_job_peak_rss_mb": job.max_rss_mb}


if __name__ == "__main__":
    main()
