"""Inside a batch transform job: read records, call the model, write one ``.out`` per file.

The job worker calls :func:`run_in_job` for ``spec["kind"] == "transform"``. Each input
file becomes ``<output_path>/<relative path>.out``, written to a temporary name and renamed,
so a killed job leaves whole files only. After each file, ``<output_path>/.manifest.json``
records the sha256 of its input and output (also written atomically); a re-run of the same
job skips a file whose output exists and whose input and output digests still match.

Filters are JSONPath (parsed by ``jsonpath-ng``), in the subset SageMaker documents:
``$``, ``$.key``, ``$['key']``, ``$['a','b']``, ``$[i]``, ``$[i,j]``, ``$[a:b]`` and unions
of indices and slices such as ``$[0,5:]``; steps may be chained (``$.data[1:]``) as long as
only the last one selects several values. A CSV record is a JSON array of its fields.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from ..core import Catalog, atomic_write_json, sha256_file
from ..exceptions import ValidationError, WorkbenchError

__all__ = [
    "KIND",
    "RESUME_KEYS",
    "JsonFilter",
    "ModelFailure",
    "TransformError",
    "compile_filter",
    "run_in_job",
    "settings_digest",
]

KIND = "transform-job"
MB = 1024 * 1024
MANIFEST = ".manifest.json"
CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
FILTER_SUBSET = (
    "a JSONPath in the supported subset: $, $.key, $['key'], $['a','b'], $[i], $[i,j], "
    "$[a:b], $[0,5:] (steps may be chained; only the last may select several values)"
)
# Settings that change what a job writes: a re-run resumes only when all of them are equal.
RESUME_KEYS = (
    "model_name", "model_sha256", "data", "data_type", "content_type", "compression_type",
    "split_type", "strategy", "assemble_with", "accept", "max_payload", "input_filter",
    "output_filter", "join_source", "output_path", "env",
)  # fmt: skip
_PROGRESS_EVERY = 0.5  # seconds between catalogue updates (at most twice a second)
_UNION = re.compile(r"^(?P<head>.*)\[(?P<items>[-0-9:,\s]*:[-0-9:,\s]*)\]$")


class TransformError(WorkbenchError):
    """The data or a request failed (a 4xx answer): the job ends Failed with a ClientError."""


class ModelFailure(RuntimeError):
    """The model answered 500 for a mini-batch: the job ends Failed with an AlgorithmError."""


class _Cancelled(Exception):
    """Another file failed: this one stops at its next request."""


class _Stopped(BaseException):
    """SIGTERM (a stop): unwind at once, discarding partial outputs.

    A BaseException, so the handler's catch-all for model errors does not swallow it.
    """


@contextmanager
def _sigterm_stops(cancel: threading.Event) -> Iterator[None]:
    """In the main thread, turn the first SIGTERM into :class:`_Stopped`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigterm(signum: int, frame: Any) -> None:
        if not cancel.is_set():
            cancel.set()
            raise _Stopped

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def settings_digest(params: dict[str, Any]) -> str:
    """A digest of the settings that change the outputs (see ``RESUME_KEYS``)."""
    chosen = {k: params.get(k) for k in RESUME_KEYS}
    return hashlib.sha256(json.dumps(chosen, sort_keys=True, default=str).encode()).hexdigest()


# -- JSONPath filters ---------------------------------------------------------------------
class JsonFilter:
    """A JSONPath of the supported subset, compiled to steps applied to one record.

    Example
    -------
    >>> compile_filter("$[0,2:]", "input_filter").apply(["id", "a", "b", "c"])
    ['id', 'b', 'c']
    """

    def __init__(self, expression: str, steps: list[tuple[str, Any]]) -> None:
        self.expression = expression
        self.steps = steps

    def __repr__(self) -> str:
        return f"JsonFilter({self.expression!r})"

    def apply(self, value: Any) -> Any:
        """The selected part of ``value``; raises LookupError/TypeError when it is not there."""
        for kind, arg in self.steps:
            if kind in ("key", "keys"):
                if not isinstance(value, dict):
                    raise TypeError(f"expected an object, got {_kind(value)}")
                missing = [k for k in ((arg,) if kind == "key" else arg) if k not in value]
                if missing:
                    raise LookupError(f"no key {missing[0]!r} in the record")
                value = value[arg] if kind == "key" else {k: value[k] for k in arg}
                continue
            if not isinstance(value, list):
                raise TypeError(f"expected an array, got {_kind(value)}")
            if kind == "index":
                value = value[_checked(arg, value)]
            else:
                picked: list[Any] = []
                for part in arg:
                    if isinstance(part, slice):
                        picked.extend(value[part])
                    else:
                        picked.append(value[_checked(part, value)])
                value = picked
        return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string"}.get(type(value), repr(value))


