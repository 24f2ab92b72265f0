"""The endpoint server process: uvicorn in front, model workers behind it.

One process per endpoint (started detached, so it outlives the kernel) runs uvicorn and
routes each request to a model worker process (``_worker.py``) of the chosen production
variant over a Unix socket. Keeping HTTP in one long-lived process is what makes the
rest possible without dropping a connection: workers can crash and be restarted (the
request they held is retried once elsewhere), a blue/green update starts the new workers,
checks them, switches traffic and drains the old ones, and a serverless endpoint stops
its workers when idle and forks them again on the next request.

``/ping`` and ``/invocations`` are a small raw ASGI function rather than Starlette routes:
they are the whole latency budget (about a millisecond), and a route lookup, a Request
object and a Response object per call cost a measurable share of it. Everything else
(the admin routes, lifespan) is an ordinary Starlette app.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import random
import select
import signal
import socket
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._handler import Call, Reply, error_reply
from ._worker import FrameReader, encode_frame

__all__ = ["main", "run_server"]

log = logging.getLogger("workbench.serving")

MAX_PAYLOAD = 6 * 1024 * 1024
_READY_TIMEOUT = 300.0
_TICK = 1.0
_SPIN_S = 0.002
_SPIN_MAX_BODY = 16 * 1024  # larger calls take longer than the spin; polling would only slow them


class WorkerDied(Exception):
    """The worker's process ended with the call unanswered."""


class Worker:
    """The server's end of one model worker process."""

    def __init__(
        self, variant: str, model: str, pid: int, sock: socket.socket, quiet: Any = None
    ) -> None:
        self.quiet = quiet or (lambda: False)
        self.variant = variant
        self.model = model
        self.pid = pid
        self.sock = sock
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.sent_at: dict[int, float] = {}
        self.alive = True
        self.draining = False
        self.ready: asyncio.Future[Any] | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None
        self.info: dict[str, Any] = {}

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.ready = loop.create_future()
        reader, self.writer = await asyncio.open_unix_connection(sock=self.sock)
        self.task = asyncio.create_task(self._read(reader))
        kind, info = await asyncio.wait_for(self.ready, _READY_TIMEOUT)
        if kind != "ready":
            raise RuntimeError(f"model worker for {self.model!r} did not start: {info}")
        self.info = info

    async def _read(self, reader: asyncio.StreamReader) -> None:
        frames = FrameReader()
        try:
            while True:
                data = await reader.read(1 << 20)
                if not data:
                    break
                for message in frames.feed(data):
                    if self.ready is not None and not self.ready.done():
                        self.ready.set_result(message)
                        continue
                    call_id, reply, model_us = message
                    future = self.pending.pop(call_id, None)
                    self.sent_at.pop(call_id, None)
                    if future is not None and not future.done():
                        future.set_result((reply, model_us))
        except (ConnectionError, OSError):
            pass
        finally:
            self._died()

    def _died(self) -> None:
        self.alive = False
        if self.ready is not None and not self.ready.done():
            self.ready.set_result(("failed", "the worker process exited"))
        for future in self.pending.values():
            if not future.done():
                future.set_exception(WorkerDied(self.pid))
        self.pending.clear()
        self.sent_at.clear()

    async def call(
        self, call_id: int, target: str | None, call: Call, timeout: float
    ) -> tuple[Reply, float]:
        """Send ``call``; its reply, or TimeoutError after ``timeout`` seconds.

        The timeout is a timer on the reply's future rather than ``asyncio.wait_for``,
        which wraps the wait in a new Task: one more scheduling round per call.
        """
        if not self.alive or self.writer is None:
            raise WorkerDied(self.pid)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending[call_id] = future
        self.sent_at[call_id] = time.monotonic()
        self.writer.write(encode_frame((call_id, target, call)))
        if len(call.body) <= _SPIN_MAX_BODY and self.quiet():
            _wait_readable(self.sock.fileno(), _SPIN_S)
        timer = loop.call_later(timeout, _expire, future)
        try:
            return await future
        finally:
            timer.cancel()

    def close(self) -> None:
        """Close the socket: the worker sees EOF and exits."""
        self.alive = False
        if self.writer is not None:
            self.writer.close()
        with contextlib.suppress(OSError):
            self.sock.close()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.close()


