"""Batch transform: SageMaker's ``Transformer`` over files, folders or DataFrames, as a job.

Every setting is checked in the kernel before anything is written; the job then runs out of
the kernel like a processing job (status, logs, stop, progress in the catalogue). Files go to::

    <workspace>/transform-jobs/<name>/
        transform/input/data.csv        a DataFrame input, written as header-less CSV
        transform/inputs.json           the input files in order, with their output names
        transform/output/<rel>.out      the outputs (unless output_path is given)
        transform/output/.manifest.json input and output sha256 per finished file
        logs/training.log               the job's log

Resumption (SageMaker has none): ``transform(..., job_name=X)`` where job ``X`` ended Failed or
Stopped runs ``X`` again in place with the same settings, keeping every ``.out`` whose input
and output still match the manifest. Outputs are written to a temporary name and renamed, so
a crash or a stop never leaves a partial ``.out``.

Concurrency: ``instance_count * max_concurrent_transforms`` files are transformed at once by
threads of one job process sharing the loaded model (built-in models predict with XGBoost's
thread-safe ``inplace_predict``; a script model's ``predict_fn`` must be thread-safe too).
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..core import Workspace, atomic_write_json, fingerprint, get_workspace, sha256_file
from ..exceptions import ArtifactIntegrityError, JobFailedError, ResourceInUse, ValidationError
from ..training._job import TERMINAL, JobHandle, reconcile
from ..training._launcher import start_job
from ._batch import KIND, RESUME_KEYS, compile_filter, settings_digest
from ._codec import CONTENT_TYPES, parse_media_type

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Transformer", "TransformJob", "list_transform_jobs", "KIND"]

_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_ALIASES = {"application/jsonl": "application/jsonlines", "application/x-jsonlines": "application/jsonlines"}  # fmt: skip
_JSON_FAMILY = ("application/json", "application/jsonlines")
_NPY = "application/x-npy"
# Image classification reads one image per request: whole files, never lines.
_IMAGES = ("application/x-image", "image/png", "image/jpeg")


class Transformer:
    """Run a model over a dataset out of the kernel, one ``.out`` file per input file.

    ``transform(data)`` takes a file, a folder (every non-hidden file, recursively, in sorted
    order; relative paths are kept in the output layout), a SageMaker manifest
    (``data_type="ManifestFile"``), or a DataFrame. A DataFrame is written as header-less CSV
    with its columns as they are: drop the target, or pick the model's columns with an
    ``input_filter`` such as ``"$[1:]"`` (SageMaker's way to leave out an id column).

    Example
    -------
    >>> t = Transformer(model.name, output_path="scores", accept="text/csv")      # doctest: +SKIP
    >>> job = t.transform("data/test", content_type="text/csv", split_type="Line",
    ...                   input_filter="$[1:]", join_source="Input")              # doctest: +SKIP
    >>> job.read().head()                                                         # doctest: +SKIP
    """

    def __init__(
        self,
        model_name: str,
        instance_count: int = 1,
        instance_type: str = "local",
        strategy: str = "MultiRecord",
        assemble_with: str | None = "Line",
        output_path: str | os.PathLike[str] | None = None,
        accept: str | None = None,
        max_concurrent_transforms: int = 1,
        max_payload: float = 6,
        env: dict[str, str] | None = None,
        base_transform_job_name: str | None = None,
        workspace: Workspace | str | None = None,
    ) -> None:
        self.model_name = model_name
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.strategy = strategy
        self.assemble_with = assemble_with
        self.output_path = output_path
        self.accept = accept
        self.max_concurrent_transforms = max_concurrent_transforms
        self.max_payload = max_payload
        self.env = env
        self.base_transform_job_name = base_transform_job_name
        self.workspace = get_workspace(workspace)
        self.latest_transform_job: TransformJob | None = None

    def __repr__(self) -> str:
        return f"Transformer({self.model_name!r}, strategy={self.strategy!r})"

    @classmethod
    def attach(
        cls, transform_job_name: str, workspace: Workspace | str | None = None
    ) -> Transformer:
        """A Transformer with the settings of an existing job, that job as its latest."""
        job = TransformJob(transform_job_name, workspace=workspace)
        p = job.record()["parameters"]
        transformer = cls(
            p["model_name"], p["instance_count"], p["instance_type"], p["strategy"],
            p["assemble_with"], p["output_path"], p["accept"], p["max_concurrent_transforms"],
            p["max_payload"], p["env"], workspace=job.workspace,
        )  # fmt: skip
        transformer.latest_transform_job = job
        return transformer

    def transform(
        self,
        data: Any,
        data_type: str = "S3Prefix",
        content_type: str = "text/csv",
        compression_type: str | None = None,
        split_type: str | None = "Line",
        job_name: str | None = None,
        input_filter: str | None = None,
        output_filter: str | None = None,
        join_source: str | None = None,
        wait: bool = True,
        logs: bool = True,
    ) -> TransformJob:
        """Start a transform job on ``data``; with ``wait`` block until it ends.

        Raises ValidationError naming the field for a bad setting, ResourceNotFound for an
        unknown model and ArtifactIntegrityError for a changed model artifact, all before
        any job exists. A ``job_name`` whose job Failed or was Stopped is resumed.
        """
        ws = self.workspace
        params = self._check(
            data, data_type, content_type, compression_type, split_type, job_name,
            input_filter, output_filter, join_source,
        )  # fmt: skip
        params["model_sha256"] = _check_model(ws, self.model_name)
        frame, files = _inputs(data, data_type, params)
        params["files_total"] = len(files) or 1
        params["data_fingerprint"] = fingerprint(frame) if frame is not None else None
        name = self._claim(ws, job_name, params)
        start_job(ws.catalog, KIND, name, lambda: _prepare(ws, name, params, frame, files))
        ws.catalog.add_lineage(("model", self.model_name), (KIND, name), "model")
        job = TransformJob(name, workspace=ws)
        self.latest_transform_job = job
        if wait:
            job.wait(logs=logs)
        return job

    def wait(self, logs: bool = True) -> None:
        """Wait for the latest transform job (SageMaker's ``Transformer.wait``)."""
        self._latest().wait(logs=logs)

    def stop_transform_job(self, wait: bool = True) -> None:
        """Stop the latest transform job; finished ``.out`` files are kept for a re-run."""
        job = self._latest()
        job.stop()
        while wait and job.status not in TERMINAL:
            time.sleep(0.1)

    def _latest(self) -> TransformJob:
        if self.latest_transform_job is None:
            raise ValidationError(
                "latest_transform_job", None, "a job started by transform()", hint="Call transform first."
            )  # fmt: skip
        return self.latest_transform_job

    # -- checks ----------------------------------------------------------------------------
    def _check(
        self,
        data: Any,
        data_type: str,
        content_type: str,
        compression_type: str | None,
        split_type: str | None,
        job_name: str | None,
        input_filter: str | None,
        output_filter: str | None,
        join_source: str | None,
    ) -> dict[str, Any]:
        """Every setting in canonical form, or ValidationError naming the first bad one."""
        if not isinstance(self.model_name, str) or not self.model_name:
            raise ValidationError("model_name", self.model_name, "the name of a model")
        _positive_int("instance_count", self.instance_count)
        _positive_int("max_concurrent_transforms", self.max_concurrent_transforms)
        _one_of("strategy", self.strategy, ("SingleRecord", "MultiRecord"))
        assemble_with = _none_or("assemble_with", self.assemble_with, ("Line",))
        if split_type in ("RecordIO", "TFRecord"):
            raise ValidationError(
                "split_type", split_type, "'Line' or None",
                hint=f"{split_type} splitting is not supported locally; convert the data to "
                "CSV or JSON Lines.",
            )  # fmt: skip
        split_type = _none_or("split_type", split_type, ("Line",))
        _one_of("data_type", data_type, ("S3Prefix", "ManifestFile"))
        compression_type = _none_or("compression_type", compression_type, ("Gzip",))
        content_type = _media("content_type", content_type)
        accept = _media("accept", self.accept) if self.accept is not None else content_type
        max_payload = self.max_payload
        if isinstance(max_payload, bool) or not isinstance(max_payload, int | float):
            raise ValidationError("max_payload", max_payload, "a number of MB in (0, 100]")
        if not 0 < max_payload <= 100:
            raise ValidationError("max_payload", max_payload, "a number of MB in (0, 100]")
        join_source = _none_or("join_source", join_source, ("Input",))
        _check_formats(content_type, accept, split_type, assemble_with, join_source)
        for field, value in (("input_filter", input_filter), ("output_filter", output_filter)):
            if compile_filter(value, field) is not None and split_type != "Line":
                raise ValidationError(
                    field, value, "None with split_type=None",
                    hint="Filters act on records: use split_type='Line'.",
                )  # fmt: skip
        if compile_filter(output_filter, "output_filter") is not None and assemble_with is None:
            raise ValidationError(
                "output_filter", output_filter, "None with assemble_with=None",
                hint="The filtered records are written one per line: use assemble_with='Line'.",
            )  # fmt: skip
        env = {} if self.env is None else self.env
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise ValidationError("env", self.env, "a dict of str to str")
        for field, name in (("job_name", job_name), ("base_transform_job_name", self.base_transform_job_name)):  # fmt: skip
            if name is not None and (not isinstance(name, str) or not _NAME.match(name)):
                raise ValidationError(
                    field, name, "1-63 letters, digits and hyphens, starting with a letter or digit"
                )
        output_path = None
        if self.output_path is not None:
            output_path = Path(self.output_path).expanduser().resolve()
            if output_path.exists() and not output_path.is_dir():
                raise ValidationError("output_path", str(self.output_path), "a folder, not a file")
        return {
            "model_name": self.model_name, "data_type": data_type, "content_type": content_type,
            "compression_type": compression_type, "split_type": split_type,
            "strategy": self.strategy, "assemble_with": assemble_with, "accept": accept,
            "max_payload": max_payload, "input_filter": input_filter,
            "output_filter": output_filter, "join_source": join_source,
            "output_path": str(output_path) if output_path else None, "env": dict(env),
            "instance_count": self.instance_count, "instance_type": self.instance_type,
            "max_concurrent_transforms": self.max_concurrent_transforms,
        }  # fmt: skip

    def _claim(self, ws: Workspace, job_name: str | None, params: dict[str, Any]) -> str:
        """Create the job's record, or take over a Failed/Stopped job of that name."""
        catalog = ws.catalog
        if job_name and catalog.exists(KIND, job_name):
            return _resume(ws, job_name, params)
        if job_name:
            name = catalog.create(KIND, job_name, status="InProgress", parameters=params)["name"]
        else:
            base = self.base_transform_job_name or _base_name(ws, self.model_name)
            name = catalog.create_unique(KIND, base, status="InProgress", parameters=params)["name"]
        if params["output_path"] is None:
            path = str(ws.folder(KIND, name) / "transform" / "output")
            catalog.update(KIND, name, parameters={"output_path": path})
        params.update(catalog.get(KIND, name)["parameters"])
        return name


def _positive_int(field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(field, value, "an integer >= 1")


def _one_of(field: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValidationError(field, value, "one of " + ", ".join(repr(a) for a in allowed))


def _none_or(field: str, value: Any, allowed: tuple[str, ...]) -> str | None:
    if value is None or value == "None":
        return None
    _one_of(field, value, (*allowed, "None"))
    return str(value)


def _media(field: str, value: Any) -> str:
    media = parse_media_type(value, "") if isinstance(value, str) else ""
    media = _ALIASES.get(media, media)
    allowed = CONTENT_TYPES + _IMAGES if field == "content_type" else CONTENT_TYPES
    if media not in allowed:
        raise ValidationError(field, value, "one of " + ", ".join(allowed))
    return media


def _check_formats(
    content_type: str,
    accept: str,
    split_type: str | None,
    assemble_with: str | None,
    join_source: str | None,
) -> None:
    if content_type in _IMAGES and split_type is not None:
        raise ValidationError(
            "split_type", split_type, f"None for {content_type} input (one image per file)"
        )
    if content_type == _NPY and split_type is not None:
        raise ValidationError(
            "split_type", split_type, "None for application/x-npy input (arrays have no lines)"
        )
    if accept == _NPY and assemble_with is not None:
        raise ValidationError(
            "assemble_with", assemble_with, "None for application/x-npy output",
            hint="Line would put newlines between binary arrays.",
        )  # fmt: skip
    if join_source is None:
        return
    if assemble_with != "Line" or split_type != "Line":
        raise ValidationError(
            "join_source", join_source, "None unless split_type and assemble_with are 'Line'",
            hint="Joining pairs each input line with its output line.",
        )  # fmt: skip
    if (content_type == "text/csv") != (accept == "text/csv") or _NPY in (content_type, accept):
        raise ValidationError(
            "accept", accept, f"the input's format family to join {content_type} input",
            hint="CSV input joins with text/csv output, JSON input with JSON or JSON Lines.",
        )  # fmt: skip


def _check_model(ws: Workspace, name: str) -> str:
    """The model's artifact sha256, after checking it (ResourceNotFound lists the models)."""
    artifact = ws.catalog.get("model", name)["artifacts"].get("model_data") or {}
    path = Path(artifact.get("path", ""))
    if not path.is_file() or sha256_file(path) != artifact.get("sha256"):
        raise ArtifactIntegrityError(
            f"Refusing to use model {name!r}: its artifact {path} is missing or its sha256 "
            "does not match the catalogue"
        )
    return str(artifact["sha256"])


def _base_name(ws: Workspace, model_name: str) -> str:
    params = ws.catalog.get("model", model_name)["parameters"]
    algorithm = params.get("algorithm") or "model"
    return f"{algorithm}-transform"


# -- inputs -------------------------------------------------------------------------------
def _inputs(
    data: Any, data_type: str, params: dict[str, Any]
) -> tuple[pd.DataFrame | None, list[tuple[Path, str]]]:
    """The DataFrame to write, or the input files with their output-relative names."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise ValidationError("data", "an empty DataFrame", "a DataFrame with rows")
        if params["content_type"] != "text/csv":
            raise ValidationError(
                "content_type", params["content_type"], "'text/csv' for a DataFrame",
                hint="A DataFrame is written as header-less CSV.",
            )  # fmt: skip
        if data_type != "S3Prefix":
            raise ValidationError("data_type", data_type, "'S3Prefix' for a DataFrame")
        if params["compression_type"] is not None:
            raise ValidationError("compression_type", params["compression_type"], "None for a DataFrame")  # fmt: skip
        params["data"] = "DataFrame"
        return data, []
    if not isinstance(data, str | os.PathLike):
        raise ValidationError("data", type(data).__name__, "a file, a folder or a DataFrame")
    path = Path(data).expanduser().resolve()
    params["data"] = str(path)
    if data_type == "ManifestFile":
        files = _manifest(path, data)
    elif path.is_file():
        files = [(path, path.name)]
    elif path.is_dir():
        files = sorted(
            ((p, p.relative_to(path).as_posix()) for p in path.rglob("*") if p.is_file()),
            key=lambda item: item[1],
        )
        files = [(p, rel) for p, rel in files if not any(s.startswith(".") for s in rel.split("/"))]
        output = Path(params["output_path"] or "/nonexistent")
        if output == path or path in output.parents:
            raise ValidationError(
                "output_path", params["output_path"], "a folder outside the input folder"
            )
    else:
        raise ValidationError("data", str(data), "an existing file or folder (or a DataFrame)")
    if not files:
        raise ValidationError("data", str(data), "a folder with at least one non-hidden file")
    if not any(p.stat().st_size for p, _ in files):
        raise ValidationError("data", str(data), "input files with data (every one is empty)")
    return None, files


def _manifest(path: Path, data: Any) -> list[tuple[Path, str]]:
    """SageMaker's manifest: ``[{"prefix": "<folder>"}, "rel/a", ...]`` (or that as JSON Lines)."""
    expected = 'a manifest: {"prefix": "<folder>"} first, then file names relative to it'
    if not path.is_file():
        raise ValidationError("data", str(data), f"an existing manifest file ({expected})")
    text = path.read_text()
    try:
        entries = json.loads(text)
    except ValueError:
        try:
            entries = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            raise ValidationError("data", str(data), expected) from None
    if not isinstance(entries, list) or len(entries) < 2:
        raise ValidationError("data", str(data), expected)
    head, names = entries[0], entries[1:]
    if not isinstance(head, dict) or not isinstance(head.get("prefix"), str):
        raise ValidationError("data", str(data), expected)
    if head["prefix"].startswith("s3://"):
        raise ValidationError("data", head["prefix"], "a local prefix folder (not s3://)")
    prefix = (path.parent / Path(head["prefix"]).expanduser()).resolve()
    bad = [n for n in names if not isinstance(n, str) or not n or n.startswith("/") or ".." in n.split("/")]  # fmt: skip
    if bad or len(set(names)) != len(names):
        shown = bad[:3] or "duplicates"
        raise ValidationError("data", shown, "distinct relative file names in the manifest")
    missing = [n for n in names if not (prefix / n).is_file()]
    if missing:
        raise ValidationError(
            "data", str(data), f"files that exist under {prefix}; missing: {', '.join(missing[:5])}"
        )
    return [(prefix / n, n) for n in names]


# -- starting the job ---------------------------------------------------------------------
def _resume(ws: Workspace, name: str, params: dict[str, Any]) -> str:
    record = reconcile(ws, ws.catalog.get(KIND, name))
    status = record["status"]
    if status == "Completed":
        raise ResourceInUse(
            f"Transform job {name!r} already Completed (outputs in "
            f"{record['parameters'].get('output_path')}); choose another job_name"
        )
    if status not in ("Failed", "Stopped"):
        raise ResourceInUse(
            f"Transform job {name!r} is {status}; wait for it or stop it before running it again"
        )
    old = record["parameters"]
    if params["output_path"] is None:
        params["output_path"] = old.get("output_path")
    for key in RESUME_KEYS:
        if old.get(key) != params.get(key):
            raise ValidationError(
                key, params.get(key), f"{old.get(key)!r}, as in the earlier run of {name!r}",
                hint="Running a Failed or Stopped job again resumes it with the same settings; "
                "use another job_name to change them.",
            )  # fmt: skip
    updated = ws.catalog.update(
        KIND, name, status="InProgress", expected_status=("Failed", "Stopped"),
        message="Restarted: finished files are kept", started_at=None, ended_at=None,
        parameters=params,
    )  # fmt: skip
    if updated is None:
        raise ResourceInUse(f"Transform job {name!r} was restarted by someone else")
    # Catalog.update merges JSON keys and cannot drop one: forget the last run's process,
    # progress and stop request (reconcile reads "stop_requested"), and its failure reason.
    with ws.catalog._write() as conn:
        conn.execute(
            "UPDATE objects SET extra = '{}', failure_reason = NULL WHERE kind = ? AND name = ?",
            (KIND, name),
        )
    return name


def _prepare(
    ws: Workspace,
    name: str,
    params: dict[str, Any],
    frame: pd.DataFrame | None,
    files: list[tuple[Path, str]],
) -> dict[str, Any]:
    job_dir = ws.folder(KIND, name)
    (job_dir / "logs").mkdir(parents=True, exist_ok=True)
    (job_dir / "output" / "failure").unlink(missing_ok=True)  # a previous run's reason
    if frame is not None:
        path = job_dir / "transform" / "input" / "data.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        frame.to_csv(tmp, header=False, index=False)
        os.replace(tmp, path)
        files = [(path, "data.csv")]
    inputs = [{"path": str(p), "relative": rel} for p, rel in files]
    atomic_write_json(job_dir / "transform" / "inputs.json", inputs)
    env = {
        "SAGEMAKER_BATCH": "true",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(params["max_payload"]),
        "SAGEMAKER_BATCH_STRATEGY": "SINGLE_RECORD"
        if params["strategy"] == "SingleRecord"
        else "MULTI_RECORD",  # fmt: skip
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": str(params["max_concurrent_transforms"]),
        **params["env"],
    }
    transform = {
        **params,
        "files": inputs,
        "settings": settings_digest(params),
        "fingerprint": params["data_fingerprint"],
    }
    return {
        "job_name": name,
        "job_dir": str(job_dir),
        "catalog": str(ws.catalog.path),
        "catalog_kind": KIND,
        "kind": "transform",
        "cwd": str(job_dir),
        "env": env,
        "max_run": 0,  # SageMaker transform jobs have no maximum run time
        "grace_period": 30,
        "metric_definitions": [],
        "outputs": {"output": params["output_path"]},
        "workspace": str(ws.path),
        "transform": transform,
    }


# -- the job handle -----------------------------------------------------------------------
class TransformJob(JobHandle):
    """A transform job in the workspace: status, progress, logs, stop, outputs.

    Example
    -------
    >>> job = TransformJob("xgboost-transform-2026-01-01-00-00-00-000")   # doctest: +SKIP
    >>> job.wait(); job.read().head()                                      # doctest: +SKIP
    """

    kind = KIND

    @property
    def progress(self) -> dict[str, int]:
        """``{"files_done", "files_total", "records_done"}`` as last reported by the job."""
        return dict(self.record()["extra"].get("progress") or {})

    @property
    def output_path(self) -> Path:
        return Path(self.record()["parameters"]["output_path"])

    def outputs(self) -> list[Path]:
        """The ``.out`` files written so far, in input order."""
        inputs_file = self.job_dir / "transform" / "inputs.json"
        if not inputs_file.exists():
            return []
        root = self.output_path
        outs = [root / f"{item['relative']}.out" for item in json.loads(inputs_file.read_text())]
        return [p for p in outs if p.is_file()]

    def read(self) -> pd.DataFrame:
        """The outputs as one DataFrame in input order (CSV as numbers, JSON as records)."""
        import pandas as pd

        accept = self.record()["parameters"]["accept"]
        paths = [p for p in self.outputs() if p.stat().st_size]
        if accept == "text/csv":
            frames = [pd.read_csv(p, header=None) for p in paths]
            return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if accept == _NPY:
            import numpy as np

            arrays = []
            for p in paths:  # assemble_with=None: the .npy bodies back to back
                data = io.BytesIO(p.read_bytes())
                while data.tell() < len(data.getbuffer()):
                    arrays.append(np.atleast_1d(np.load(data, allow_pickle=False)))
            return pd.DataFrame(np.concatenate(arrays) if arrays else [])
        rows: list[Any] = []
        for p in paths:
            for line in p.read_text().splitlines():
                if line.strip():
                    value = json.loads(line)
                    if isinstance(value, dict) and list(value) == ["predictions"]:
                        rows.extend(value["predictions"])
                    else:
                        rows.append(value)
        if rows and all(isinstance(r, dict) for r in rows):
            return pd.json_normalize(rows)
        return pd.DataFrame([r if isinstance(r, list) else [r] for r in rows])

    def wait(
        self, logs: bool | str = True, poll: float = 0.2, out: TextIO | None = None
    ) -> TransformJob:
        """Block until the job ends; with ``logs`` show a progress bar and the job's log.

        Raises JobFailedError if the job Failed.
        """
        if logs in (False, None, "None"):
            super().wait(logs=False)
            return self
        from tqdm.auto import tqdm

        out = out or sys.stdout
        record = self.record()
        bar = tqdm(total=record["parameters"].get("files_total"), unit="file", desc=self.name)
        offset, shown = 0, None
        try:
            while True:
                record = self.record()
                offset = self._write_log(offset, bar, out)
                progress = record["extra"].get("progress") or {}
                if progress and progress != shown:
                    shown = progress
                    bar.update(max(0, progress["files_done"] - bar.n))
                    bar.set_postfix(records=progress["records_done"])
                if record["status"] in TERMINAL:
                    self._write_log(offset, bar, out)
                    break
                time.sleep(poll)
        finally:
            bar.close()
        out.write(_summary(record) + "\n")
        out.flush()
        if record["status"] == "Failed":
            raise JobFailedError(self.name, "Failed", record["failure_reason"], kind=KIND)
        return self

    def _write_log(self, offset: int, bar: Any, out: TextIO) -> int:
        if not self.log_path.exists():
            return offset
        with open(self.log_path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1  # whole lines only
        if end:
            bar.write(data[:end].decode("utf-8", "replace").rstrip("\n"), file=out)
        return offset + end

    def describe(self) -> dict[str, Any]:
        """SageMaker's DescribeTransformJob fields (plus Progress, Lineage and JobDir)."""
        record = self.record()
        p = record["parameters"]
        return {
            "TransformJobName": record["name"],
            "TransformJobStatus": record["status"],
            "FailureReason": record["failure_reason"],
            "ModelName": p["model_name"],
            "MaxConcurrentTransforms": p["max_concurrent_transforms"],
            "MaxPayloadInMB": p["max_payload"],
            "BatchStrategy": p["strategy"],
            "Environment": p["env"],
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": p["data_type"], "S3Uri": p["data"]}},
                "ContentType": p["content_type"],
                "CompressionType": p["compression_type"] or "None",
                "SplitType": p["split_type"] or "None",
            },
            "TransformOutput": {
                "S3OutputPath": p["output_path"],
                "Accept": p["accept"],
                "AssembleWith": p["assemble_with"] or "None",
            },
            "TransformResources": {
                "InstanceType": p["instance_type"],
                "InstanceCount": p["instance_count"],
            },
            "DataProcessing": {
                "InputFilter": p["input_filter"] or "$",
                "OutputFilter": p["output_filter"] or "$",
                "JoinSource": p["join_source"] or "None",
            },
            "CreationTime": record["created_at"],
            "TransformStartTime": record["started_at"],
            "TransformEndTime": record["ended_at"],
            "LastModifiedTime": record["updated_at"],
            "Progress": record["extra"].get("progress"),
            "Lineage": self.lineage(),
            "JobDir": str(self.job_dir),
        }


def _summary(record: dict[str, Any]) -> str:
    line = f"{record['name']}: {record['status']}"
    if record["failure_reason"]:
        line += f" - {record['failure_reason']}"
    progress = record["extra"].get("progress") or {}
    if progress:
        line += f" ({progress['files_done']}/{progress['files_total']} files, "
        line += f"{progress['records_done']:,} records)"
    return line


_COLUMNS = [
    "name", "status", "model", "created", "duration_s", "files_done", "files_total",
    "records_done", "output_path", "failure_reason",
]  # fmt: skip


def list_transform_jobs(workspace: Workspace | str | None = None) -> pd.DataFrame:
    """Transform jobs in the workspace, newest first, as a DataFrame.

    Example
    -------
    >>> list_transform_jobs()[["name", "status", "files_done"]]   # doctest: +SKIP
    """
    from datetime import datetime

    import pandas as pd

    ws = get_workspace(workspace)
    rows = []
    for rec in ws.catalog.list(KIND):
        rec = reconcile(ws, rec)
        progress = rec["extra"].get("progress") or {}
        duration = None
        if rec["started_at"] and rec["ended_at"]:
            delta = datetime.fromisoformat(rec["ended_at"]) - datetime.fromisoformat(
                rec["started_at"]
            )
            duration = round(delta.total_seconds(), 2)
        rows.append({
            "name": rec["name"], "status": rec["status"],
            "model": rec["parameters"].get("model_name"), "created": rec["created_at"],
            "duration_s": duration, "files_done": progress.get("files_done"),
            "files_total": rec["parameters"].get("files_total"),
            "records_done": progress.get("records_done"),
            "output_path": rec["parameters"].get("output_path"),
            "failure_reason": rec["failure_reason"],
        })  # fmt: skip
    return pd.DataFrame(rows, columns=_COLUMNS)
