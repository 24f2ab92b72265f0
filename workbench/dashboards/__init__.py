"""Voila dashboards over the workspace: leaderboard, endpoint monitoring, labelling progress.

The dashboards are notebooks in ``dashboards/`` served by Voila (``workbench dashboard
NAME``). Everything they show comes from the plain functions here, which return DataFrames
and can be used in any notebook; ``start_dashboard`` / ``serve_dashboard`` run Voila on
loopback; ``build_demo_workspace`` fills a workspace with real objects for each dashboard.

Example
-------
>>> from workbench.dashboards import leaderboard, list_dashboards
>>> list_dashboards()                                       # doctest: +SKIP
['labelling', 'leaderboard', 'monitoring']
>>> leaderboard("validation:auc")[["rank", "job", "validation:auc"]]   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    # data
    "EMPTY_MESSAGE": "._data",
    "WINDOWS": "._data",
    "annotator_counts": "._data",
    "answers_over_time": "._data",
    "base_name": "._data",
    "endpoint_summary": "._data",
    "endpoint_traffic": "._data",
    "job_evaluation": "._data",
    "label_distribution": "._data",
    "labelling_jobs": "._data",
    "labelling_progress": "._data",
    "leaderboard": "._data",
    "leaderboard_metrics": "._data",
    "metric_direction": "._data",
    "monitored_endpoints": "._data",
    "monitoring_executions": "._data",
    "monitoring_violations": "._data",
    "parse_window": "._data",
    "training_curves": "._data",
    # HTML and charts
    "STYLE": "._format",
    "format_value": "._format",
    "html_table": "._format",
    "kpis_html": "._format",
    "message_html": "._format",
    "bucket_seconds": "._plots",
    "figure_png": "._plots",
    "plot_evaluation": "._plots",
    "plot_labelling": "._plots",
    "plot_traffic": "._plots",
    "plot_training_curves": "._plots",
    # serving
    "DASHBOARDS_DIR": "._serve",
    "DashboardError": "._serve",
    "VoilaServer": "._serve",
    "dashboard_path": "._serve",
    "free_port": "._serve",
    "list_dashboards": "._serve",
    "serve_dashboard": "._serve",
    "start_dashboard": "._serve",
    "start_voila": "._serve",
    "voila_command": "._serve",
    # demo workspace
    "DemoWorkspace": "._demo",
    "build_demo_workspace": "._demo",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