def _checked(index: int, values: list[Any]) -> int:
    if not -len(values) <= index < len(values):
        raise LookupError(f"index {index} is out of range for a record of {len(values)} values")
    return index


def compile_filter(expression: str | None, field: str) -> JsonFilter | None:
    """Parse a filter; ``None`` for no filter or ``$``. Raises ValidationError naming ``field``."""
    if expression is None:
        return None
    if not isinstance(expression, str):
        raise ValidationError(field, expression, FILTER_SUBSET)
    text = expression.strip()
    if text in ("", "$"):
        return None
    from jsonpath_ng import parse

    union = _UNION.match(text)
    head = union.group("head") if union else text
    try:
        steps = _steps(parse(head), field, expression)
        if union:
            steps.append(("pick", tuple(_union_item(i) for i in union["items"].split(","))))
    except ValidationError:
        raise
    except Exception as exc:  # jsonpath-ng raises several exception types for syntax errors
        raise ValidationError(field, expression, FILTER_SUBSET, hint=f"({exc})") from None
    if any(kind in ("keys", "pick") for kind, _ in steps[:-1]):
        raise ValidationError(
            field, expression, FILTER_SUBSET, hint="Only the last step may select several values."
        )
    return JsonFilter(expression, steps)


def _union_item(item: str) -> int | slice:
    parts = [p.strip() for p in item.split(":")]
    if len(parts) == 1:
        return int(parts[0])
    bounds = [int(p) if p else None for p in parts]
    if len(bounds) > 3 or (len(bounds) == 3 and bounds[2] == 0):
        raise ValueError(f"bad slice {item!r}")
    return slice(*bounds)


def _steps(node: Any, field: str, expression: str) -> list[tuple[str, Any]]:
    from jsonpath_ng.jsonpath import Child, Fields, Index, Root, Slice

    if isinstance(node, Root):
        return []
    if not isinstance(node, Child):
        hint = (
            "It must start at the root, $."
            if isinstance(node, Fields)
            else f"{type(node).__name__} is not supported."
        )
        raise ValidationError(field, expression, FILTER_SUBSET, hint=hint)
    steps = _steps(node.left, field, expression)
    right = node.right
    if isinstance(right, Fields) and "*" not in right.fields:
        names = tuple(right.fields)
        steps.append(("key", names[0]) if len(names) == 1 else ("keys", names))
    elif isinstance(right, Index):
        indices = tuple(right.indices)
        steps.append(("index", indices[0]) if len(indices) == 1 else ("pick", indices))
    elif isinstance(right, Slice) and right.step != 0:
        steps.append(("pick", (slice(right.start, right.end, right.step),)))
    else:
        raise ValidationError(
            field, expression, FILTER_SUBSET, hint=f"{type(right).__name__} is not supported."
        )
    return steps


# -- CSV records as arrays ------------------------------------------------------------------
def _csv_fields(line: bytes) -> list[str]:
    text = line.decode("utf-8")
    if '"' in text:
        return next(csv.reader([text]))
    return text.split(",")


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else _dumps(value).decode()
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_line(value: Any) -> bytes:
    values = value if isinstance(value, list) else [value]
    return ",".join(_csv_field(v) for v in values).encode()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# -- the job ------------------------------------------------------------------------------
class _Record(NamedTuple):
    line: int  # 1-based line number in the (decompressed) input file
    raw: bytes  # the record as read, for join_source="Input"
    sent: bytes  # the record after input_filter, as sent to the model


