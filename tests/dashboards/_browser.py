"""Headless Chromium for the dashboard tests and the README screenshots.

Debian's ``/usr/bin/chromium`` driven by Playwright for Python; a Playwright browser is never
downloaded. When Chromium is missing and this machine can install Debian packages (root and
``apt-get``), :func:`ensure_chromium` installs it; otherwise the tests skip with the reason.
``scripts/screenshots.py`` uses the same functions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_INSTALL_TIMEOUT = 900


class BrowserUnavailable(RuntimeError):
    """Chromium is missing and cannot be installed here; the message says why."""


def _works(path: str) -> bool:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and b"Chromium" in done.stdout


def ensure_chromium(path: str = CHROMIUM) -> str:
    """``path`` once Chromium runs there, installing Debian's package if it must and can.

    Raises :class:`BrowserUnavailable` (with the apt-get log when an install failed).
    """
    if os.path.exists(path) and _works(path):
        return path
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or apt is None:
        why = "not root" if os.geteuid() != 0 else "no apt-get"
        raise BrowserUnavailable(
            f"Chromium is not installed at {path} and this machine cannot install Debian "
            f"packages ({why}). Install it with `sudo apt-get install -y chromium`."
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log: list[str] = []

    def run(*args: str) -> bool:
        try:
            done = subprocess.run([apt, *args], capture_output=True, text=True, env=env,
                                  timeout=_INSTALL_TIMEOUT, check=False)  # fmt: skip
        except subprocess.TimeoutExpired:
            log.append(f"$ apt-get {' '.join(args)}\n(timed out after {_INSTALL_TIMEOUT} s)")
            return False
        log.append(f"$ apt-get {' '.join(args)}\n{done.stdout}{done.stderr}")
        return done.returncode == 0

    # The package lists may be missing or stale: update once if the first install fails.
    if not run("install", "-y", "chromium") and run("update"):
        run("install", "-y", "chromium")
    if os.path.exists(path) and _works(path):
        return path
    text = "\n".join(log)
    raise BrowserUnavailable(
        f"Chromium is not installed at {path} and `apt-get install -y chromium` did not "
        f"install it. apt-get said:\n{text[-4000:]}"
    )


def launch(playwright: Any, path: str = CHROMIUM) -> Any:
    """A headless Chromium browser (Playwright ``Browser``) on ``path``."""
    return playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)


def browser_fixture() -> Iterator[Any]:
    """The body of the ``browser`` fixture: skip when Chromium cannot be had."""
    import pytest

    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is not installed (pinned in the lock)"
    )
    try:
        path = ensure_chromium()
    except BrowserUnavailable as exc:
        pytest.skip(str(exc))
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright, path)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, url: str, ready: str, timeout: float = 90.0) -> Any:
    """A new page on ``url`` once the element ``ready`` (a CSS selector) is visible.

    Voila runs the notebook in a new kernel, then the page builds the widgets; both count.
    On a timeout the page's text is in the error.
    """
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(timeout * 1000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url, wait_until="domcontentloaded")
    try:
        page.wait_for_selector(ready, state="visible", timeout=timeout * 1000)
    except Exception as exc:
        text = page.inner_text("body")[-2000:] if page.query_selector("body") else ""
        page.close()
        raise AssertionError(
            f"{ready} did not appear on {url} within {timeout:g} s ({type(exc).__name__}). "
            f"Page errors: {errors[-3:]}. Page text: {text!r}"
        ) from None
    return page


def wait_for_text(page: Any, selector: str, text: str, timeout: float = 30.0) -> str:
    """Wait until the element ``selector`` contains ``text``; return its text."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        element = page.query_selector(selector)
        shown = element.inner_text() if element else ""
        if text in shown:
            return shown
        time.sleep(0.1)
    raise AssertionError(f"{selector} never showed {text!r} in {timeout:g} s; it shows {shown!r}")


def wait_for_change(page: Any, selector: str, before: str, timeout: float = 30.0) -> str:
    """Wait until the text of ``selector`` differs from ``before``; return the new text."""
    deadline = time.monotonic() + timeout
    shown = before
    while time.monotonic() < deadline:
        element = page.query_selector(selector)
        shown = element.inner_text() if element else ""
        if shown and shown != before:
            return shown
        time.sleep(0.1)
    raise AssertionError(f"{selector} did not change in {timeout:g} s; it still shows {shown!r}")
