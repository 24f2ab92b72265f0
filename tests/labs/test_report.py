from workbench.labs._report import write_report


def _data(tmp_path):
    return {
        "name": "all",
        "run_dir": str(tmp_path),
        "status": "Failed",
        "duration_s": 12.5,
        "kernel": "workbench",
        "workspace": "/ws",
        "notebooks": [
            {"lab": "day1/01_a", "status": "Cached", "duration_s": 0.0,
             "output": str(tmp_path / "day1__01_a.ipynb"), "results": {"auc": 0.912345}},
            {"lab": "day1/02_b", "status": "Failed", "duration_s": 3.0, "peak_rss_mb": 321.5,
             "output": str(tmp_path / "day1__02_b.ipynb"), "results": {},
             "error": {"cell_index": 3, "ename": "ZeroDivisionError",
                       "evalue": "division by zero", "source": "x = 1 / 0"}},
            {"lab": "day2/01_<c>", "status": "Not run", "notebook": "/labs/c.ipynb"},
        ],
    }  # fmt: skip


def test_markdown_and_html_say_what_ran_with_links_metrics_and_the_failing_cell(tmp_path):
    write_report(_data(tmp_path), tmp_path)
    md = (tmp_path / "summary.md").read_text()
    assert "| day1/01_a | Cached | 0.0 |  | [day1__01_a.ipynb](day1__01_a.ipynb) |" in md
    assert "- auc: 0.9123" in md
    assert "1 cached, 1 failed, 1 not run" in md
    assert "**day1/02_b failed** at cell 3: ZeroDivisionError" in md and "x = 1 / 0" in md
    page = (tmp_path / "summary.html").read_text()
    assert "<a href='day1__02_b.ipynb'>" in page
    assert "321.5" in page and "auc: 0.9123" in page
    assert "day2/01_&lt;c&gt;" in page  # escaped
    assert "class='not-run'" in page
    assert (tmp_path / "summary.json").exists()