class _Output:
    """A ``.out`` file written under a temporary name, renamed only when complete."""

    def __init__(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        self.target, self.tmp = target, Path(tmp)
        self.handle = os.fdopen(fd, "wb")
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)

    def commit(self) -> str:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.tmp, self.target)
        return self.digest.hexdigest()

    def discard(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)


class _Progress:
    """Files and records done, pushed to the catalogue at most every 0.5 s."""

    def __init__(self, catalog: Catalog, name: str, total: int) -> None:
        self.catalog, self.name = catalog, name
        self.counts = {"files_done": 0, "files_total": total, "records_done": 0}
        self.lock = threading.Lock()
        self.last = 0.0

    def add(self, files: int = 0, records: int = 0) -> int:
        with self.lock:
            self.counts["files_done"] += files
            self.counts["records_done"] += records
            if time.monotonic() - self.last >= _PROGRESS_EVERY:
                self._push()
            return self.counts["files_done"]

    def flush(self) -> None:
        with self.lock:
            self._push()

    def _push(self) -> None:
        self.last = time.monotonic()
        self.catalog.update(KIND, self.name, extra={"progress": dict(self.counts)})


def run_in_job(spec: dict[str, Any]) -> None:
    """Inside the job process: transform every input file (see the module docstring)."""
    _BatchJob(spec).run()


