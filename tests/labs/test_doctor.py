"""``workbench doctor``: every check on this machine, and each kind of failure explained."""

from __future__ import annotations

import socket

import pytest

from workbench import cli
from workbench.labs import _doctor, doctor, format_checks


def test_this_environment_is_ready_for_the_workshop(workspace):
    checks = {c.name: c for c in doctor(workspace.path)}
    for name in ("python", "numpy", "mxnet", "xgboost-cpu", "jupyter kernel", "widgets",
                 "workspace", "disk", "memory"):  # fmt: skip
        assert checks[name].ok, (name, checks[name].detail)
    assert checks["numpy"].detail == "1.23.5"  # mxnet 1.9.1 needs numpy<1.24
    assert {"port 8888", "port 8866"} <= set(checks)


def test_a_port_in_use_fails_with_what_to_do(workspace, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(_doctor, "PORTS", (port,))
        (check,) = [c for c in doctor(workspace.path) if c.name == f"port {port}"]
    assert not check.ok and "in use" in check.detail and "Voila" in check.fix


def test_an_unwritable_workspace_and_missing_or_wrong_libraries_fail(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setattr(_doctor, "PINNED", {"numpy": "1.99", "no-such-package-xyz": "1.0"})
    checks = {c.name: c for c in doctor(not_a_folder)}
    assert not checks["workspace"].ok and str(not_a_folder) in checks["workspace"].detail
    assert "WORKBENCH_HOME" in checks["workspace"].fix
    assert not checks["numpy"].ok and "1.99" in checks["numpy"].fix
    assert checks["no-such-package-xyz"].detail == "not installed"
    report = format_checks(list(checks.values()))
    assert report.count("FAIL") == 3 and "-> " in report


def test_the_command_exits_1_when_a_check_fails(workspace, monkeypatch, capsys):
    assert cli.main(["--workspace", str(workspace.path), "doctor"]) in (0, 1)
    monkeypatch.setattr(_doctor, "PINNED", {"no-such-package-xyz": "1.0"})
    assert cli.main(["--workspace", str(workspace.path), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  no-such-package-xyz" in out and "checks passed" in out


@pytest.mark.parametrize("version", ["1.23.5", "1.23"])
def test_a_patch_release_of_the_pinned_minor_version_passes(monkeypatch, version):
    monkeypatch.setattr(_doctor.metadata, "version", lambda name: version)
    assert _doctor._library("numpy", "1.23").ok
    assert not _doctor._library("numpy", "1.2").ok
