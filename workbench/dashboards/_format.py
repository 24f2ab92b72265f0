"""HTML for the dashboards: tables with stable CSS classes, messages, and the shared style.

No ipywidgets here: the dashboards put these strings into ``widgets.HTML``.

Example
-------
>>> import pandas as pd
>>> html_table(pd.DataFrame({"job": ["a"], "auc": [0.91234]}), "wb-demo")[:43]
'<table class="wb-table wb-demo"><thead><tr>'
"""

from __future__ import annotations

import html
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["STYLE", "format_value", "html_table", "kpis_html", "message_html"]

#: CSS shared by every dashboard (put once on the page through an HTML widget).
STYLE = """<style>
.wb-table {border-collapse: collapse; font-size: 13px; margin: 4px 0 8px 0;}
.wb-table th {background: #eceff1; text-align: left; padding: 4px 10px;
  border-bottom: 2px solid #b0bec5; white-space: nowrap;}
.wb-table td {padding: 3px 10px; border-bottom: 1px solid #e0e0e0; white-space: nowrap;}
.wb-table td.wb-num {text-align: right; font-variant-numeric: tabular-nums;}
.wb-table th.wb-sort, .wb-table td.wb-sort {background: #e3f2fd; font-weight: 600;}
.wb-table tr.wb-selected td {background: #fff8e1;}
.wb-table tr.wb-bad td {color: #b71c1c;}
.wb-message {padding: 12px 16px; border-left: 4px solid #1976d2; background: #e3f2fd;
  font-size: 14px; margin: 8px 0;}
.wb-message.wb-error {border-color: #c62828; background: #ffebee; color: #b71c1c;}
.wb-title {font-size: 20px; font-weight: 600; margin: 4px 0;}
.wb-subtitle {color: #546e7a; font-size: 12px; margin-bottom: 8px;}
.wb-kpis {display: flex; gap: 12px; flex-wrap: wrap; margin: 6px 0;}
.wb-kpi {border: 1px solid #cfd8dc; border-radius: 4px; padding: 6px 12px; min-width: 110px;}
.wb-kpi b {display: block; font-size: 18px;}
.wb-kpi span {color: #607d8b; font-size: 11px; text-transform: uppercase;}
</style>"""


def format_value(value: Any, digits: int = 4) -> str:
    """One cell as text: floats to ``digits`` significant decimals, times to the second,
    missing values as an en dash.

    Example
    -------
    >>> format_value(0.912345), format_value(None), format_value(12)
    ('0.9123', '–', '12')
    """
    if value is None:
        return "–"
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return "–"
        if isinstance(value, pd.Timestamp):
            return value.strftime("%Y-%m-%d %H:%M:%S")
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        if abs(value) >= 1000:
            return f"{value:,.1f}"
        return (
            f"{value:.{digits}f}".rstrip("0").rstrip(".") if abs(value) >= 1e-4 else f"{value:.2e}"
        )
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    return str(value)


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iuf"


def html_table(
    frame: pd.DataFrame,
    css_class: str,
    *,
    columns: list[str] | None = None,
    labels: dict[str, str] | None = None,
    highlight_column: str | None = None,
    highlight_row: tuple[str, Any] | None = None,
    bad_row: tuple[str, Any] | None = None,
    percent: tuple[str, ...] = (),
    digits: int = 4,
    max_rows: int = 200,
) -> str:
    """``frame`` as an HTML table with classes ``wb-table`` and ``css_class``.

    Each row carries ``data-key`` (its first column's value) so tests can find it;
    ``highlight_column`` gets class ``wb-sort``, the row whose ``highlight_row[0]`` column
    equals ``highlight_row[1]`` gets ``wb-selected``, and rows matching ``bad_row`` get
    ``wb-bad``. ``labels`` renames headers; ``percent`` columns show fractions as percents.

    Example
    -------
    >>> import pandas as pd
    >>> "wb-sort" in html_table(pd.DataFrame({"a": [1]}), "x", highlight_column="a")
    True
    """
    esc = html.escape
    columns = list(columns or frame.columns)
    labels = labels or {}
    head = "".join(
        f'<th class="wb-sort">{esc(labels.get(c, c))}</th>'
        if c == highlight_column
        else f"<th>{esc(labels.get(c, c))}</th>"
        for c in columns
    )
    body = []
    for record in frame[columns].head(max_rows).to_dict("records"):
        classes = []
        if highlight_row is not None and record.get(highlight_row[0]) == highlight_row[1]:
            classes.append("wb-selected")
        if bad_row is not None and record.get(bad_row[0]) == bad_row[1]:
            classes.append("wb-bad")
        cells = []
        for c in columns:
            value = record[c]
            cls = []
            if _numeric(value):
                cls.append("wb-num")
            if c == highlight_column:
                cls.append("wb-sort")
            attr = f' class="{" ".join(cls)}"' if cls else ""
            text = format_value(value, digits)
            if c in percent and text != "–":
                text = f"{float(value):.0%}"
            cells.append(f"<td{attr}>{esc(text)}</td>")
        key = esc(format_value(record[columns[0]], digits), quote=True)
        row_class = f' class="{" ".join(classes)}"' if classes else ""
        body.append(f'<tr data-key="{key}"{row_class}>{"".join(cells)}</tr>')
    more = len(frame) - max_rows
    foot = (
        f'<tfoot><tr><td colspan="{len(columns)}">… {more} more rows</td></tr></tfoot>'
        if more > 0
        else ""
    )
    return (
        f'<table class="wb-table {esc(css_class, quote=True)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody>{foot}</table>"
    )


def message_html(text: str, *, error: bool = False, escape: bool = False) -> str:
    """A boxed message (``wb-message``; red with ``wb-error`` when ``error``).

    ``text`` may hold simple HTML (``<code>``, ``<b>``) unless ``escape`` is true.

    Example
    -------
    >>> message_html("Nothing yet", error=False)
    '<div class="wb-message">Nothing yet</div>'
    """
    body = html.escape(text) if escape else text
    cls = "wb-message wb-error" if error else "wb-message"
    return f'<div class="{cls}">{body}</div>'


def kpis_html(items: list[tuple[str, Any]]) -> str:
    """Key figures in boxes: ``[("invocations", 1200), ("p50 ms", 1.6)]``.

    Example
    -------
    >>> "wb-kpi" in kpis_html([("jobs", 3)])
    True
    """
    boxes = "".join(
        f'<div class="wb-kpi"><b>{html.escape(format_value(v, 3))}</b>'
        f"<span>{html.escape(k)}</span></div>"
        for k, v in items
    )
    return f'<div class="wb-kpis">{boxes}</div>'
