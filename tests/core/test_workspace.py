import os

import numpy as np
import pandas as pd

from workbench.core import (
    Workspace,
    atomic_write_bytes,
    atomic_write_json,
    fingerprint,
    get_workspace,
    sha256_file,
)


def test_workspace_location_order(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Workspace().path == (tmp_path / ".workbench").resolve()
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    assert Workspace().path == (tmp_path / "home").resolve()
    assert Workspace(tmp_path / "explicit").path == (tmp_path / "explicit").resolve()
    assert get_workspace(str(tmp_path / "x")) == Workspace(tmp_path / "x")


def test_catalog_is_created_on_first_use(tmp_path):
    ws = Workspace(tmp_path / "new")
    assert not ws.path.exists()
    ws.catalog.create("training-job", "a", status="InProgress")
    assert (ws.path / "catalog.db").exists()
    assert ws.folder("training-job", "a") == ws.path / "training-jobs" / "a"


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "d" / "f.bin"
    atomic_write_bytes(target, b"abc")
    atomic_write_json(tmp_path / "d" / "g.json", {"a": 1})
    assert sorted(os.listdir(tmp_path / "d")) == ["f.bin", "g.json"]
    assert target.read_bytes() == b"abc"
    assert len(sha256_file(target)) == 64


def test_fingerprint_is_stable_and_content_sensitive(tmp_path):
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]})
    assert fingerprint(df) == fingerprint(df.copy())
    changed = df.copy()
    changed.loc[0, "a"] = 9.0
    assert fingerprint(df) != fingerprint(changed)
    assert fingerprint(df) != fingerprint(df.rename(columns={"a": "c"}))
    assert fingerprint(np.arange(3)) != fingerprint(np.arange(4))
    (tmp_path / "f.csv").write_text("1,2\n")
    first = fingerprint(tmp_path / "f.csv")
    (tmp_path / "f.csv").write_text("1,3\n")
    assert fingerprint(tmp_path / "f.csv") != first
    assert fingerprint(tmp_path).startswith("sha256:")
