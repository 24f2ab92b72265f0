"""The dashboards in headless Chromium, served by Voila over a workspace of real objects.

Each test starts the dashboard with ``start_dashboard`` on a free port, loads the page,
checks the widgets rendered what the data functions compute, makes one interaction and
checks what is shown changed. Voila, its kernels and the demo endpoint are always stopped.
The labelling dashboard (its objects take a second to make) runs in the default test run;
the leaderboard and monitoring ones need training jobs and endpoints and are marked slow.
"""

from __future__ import annotations

import time

import psutil
import pytest

from workbench.dashboards import (
    build_demo_workspace,
    endpoint_summary,
    labelling_progress,
    leaderboard,
    monitoring_violations,
    start_dashboard,
)

from ._browser import browser_fixture, open_page, wait_for_change, wait_for_text


@pytest.fixture(scope="module")
def browser():
    yield from browser_fixture()


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, browser):
    """Two labelling jobs answered by simulated annotators (one done, one a third done)."""
    ws = tmp_path_factory.mktemp("labelled") / "ws"
    with build_demo_workspace(ws, training=False, endpoints=False) as made:
        yield made


@pytest.fixture(scope="module")
def demo(tmp_path_factory, browser):
    """Three tiny evaluated training jobs, a live A/B endpoint with captured traffic and
    Model Monitor runs (one with drift violations), and a deleted endpoint; the live one is
    deleted at the end, even when a test fails."""
    with build_demo_workspace(tmp_path_factory.mktemp("demo") / "ws", labelling=False) as made:
        yield made


