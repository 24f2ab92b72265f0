"""The numbers behind the dashboards: plain functions over the workspace, returning DataFrames.

The Voila dashboards (``dashboards/*.ipynb``) only lay these out as widgets, so everything
they show is computed here and tested without a browser. They read the workspace through the
capabilities' public APIs (training jobs, endpoints, labelling jobs) and, for the few numbers
those do not expose (evaluations per job, tuning trials, endpoint metric series, captured
requests of a deleted endpoint, machine labels), through the catalogue directly, read-only.

Example
-------
>>> from workbench.dashboards import leaderboard, endpoint_traffic, labelling_progress
>>> leaderboard("validation:auc").head(3)                      # doctest: +SKIP
>>> endpoint_traffic("fraud-prod", window="1h")                # doctest: +SKIP
>>> labelling_progress("text-topics")["fraction"]              # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import Workspace, get_workspace
from ..exceptions import ResourceNotFound, ValidationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EMPTY_MESSAGE",
    "WINDOWS",
    "annotator_counts",
    "answers_over_time",
    "base_name",
    "endpoint_summary",
    "endpoint_traffic",
    "job_evaluation",
    "label_distribution",
    "labelling_jobs",
    "labelling_progress",
    "leaderboard",
    "leaderboard_metrics",
    "metric_direction",
    "monitored_endpoints",
    "monitoring_executions",
    "monitoring_violations",
    "parse_window",
    "training_curves",
]

#: What an empty dashboard says instead of a table.
EMPTY_MESSAGE = (
    "Nothing yet: run the labs (for example <code>workbench labs run day1</code>) or the "
    "how-to notebooks, then press <b>Refresh</b>."
)
#: The windows the monitoring dashboard offers: label -> seconds (None: everything).
WINDOWS: dict[str, float | None] = {
    "5 min": 300.0,
    "1 h": 3600.0,
    "24 h": 86400.0,
    "all": None,
}
# Preferred default leaderboard metrics, best first (evaluations on test data, then validation).
_PREFERRED = (
    "eval:roc_auc", "eval:r2", "eval:accuracy", "validation:auc", "validation:rmse",
    "validation:accuracy", "validation:f1", "validation:mse", "train:auc", "train:rmse",
)  # fmt: skip
_LOWER_IS_BETTER = re.compile(
    r"(rmse|mse|mae|mape|loss|error|brier|wql|quantile|perplexity|median_absolute|"
    r"objective|distance|merror)",
    re.IGNORECASE,
)
# Confusion-matrix counts at the evaluation's threshold: shown by the evaluation, not ranked.
_COUNTS = frozenset({"tp", "tn", "fp", "fn"})
_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}(-\d+)?$")
_TRAINING = "training-job"
_EVALUATION = "evaluation"
_TUNING = "tuning-job"
_ENDPOINT = "endpoint"
_EXECUTION = "monitoring-execution"
_LABELLING = "labeling-job"


# -- shared ------------------------------------------------------------------------------------


def parse_window(window: str | float | int | None) -> float | None:
    """A time window in seconds (``None``: everything) from a label, a number or ``None``.

    Accepts the labels of :data:`WINDOWS` (``"5 min"``, ``"1 h"``, ``"24 h"``, ``"all"``),
    strings such as ``"30s"``, ``"15min"``, ``"2h"``, ``"7d"``, or a positive number of seconds.

    Example
    -------
    >>> parse_window("1 h"), parse_window("15min"), parse_window(None)
    (3600.0, 900.0, None)
    """
    if window is None:
        return None
    expected = "None, 'all', a positive number of seconds, or a duration like '15min', '1h', '7d'"
    if isinstance(window, bool):
        raise ValidationError("window", window, expected)
    if isinstance(window, int | float):
        if not math.isfinite(window) or window <= 0:
            raise ValidationError("window", window, expected)
        return float(window)
    if not isinstance(window, str):
        raise ValidationError("window", window, expected)
    text = window.strip().lower().replace(" ", "")
    if text in ("all", ""):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(s|sec|m|min|h|d)", text)
    if not match or float(match.group(1)) <= 0:
        raise ValidationError("window", window, expected)
    unit = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}[match.group(2)]
    return float(match.group(1)) * unit


def _since(window: str | float | int | None, now: datetime | None = None) -> datetime | None:
    seconds = parse_window(window)
    if seconds is None:
        return None
    return (now or datetime.now(UTC)) - timedelta(seconds=seconds)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(value)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _ws(workspace: Workspace | str | None) -> Workspace:
    return get_workspace(workspace)


def base_name(job_name: str) -> str:
    """A job's name without the generated time stamp: ``fraud-xgboost-2026-...`` → ``fraud-xgboost``.

    Example
    -------
    >>> base_name("fraud-xgboost-2026-01-02-03-04-05-678")
    'fraud-xgboost'
    """
    return _SUFFIX.sub("", job_name)


# -- leaderboard -------------------------------------------------------------------------------


def metric_direction(metric: str) -> str:
    """``"min"`` for errors and losses (RMSE, log loss, ...), ``"max"`` for scores (AUC, F1, ...).

    Example
    -------
    >>> metric_direction("validation:auc"), metric_direction("validation:rmse")
    ('max', 'min')
    """
    leaf = metric.split(":")[-1]
    if leaf in ("r2", "roc_auc", "pr_auc", "auc", "aucpr", "ndcg", "map"):
        return "max"
    return "min" if _LOWER_IS_BETTER.search(leaf) else "max"


def _evaluations(ws: Workspace) -> dict[str, dict[str, Any]]:
    """The newest Completed evaluation of each model: model name -> catalogue record."""
    latest: dict[str, dict[str, Any]] = {}
    for record in ws.catalog.list(_EVALUATION, status="Completed"):  # newest first
        latest.setdefault(record["parameters"].get("model"), record)
    return latest


def _tuning_trials(ws: Workspace) -> dict[str, str]:
    """Training job name -> the tuning job that ran it as a trial."""
    with ws.catalog.reader() as conn:
        rows = conn.execute(
            "SELECT src_name, dst_name FROM lineage WHERE src_kind = ? AND dst_kind = ?"
            " AND relation = 'trial'",
            (_TUNING, _TRAINING),
        ).fetchall()
    return {dst: src for src, dst in rows}


def leaderboard(
    metric: str | None = None,
    *,
    workspace: Workspace | str | None = None,
    statuses: tuple[str, ...] = ("Completed",),
    base: str | None = None,
) -> pd.DataFrame:
    """Training and tuning jobs ranked by one metric, best first.

    One row per training job with ``status`` in ``statuses``: ``rank`` (1 = best; jobs
    without the metric come last with no rank), ``job``, ``base_name`` (the name without its
    time stamp; a tuning trial's is its tuning job's), ``algorithm``, ``status``,
    ``tuning_job`` (when the job was a tuning trial), ``created``, ``duration_s``,
    ``evaluation`` (the newest evaluation's name), then one
    column per metric: the job's final metrics (``train:*``, ``validation:*``) and its newest
    evaluation's metrics as ``eval:<metric>``. ``metric`` defaults to the first of
    ``eval:roc_auc``, ``eval:r2``, ``validation:auc``, ... that some job has; the order
    follows :func:`metric_direction`; ``base`` keeps one ``base_name``. ``attrs`` holds
    ``metric`` and ``direction``.

    Example
    -------
    >>> board = leaderboard("validation:auc")                    # doctest: +SKIP
    >>> board[["rank", "job", "validation:auc"]].head()          # doctest: +SKIP
    """
    import pandas as pd

    from ..training import list_training_jobs

    ws = _ws(workspace)
    jobs = list_training_jobs(ws)
    if len(jobs):
        jobs = jobs[jobs["status"].isin(list(statuses))]
    trials = _tuning_trials(ws) if len(jobs) else {}
    if base is not None and len(jobs):
        jobs = jobs[[base_name(trials.get(n) or n) == base for n in jobs["name"]]]
    evaluations = _evaluations(ws) if len(jobs) else {}
    rows = []
    for job in jobs.itertuples(index=False):
        evaluation = evaluations.get(job.name)
        row: dict[str, Any] = {
            "job": job.name,
            # A tuning trial is grouped under its tuning job ("fraud-tuning").
            "base_name": base_name(trials.get(job.name) or job.name),
            "algorithm": job.algorithm,
            "status": job.status,
            "tuning_job": trials.get(job.name),
            "created": pd.Timestamp(job.created),
            "duration_s": job.duration_s,
            "evaluation": evaluation["name"] if evaluation else None,
        }
        row.update({k: float(v) for k, v in (job.metrics or {}).items() if _number(v)})
        if evaluation:
            row.update(
                {f"eval:{k}": float(v) for k, v in evaluation["metrics"].items()
                 if _number(v) and k not in _COUNTS}
            )  # fmt: skip
        rows.append(row)
    fixed = ["job", "base_name", "algorithm", "status", "tuning_job", "created", "duration_s",
             "evaluation"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=fixed + sorted({k for r in rows for k in r} - set(fixed)))
    metrics = _metric_columns(frame)
    if metric is None:
        metric = _default_metric(metrics)
    elif metric not in metrics:
        raise ValidationError(
            "metric", metric, "one of " + (", ".join(metrics) if metrics else "no metric yet")
        )
    direction = metric_direction(metric) if metric else "max"
    if metric:
        frame = frame.sort_values(
            [metric, "created"], ascending=[direction == "min", False], na_position="last"
        )
        ranks = frame[metric].rank(method="min", ascending=direction == "min")
        frame.insert(0, "rank", ranks.astype("Int64"))
    else:
        frame = frame.sort_values("created", ascending=False)
        frame.insert(0, "rank", pd.array([pd.NA] * len(frame), dtype="Int64"))
    frame = frame.reset_index(drop=True)
    frame.attrs.update(metric=metric, direction=direction)
    return frame


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _metric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if ":" in c]


def _default_metric(metrics: list[str]) -> str | None:
    for name in _PREFERRED:
        if name in metrics:
            return name
    validation = [m for m in metrics if m.startswith("validation:")]
    return (validation or metrics or [None])[0]


def leaderboard_metrics(workspace: Workspace | str | None = None) -> list[str]:
    """The metrics the leaderboard can rank by, the default first.

    Example
    -------
    >>> leaderboard_metrics()                                    # doctest: +SKIP
    ['eval:roc_auc', 'eval:accuracy', ..., 'validation:auc']
    """
    board = leaderboard(workspace=workspace)
    metrics = _metric_columns(board)
    default = board.attrs["metric"]
    return ([default] if default else []) + [m for m in metrics if m != default]


def job_evaluation(job: str, workspace: Workspace | str | None = None) -> dict[str, Any] | None:
    """The newest evaluation of a job's model as :meth:`Evaluation.to_dict` wrote it, or None.

    Read from the evaluation's ``evaluation.json`` (metrics, confusion matrix, thinned ROC,
    PR and calibration curves), so nothing is predicted again.

    Example
    -------
    >>> ev = job_evaluation("fraud-xgboost-2026-...")            # doctest: +SKIP
    >>> ev["metrics"]["roc_auc"], len(ev["curves"]["roc"])       # doctest: +SKIP
    """
    ws = _ws(workspace)
    record = _evaluations(ws).get(job)
    if record is None:
        return None
    path = (record["artifacts"].get("evaluation") or {}).get("path")
    if path and Path(path).is_file():
        return json.loads(Path(path).read_text("utf-8"))
    return {"name": record["name"], "model_name": job, "metrics": record["metrics"], "curves": {}}


def training_curves(job: str, workspace: Workspace | str | None = None) -> pd.DataFrame:
    """A job's metric series (``metric``, ``step``, ``value``) as its log reported them.

    Example
    -------
    >>> training_curves(name).pivot(index="step", columns="metric", values="value")  # doctest: +SKIP
    """
    import pandas as pd

    from ..training import TrainingJob

    frame = TrainingJob(job, workspace=_ws(workspace)).metrics()
    return pd.DataFrame(frame[["metric", "step", "value"]]).reset_index(drop=True)


# -- endpoints and monitoring ------------------------------------------------------------------


def _capture_root(ws: Workspace, name: str, params: dict[str, Any] | None) -> Path:
    capture = (params or {}).get("data_capture") or {}
    dest = capture.get("DestinationS3Uri")
    return Path(dest).expanduser() if dest else ws.folder(_ENDPOINT, name) / "data-capture"


def _executions(ws: Workspace, endpoint: str | None = None) -> list[dict[str, Any]]:
    records = [
        r
        for r in ws.catalog.list(_EXECUTION)
        if endpoint is None or r["parameters"].get("endpoint_name") == endpoint
    ]
    records.sort(key=lambda r: (r["parameters"].get("scheduled_time") or "", r["created_at"]))
    return records


def monitored_endpoints(workspace: Workspace | str | None = None) -> pd.DataFrame:
    """Every endpoint the monitoring dashboard can show, live ones first.

    Live endpoints come from :func:`workbench.serving.list_endpoints`; endpoints deleted since
    still appear (status ``Deleted``) while their captured requests or monitoring executions
    remain in the workspace. Columns: ``endpoint``, ``status``, ``models``, ``invocations``
    (live count, or captured requests of a deleted endpoint), ``executions``, ``violations``
    (in the newest execution), ``last_execution_status``.

    Example
    -------
    >>> monitored_endpoints()[["endpoint", "status", "violations"]]   # doctest: +SKIP
    """
    import pandas as pd

    from ..serving import describe_endpoint, list_endpoints

    ws = _ws(workspace)
    live = list_endpoints(ws)
    executions = _executions(ws)
    by_endpoint: dict[str, list[dict[str, Any]]] = {}
    for record in executions:
        by_endpoint.setdefault(record["parameters"].get("endpoint_name"), []).append(record)
    rows = []
    for item in live.itertuples(index=False):
        stats = describe_endpoint(item.name, workspace=ws).get("Stats") or {}
        invocations = sum(v.get("invocations", 0) for v in stats.get("variants", {}).values())
        rows.append({"endpoint": item.name, "status": item.status, "models": item.models,
                     "invocations": int(invocations)})  # fmt: skip
    known = set(live["name"])
    folder = ws.path / f"{_ENDPOINT}s"
    gone = set(by_endpoint)
    if folder.is_dir():
        gone |= {p.name for p in folder.iterdir() if (p / "data-capture").is_dir()}
    for name in sorted(gone - known):
        rows.append({"endpoint": name, "status": "Deleted", "models": None,
                     "invocations": len(_captured_requests(ws, name, None))})  # fmt: skip
    for row in rows:
        done = by_endpoint.get(row["endpoint"], [])
        row["executions"] = len(done)
        row["violations"] = int(done[-1]["metrics"].get("violations", 0)) if done else 0
        row["last_execution_status"] = done[-1]["status"] if done else None
    columns = ["endpoint", "status", "models", "invocations", "executions", "violations",
               "last_execution_status"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _endpoint_record(ws: Workspace, name: str) -> dict[str, Any] | None:
    try:
        return ws.catalog.get(_ENDPOINT, name)
    except ResourceNotFound:
        return None


def _captured_requests(ws: Workspace, name: str, since: datetime | None) -> list[tuple]:
    """``(time, variant)`` of each captured request of an endpoint (live or deleted)."""
    record = _endpoint_record(ws, name)
    root = _capture_root(ws, name, record["parameters"] if record else None) / name
    out: list[tuple] = []
    if not root.is_dir():
        return out
    for path in sorted(root.rglob("*.jsonl")):
        variant = path.relative_to(root).parts[0]
        for line in path.read_text("utf-8", errors="replace").splitlines():
            try:
                stamp = json.loads(line)["eventMetadata"]["inferenceTime"]
                when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            except (ValueError, KeyError, TypeError):
                continue
            if since is None or when >= since:
                out.append((when, variant))
    return out


def endpoint_traffic(
    endpoint: str,
    *,
    window: str | float | None = None,
    workspace: Workspace | str | None = None,
) -> pd.DataFrame:
    """Traffic and latency of one endpoint over time, one row per variant and time step.

    For a live endpoint the series are the ones its server records about once a second:
    ``invocations`` in that second and ``latency_p50_ms`` (the median of the variant's last
    2,048 requests at that moment; any other ``Latency*Ms`` series recorded appears as its own
    column). For a deleted endpoint only captured requests remain: ``invocations`` counts
    them per second (a sample when capture sampled less than 100%) and latency is missing.
    ``attrs["source"]`` says which (``"metrics"`` or ``"capture"``). Columns: ``time`` (UTC),
    ``variant``, ``invocations``, ``latency_p50_ms``.

    Example
    -------
    >>> traffic = endpoint_traffic("fraud-prod", window="1 h")   # doctest: +SKIP
    >>> traffic.groupby("variant")["invocations"].sum()          # doctest: +SKIP
    """
    import pandas as pd

    ws = _ws(workspace)
    since = _since(window)
    record = _endpoint_record(ws, endpoint)
    rows = ws.catalog.metric_values(_ENDPOINT, endpoint) if record else []
    if record is None and not _known_endpoint(ws, endpoint):
        raise ResourceNotFound(
            f"No endpoint named {endpoint!r} in the workspace ({ws.path}), live or deleted."
        )
    columns = ["time", "variant", "invocations", "latency_p50_ms"]
    if rows:
        frame = pd.DataFrame(rows)
        parts = frame["metric"].str.split(":", n=1, expand=True)
        frame["variant"], frame["series"] = parts[0], parts[1]
        frame["time"] = pd.to_datetime(frame["timestamp"].round(0), unit="s", utc=True)
        if since is not None:
            frame = frame[frame["time"] >= since]
        wide = frame.pivot_table(
            index=["time", "variant"], columns="series", values="value", aggfunc="last"
        ).reset_index()
        wide.columns.name = None
        renamed = {"Invocations": "invocations"}
        for col in wide.columns:
            found = re.fullmatch(r"Latency(P\d+)Ms", str(col))
            if found:
                renamed[col] = f"latency_{found.group(1).lower()}_ms"
        wide = wide.rename(columns=renamed)
        for col in columns:
            if col not in wide.columns:
                wide[col] = float("nan")
        wide["invocations"] = wide["invocations"].fillna(0).astype(int)
        extra = sorted(c for c in wide.columns if c not in columns)
        out = wide[columns + extra].sort_values(["time", "variant"]).reset_index(drop=True)
        out.attrs["source"] = "metrics"
        return out
    captured = _captured_requests(ws, endpoint, since)
    if not captured:
        out = pd.DataFrame(columns=columns)
    else:
        frame = pd.DataFrame(captured, columns=["time", "variant"])
        out = frame.groupby(["time", "variant"]).size().rename("invocations").reset_index()
        out["time"] = pd.to_datetime(out["time"], utc=True)
        out["latency_p50_ms"] = float("nan")
    out.attrs["source"] = "capture"
    return out[columns]


def _known_endpoint(ws: Workspace, name: str) -> bool:
    if (ws.folder(_ENDPOINT, name) / "data-capture").is_dir():
        return True
    return any(r["parameters"].get("endpoint_name") == name for r in ws.catalog.list(_EXECUTION))


def endpoint_summary(
    endpoint: str,
    *,
    window: str | float | None = None,
    workspace: Workspace | str | None = None,
) -> pd.DataFrame:
    """Per variant: model, traffic in the window, live latency percentiles and errors.

    ``invocations`` and ``share`` count the window (see :func:`endpoint_traffic`);
    ``latency_p50_ms`` / ``latency_p99_ms`` are the server's live percentiles over each
    variant's last 2,048 requests, ``errors_4xx`` / ``errors_5xx`` count since the server
    started (both missing once the endpoint is deleted).

    Example
    -------
    >>> endpoint_summary("fraud-ab", window="5 min")             # doctest: +SKIP
    """
    import pandas as pd

    from ..serving import describe_endpoint

    ws = _ws(workspace)
    traffic = endpoint_traffic(endpoint, window=window, workspace=ws)
    counts = traffic.groupby("variant")["invocations"].sum() if len(traffic) else pd.Series()
    live: dict[str, Any] = {}
    models: dict[str, str] = {}
    if _endpoint_record(ws, endpoint) is not None:
        described = describe_endpoint(endpoint, workspace=ws)
        live = (described.get("Stats") or {}).get("variants", {})
        models = {v["VariantName"]: v["ModelName"] for v in described["ProductionVariants"]}
    variants = list(dict.fromkeys([*models, *counts.index]))
    total = float(counts.sum()) if len(counts) else 0.0
    rows = []
    for variant in variants:
        stats = live.get(variant, {})
        n = int(counts.get(variant, 0))
        rows.append({
            "variant": variant, "model": models.get(variant) or stats.get("model"),
            "invocations": n, "share": n / total if total else float("nan"),
            "latency_p50_ms": stats.get("latency_p50_ms"),
            "latency_p99_ms": stats.get("latency_p99_ms"),
            "errors_4xx": stats.get("errors_4xx"), "errors_5xx": stats.get("errors_5xx"),
        })  # fmt: skip
    columns = ["variant", "model", "invocations", "share", "latency_p50_ms", "latency_p99_ms",
               "errors_4xx", "errors_5xx"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs["source"] = traffic.attrs.get("source")
    return frame


def monitoring_executions(
    endpoint: str | None = None,
    *,
    window: str | float | None = None,
    workspace: Workspace | str | None = None,
) -> pd.DataFrame:
    """Model Monitor executions, oldest first: one row each with its violation count.

    Columns: ``execution``, ``endpoint``, ``schedule``, ``time`` (when it ran, UTC),
    ``window_start``, ``window_end`` (the captured data it analysed), ``status``
    (``Completed``, ``CompletedWithViolations``, ``Failed``), ``items``, ``violations``,
    ``failure_reason``. ``window`` keeps the executions that ran in it.

    Example
    -------
    >>> monitoring_executions("fraud-prod")[["time", "status", "violations"]]  # doctest: +SKIP
    """
    import pandas as pd

    ws = _ws(workspace)
    since = _since(window)
    rows = []
    for record in _executions(ws, endpoint):
        params = record["parameters"]
        when = _time(record["ended_at"]) or _time(record["created_at"])
        if since is not None and when is not None and when < since:
            continue
        rows.append({
            "execution": record["name"], "endpoint": params.get("endpoint_name"),
            "schedule": params.get("schedule"), "time": when,
            "window_start": _time(params.get("window_start")),
            "window_end": _time(params.get("window_end")),
            "status": record["status"], "items": record["metrics"].get("item_count"),
            "violations": int(record["metrics"].get("violations", 0)),
            "failure_reason": record["failure_reason"],
        })  # fmt: skip
    columns = ["execution", "endpoint", "schedule", "time", "window_start", "window_end",
               "status", "items", "violations", "failure_reason"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("time", "window_start", "window_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def monitoring_violations(
    endpoint: str | None = None,
    *,
    window: str | float | None = None,
    workspace: Workspace | str | None = None,
) -> pd.DataFrame:
    """Every constraint violation Model Monitor reported, one row each, newest first.

    Read from each execution's ``constraint_violations.json``. Columns: ``time``,
    ``execution``, ``endpoint``, ``feature_name``, ``constraint_check_type`` (SageMaker's
    check names, e.g. ``baseline_drift_check``), ``description``.

    Example
    -------
    >>> monitoring_violations("fraud-prod")["feature_name"].unique()   # doctest: +SKIP
    """
    import pandas as pd

    ws = _ws(workspace)
    since = _since(window)
    rows = []
    for record in reversed(_executions(ws, endpoint)):
        when = _time(record["ended_at"]) or _time(record["created_at"])
        if since is not None and when is not None and when < since:
            continue
        path = (record["artifacts"].get("constraint_violations") or {}).get("path")
        if not path or not Path(path).is_file():
            continue
        body = json.loads(Path(path).read_text("utf-8"))
        for violation in body.get("violations", []):
            rows.append({
                "time": when, "execution": record["name"],
                "endpoint": record["parameters"].get("endpoint_name"),
                "feature_name": violation.get("feature_name"),
                "constraint_check_type": violation.get("constraint_check_type"),
                "description": violation.get("description"),
            })  # fmt: skip
    columns = ["time", "execution", "endpoint", "feature_name", "constraint_check_type",
               "description"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


# -- labelling ---------------------------------------------------------------------------------


def _job(name: str, ws: Workspace) -> Any:
    from ..labelling import LabelingJob

    return LabelingJob.attach(name, ws)


def labelling_jobs(workspace: Workspace | str | None = None) -> pd.DataFrame:
    """Labelling jobs, newest first, with live progress.

    Columns: ``job``, ``status``, ``task_type``, ``items``, ``labeled``, ``human_labeled``,
    ``machine_labeled``, ``answers``, ``annotators``, ``fraction`` (labelled / items),
    ``created``.

    Example
    -------
    >>> labelling_jobs()[["job", "fraction"]]                    # doctest: +SKIP
    """
    import pandas as pd

    from ..labelling import list_labeling_jobs

    ws = _ws(workspace)
    listed = list_labeling_jobs(ws)
    rows = []
    for item in listed.itertuples(index=False):
        progress = labelling_progress(item.name, workspace=ws)
        rows.append({
            "job": item.name, "status": item.status, "task_type": item.task_type,
            "items": progress["items"], "labeled": progress["labeled"],
            "human_labeled": progress["human_labeled"],
            "machine_labeled": progress["machine_labeled"], "answers": progress["answers"],
            "annotators": len(progress["answers_by_annotator"]),
            "fraction": progress["fraction"], "created": pd.Timestamp(item.created),
        })  # fmt: skip
    columns = ["job", "status", "task_type", "items", "labeled", "human_labeled",
               "machine_labeled", "answers", "annotators", "fraction", "created"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def labelling_progress(job: str, workspace: Workspace | str | None = None) -> dict[str, Any]:
    """A job's progress: :meth:`LabelingJob.progress` plus ``status``, ``task_type``,
    ``labels``, ``annotators`` (everyone on the job, answered or not) and ``fraction``.

    Example
    -------
    >>> p = labelling_progress("text-topics")                   # doctest: +SKIP
    >>> f"{p['labeled']} of {p['items']} ({p['fraction']:.0%})"  # doctest: +SKIP
    """
    ws = _ws(workspace)
    labelling = _job(job, ws)
    out = dict(labelling.progress())
    out.update(
        job=job,
        status=labelling.status,
        task_type=labelling.task_type,
        labels=list(labelling.labels or []),
        annotators=list(labelling.annotators or []),
        fraction=out["labeled"] / out["items"] if out["items"] else 0.0,
    )
    return out


def _class_answers(job: Any) -> bool:
    return job.task.answer == "class"


def _majority(answers: pd.DataFrame) -> pd.Series:
    """Item -> the most frequent answer (ties: the first given), single-label tasks."""
    keys = answers["answer"].map(json.dumps)
    counts = (
        answers.assign(key=keys, order=range(len(answers)))
        .groupby(["item", "key"])
        .agg(n=("order", "size"), first=("order", "min"))
        .reset_index()
        .sort_values(["item", "n", "first"], ascending=[True, False, True])
    )
    top = counts.drop_duplicates("item").set_index("item")["key"]
    return top.map(json.loads)


def annotator_counts(job: str, workspace: Workspace | str | None = None) -> pd.DataFrame:
    """Per annotator: answers given, share of all answers, median seconds per answer, and
    (single-label tasks) agreement with the majority answer of the items they answered.

    Annotators on the job who have not answered yet appear with 0 answers.

    Example
    -------
    >>> annotator_counts("text-topics").sort_values("agreement")  # doctest: +SKIP
    """
    import pandas as pd

    ws = _ws(workspace)
    labelling = _job(job, ws)
    answers = labelling.answers()
    people = list(dict.fromkeys([*(labelling.annotators or []), *answers["annotator"]]))
    majority = _majority(answers) if len(answers) and _class_answers(labelling) else None
    total = len(answers)
    rows = []
    for person in people:
        mine = answers[answers["annotator"] == person]
        agreement = float("nan")
        if majority is not None and len(mine):
            agree = [json.dumps(a) == json.dumps(majority.get(i)) for i, a in
                     zip(mine["item"], mine["answer"])]  # fmt: skip
            agreement = sum(agree) / len(agree)
        seconds = pd.to_numeric(mine["seconds"], errors="coerce").dropna()
        rows.append({
            "annotator": person, "answers": len(mine),
            "share": len(mine) / total if total else 0.0,
            "median_seconds": float(seconds.median()) if len(seconds) else float("nan"),
            "agreement": agreement,
        })  # fmt: skip
    columns = ["annotator", "answers", "share", "median_seconds", "agreement"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["answers", "annotator"], ascending=[False, True]).reset_index(
        drop=True
    )


def _labels_in(answer: Any) -> list[Any]:
    if isinstance(answer, list):
        return [a.get("label") if isinstance(a, dict) else a for a in answer]
    if isinstance(answer, dict):
        return [answer.get("label")]
    return [answer]


def label_distribution(job: str, workspace: Workspace | str | None = None) -> pd.DataFrame:
    """How often each label was chosen: ``votes`` in people's answers, and (single-label
    tasks) ``labeled``, the items whose majority answer or machine label it is.

    One row per label of the job (in the job's order), plus any other label seen.

    Example
    -------
    >>> label_distribution("text-topics").set_index("label")["labeled"]  # doctest: +SKIP
    """
    import pandas as pd

    ws = _ws(workspace)
    labelling = _job(job, ws)
    answers = labelling.answers()
    votes: dict[Any, int] = {}
    for answer in answers["answer"]:
        for label in _labels_in(answer):
            votes[label] = votes.get(label, 0) + 1
    labeled: dict[Any, int] | None = None
    if _class_answers(labelling):
        labeled = {}
        if len(answers):
            for label in _majority(answers):
                labeled[label] = labeled.get(label, 0) + 1
        with ws.catalog.reader() as conn:
            machine = conn.execute(
                "SELECT label, count(*) FROM labeling_items WHERE job = ? AND state = 'auto'"
                " GROUP BY label",
                (job,),
            ).fetchall()
        for raw, count in machine:
            label = json.loads(raw) if raw is not None else None
            labeled[label] = labeled.get(label, 0) + int(count)
    order = list(dict.fromkeys([*(labelling.labels or []), *votes, *(labeled or {})]))
    rows = [
        {
            "label": label,
            "votes": votes.get(label, 0),
            "labeled": (labeled or {}).get(label, 0) if labeled is not None else float("nan"),
        }
        for label in order
    ]
    return pd.DataFrame(rows, columns=["label", "votes", "labeled"])


def answers_over_time(job: str, workspace: Workspace | str | None = None) -> pd.DataFrame:
    """Cumulative answers per annotator over time (``time``, ``annotator``, ``answers``).

    Example
    -------
    >>> answers_over_time("text-topics").groupby("annotator")["answers"].max()  # doctest: +SKIP
    """
    import pandas as pd

    ws = _ws(workspace)
    answers = _job(job, ws).answers()
    if not len(answers):
        return pd.DataFrame(columns=["time", "annotator", "answers"])
    frame = answers[["time", "annotator"]].copy()
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    frame = frame.sort_values("time")
    frame["answers"] = frame.groupby("annotator").cumcount() + 1
    return frame.reset_index(drop=True)