class _BatchJob:
    def __init__(self, spec: dict[str, Any]) -> None:
        t = spec["transform"]
        self.spec, self.t = spec, t
        self.name: str = spec["job_name"]
        self.catalog = Catalog(spec["catalog"])
        self.content_type: str = t["content_type"]
        self.accept: str = t["accept"]
        self.lines = t["split_type"] == "Line"
        self.single = t["strategy"] == "SingleRecord"
        self.gzip = t["compression_type"] == "Gzip"
        self.newline = t["assemble_with"] == "Line"
        self.join = t["join_source"] == "Input"
        self.input_filter = compile_filter(t["input_filter"], "input_filter")
        self.output_filter = compile_filter(t["output_filter"], "output_filter")
        self.per_record = self.join or self.output_filter is not None
        self.limit = int(float(t["max_payload"]) * MB)
        self.out_dir = Path(t["output_path"])
        self.files = [(Path(f["path"]), f["relative"]) for f in t["files"]]
        self.workers = max(1, int(t["instance_count"]) * int(t["max_concurrent_transforms"]))
        self.cancel = threading.Event()
        self.lock = threading.Lock()
        self.handler: Any = None

    # -- orchestration ---------------------------------------------------------------------
    def run(self) -> None:
        from ._handler import Handler

        started = time.perf_counter()
        todo = self._plan()
        workers = min(self.workers, len(todo)) or 1
        print(
            f"Transforming {len(todo)} file(s) with model {self.t['model_name']} "
            f"({self.t['strategy']}, max_payload={self.t['max_payload']} MB, "
            f"{workers} concurrent)",
            flush=True,
        )
        self.handler = Handler.load(self.t["model_name"], self.spec["workspace"])
        stopped = False
        try:
            with _sigterm_stops(self.cancel):
                self._run_all(todo, workers)
        except _Stopped:
            stopped = True
        finally:
            self.progress.flush()
            # The forked worker ends with os._exit: the model's unpack folder needs removing here.
            shutil.rmtree(self.handler.model.model_dir, ignore_errors=True)
        counts = self.progress.counts
        if stopped:
            print(
                f"Stopped by request after {counts['files_done']} of {len(self.files)} file(s); "
                "partial outputs removed. Run the same job_name again to resume.",
                flush=True,
            )
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)  # end as a stopped job does
        print(
            f"Done: {counts['files_done']} file(s), {counts['records_done']:,} records in "
            f"{time.perf_counter() - started:.2f} s; outputs in {self.out_dir}",
            flush=True,
        )

    def _plan(self) -> list[tuple[Path, str, str]]:
        """The files still to transform (with their input sha256); counts the others as done."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        _remove_partial_outputs(self.out_dir)
        digests = self._hash_inputs()
        self.manifest = self._load_manifest()
        todo = [(p, rel) for p, rel in self.files if not self._finished(rel, digests[rel])]
        self.progress = _Progress(self.catalog, self.name, len(self.files))
        skipped = len(self.files) - len(todo)
        if skipped:
            records = sum(self.manifest["files"][rel]["records"] for rel in self._done(todo))
            self.progress.add(files=skipped, records=records)
            print(f"Resuming: {skipped} file(s) finished by an earlier run are kept", flush=True)
        self.progress.flush()
        return [(p, rel, digests[rel]) for p, rel in todo]

    def _done(self, todo: list[tuple[Path, str]]) -> list[str]:
        pending = {rel for _, rel in todo}
        return [rel for _, rel in self.files if rel not in pending]

    def _hash_inputs(self) -> dict[str, str]:
        digests: dict[str, str] = {}
        for path, rel in self.files:
            if not path.is_file():
                raise TransformError(f"input file {path} is missing")
            digests[rel] = sha256_file(path)
        fingerprint = self.t.get("fingerprint") or _fingerprint(digests)
        self.catalog.update(KIND, self.name, parameters={"fingerprint": fingerprint})
        self.catalog.add_lineage(("data", fingerprint), (KIND, self.name), "input")
        return digests

    def _run_all(self, todo: list[tuple[Path, str, str]], workers: int) -> None:
        if workers <= 1:
            for item in todo:
                self._transform_file(*item)
            return
        # Threads share one loaded model: XGBoost's inplace_predict and the codec are
        # thread-safe, and prediction releases the GIL.
        pool = ThreadPoolExecutor(workers, thread_name_prefix="transform")
        try:
            futures = [pool.submit(self._transform_file, *item) for item in todo]
            wait(futures, return_when=FIRST_EXCEPTION)
            self.cancel.set()  # all done, or one failed: the others stop at their next request
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for future in futures:
            error = None if future.cancelled() else future.exception()
            if error is not None and not isinstance(error, _Cancelled):
                raise error

    # -- resumption ------------------------------------------------------------------------
    def _load_manifest(self) -> dict[str, Any]:
        fresh = {"job_name": self.name, "settings": self.t["settings"], "files": {}}
        try:
            manifest = json.loads((self.out_dir / MANIFEST).read_text())
        except (OSError, ValueError):
            return fresh
        if manifest.get("job_name") != self.name or manifest.get("settings") != fresh["settings"]:
            return fresh
        return manifest

    def _finished(self, rel: str, digest: str) -> bool:
        entry = self.manifest["files"].get(rel)
        out = self.out_dir / f"{rel}.out"
        return bool(
            entry
            and entry.get("input_sha256") == digest
            and out.is_file()
            and sha256_file(out) == entry.get("output_sha256")
        )

    def _record_file(self, rel: str, entry: dict[str, Any]) -> None:
        with self.lock:
            self.manifest["files"][rel] = entry
            atomic_write_json(self.out_dir / MANIFEST, self.manifest)

    # -- one file --------------------------------------------------------------------------
    def _transform_file(self, path: Path, rel: str, digest: str) -> None:
        from ._handler import Call

        if self.cancel.is_set():
            raise _Cancelled
        started = time.perf_counter()
        out = _Output(self.out_dir / f"{rel}.out")
        records = requests = 0
        try:
            for batch, body in self._requests(path, rel):
                if self.cancel.is_set():
                    raise _Cancelled
                reply = self.handler.invoke(Call(body, self.content_type, self.accept))
                _check_reply(reply, _where(rel, batch) if self.lines else f"{rel} (whole file)")
                out.write(self._assemble(batch, reply, rel))
                done = len(batch) if self.lines else max(reply.rows, 1)
                records, requests = records + done, requests + 1
                self.progress.add(records=done)
            output_sha256 = out.commit()
        except BaseException:
            out.discard()
            raise
        self._record_file(
            rel,
            {"input_sha256": digest, "output_sha256": output_sha256, "records": records},
        )
        files_done = self.progress.add(files=1)
        print(
            f"[{files_done}/{len(self.files)}] {rel}: {records:,} records in {requests} "
            f"request(s), {time.perf_counter() - started:.2f} s",
            flush=True,
        )

    def _requests(self, path: Path, rel: str) -> Iterator[tuple[list[_Record], bytes]]:
        """(records, request body) pairs: mini-batches under max_payload, or the whole file."""
        if not self.lines:
            with self._open(path, rel) as handle:
                body = self._read(handle, rel)
            if len(body) > self.limit:
                raise TransformError(
                    f"{rel} is {len(body) / MB:.2f} MB, over max_payload="
                    f"{self.t['max_payload']} MB (split_type=None sends a whole file per "
                    "request); use split_type='Line' or raise max_payload (up to 100)"
                )
            if body.strip():
                yield [_Record(1, body, body)], body
            return
        batch: list[_Record] = []
        size = 2  # JSON mini-batches are wrapped in [ ]
        for record in self._records(path, rel):
            n = len(record.sent) + 1
            if n + 2 > self.limit:
                raise TransformError(
                    f"{rel}, line {record.line}: the record is {n / MB:.2f} MB, over "
                    f"max_payload={self.t['max_payload']} MB; raise max_payload (up to 100)"
                )
            if batch and (self.single or size + n > self.limit):
                yield batch, self._body(batch)
                batch, size = [], 2
            batch.append(record)
            size += n
        if batch:
            yield batch, self._body(batch)

    def _body(self, batch: list[_Record]) -> bytes:
        if self.content_type == JSON:
            # One JSON record per line; a mini-batch goes as a JSON array of records.
            if self.single:
                return batch[0].sent
            return b"[" + b",".join(r.sent for r in batch) + b"]"
        return b"".join(r.sent + b"\n" for r in batch)

    def _open(self, path: Path, rel: str) -> Any:
        if not self.gzip:
            return open(path, "rb")
        with open(path, "rb") as handle:
            if handle.read(2) != b"\x1f\x8b":
                raise TransformError(
                    f"{rel} is not gzip-compressed; compression_type='Gzip' expects every "
                    "input file gzipped"
                )
        return gzip.open(path, "rb")

    def _read(self, handle: Any, rel: str) -> bytes:
        try:
            return handle.read(self.limit + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise TransformError(f"{rel}: could not decompress ({exc})") from None

    def _records(self, path: Path, rel: str) -> Iterator[_Record]:
        with self._open(path, rel) as handle:
            lines = enumerate(handle, 1)
            while True:
                try:
                    number, raw = next(lines)
                except StopIteration:
                    return
                except (OSError, EOFError, zlib.error) as exc:
                    raise TransformError(f"{rel}: could not decompress ({exc})") from None
                raw = raw.rstrip(b"\r\n")
                if raw.strip():
                    yield _Record(number, raw, self._filter_input(raw, rel, number))

    def _filter_input(self, raw: bytes, rel: str, line: int) -> bytes:
        if self.input_filter is None:
            return raw
        value = self._parse(raw, self.content_type == CSV, f"{rel}, line {line}")
        try:
            selected = self.input_filter.apply(value)
        except (LookupError, TypeError) as exc:
            raise TransformError(
                f"{rel}, line {line}: input_filter {self.input_filter.expression!r}: {exc}"
            ) from None
        return _csv_line(selected) if self.content_type == CSV else _dumps(selected)

    @staticmethod
    def _parse(raw: bytes, is_csv: bool, where: str) -> Any:
        try:
            return _csv_fields(raw) if is_csv else json.loads(raw)
        except (UnicodeDecodeError, ValueError, csv.Error) as exc:
            kind = "CSV" if is_csv else "JSON"
            raise TransformError(f"{where}: not a valid {kind} record ({exc})") from None

    # -- outputs ---------------------------------------------------------------------------
    def _assemble(self, batch: list[_Record], reply: Any, rel: str) -> bytes:
        if not self.per_record:
            body = bytes(reply.body)
            if self.newline and body and not body.endswith(b"\n"):
                body += b"\n"
            return body
        where = _where(rel, batch)
        is_csv, outputs = _split_reply(reply, len(batch), self.accept, where)
        if self.join and is_csv != (self.content_type == CSV):
            raise TransformError(
                f"{where}: join_source='Input' needs the output in the input's format; "
                f"the model answered {reply.content_type}"
            )
        chunks = []
        for record, (raw_out, value) in zip(batch, outputs):
            if is_csv and self.join and self.output_filter is None:
                chunks.append(record.raw + b"," + raw_out)  # SageMaker appends the output
                continue
            if self.join:
                source = self._parse(record.raw, is_csv, f"{rel}, line {record.line}")
                value = source + value if is_csv else _join_json(source, value)
            if self.output_filter is not None:
                try:
                    value = self.output_filter.apply(value)
                except (LookupError, TypeError) as exc:
                    raise TransformError(
                        f"{rel}, line {record.line}: output_filter {self.output_filter.expression!r}: {exc}"
                    ) from None
            chunks.append(_csv_line(value) if is_csv else _dumps(value))
        return b"\n".join(chunks) + b"\n"


def _join_json(source: Any, output: Any) -> dict[str, Any]:
    """SageMaker's JSON join: the output under "SageMakerOutput" (input under "SageMakerInput"
    when the input record is not an object)."""
    if isinstance(source, dict):
        return {**source, "SageMakerOutput": output}
    return {"SageMakerInput": source, "SageMakerOutput": output}


def _split_reply(
    reply: Any, n: int, accept: str, where: str
) -> tuple[bool, list[tuple[bytes, Any]]]:
    """One (raw, value) per input record from a reply: CSV lines as field lists, JSON values."""
    from ._codec import parse_media_type

    media = parse_media_type(reply.content_type, accept)
    body = bytes(reply.body)
    try:
        if media == CSV:
            lines = [ln for ln in body.splitlines() if ln.strip()]
            outputs = [(ln, _csv_fields(ln)) for ln in lines]
        elif media in (JSONLINES, "application/jsonl", "application/x-jsonlines"):
            outputs = [(ln, json.loads(ln)) for ln in body.splitlines() if ln.strip()]
        elif media == JSON:
            value = json.loads(body)
            if isinstance(value, dict) and isinstance(value.get("predictions"), list):
                value = value["predictions"]
            items = value if isinstance(value, list) and (n > 1 or len(value) == 1) else [value]
            outputs = [(b"", v) for v in items]
        else:
            raise TransformError(
                f"{where}: join_source and output_filter need text/csv or JSON output; "
                f"the model answered {media}"
            )
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise TransformError(f"{where}: could not read the model's output ({exc})") from None
    if len(outputs) != n:
        raise TransformError(
            f"{where}: the model answered {len(outputs)} output records for {n} input records; "
            "join_source and output_filter need one output record per input record"
        )
    return media == CSV, outputs


def _check_reply(reply: Any, where: str) -> None:
    if reply.status < 400:
        return
    try:
        message = json.loads(reply.body)["error"]
    except (ValueError, KeyError, TypeError):
        message = bytes(reply.body[:500]).decode("utf-8", "replace")
    text = f"{where}: the model answered {reply.status}: {message}"
    if reply.status >= 500:
        raise ModelFailure(text)
    raise TransformError(text)


def _where(rel: str, batch: list[_Record]) -> str:
    first, last = batch[0].line, batch[-1].line
    if len(batch) == 1:
        return f"{rel}, line {first}"
    return f"{rel}, lines {first}-{last} ({len(batch)} records)"


def _fingerprint(digests: dict[str, str]) -> str:
    # The same scheme as workbench.core.fingerprint for a folder: relative name, then digest.
    digest = hashlib.sha256()
    for rel in sorted(digests):
        digest.update(rel.encode())
        digest.update(digests[rel].encode())
    return "sha256:" + digest.hexdigest()[:32]


def _remove_partial_outputs(folder: Path) -> None:
    """Temporary files left by a killed run (``.<name>.out.<random>.tmp``, the manifest's)."""
    for path in folder.rglob(".*.tmp"):
        if ".out." in path.name or path.name.startswith(f".{MANIFEST}."):
            path.unlink(missing_ok=True)
