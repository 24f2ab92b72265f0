"""The run report: ``summary.json``, ``summary.md`` and ``summary.html`` in the run folder.

What ran (or came from the cache, or failed, or was not reached), how long each lab took,
its peak memory, its key results, and links to the executed notebooks.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from ..core import atomic_write_json, atomic_write_text

__all__ = ["write_report"]


def write_report(data: dict[str, Any], run_dir: Path) -> None:
    """Write the three report files for one pipeline run."""
    atomic_write_json(run_dir / "summary.json", data)
    atomic_write_text(run_dir / "summary.md", _markdown(data))
    atomic_write_text(run_dir / "summary.html", _html(data))


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, default=str)
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value)


def _markdown(data: dict[str, Any]) -> str:
    lines = [
        f"# Lab run: {data['name']}",
        "",
        f"- status: **{data['status']}**, {data['duration_s']:.1f} s ({_counts(data)})",
        f"- run folder: `{data['run_dir']}`",
        f"- workspace: `{data['workspace']}`",
        f"- kernel: `{data['kernel']}`",
        "",
        "| lab | status | seconds | peak memory (MB) | executed notebook |",
        "| --- | --- | --- | --- | --- |",
    ]
    for nb in data["notebooks"]:
        link = f"[{Path(nb['output']).name}]({Path(nb['output']).name})" if nb.get("output") else ""
        lines.append(
            f"| {nb['lab']} | {nb['status']} | {nb.get('duration_s', 0):.1f} "
            f"| {nb.get('peak_rss_mb', '')} | {link} |"
        )
    for nb in data["notebooks"]:
        if nb.get("error"):
            err = nb["error"]
            lines += [
                "",
                f"**{nb['lab']} failed** {_where(err)}: {err['ename']}: {err['evalue']}",
                "",
                "```python",
                err.get("source", "").rstrip(),
                "```",
            ]
        if nb.get("results"):
            lines += ["", f"## {nb['lab']}: results", ""]
            lines += [f"- {key}: {_value(value)}" for key, value in nb["results"].items()]
    return "\n".join(lines) + "\n"


def _where(error: dict[str, Any]) -> str:
    if error.get("cell_index") is None:
        return "before its first cell"
    return f"at cell {error['cell_index']}"


def _counts(data: dict[str, Any]) -> str:
    statuses = [nb["status"] for nb in data["notebooks"]]
    parts = [f"{statuses.count(s)} {s.lower()}" for s in dict.fromkeys(statuses)]
    return ", ".join(parts) or "no labs"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.completed { color: #17672c; } .cached { color: #1a5fb4; } .failed { color: #b00020; }
.not-run { color: #777; }
pre { background: #f8f8f8; padding: 8px; overflow-x: auto; }
"""


def _html(data: dict[str, Any]) -> str:
    esc = html.escape
    rows = []
    for nb in data["notebooks"]:
        name = Path(nb["output"]).name if nb.get("output") else ""
        results = "<br>".join(
            f"{esc(str(k))}: {esc(_value(v))}" for k, v in (nb.get("results") or {}).items()
        )
        status = nb["status"]
        rows.append(
            f"<tr><td>{esc(nb['lab'])}</td><td class='{status.lower().replace(' ', '-')}'>{esc(status)}"
            f"</td><td>{nb.get('duration_s', 0):.1f}</td><td>{nb.get('peak_rss_mb', '')}</td>"
            f"<td>{results}</td><td><a href='{esc(name)}'>{esc(name)}</a></td></tr>"
        )
    errors = [
        f"<h2>{esc(nb['lab'])} failed {_where(nb['error'])}</h2>"
        f"<p>{esc(nb['error']['ename'])}: {esc(str(nb['error']['evalue']))}</p>"
        f"<pre>{esc(nb['error'].get('source', ''))}</pre>"
        for nb in data["notebooks"]
        if nb.get("error")
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Lab run: {esc(data['name'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Lab run: {esc(data['name'])}</h1>"
        f"<p>Status <b>{esc(data['status'])}</b> in {data['duration_s']:.1f} s "
        f"({esc(_counts(data))}). Run folder <code>{esc(data['run_dir'])}</code>, workspace "
        f"<code>{esc(data['workspace'])}</code>, kernel <code>{esc(data['kernel'])}</code>.</p>"
        "<table><tr><th>lab</th><th>status</th><th>seconds</th><th>peak memory (MB)</th>"
        "<th>key results</th><th>executed notebook</th></tr>"
        + "".join(rows)
        + "</table>"
        + "".join(errors)
        + "</body></html>\n"
    )
