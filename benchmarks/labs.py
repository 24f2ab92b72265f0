"""The whole workshop through the pipeline runner: cold from an empty workspace, then warm.

Every lab of labs/ in FAST mode, in workshop order, with ``workbench.labs.run_labs``
(papermill, the ``workbench`` kernel), into a new empty workspace; then the same call again
with nothing changed, which should restore every lab from the cache.

cold_s: the first run, wall clock, including every kernel start.
warm_s: the second run (all labs cached).
labs: how many labs ran (matrix labs count once per value).
peak_rss_mb: the largest per-lab peak of the summed resident memory of the lab's processes
  (kernel, training jobs, warm runner, endpoints), sampled every 0.25 s; RSS counts pages
  that forked processes share once per process, so it overstates.
peak_pss_mb: the same with proportional set sizes (shared pages split between sharers).

Run: .venv/bin/python benchmarks/labs.py [--keep DIR]
Last line JSON: {"cold_s", "warm_s", "labs", "peak_rss_mb", "peak_pss_mb", "cold_failed"}.
Targets: cold_s <= 600 on 2 cores, warm_s <= 10, peak_rss_mb <= 2048.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="keep the workspace and run folders here")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="wb-labs-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root / "ws", ignore_errors=True)

    from workbench.labs import LabFailedError, run_labs

    def progress(record):
        memory = record.get("peak_rss_mb", "")
        print(f"  {record['lab']:<46} {record['status']:<9} {record['duration_s']:6.1f} s  {memory}",
              flush=True)  # fmt: skip

    runs = {}
    failed = None
    for label in ("cold", "warm"):
        print(f"{label} run:", flush=True)
        started = time.perf_counter()
        try:
            runs[label] = run_labs(
                all_labs=True, parameters={"FAST": True}, workspace=root / "ws",
                run_dir=root / label, progress=progress,
            )  # fmt: skip
        except LabFailedError as exc:
            failed = str(exc).splitlines()[0]
            print(f"FAILED: {exc}", file=sys.stderr)
            break
        runs[label].wall_s = time.perf_counter() - started
        print(f"  {label}: {runs[label].wall_s:.1f} s, report {runs[label].report_path}")

    cold = runs.get("cold")
    warm = runs.get("warm")
    labs = cold.notebooks if cold else []
    figures = {
        "cold_s": round(cold.wall_s, 1) if cold else None,
        "warm_s": round(warm.wall_s, 2) if warm else None,
        "labs": len(labs),
        "peak_rss_mb": max((nb.get("peak_rss_mb", 0) for nb in labs), default=None),
        "peak_pss_mb": max((nb.get("peak_pss_mb", 0) for nb in labs), default=None),
        "warm_cached": len(warm.by_status("Cached")) if warm else 0,
        "cold_failed": failed,
    }
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(figures))
    return 0 if failed is None and figures["warm_cached"] == len(labs) else 1


if __name__ == "__main__":
    sys.exit(main())
