"""The pipeline's cache, through run_labs on tiny labs (each run starts a real kernel)."""

import json

import pytest

from tests.labs._tiny import results_cell, write_lab
from workbench.labs import run_labs

MAKE_NOTE = (
    "import workbench as wb\n"
    "ws = wb.get_workspace()\n"
    "name = f'note-{len(ws.catalog.list(\"note\"))}'\n"
    "ws.catalog.create('note', name, status='Completed')\n"
    "open(os.path.join(RUN_DIR, 'note.txt'), 'w').write(name)"
)


@pytest.fixture
def labs(tmp_path, monkeypatch):
    root = tmp_path / "labs"
    write_lab(root / "day1_a" / "01_make.ipynb", ["import os", MAKE_NOTE, results_cell("01_make")])
    write_lab(
        root / "day1_a" / "02_read.ipynb",
        ["import os", "note = open(os.path.join(RUN_DIR, 'note.txt')).read()",
         results_cell("02_read", "{'note': note, 'seed': SEED}")],
        workbench={"needs": ["day1/01_make"]},
    )  # fmt: skip
    write_lab(root / "day2_b" / "01_alone.ipynb", [results_cell("01_alone")])
    monkeypatch.setenv("WORKBENCH_LABS_DIR", str(root))
    return root


def test_second_run_is_all_cached_and_restores_files_and_results(labs, tmp_path, workspace):
    first = run_labs(all_labs=True, run_dir=tmp_path / "run1")
    assert first.by_status("Completed") == ["day1/01_make", "day1/02_read", "day2/01_alone"]
    assert first.notebooks[0]["created"] == [["note", "note-0"]]
    second = run_labs(all_labs=True, run_dir=tmp_path / "run2")
    assert second.by_status("Cached") == ["day1/01_make", "day1/02_read", "day2/01_alone"]
    assert (tmp_path / "run2" / "note.txt").read_text() == "note-0"  # the lab's own file
    assert (tmp_path / "run2" / "day1__02_read.ipynb").exists()
    assert second.notebooks[1]["results"] == {"note": "note-0", "seed": 0}
    assert (
        json.loads((tmp_path / "run2" / "summary.json").read_text())["notebooks"][2]["status"]
        == "Cached"
    )
    assert len(workspace.catalog.list("note")) == 1  # nothing ran again
    workspace.catalog.delete("note", "note-0")  # what 01_make made is gone: it runs again
    third = run_labs(["day1/01_make"], run_dir=tmp_path / "run3")
    assert third.by_status("Completed") == ["day1/01_make"]


def test_changed_parameters_notebook_force_and_upstream_rerun(labs, tmp_path, workspace):
    run_labs(all_labs=True, run_dir=tmp_path / "run1")
    seeded = run_labs(["day2"], parameters={"SEED": 1}, run_dir=tmp_path / "run2")
    assert seeded.by_status("Completed") == ["day2/01_alone"]
    write_lab(labs / "day2_b" / "01_alone.ipynb", ["x = 2", results_cell("01_alone")])
    edited = run_labs(["day2"], run_dir=tmp_path / "run3")
    assert edited.by_status("Completed") == ["day2/01_alone"]
    forced = run_labs(["day1/01_make"], force=True, run_dir=tmp_path / "run4")
    assert forced.by_status("Completed") == ["day1/01_make"]
    # 02_read needs 01_make, which made a new note: it re-runs and reads it.
    after = run_labs(["day1"], run_dir=tmp_path / "run5")
    assert after.by_status("Cached") == ["day1/01_make"]
    assert after.by_status("Completed") == ["day1/02_read"]
    assert after.notebooks[1]["results"]["note"] == "note-1"
