"""The dashboards' charts: matplotlib Figures built from the data functions' frames.

Figures are made with ``matplotlib.figure.Figure`` (no pyplot), so nothing is shown or kept
open behind the dashboard's back; :func:`figure_png` turns one into PNG bytes for an
``Output`` or ``Image`` widget.

Example
-------
>>> from workbench.dashboards import endpoint_traffic, plot_traffic, figure_png
>>> png = figure_png(plot_traffic(endpoint_traffic("fraud-prod")))   # doctest: +SKIP
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "bucket_seconds",
    "figure_png",
    "plot_evaluation",
    "plot_labelling",
    "plot_traffic",
    "plot_training_curves",
]

_BUCKETS = (1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400)


def _figure(width: float, height: float, rows: int = 1, cols: int = 1) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", color="#78909c", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (100 dpi).

    Example
    -------
    >>> from matplotlib.figure import Figure
    >>> figure_png(Figure(figsize=(1, 1)))[:4]
    b'\\x89PNG'
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


# -- leaderboard -------------------------------------------------------------------------------


def plot_evaluation(evaluation: dict[str, Any], title: str = "") -> Figure:
    """A stored evaluation (:func:`job_evaluation`): ROC and PR curves (binary), the confusion
    matrix (multiclass) or residual quantiles (regression).

    Example
    -------
    >>> plot_evaluation(job_evaluation(name), title=name)        # doctest: +SKIP
    """
    curves = evaluation.get("curves") or {}
    metrics = evaluation.get("metrics") or {}
    if curves.get("roc"):  # binary classification with both classes in the test set
        fig, axes = _figure(9, 3.4, 1, 2)
        roc, pr = axes[0]
        points = curves["roc"]
        roc.plot([p["fpr"] for p in points], [p["tpr"] for p in points], color="#1565c0")
        roc.plot([0, 1], [0, 1], ls="--", color="#b0bec5")
        roc.set(xlabel="false positive rate", ylabel="true positive rate",
                title=f"ROC (AUC {metrics.get('roc_auc', float('nan')):.3f})")  # fmt: skip
        points = curves.get("pr") or []
        if points:
            pr.plot([p["recall"] for p in points], [p["precision"] for p in points],
                    color="#2e7d32")  # fmt: skip
            pr.set(xlabel="recall", ylabel="precision",
                   title=f"Precision-recall (AP {metrics.get('pr_auc', float('nan')):.3f})")  # fmt: skip
        else:
            _empty(pr, "no precision-recall curve")
    elif evaluation.get("confusion_matrix"):
        fig, axes = _figure(5.5, 4.2)
        ax = axes[0][0]
        cm = evaluation["confusion_matrix"]
        matrix = cm["matrix"]
        ax.imshow(matrix, cmap="Blues")
        labels = [str(x) for x in cm["labels"]]
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                ax.text(j, i, str(value), ha="center", va="center", fontsize=8)
        ax.set(xlabel="predicted", ylabel="actual", title="Confusion matrix")
    elif curves.get("residual_quantiles"):
        fig, axes = _figure(6, 3.2)
        ax = axes[0][0]
        quantiles = curves["residual_quantiles"]
        ax.bar(list(quantiles), [v or 0.0 for v in quantiles.values()], color="#6a1b9a")
        ax.axhline(0, color="#455a64", lw=0.8)
        ax.set(xlabel="quantile", ylabel="prediction − actual", title="Residual quantiles")
    else:
        fig, axes = _figure(6, 3.2)
        ax = axes[0][0]
        shown = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
        if shown:
            ax.barh(list(shown), list(shown.values()), color="#1565c0")
            ax.set_title("Evaluation metrics")
        else:
            _empty(ax, "no evaluation curves")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_training_curves(curves: pd.DataFrame, title: str = "") -> Figure:
    """Metric series of a training job (:func:`training_curves`), one line per metric.

    Example
    -------
    >>> plot_training_curves(training_curves(name), title=name)   # doctest: +SKIP
    """
    fig, axes = _figure(7, 3.2)
    ax = axes[0][0]
    if not len(curves):
        _empty(ax, "this job reported no metric series")
    else:
        for metric, part in curves.groupby("metric", sort=True):
            ax.plot(part["step"], part["value"], marker="." if len(part) < 30 else None,
                    label=str(metric))  # fmt: skip
        ax.set(xlabel="step (round / epoch)", ylabel="value", title="Training metrics")
        ax.legend(fontsize=8, loc="best")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


# -- monitoring --------------------------------------------------------------------------------


def bucket_seconds(span_seconds: float, points: int = 60) -> int:
    """The smallest of 1 s, 5 s, 10 s, 30 s, 1 min, ... 1 day giving at most ``points`` bars.

    Example
    -------
    >>> bucket_seconds(50), bucket_seconds(3600)
    (1, 60)
    """
    for bucket in _BUCKETS:
        if span_seconds / bucket <= points:
            return bucket
    return _BUCKETS[-1]


def _time_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(alpha=0.3)


def plot_traffic(
    traffic: pd.DataFrame, executions: pd.DataFrame | None = None, title: str = ""
) -> Figure:
    """Invocations and latency per variant over time, with monitoring executions below.

    ``traffic`` is :func:`endpoint_traffic`'s frame, ``executions``
    :func:`monitoring_executions`'. The three charts share the time axis; each execution is
    a bar over the captured traffic it analysed (at the height of its violation count, red
    when it found violations) with a dot when it ran.

    Example
    -------
    >>> plot_traffic(endpoint_traffic(ep), monitoring_executions(ep), title=ep)  # doctest: +SKIP
    """
    import pandas as pd

    fig, axes = _figure(9, 5.8, 3, 1)
    calls, latency, monitor = axes[0][0], axes[1][0], axes[2][0]
    latency.sharex(calls)
    monitor.sharex(calls)
    if not len(traffic):
        for ax in (calls, latency):
            _empty(ax, "no traffic in this window")
    else:
        span = (traffic["time"].max() - traffic["time"].min()).total_seconds()
        bucket = bucket_seconds(span)
        for variant, part in traffic.groupby("variant", sort=True):
            series = part.set_index("time")
            counts = series["invocations"].resample(f"{bucket}s").sum()
            calls.plot(counts.index, counts.to_numpy(), drawstyle="steps-post",
                       label=f"{variant}")  # fmt: skip
            lat = series["latency_p50_ms"].dropna()
            if len(lat):
                latency.plot(lat.index, lat.to_numpy(), label=f"{variant} p50")
            if "latency_p95_ms" in series and series["latency_p95_ms"].notna().any():
                p95 = series["latency_p95_ms"].dropna()
                latency.plot(p95.index, p95.to_numpy(), ls="--", label=f"{variant} p95")
        calls.set_ylabel(f"calls / {bucket} s" if bucket < 60 else f"calls / {bucket // 60} min")
        captured = traffic.attrs.get("source") == "capture"
        calls.set_title("Invocations" + (" (captured requests)" if captured else ""))
        calls.legend(fontsize=8, loc="upper left")
        calls.set_ylim(bottom=0)
        if latency.lines:
            latency.set_ylabel("ms")
            latency.set_title("Latency (median of the last 2,048 requests)")
            latency.legend(fontsize=8, loc="upper left")
            latency.set_ylim(bottom=0)
        else:
            _empty(latency, "no latency series (the endpoint is deleted)")
        for ax in (calls, latency):
            _time_axis(ax)
            ax.tick_params(labelbottom=False)  # the shared time axis is labelled below
            ax.xaxis.get_offset_text().set_visible(False)
    if executions is None or not len(executions):
        _empty(monitor, "no Model Monitor executions in this window")
    else:
        for row in executions.itertuples(index=False):
            color = "#c62828" if row.violations else "#2e7d32"
            height = max(int(row.violations), 0)
            if pd.notna(row.window_start) and pd.notna(row.window_end):
                monitor.hlines(height, row.window_start, row.window_end, colors=color, lw=6,
                               alpha=0.6)  # fmt: skip
            monitor.scatter([row.time], [height], color=color, zorder=3)
        monitor.set_ylabel("violations")
        monitor.set_title("Model Monitor: analysed windows and violations (red: found some)")
        monitor.set_ylim(-0.5, max(2, int(executions["violations"].max()) + 1))
        _time_axis(monitor)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


# -- labelling ---------------------------------------------------------------------------------


def plot_labelling(
    distribution: pd.DataFrame, timeline: pd.DataFrame | None = None, title: str = ""
) -> Figure:
    """Label distribution (votes and labelled items) and cumulative answers per annotator.

    Example
    -------
    >>> plot_labelling(label_distribution(j), answers_over_time(j), title=j)  # doctest: +SKIP
    """
    fig, axes = _figure(9, 3.4, 1, 2)
    bars, lines = axes[0]
    if not len(distribution):
        _empty(bars, "no labels yet")
    else:
        labels = [str(x) for x in distribution["label"]]
        x = range(len(labels))
        has_labeled = distribution["labeled"].notna().any()
        width = 0.4 if has_labeled else 0.8
        bars.bar([i - (width / 2 if has_labeled else 0) for i in x], distribution["votes"],
                 width=width, label="answers (votes)", color="#90caf9")  # fmt: skip
        if has_labeled:
            bars.bar([i + width / 2 for i in x], distribution["labeled"], width=width,
                     label="items labelled", color="#1565c0")  # fmt: skip
        bars.set_xticks(list(x), labels, rotation=30, ha="right")
        bars.set_title("Label distribution")
        bars.legend(fontsize=8)
    if timeline is None or not len(timeline):
        _empty(lines, "no answers yet")
    else:
        for annotator, part in timeline.groupby("annotator", sort=True):
            lines.plot(part["time"], part["answers"], drawstyle="steps-post", label=str(annotator))
        lines.set_title("Answers over time")
        lines.set_ylabel("answers (cumulative)")
        lines.legend(fontsize=8, loc="upper left")
        _time_axis(lines)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