@pytest.fixture
def serve():
    """``serve(name, ws)`` starts a dashboard; every server and its kernels stop after the test."""
    started = []

    def start(name, workspace):
        server = start_dashboard(name, workspace=workspace)
        started.append(server)
        voila = psutil.Process(server.process.pid)
        listening = {c.laddr for c in voila.net_connections("tcp") if c.status == "LISTEN"}
        assert {(a.ip, a.port) for a in listening} == {("127.0.0.1", server.port)}
        return server

    yield start
    for server in started:
        try:
            kernels = psutil.Process(server.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            kernels = []
        server.stop()
        assert not server.running()
        assert psutil.wait_procs(kernels, timeout=20)[1] == [], "a kernel outlived Voila"


def column(page, table: str, index: int) -> list[str]:
    """The texts of column ``index`` of the table inside ``table``."""
    return [
        c.inner_text() for c in page.query_selector_all(f"{table} tbody tr td:nth-child({index})")
    ]


def wait_for_column(page, table: str, index: int, expected: list[str], timeout: float = 30.0):
    """Wait until column ``index`` of ``table`` reads ``expected``.

    A dashboard redraws its widgets one after another, so one having changed does not mean
    the next one has.
    """
    deadline = time.monotonic() + timeout
    shown = column(page, table, index)
    while shown != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        shown = column(page, table, index)
    assert shown == expected, f"{table} column {index} shows {shown}, expected {expected}"


def image_src(page, selector: str) -> str:
    element = page.wait_for_selector(f"{selector} img")
    return element.get_attribute("src") or ""


def wait_for_new_image(page, selector: str, before: str) -> str:
    """Wait until the image in ``selector`` is another one than ``before``; return its src."""
    page.wait_for_function(
        "([sel, src]) => { const img = document.querySelector(sel + ' img');"
        " return img !== null && img.src !== src; }",
        arg=[selector, before],
    )
    return image_src(page, selector)


@pytest.mark.slow
def test_leaderboard_ranks_and_follows_the_chosen_metric_and_model(demo, browser, serve):
    ws = demo.workspace
    server = serve("leaderboard", ws)
    page = open_page(browser, server.url, ".wb-leaderboard-table table")
    try:
        expected = leaderboard(workspace=ws)
        assert expected.attrs["metric"] == "eval:roc_auc" and len(expected) == 3
        assert column(page, ".wb-leaderboard-table", 2) == expected["job"].tolist()
        assert page.inner_text(".wb-leaderboard-table th.wb-sort") == "eval:roc_auc"
        before_plot = image_src(page, ".wb-leaderboard-plot")
        assert before_plot.startswith("data:image/png")
        # Interaction 1: rank by another metric; the ranking follows the data function.
        page.select_option(".wb-leaderboard-metric select",
                           label="validation:auc (higher is better)")  # fmt: skip
        wait_for_text(page, ".wb-leaderboard-table th.wb-sort", "validation:auc")
        by_auc = leaderboard("validation:auc", workspace=ws)
        wait_for_column(page, ".wb-leaderboard-table", 2, by_auc["job"].tolist())
        # Interaction 2: pick the last model; its metrics and plot replace the first one's.
        last = by_auc["job"].iloc[-1]
        details = page.inner_text(".wb-leaderboard-metrics")
        page.select_option(".wb-leaderboard-job select", index=len(by_auc) - 1)
        shown = wait_for_text(page, ".wb-leaderboard-metrics", last)
        assert shown != details
        assert (
            page.query_selector(".wb-leaderboard-table tr.wb-selected").inner_text().find(last) > 0
        )
        assert wait_for_new_image(page, ".wb-leaderboard-plot", before_plot) != before_plot
        assert page.inner_text(".wb-status") == ""
    finally:
        page.close()


def test_labelling_shows_progress_and_switches_jobs(labelled, browser, serve):
    ws = labelled.workspace
    server = serve("labelling", ws)
    page = open_page(browser, server.url, ".wb-labelling-annotators table")
    try:
        newest, older = labelled.labelling_jobs[1], labelled.labelling_jobs[0]
        progress = labelling_progress(newest, workspace=ws)
        text = page.inner_text(".wb-labelling-progress-text")
        assert f"{progress['labeled']} of {progress['items']} items labelled" in text
        assert column(page, ".wb-labelling-annotators", 1) == ["dee", "eli"]
        assert page.query_selector(".wb-labelling-progress") is not None
        before = image_src(page, ".wb-labelling-plot")
        page.select_option(".wb-labelling-job select", index=1)
        done = labelling_progress(older, workspace=ws)
        wait_for_text(page, ".wb-labelling-progress-text",
                      f"{done['labeled']} of {done['items']} items labelled")  # fmt: skip
        wait_for_column(page, ".wb-labelling-annotators", 1, ["ana", "ben", "cy"])
        assert wait_for_new_image(page, ".wb-labelling-plot", before) != before
    finally:
        page.close()


@pytest.mark.slow
def test_monitoring_shows_traffic_and_violations_per_endpoint(demo, browser, serve):
    ws, live, gone = demo.workspace, demo.endpoint, demo.deleted_endpoint
    server = serve("monitoring", ws)
    page = open_page(browser, server.url, ".wb-monitoring-variants table")
    try:
        summary = endpoint_summary(live, workspace=ws)
        assert column(page, ".wb-monitoring-variants", 1) == summary["variant"].tolist()
        shown = [int(x.replace(",", "")) for x in column(page, ".wb-monitoring-variants", 3)]
        assert shown == summary["invocations"].tolist() and sum(shown) >= 300
        features = set(column(page, ".wb-monitoring-violations", 1))
        assert features == set(monitoring_violations(live, workspace=ws)["feature_name"])
        assert {"amount", "distance_from_home_km"} <= features
        before = page.inner_text(".wb-monitoring-summary")
        page.select_option(".wb-monitoring-endpoint select", index=1)
        after = wait_for_change(page, ".wb-monitoring-summary", before)
        assert "Deleted" in after
        wait_for_text(page, ".wb-monitoring-violations", f"No constraint violations for {gone}")
        wait_for_column(page, ".wb-monitoring-variants", 3, ["60"])
        # The window buttons redraw the chart for the window (its title names it).
        before = image_src(page, ".wb-monitoring-plot")
        page.click(".wb-monitoring-window button:has-text('5 min')")
        wait_for_new_image(page, ".wb-monitoring-plot", before)
        assert page.inner_text(".wb-status") == ""
    finally:
        page.close()


# -- the browser helper's own rules (no browser needed) ----------------------------------------


def test_missing_chromium_without_root_is_a_clear_reason(monkeypatch, tmp_path):
    from ._browser import BrowserUnavailable, ensure_chromium

    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(BrowserUnavailable, match="cannot install Debian packages \\(not root\\)"):
        ensure_chromium(str(tmp_path / "chromium"))


def test_a_failed_apt_install_reports_apt_gets_output(monkeypatch, tmp_path):
    from . import _browser

    fake = tmp_path / "apt-get"
    fake.write_text('#!/bin/sh\necho "E: Unable to locate package $3" >&2\nexit 100\n')
    fake.chmod(0o755)
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr(_browser.shutil, "which", lambda name: str(fake))
    with pytest.raises(_browser.BrowserUnavailable) as info:
        _browser.ensure_chromium(str(tmp_path / "chromium"))
    message = str(info.value)
    assert "$ apt-get install -y chromium" in message and "$ apt-get update" in message
    assert "Unable to locate package chromium" in message
