"""Automated labelling vs labelling everything by hand, on the digits images and the texts.

For each dataset (all 1,797 real digits as PNG files; 2,000 generated texts) and each
seed, three simulated annotators with 5% error answer through the labelling API:

* human only: every item gets 3 answers, consolidated by Dawid-Skene;
* automated: a job with ``AutoLabeling(target_accuracy=TARGET)``: people label a random
  10% first, then the least certain items each round; the model labels the rest.

Accuracy is measured against the known truth. The figures are means over the seeds
(``*_min`` keys hold the worst seed). The default target is 0.97, not Ground Truth's
0.95: three people at 5% error agree on about 99.5% of items, so model labels at 95%
would pull the final labels 3-4 points below the all-human ones; the issue asks for at
most 1 point. The run at 0.95 is reported too (``*_at_95`` keys, digits).

Last line: one JSON object with ``digits_*`` and ``text_*`` keys: ``auto_share``,
``auto_accuracy``, ``final_accuracy``, ``human_only_accuracy``, ``human_answers``.

    .venv/bin/python benchmarks/labelling.py [--seeds 3] [--target 0.97]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

ERROR_RATE = 0.05
TOPICS = ["sports", "finance", "technology", "health", "travel", "food"]


def _dataset(name: str, folder: str, seed: int) -> tuple[object, str, list, np.ndarray]:
    import workbench as wb
    from workbench.labelling import save_images

    if name == "digits":
        images, truth = wb.datasets.load_images("digits", size="medium")
        manifest = save_images(images, os.path.join(folder, "digits"))
        return manifest, "image-classification", list(range(10)), truth
    frame = wb.datasets.load("text", size=2_000, seed=seed)
    return frame[["text"]], "text-classification", TOPICS, frame["topic"].to_numpy()


def _run(name: str, seed: int, target: float | None, folder: str) -> dict[str, float]:
    from workbench.labelling import AutoLabeling, LabelingJob, SimulatedAnnotator

    source, task_type, labels, truth = _dataset(name, folder, seed)
    people = [
        SimulatedAnnotator(n, list(truth), ERROR_RATE, seed=100 * seed + i)
        for i, n in enumerate(["ana", "ben", "cy"])
    ]
    config = None if target is None else AutoLabeling(target_accuracy=target, seed=seed)
    job = LabelingJob(source, task_type=task_type, labels=labels, annotators=["ana", "ben", "cy"],
                      auto_labeling=config, seed=seed).start()  # fmt: skip
    started = time.perf_counter()
    job.run(people)
    seconds = time.perf_counter() - started
    out = job.output()
    given = out["label"].to_numpy()
    machine = ~out["label_human_annotated"].fillna(False).astype(bool).to_numpy()
    result = {
        "share": float(machine.mean()),
        # NaN when the model labelled nothing (the mean skips such runs)
        "auto_accuracy": float((given[machine] == truth[machine]).mean())
        if machine.any()
        else np.nan,
        "accuracy": float((given == truth).mean()),
        "answers": int(len(job.answers())),
        "seconds": seconds,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.97)
    args = parser.parse_args()
    os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="wb-bench-labelling-"))
    folder = tempfile.mkdtemp(prefix="wb-bench-labelling-data-")
    figures: dict[str, float] = {"target_accuracy": args.target, "seeds": args.seeds,
                                 "error_rate": ERROR_RATE}  # fmt: skip
    for name in ("digits", "text"):
        runs = {"auto": [], "human": [], "at_95": []}
        for seed in range(args.seeds):
            runs["human"].append(_run(name, seed, None, folder))
            runs["auto"].append(_run(name, seed, args.target, folder))
            if name == "digits":
                runs["at_95"].append(_run(name, seed, 0.95, folder))
            auto, human = runs["auto"][-1], runs["human"][-1]
            print(
                f"{name} seed {seed}: auto share {auto['share']:.3f} at {auto['auto_accuracy']:.4f},"
                f" final {auto['accuracy']:.4f} vs human only {human['accuracy']:.4f};"
                f" answers {auto['answers']} vs {human['answers']}"
                f" ({auto['seconds']:.1f} s vs {human['seconds']:.1f} s)",
                file=sys.stderr, flush=True,
            )  # fmt: skip

        def mean(kind: str, key: str, runs=runs) -> float | None:
            values = [r[key] for r in runs[kind]]
            return round(float(np.nanmean(values)), 4) if not np.isnan(values).all() else None

        def worst(kind: str, key: str, runs=runs) -> float | None:
            values = [r[key] for r in runs[kind]]
            return round(float(np.nanmin(values)), 4) if not np.isnan(values).all() else None

        figures.update(
            {
                f"{name}_auto_share": mean("auto", "share"),
                f"{name}_auto_accuracy": mean("auto", "auto_accuracy"),
                f"{name}_final_accuracy": mean("auto", "accuracy"),
                f"{name}_human_only_accuracy": mean("human", "accuracy"),
                f"{name}_human_answers": mean("auto", "answers"),
                f"{name}_human_only_answers": mean("human", "answers"),
                f"{name}_auto_share_min": worst("auto", "share"),
                f"{name}_auto_accuracy_min": worst("auto", "auto_accuracy"),
                f"{name}_final_minus_human_only_min": round(
                    min(
                        a["accuracy"] - h["accuracy"]
                        for a, h in zip(runs["auto"], runs["human"], strict=True)
                    ),
                    4,
                ),  # fmt: skip
            }
        )
        if runs["at_95"]:
            figures.update(
                {
                    f"{name}_auto_share_at_95": mean("at_95", "share"),
                    f"{name}_auto_accuracy_at_95": mean("at_95", "auto_accuracy"),
                    f"{name}_final_accuracy_at_95": mean("at_95", "accuracy"),
                }
            )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
