#!/usr/bin/env python
"""Screenshots of the dashboards and the widget panels for README.md (``make screenshots``).

Builds a demo workspace in a temporary folder (or uses ``--workspace``), serves each Voila
dashboard and a small Voila page per widget panel, and saves what headless Chromium shows
(the same Playwright + Debian Chromium as the browser tests) to ``docs/screenshots/``:

    dashboard-leaderboard.png  dashboard-monitoring.png  dashboard-labelling.png
    panel-training.png  panel-tuning.png  panel-deploy.png  panel-labelling.png
    panel-features.png  panel-evaluation.png

Every Voila server, kernel and the demo endpoint are stopped at the end, also on errors.

    .venv/bin/python scripts/screenshots.py [--workspace PATH] [--out DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.dashboards._browser import BrowserUnavailable, ensure_chromium, launch  # noqa: E402

DASHBOARDS = {
    # name: CSS selector that shows the dashboard has rendered its data
    "leaderboard": ".wb-leaderboard-plot img",
    "monitoring": ".wb-monitoring-plot img",
    "labelling": ".wb-labelling-plot img",
}
_SETUP = """\
import workbench as wb
from workbench.features import split

HINTS = {hints}
fraud = wb.datasets.load("fraud", size="small", seed=0)
parts = split(fraud, "stratified", target="is_fraud", seed=0)
channels = {{"train": parts.train, "validation": parts.validation}}
"""
PANELS = {
    "training": """\
panel = wb.TrainingPanel({"fraud-train": parts.train, "fraud-validation": parts.validation},
                         algorithm="xgboost")
# Fill the form and train one job, as a click on Start does, so the chart and log show it.
panel.form.widgets["num_round"].value = "60"
panel.form.widgets["objective"].value = "binary:logistic"
panel.start_button.click()
panel.job.wait(logs=False)
panel.refresh()
""",
    "tuning": """\
from workbench.tuning import TuningPanel

est = wb.Estimator(algorithm="xgboost", target="is_fraud",
                   hyperparameters={"objective": "binary:logistic", "eval_metric": "auc",
                                    "num_round": 30, "nthread": 1})
panel = TuningPanel(est, channels)
panel.max_jobs.value, panel.max_parallel_jobs.value = 6, 2
panel.start().wait()   # as a click on Start does; the trials table and chart fill in
panel.refresh()
""",
    "deploy": """\
from workbench.serving import DeployPanel

if HINTS.get("endpoint"):
    panel = DeployPanel(endpoint_name=HINTS["endpoint"], baseline=parts.train.drop(columns="is_fraud"))
else:
    panel = DeployPanel(HINTS.get("jobs", [None])[0])
""",
    "labelling": """\
name = HINTS.get("labelling_job") or wb.list_labeling_jobs()["name"].iloc[0]
job = wb.LabelingJob.attach(name)
panel = wb.LabelingPanel(job, annotator=HINTS.get("annotator") or job.annotators[0])
""",
    "features": """\
from workbench.features import FeaturePanel, Recipe

machines = wb.datasets.load("maintenance", size="small", seed=0)
recipe = (Recipe(target="failure_within_7d").add("drop", columns=["machine_id"])
          .add("one_hot", columns=["machine_type"]))
panel = FeaturePanel(machines, target="failure_within_7d", recipe=recipe)
""",
    "evaluation": """\
from workbench.evaluation import EvaluationPanel

panel = EvaluationPanel(parts.test, jobs=HINTS.get("jobs"))
if HINTS.get("jobs"):
    panel.evaluate()
""",
}


def _panel_notebook(folder: Path, name: str, hints: dict[str, Any]) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    title = {"deploy": "DeployPanel", "labelling": "LabelingPanel", "features": "FeaturePanel",
             "evaluation": "EvaluationPanel", "training": "TrainingPanel",
             "tuning": "TuningPanel"}[name]  # fmt: skip
    notebook = new_notebook(
        cells=[
            new_markdown_cell(f"### `{title}`"),
            new_code_cell(_SETUP.format(hints=json.dumps(hints))),
            new_code_cell(PANELS[name] + 'panel.widget.add_class("wb-shot")\npanel.widget'),
        ],
        metadata={
            "kernelspec": {
                "name": "workbench",
                "display_name": "Python (workbench)",
                "language": "python",
            }
        },  # fmt: skip
    )
    path = folder / f"panel_{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def _fit_viewport(page: Any, width: int = 1280) -> None:
    """Make the viewport as tall as the page's content, so one screenshot holds it all."""
    height = page.evaluate(
        "() => Math.max(...Array.from(document.querySelectorAll('body, body *'))"
        ".map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": width, "height": int(min(max(height, 600), 4000)) + 20})
    page.wait_for_timeout(500)


def _shoot(browser: Any, url: str, ready: str, path: Path, element: str | None = None) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    try:
        page.set_default_timeout(120_000)
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector(ready, state="visible")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1500)  # let the last widget views settle
        _fit_viewport(page)
        if element:
            page.locator(element).first.screenshot(path=str(path))
        else:
            page.screenshot(path=str(path))
    finally:
        page.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", help="use this workspace instead of building a demo one")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument(
        "--only", nargs="*", help="names such as dashboard-leaderboard panel-tuning"
    )
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from workbench.core import get_workspace
    from workbench.dashboards import build_demo_workspace, start_dashboard, start_voila

    try:
        chromium = ensure_chromium()
    except BrowserUnavailable as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only or [])
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wb-screenshots-") as tmp:
        demo = None
        if args.workspace:
            ws = get_workspace(args.workspace)
            hints: dict[str, Any] = {}
        else:
            print("building the demo workspace ...", flush=True)
            demo = build_demo_workspace(Path(tmp) / "ws", tuning=True, traffic_seconds=20)
            ws = demo.workspace
            hints = {"jobs": demo.jobs, "endpoint": demo.endpoint,
                     "labelling_job": demo.labelling_jobs[-1], "annotator": "eli"}  # fmt: skip
            print(f"  done in {time.monotonic() - started:.0f} s: {demo.timings}", flush=True)
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright, chromium)
                try:
                    for name, ready in DASHBOARDS.items():
                        target = out / f"dashboard-{name}.png"
                        if wanted and target.stem not in wanted:
                            continue
                        with start_dashboard(name, workspace=ws) as server:
                            _shoot(browser, server.url, ready, target)
                        print(f"wrote {target.relative_to(ROOT)}", flush=True)
                    for name in PANELS:
                        target = out / f"panel-{name}.png"
                        if wanted and target.stem not in wanted:
                            continue
                        notebook = _panel_notebook(Path(tmp), name, hints)
                        with start_voila(notebook, workspace=ws) as server:
                            _shoot(browser, server.url, ".wb-shot", target, element=".wb-shot")
                        print(f"wrote {target.relative_to(ROOT)}", flush=True)
                finally:
                    browser.close()
        finally:
            if demo is not None:
                demo.close()
    print(f"screenshots: done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
