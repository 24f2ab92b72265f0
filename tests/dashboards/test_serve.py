"""Serving dashboards with Voila: names, command line, busy ports, start/stop, Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from workbench.core import Workspace
from workbench.dashboards import (
    DashboardError,
    dashboard_path,
    free_port,
    list_dashboards,
    serve_dashboard,
    start_dashboard,
    voila_command,
)
from workbench.exceptions import ValidationError


def assert_free(port: int) -> None:
    """Nothing listens on ``port`` any more (TIME_WAIT leftovers allowed, as for Voila)."""
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
        again.listen()


def test_names_and_paths():
    assert list_dashboards() == ["labelling", "leaderboard", "monitoring"]
    assert dashboard_path("monitoring").name == "monitoring.ipynb"
    assert dashboard_path("monitoring").is_file()
    with pytest.raises(ValidationError, match="labelling, leaderboard, monitoring") as info:
        dashboard_path("leaderbord")
    assert info.value.field == "name"


def test_voila_command_is_loopback_only_and_serves_no_files():
    command = voila_command("x.ipynb", 8999)
    assert command[:4] == [sys.executable, "-m", "voila", "x.ipynb"]
    for flag in ("--no-browser", "--port=8999", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
                 "--theme=light", "--strip_sources=True", "--show_tracebacks=False",
                 r"--VoilaConfiguration.file_allowlist=$^"):  # fmt: skip
        assert flag in command


def test_a_busy_port_is_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for call in (serve_dashboard, start_dashboard):
            with pytest.raises(DashboardError, match=f"Port {port} on 127.0.0.1 is busy"):
                call("labelling", port=port, workspace=tmp_path / "ws")
    with pytest.raises(ValidationError, match="port"):
        start_dashboard("labelling", port=70000, workspace=tmp_path / "ws")
    with pytest.raises(ValidationError, match="name"):
        serve_dashboard("nope")


@pytest.mark.slow  # the browser tests cover the page; this one needs no browser
def test_start_serves_the_rendered_page_on_loopback_and_stop_ends_everything(tmp_path):
    ws = Workspace(tmp_path / "ws")
    server = start_dashboard("labelling", workspace=ws)
    try:
        voila = psutil.Process(server.process.pid)
        listening = [c.laddr for c in voila.net_connections("tcp") if c.status == "LISTEN"]
        assert listening and {a.ip for a in listening} == {"127.0.0.1"}
        assert {a.port for a in listening} == {server.port}
        with urllib.request.urlopen(server.url, timeout=120) as response:
            assert response.status == 200
            page = response.read().decode()
        assert "application/vnd.jupyter.widget-view+json" in page  # the dashboard widget
        assert "def show_figure" not in page  # sources stripped
        assert "Traceback" not in page and '"output_type": "error"' not in page
        kernels = voila.children(recursive=True)
        assert kernels, "Voila should have started a kernel for the page"
        env = kernels[0].environ()
        assert env.get("WORKBENCH_HOME") == str(ws.path)
        assert kernels[0].cmdline()[0] == sys.executable
    finally:
        code = server.stop()
    assert code is not None and not server.running()
    assert psutil.wait_procs(kernels, timeout=20)[1] == [], "a kernel outlived its server"
    assert_free(server.port)


def test_serve_dashboard_blocks_until_ctrl_c(tmp_path):
    port = free_port()
    code = (
        "import sys; from workbench.dashboards import serve_dashboard; "
        f"sys.exit(serve_dashboard('leaderboard', port={port}, workspace={str(tmp_path)!r}))"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/voila/static/x", timeout=2)
            except urllib.error.HTTPError:
                break  # answering
            except OSError:
                assert process.poll() is None, process.stdout.read()
                time.sleep(0.2)
        else:
            pytest.fail("serve_dashboard never answered")
        assert process.poll() is None  # still serving
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, out
    assert f"Serving the leaderboard dashboard on http://127.0.0.1:{port}/" in out
    assert_free(port)