@dataclass
class Variant:
    """A production variant: its model, weight, worker processes and counters."""

    name: str
    model: str
    weight: float
    instance_count: int
    workers: list[Worker] = field(default_factory=list)
    invocations: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    latencies_us: deque[float] = field(default_factory=lambda: deque(maxlen=2048))
    model_us: deque[float] = field(default_factory=lambda: deque(maxlen=2048))
    flushed: int = 0
    rr: int = 0

    def config(self) -> dict[str, Any]:
        return {
            "VariantName": self.name,
            "ModelName": self.model,
            "InitialInstanceCount": self.instance_count,
            "InitialVariantWeight": self.weight,
        }


class Endpoint:
    """The state of one endpoint inside its server process."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from ..core import get_workspace

        self.spec = spec
        self.name: str = spec["name"]
        self.workspace = get_workspace(spec["workspace"])
        self.catalog = self.workspace.catalog
        self.folder = Path(spec["folder"])
        self.token: str | None = spec.get("token")
        self.admin_token: str = spec["admin_token"]
        self.timeout: float = float(spec.get("timeout_s") or 60)
        self.max_payload = int(spec.get("max_payload_bytes") or MAX_PAYLOAD)
        self.serverless: dict[str, Any] | None = spec.get("serverless")
        self.variants: dict[str, Variant] = {}
        self.total_weight = 0.0
        self.next_id = 0
        self.last_request = time.monotonic()
        self.cold_starts: list[float] = []
        self.capture: Any = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.started = time.time()
        self.semaphore = (
            asyncio.Semaphore(int(self.serverless.get("max_concurrency") or 5))
            if self.serverless
            else None
        )
        self.starting: dict[str, asyncio.Task[Worker]] = {}
        self.monitor_pid: int | None = None
        self.in_flight = 0

    # -- workers ---------------------------------------------------------------------
    def _worker_spec(self, model: str) -> dict[str, Any]:
        return {
            "workspace": str(self.workspace.path),
            "model": model,
            "multi_model": self.spec.get("multi_model"),
            "batch": self.spec.get("batch"),
        }

    async def start_worker(self, variant: str, model: str) -> Worker:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        spec = self._worker_spec(model)
        keep = {child.fileno(), 0, 1, 2}
        pid = os.fork()
        if pid == 0:  # the worker; it never returns into the event loop
            code = 1
            try:
                signal.set_wakeup_fd(-1)  # the event loop's signal socket is closed next
                _close_sockets_except(keep)
                from ..training._worker import _die_with_parent

                _die_with_parent()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                from ._worker import serve

                code = serve(child, spec)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        child.close()
        worker = Worker(variant, model, pid, parent, quiet=lambda: self.in_flight == 1)
        try:
            await worker.start()
        except BaseException:
            worker.kill()
            raise
        return worker

    async def start_variant(self, config: dict[str, Any]) -> Variant:
        variant = Variant(
            name=config["VariantName"],
            model=config["ModelName"],
            weight=float(config.get("InitialVariantWeight", 1.0)),
            instance_count=int(config.get("InitialInstanceCount", 1)),
        )
        if not self.serverless:
            variant.workers = list(
                await asyncio.gather(
                    *(
                        self.start_worker(variant.name, variant.model)
                        for _ in range(variant.instance_count)
                    )
                )
            )
        return variant

    def pick_variant(self, target: str | None) -> Variant:
        if target:
            variant = self.variants.get(target)
            if variant is None:
                raise LookupError(
                    f"TargetVariant {target!r} is not a variant of endpoint {self.name!r}; "
                    f"variants: {', '.join(self.variants)}"
                )
            return variant
        variants = list(self.variants.values())
        if len(variants) == 1:
            return variants[0]
        point = random.random() * self.total_weight
        for variant in variants:
            point -= variant.weight
            if point < 0:
                return variant
        return variants[-1]

    async def worker_for(self, variant: Variant, target: str | None) -> tuple[Worker, float]:
        """A live worker of ``variant`` (least busy), and the cold start in ms if one began."""
        live = [w for w in variant.workers if w.alive and not w.draining]
        if live:
            if target and len(live) > 1:  # multi-model: keep a model on one worker's cache
                preferred = live[hash(target) % len(live)]
                if len(preferred.pending) <= min(len(w.pending) for w in live) + 2:
                    return preferred, 0.0
            return min(live, key=lambda w: len(w.pending)), 0.0
        # No worker (serverless idle, or all crashed): start one; concurrent callers share it.
        started = time.perf_counter()
        task = self.starting.get(variant.name)
        if task is None:
            task = asyncio.create_task(self.start_worker(variant.name, variant.model))
            self.starting[variant.name] = task
            task.add_done_callback(lambda _: self.starting.pop(variant.name, None))
        worker = await asyncio.shield(task)
        if worker not in variant.workers:
            variant.workers.append(worker)
        cold_ms = (time.perf_counter() - started) * 1000
        self.cold_starts.append(cold_ms)
        return worker, cold_ms

    def set_variants(self, variants: list[Variant]) -> None:
        self.variants = {v.name: v for v in variants}
        self.total_weight = sum(v.weight for v in variants) or 1.0

    # -- invocations -----------------------------------------------------------------
    async def invoke(
        self, call: Call, target_model: str | None, target_variant: str | None
    ) -> tuple[Reply, Variant | None, float, float]:
        """Route one call. Returns the reply, the variant, model time (us) and cold start (ms)."""
        try:
            variant = self.pick_variant(target_variant)
        except LookupError as exc:
            return error_reply(400, str(exc)), None, 0.0, 0.0
        self.next_id += 1
        call_id = self.next_id
        self.in_flight += 1
        try:
            return await self._route(call, call_id, variant, target_model)
        finally:
            self.in_flight -= 1

    async def _route(
        self, call: Call, call_id: int, variant: Variant, target_model: str | None
    ) -> tuple[Reply, Variant | None, float, float]:
        cold_total = 0.0
        for attempt in range(2):
            try:
                worker, cold = await self.worker_for(variant, target_model)
                cold_total += cold
                reply, model_us = await worker.call(call_id, target_model, call, self.timeout)
                return reply, variant, model_us, cold_total
            except WorkerDied:
                if attempt:
                    break
            except TimeoutError:
                # The worker is busy with a call nobody waits for any more: replace it, so the
                # calls behind it are answered (they are retried on the new worker).
                log.warning(
                    "call timed out after %g s: restarting worker %s", self.timeout, worker.pid
                )
                worker.kill()
                return (
                    error_reply(504, f"the model did not answer within {self.timeout:g} s"),
                    variant,
                    0.0,
                    cold_total,
                )
            except Exception as exc:
                log.error("could not start a worker: %s", exc)
                return error_reply(503, f"no model worker available: {exc}"), variant, 0.0, 0.0
        return error_reply(503, "the model worker exited twice while answering"), variant, 0, 0

    # -- background upkeep ----------------------------------------------------------------
    async def upkeep(self) -> None:
        """Once a second: restart crashed workers, retire stuck or idle ones, flush records."""
        last_monitor = 0.0
        while True:
            await asyncio.sleep(_TICK)
            try:
                self._reap()
                await self._heal()
                self._flush()
                if time.monotonic() - last_monitor >= 60:
                    last_monitor = time.monotonic()
                    self._run_monitoring()
            except Exception:
                log.exception("endpoint upkeep failed")

    def _reap(self) -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.monitor_pid:
                self.monitor_pid = None

    async def _heal(self) -> None:
        now = time.monotonic()
        for variant in list(self.variants.values()):
            for worker in list(variant.workers):
                stuck = [t for t in worker.sent_at.values() if now - t > 2 * self.timeout]
                if worker.alive and stuck:
                    log.warning(
                        "worker %s stuck for %.0f s: restarting it", worker.pid, now - min(stuck)
                    )
                    worker.kill()
                if not worker.alive:
                    variant.workers.remove(worker)
            if self.serverless:
                idle = float(self.serverless.get("idle_timeout_s") or 60)
                if variant.workers and now - self.last_request > idle:
                    for worker in variant.workers:
                        if not worker.pending:
                            worker.close()
                    variant.workers = [w for w in variant.workers if w.alive]
                continue
            if variant.name in self.starting:  # a caller is already starting one
                continue
            missing = variant.instance_count - len(variant.workers)
            for _ in range(max(0, missing)):
                try:
                    variant.workers.append(await self.start_worker(variant.name, variant.model))
                    log.warning("restarted a model worker of variant %s", variant.name)
                except Exception as exc:
                    log.error("could not restart a worker of %s: %s", variant.name, exc)
                    break

    def _flush(self) -> None:
        if self.capture is not None:
            self.capture.flush()
        rows = []
        now = time.time()
        for variant in self.variants.values():
            if variant.invocations == variant.flushed:
                continue
            count = variant.invocations - variant.flushed
            variant.flushed = variant.invocations
            step = int(now)
            rows.append((f"{variant.name}:Invocations", step, float(count), now))
            if variant.latencies_us:
                lat = sorted(variant.latencies_us)
                rows.append((f"{variant.name}:LatencyP50Ms", step, lat[len(lat) // 2] / 1000, now))
        if rows:
            self.catalog.add_metric_values("endpoint", self.name, rows)
            self.catalog.update("endpoint", self.name, extra={"stats": self.stats()})

    def _run_monitoring(self) -> None:
        """Run this endpoint's due monitoring schedules in a forked child (never in the loop)."""
        if self.monitor_pid is not None:
            return
        schedules = [
            r
            for r in self.catalog.list("monitoring-schedule", status="Scheduled")
            if r["parameters"].get("endpoint_name") == self.name
            and r["parameters"].get("schedule_cron_expression") != "NOW"  # ran when created
        ]
        if not schedules:
            return
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _close_sockets_except({0, 1, 2})
                from ..monitoring import run_due_schedules

                run_due_schedules(self.workspace, self.name)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        self.monitor_pid = pid

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for variant in self.variants.values():
            lat = sorted(variant.latencies_us)
            model = sorted(variant.model_us)
            out[variant.name] = {
                "model": variant.model,
                "weight": variant.weight,
                "workers": len([w for w in variant.workers if w.alive]),
                "invocations": variant.invocations,
                "errors_4xx": variant.errors_4xx,
                "errors_5xx": variant.errors_5xx,
                "latency_p50_ms": lat[len(lat) // 2] / 1000 if lat else None,
                "latency_p99_ms": lat[int(len(lat) * 0.99)] / 1000 if lat else None,
                "model_latency_p50_ms": model[len(model) // 2] / 1000 if model else None,
            }
        return {
            "variants": out,
            "cold_starts": len(self.cold_starts),
            "last_cold_start_ms": self.cold_starts[-1] if self.cold_starts else None,
            "uptime_s": round(time.time() - self.started, 1),
        }

    # -- blue/green ------------------------------------------------------------------------
    async def update(self, variants: list[dict[str, Any]]) -> dict[str, Any]:
        """Switch to ``variants``: start the new workers, check them, switch, drain the old."""
        current = self.variants
        new: list[Variant] = []
        started: list[Variant] = []
        try:
            for config in variants:
                old = current.get(config["VariantName"])
                if old is not None and old.model == config["ModelName"]:
                    # Same model: weights and counts change in place.
                    old.weight = float(config.get("InitialVariantWeight", old.weight))
                    old.instance_count = int(config.get("InitialInstanceCount", old.instance_count))
                    new.append(old)
                    continue
                variant = await self.start_variant(config)
                started.append(variant)
                new.append(variant)
        except BaseException:
            for variant in started:
                for worker in variant.workers:
                    worker.kill()
            raise
        kept = {id(v) for v in new}
        drain = [w for v in current.values() if id(v) not in kept for w in v.workers]
        self.set_variants(new)  # the switch: new requests go to the new variants from here
        for variant in new:  # fewer instances of a kept variant: drain the surplus
            surplus = len(variant.workers) - variant.instance_count
            if surplus > 0:
                drain += variant.workers[:surplus]
                variant.workers = variant.workers[surplus:]
        task = asyncio.create_task(self._drain(drain))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return {"variants": [v.config() for v in new]}

    async def _drain(self, workers: list[Worker]) -> None:
        for worker in workers:
            worker.draining = True
        deadline = time.monotonic() + self.timeout + 5
        while any(w.pending for w in workers) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for worker in workers:
            worker.close()

    async def shutdown(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        workers = [w for v in self.variants.values() for w in v.workers]
        deadline = time.monotonic() + 30
        while any(w.pending for w in workers) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for worker in workers:
            worker.close()
        if self.capture is not None:
            self.capture.close()
        self._flush()


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


def _wait_readable(fd: int, seconds: float) -> None:
    """Poll ``fd`` for a moment instead of letting the event loop sleep in epoll.

    Used only for a small call that is the one call in flight (nothing else for the loop
    to do): a process that sleeps for the ~0.5 ms a one-row prediction takes wakes on a
    cold CPU, which costs more than the prediction's own overheads. The loop then finds
    the reply ready and carries on at once. Polling a long call would take a CPU the
    worker may share (measured: 1,000 rows 10% slower).
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0)[0]:
            return


def _close_sockets_except(keep: set[int]) -> None:
    """In a new worker: close the listening socket and the other workers' sockets.

    Otherwise the port stays bound after the server exits, and a worker would hold another
    worker's socket open so that one never sees EOF. Files are left alone: SQLite tracks
    its own descriptors, and closing them behind its back breaks its locks.
    """
    import stat

    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd in keep:
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)


def _json_error(status: int, message: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    reply = error_reply(status, message)
    return status, [(b"content-type", reply.content_type.encode())], reply.body


class App:
    """The ASGI application: a fast path for /ping and /invocations, Starlette for the rest."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.admin = Starlette(
            routes=[
                Route("/workbench/stats", self.stats_route, methods=["GET"]),
                Route("/workbench/update", self.update_route, methods=["POST"]),
            ],
            lifespan=self.lifespan,
        )
        self.bearer = f"Bearer {endpoint.token}".encode() if endpoint.token else None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> Any:
        ep = self.endpoint
        try:
            ep.set_variants(list(await asyncio.gather(
                *(ep.start_variant(c) for c in ep.spec["variants"])
            )))  # fmt: skip
            if ep.spec.get("data_capture"):
                from ._capture import CaptureWriter, DataCaptureConfig

                config = DataCaptureConfig.from_dict(ep.spec["data_capture"])
                destination = Path(config.destination_s3_uri or ep.folder / "data-capture")
                ep.capture = CaptureWriter(destination, ep.name, config)
        except BaseException as exc:
            _mark_failed(ep, f"the endpoint could not start its model workers: {exc}")
            raise
        upkeep = asyncio.create_task(ep.upkeep())
        first = next(iter(ep.variants.values()))
        columns = first.workers[0].info.get("input_columns") if first.workers else None
        fields = {"parameters": {"input_columns": columns}} if columns else {}
        ep.catalog.update("endpoint", ep.name, status="InService", message="InService", **fields)
        try:
            yield
        finally:
            upkeep.cancel()
            await ep.shutdown()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == "/invocations":
                return await self.invocations(scope, receive, send)
            if path == "/ping":
                return await _send(send, 200, [(b"content-type", b"text/plain")], b"")
        await self.admin(scope, receive, send)

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        if self.bearer is None:
            return True
        return hmac.compare_digest(headers.get(b"authorization", b""), self.bearer)

    async def invocations(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        ep = self.endpoint
        ep.last_request = time.monotonic()
        headers = dict(scope["headers"])
        if scope["method"] != "POST":
            return await _send(send, *_json_error(405, "use POST /invocations"))
        if not self._authorized(headers):
            return await _send(send, *_json_error(401, "a valid 'Authorization: Bearer <token>' header is required"))  # fmt: skip
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > ep.max_payload:
            return await _send(send, *_json_error(413, _too_large(int(length), ep.max_payload)))
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > ep.max_payload:
                return await _send(send, *_json_error(413, _too_large(len(body), ep.max_payload)))
        call = Call(
            body=body,
            content_type=_header(headers, b"content-type"),
            accept=_header(headers, b"accept"),
            custom_attributes=_header(headers, b"x-amzn-sagemaker-custom-attributes"),
            inference_id=_header(headers, b"x-amzn-sagemaker-inference-id"),
        )
        target_model = _header(headers, b"x-amzn-sagemaker-target-model")
        target_variant = _header(headers, b"x-amzn-sagemaker-target-variant")
        if ep.semaphore is not None:
            async with ep.semaphore:
                reply, variant, model_us, cold = await ep.invoke(call, target_model, target_variant)
        else:
            reply, variant, model_us, cold = await ep.invoke(call, target_model, target_variant)
        out = [
            (b"content-type", reply.content_type.encode()),
            (b"content-length", str(len(reply.body)).encode()),
        ]
        for key, value in reply.headers.items():
            out.append((key.lower().encode(), value.encode()))
        if variant is not None:
            out.append((b"x-amzn-invoked-production-variant", variant.name.encode()))
        if cold:
            out.append((b"x-workbench-cold-start-ms", f"{cold:.1f}".encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": out})
        await send({"type": "http.response.body", "body": reply.body})
        if variant is not None:
            variant.invocations += 1
            if 400 <= reply.status < 500:
                variant.errors_4xx += 1
            elif reply.status >= 500:
                variant.errors_5xx += 1
            variant.latencies_us.append((time.perf_counter() - started) * 1e6)
            variant.model_us.append(model_us)
            if ep.capture is not None and reply.status == 200:
                ep.capture.record(
                    variant.name, body, call.content_type or "text/csv", reply.body,
                    reply.content_type, inference_id=call.inference_id,
                )  # fmt: skip

    async def stats_route(self, request: Request) -> Response:
        if not self._authorized({k: v for k, v in request.headers.raw}):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return JSONResponse(self.endpoint.stats())

    async def update_route(self, request: Request) -> Response:
        given = request.headers.get("x-workbench-admin-token", "")
        if not hmac.compare_digest(given.encode(), self.endpoint.admin_token.encode()):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        payload = await request.json()
        try:
            result = await self.endpoint.update(payload["variants"])
        except Exception as exc:
            log.exception("update failed")
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=500)
        return JSONResponse(result)


def _too_large(size: int, limit: int) -> str:
    return f"payload of {size} bytes is over the {limit // (1024 * 1024)} MB limit"


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None


async def _send(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = headers + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _mark_failed(ep: Endpoint, reason: str) -> None:
    with contextlib.suppress(Exception):
        ep.catalog.update(
            "endpoint", ep.name, status="Failed", failure_reason=reason, message=reason
        )


def run_server(spec: dict[str, Any]) -> int:
    """Serve the endpoint described by ``spec`` until SIGTERM (in the detached process)."""
    from ..core._process import process_identity

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    endpoint = Endpoint(spec)
    sock = socket.socket(socket.AF_INET6 if ":" in spec["host"] else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((spec["host"], int(spec.get("port") or 0)))
    except OSError as exc:
        _mark_failed(endpoint, f"could not bind {spec['host']}:{spec.get('port')}: {exc}")
        return 1
    sock.listen(1024)
    sock.set_inheritable(False)
    port = sock.getsockname()[1]
    host = spec["host"]
    url_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    endpoint.catalog.update(
        "endpoint",
        endpoint.name,
        extra={
            "url": f"http://{url_host}:{port}",
            "port": port,
            "process": process_identity(os.getpid()),
        },
    )
    config = uvicorn.Config(
        App(endpoint),
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=75,
        timeout_graceful_shutdown=30,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    return 0 if server.started else 1


def main(spec: dict[str, Any]) -> int:
    """Entry point in the forked (or spawned) endpoint process: log to the endpoint folder."""
    folder = Path(spec["folder"])
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "logs" / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    from ..training._supervisor import _redirect_stdio

    _redirect_stdio(fd, fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        return run_server(spec)
    except BaseException:
        traceback.print_exc()
        return 1


if __name__ == "__main__":  # cold start: python -m workbench.serving._server <spec.json>
    sys.exit(main(json.loads(Path(sys.argv[1]).read_text())))
