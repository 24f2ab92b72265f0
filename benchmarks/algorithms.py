"""The built-in algorithm catalogue, each algorithm checked against a reference on the same data.

Every module in ``benchmarks/_algorithm_checks/`` trains one built-in algorithm and its
reference (scikit-learn, or a simple baseline) on the same split and returns check rows:

* KNN, K-Means, PCA vs scikit-learn (accuracy / inertia / explained variance within 1%);
* Linear Learner vs LogisticRegression / Ridge;
* Factorization Machines vs a user/item-bias baseline on the ratings (RMSE, must beat it);
* DeepAR vs a seasonal-naive forecast (mean weighted quantile loss, must beat it);
* Image Classification on digits (accuracy >= 0.97; reference: an RBF SVM);
* Random Cut Forest on planted anomalies (AUC >= 0.9; reference: IsolationForest);
* NTM / LDA topic coherence vs scikit-learn's LDA;
* BlazingText vs TF-IDF + LogisticRegression.

The table goes to stdout; the last line is one JSON object: ``{"<algorithm>": {"score": ..,
"reference": ..}}`` for each algorithm's first check (``checks`` holds every row), plus
``checks_passed`` and ``checks_total``.

    .venv/bin/python benchmarks/algorithms.py [--fast] [--seed 0] [--only knn,pca]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MODULES = (
    "knn",
    "kmeans",
    "pca",
    "linear_learner",
    "fm",
    "deepar",
    "image_classification",
    "rcf",
    "topics",
    "blazingtext",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="smaller data, fewer epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated check modules")
    args = parser.parse_args()
    chosen = [m for m in MODULES if not args.only or m in args.only.split(",")]

    rows, timings, errors = [], {}, {}
    for name in chosen:
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"_algorithm_checks.{name}")
            rows += module.run(fast=args.fast, seed=args.seed)
        except Exception as exc:  # one broken check must not hide the others' figures
            traceback.print_exc()
            errors[name] = f"{type(exc).__name__}: {exc}"
            rows.append(
                {"algorithm": name, "check": "ran without error", "metric": "error",
                 "score": None, "reference": None, "reference_name": "-",
                 "passed": False}
            )  # fmt: skip
        timings[name] = round(time.perf_counter() - started, 1)

    width = max(len(r["check"]) for r in rows)
    print(
        f"{'algorithm':<22} {'check':<{width}} {'metric':<16} {'score':>10} {'reference':>10}  ok"
    )
    for r in rows:
        print(
            f"{r['algorithm']:<22} {r['check']:<{width}} {r['metric']:<16} "
            f"{_num(r['score'])} {_num(r['reference'])}  {'yes' if r['passed'] else 'NO'}"
        )
    print("seconds per module:", json.dumps(timings))
    summary: dict[str, object] = {}
    for r in rows:
        summary.setdefault(r["algorithm"], {"score": r["score"], "reference": r["reference"]})
    summary["checks"] = rows
    summary["checks_passed"] = sum(r["passed"] for r in rows)
    summary["checks_total"] = len(rows)
    if errors:
        summary["errors"] = errors
    print(json.dumps(summary))


def _num(value: float | None) -> str:
    return f"{'-':>10}" if value is None else f"{value:>10.4g}"


if __name__ == "__main__":
    main()
