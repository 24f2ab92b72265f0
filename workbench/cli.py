"""The ``workbench`` command: run labs, manage training jobs and endpoints.

Examples::

    workbench labs run day1 -p FAST=True
    workbench labs run --all -p FAST=True
    workbench labs run --track forecasting --force
    workbench jobs list
    workbench jobs describe xgboost-2026-11-21-10-00-00-000
    workbench jobs stop xgboost-2026-11-21-10-00-00-000
    workbench endpoints list
    workbench endpoints describe fraud
    workbench endpoints delete fraud fraud-b
    workbench doctor
    workbench dashboard leaderboard
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .exceptions import WorkbenchError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workspace", help="workspace folder (default: $WORKBENCH_HOME or ./.workbench)"
    )
    sub = parser.add_subparsers(dest="command")

    labs = sub.add_parser("labs", help="workshop labs").add_subparsers(dest="labs_command")
    run = labs.add_parser(
        "run", help="run labs in workshop order as one pipeline (papermill), cached"
    )
    run.add_argument("names", nargs="*", help="groups or labs, e.g. day1 day2/02_tuning")
    run.add_argument("--all", action="store_true", help="every lab of the workshop")
    run.add_argument("--track", metavar="PROJECT", help="only the labs of one sample project")
    run.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--force", action="store_true", help="re-run labs even if cached")
    run.add_argument("--run-dir", help="where executed notebooks and the report go")
    run.add_argument("--kernel", help="Jupyter kernel name (default: workbench)")
    run.add_argument("--log-output", action="store_true", help="echo cell output")
    run.set_defaults(func=_labs_run)
    listing = labs.add_parser("list", help="list the labs")
    listing.add_argument("--track", metavar="PROJECT", help="only the labs of one sample project")
    listing.set_defaults(func=_labs_list)

    dashboard = sub.add_parser("dashboard", help="serve a Voila dashboard on 127.0.0.1")
    dashboard.add_argument("name", help="leaderboard, monitoring or labelling")
    dashboard.add_argument("--port", type=int, default=8866)
    dashboard.add_argument("--open", action="store_true", help="open it in a browser")
    dashboard.set_defaults(func=_dashboard)

    sub.add_parser("doctor", help="check this machine is ready for the workshop").set_defaults(
        func=_doctor
    )

    jobs = sub.add_parser("jobs", help="training jobs").add_subparsers(dest="jobs_command")
    listing = jobs.add_parser("list", help="list training jobs")
    listing.add_argument("--status", help="only jobs with this status")
    listing.set_defaults(func=_jobs_list)
    describe = jobs.add_parser("describe", help="describe a training job (JSON)")
    describe.add_argument("name")
    describe.set_defaults(func=_jobs_describe)
    stop = jobs.add_parser("stop", help="stop a training job")
    stop.add_argument("name")
    stop.set_defaults(func=_jobs_stop)

    endpoints = sub.add_parser("endpoints", help="endpoints (model servers)").add_subparsers(
        dest="endpoints_command"
    )
    endpoints.add_parser("list", help="list endpoints").set_defaults(func=_endpoints_list)
    describe = endpoints.add_parser("describe", help="describe an endpoint (JSON)")
    describe.add_argument("name")
    describe.set_defaults(func=_endpoints_describe)
    delete = endpoints.add_parser("delete", help="stop endpoints' servers and delete them")
    delete.add_argument("names", nargs="+", metavar="NAME")
    delete.set_defaults(func=_endpoints_delete)
    return parser


def _parse_value(text: str) -> Any:
    """``-p`` values: JSON/Python literals when they parse (True, 3, 0.5, "x"), else strings."""
    lowered = {"true": True, "false": False, "none": None, "null": None}
    if text.lower() in lowered:
        return lowered[text.lower()]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _labs_run(args: argparse.Namespace) -> int:
    from .exceptions import ValidationError
    from .labs import run_labs

    params = {}
    for item in args.parameter:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError("-p", item, "KEY=VALUE")
        params[key] = _parse_value(value)

    def progress(record: dict[str, Any]) -> None:
        memory = f", peak {record['peak_rss_mb']:.0f} MB" if record.get("peak_rss_mb") else ""
        print(f"  {record['lab']:<44} {record['status']:<9} {record['duration_s']:6.1f} s{memory}")
        sys.stdout.flush()

    result = run_labs(
        args.names,
        params,
        all_labs=args.all,
        track=args.track,
        run_dir=args.run_dir,
        kernel_name=args.kernel,
        workspace=args.workspace,
        force=args.force,
        log_output=args.log_output,
        progress=progress,
    )
    ran, cached = len(result.by_status("Completed")), len(result.by_status("Cached"))
    print(
        f"{result.name}: {result.status} in {result.duration_s:.1f} s ({ran} ran, {cached} cached)"
    )
    print(f"  report: {result.report_path}")
    print(f"  summary: {result.summary_path}")
    print(f"  workspace (training jobs, models): {result.workspace}")
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from .dashboards import serve_dashboard

    return serve_dashboard(
        args.name, port=args.port, workspace=args.workspace, open_browser=args.open
    )


def _doctor(args: argparse.Namespace) -> int:
    from .labs import doctor, format_checks

    checks = doctor(args.workspace)
    print(format_checks(checks))
    return 0 if all(c.ok for c in checks) else 1


def _labs_list(args: argparse.Namespace) -> int:
    from .labs import select_labs

    for lab in select_labs(all_labs=True, track=args.track):
        tracks = ",".join(lab.tracks) or "-"
        print(f"{lab.name:<44} tracks: {tracks:<28} {lab.path}")
    return 0


def _jobs_list(args: argparse.Namespace) -> int:
    from .training import list_training_jobs

    frame = list_training_jobs(args.workspace, status=args.status)
    if frame.empty:
        print("no training jobs")
        return 0
    columns = ["name", "status", "algorithm", "created", "duration_s", "failure_reason"]
    print(frame[columns].to_string(index=False))
    return 0


def _jobs_describe(args: argparse.Namespace) -> int:
    from .training import describe_training_job

    print(json.dumps(describe_training_job(args.name, args.workspace), indent=2, default=str))
    return 0


def _jobs_stop(args: argparse.Namespace) -> int:
    from .training import TrainingJob

    job = TrainingJob(args.name, workspace=args.workspace)
    job.stop()
    print(f"{args.name}: {job.status}")
    return 0


def _endpoints_list(args: argparse.Namespace) -> int:
    from .serving import list_endpoints

    frame = list_endpoints(args.workspace)
    if frame.empty:
        print("no endpoints")
        return 0
    print(frame[["name", "status", "url", "variants", "models"]].to_string(index=False))
    return 0


def _endpoints_describe(args: argparse.Namespace) -> int:
    from .serving import describe_endpoint

    print(json.dumps(describe_endpoint(args.name, args.workspace), indent=2, default=str))
    return 0


def _endpoints_delete(args: argparse.Namespace) -> int:
    """Delete every named endpoint, or none when a name is unknown."""
    from .core import get_workspace
    from .serving import delete_endpoint

    ws = get_workspace(args.workspace)
    for name in args.names:
        ws.catalog.get("endpoint", name)  # ResourceNotFound names the known endpoints
    for name in dict.fromkeys(args.names):
        delete_endpoint(name, workspace=ws)
        print(f"{name}: deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
