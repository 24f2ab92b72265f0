"""The workspace catalogue: one embedded SQLite database of every object.

Every object (training job, model, and later tuning jobs, endpoints, labelling jobs) is a
row keyed by ``(kind, name)`` with a status, timestamps, JSON parameters, metrics,
artifacts and process information. Metric series and lineage edges have their own
tables. SQLite in WAL mode with ``BEGIN IMMEDIATE`` transactions makes every write
atomic and lets several kernels and job processes write at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..exceptions import ResourceInUse, ResourceNotFound

__all__ = ["Catalog", "utcnow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    failure_reason TEXT,
    parameters TEXT NOT NULL DEFAULT '{}',
    metrics TEXT NOT NULL DEFAULT '{}',
    artifacts TEXT NOT NULL DEFAULT '{}',
    extra TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (kind, name)
);
CREATE INDEX IF NOT EXISTS objects_kind_created ON objects (kind, created_at);
CREATE TABLE IF NOT EXISTS metric_values (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    metric TEXT NOT NULL,
    step INTEGER NOT NULL,
    value REAL NOT NULL,
    timestamp REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metric_values_object ON metric_values (kind, name, metric, step);
CREATE TABLE IF NOT EXISTS lineage (
    src_kind TEXT NOT NULL,
    src_name TEXT NOT NULL,
    dst_kind TEXT NOT NULL,
    dst_name TEXT NOT NULL,
    relation TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (src_kind, src_name, dst_kind, dst_name)
);
CREATE TABLE IF NOT EXISTS events (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_object ON events (kind, name);
"""

_JSON_FIELDS = ("parameters", "metrics", "artifacts", "extra")
_TIME_FIELDS = ("started_at", "ended_at")


def utcnow() -> str:
    """The current time as an ISO 8601 UTC string with microseconds."""
    return datetime.now(UTC).isoformat()


class Catalog:
    """SQLite-backed catalogue of workspace objects.

    A new connection is opened per operation, so a catalogue can be shared by threads
    and survives ``fork``; each write is one ``BEGIN IMMEDIATE`` transaction.

    Example
    -------
    >>> import tempfile, pathlib
    >>> cat = Catalog(pathlib.Path(tempfile.mkdtemp()) / "catalog.db")
    >>> cat.create("training-job", "demo", status="InProgress")["status"]
    'InProgress'
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One connection per thread and process: opening and closing per operation costs
        # milliseconds (closing the last WAL connection checkpoints), and a connection must
        # never be used across fork, hence the pid in the key.
        key = (os.getpid(), threading.get_ident())
        conn = self._local.__dict__.get(key)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=60.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.row_factory = sqlite3.Row
            self._local.__dict__[key] = conn
        yield conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- tables owned by capabilities ----------------------------------------------------
    def ensure_schema(self, script: str) -> None:
        """Run ``CREATE ... IF NOT EXISTS`` statements for a capability's own tables, once."""
        done = self._local.__dict__.setdefault("schemas", set())
        if script not in done:
            with self._write() as conn:
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
            done.add(script)

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: committed on exit, rolled back on error.

        For capabilities that keep their own tables in the workspace database (the
        labelling answers): every statement inside is one atomic write.
        """
        return self._write()

    def reader(self) -> AbstractContextManager[sqlite3.Connection]:
        """This thread's connection, for reads outside a transaction."""
        return self._connect()

    # -- objects -----------------------------------------------------------------------
    def create(
        self,
        kind: str,
        name: str,
        *,
        status: str,
        parameters: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Insert a new object; raise :class:`ResourceInUse` if the name is taken."""
        now = utcnow()
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO objects (kind, name, status, created_at, updated_at, parameters,"
                    " extra) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (kind, name, status, now, now, _dumps(parameters), _dumps(extra)),
                )
                _event(conn, kind, name, status, "created", now)
        except sqlite3.IntegrityError:
            raise ResourceInUse(
                f"A {kind} named {name!r} already exists in the workspace ({self.path.parent}); "
                "choose another name or leave it out to get a generated one."
            ) from None
        return self.get(kind, name)

    def create_unique(
        self,
        kind: str,
        base: str,
        *,
        status: str,
        parameters: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        max_length: int = 63,
    ) -> dict[str, Any]:
        """Insert an object named ``<base>-<UTC timestamp with ms>``, unique even under races."""
        for attempt in range(1000):
            stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H-%M-%S-%f")[:-3]
            suffix = stamp if attempt == 0 else f"{stamp}-{attempt}"
            trimmed = base[: max(1, max_length - len(suffix) - 1)].rstrip("-")
            try:
                return self.create(
                    kind, f"{trimmed}-{suffix}", status=status, parameters=parameters, extra=extra
                )
            except ResourceInUse:
                continue
        raise ResourceInUse(f"Could not find a free {kind} name for base {base!r}")

    def get(self, kind: str, name: str) -> dict[str, Any]:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT * FROM objects WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
        if row is None:
            known = [o["name"] for o in self.list(kind)][:20]
            raise ResourceNotFound(
                f"No {kind} named {name!r} in the workspace ({self.path.parent}). "
                f"Known: {', '.join(known) if known else 'none'}."
            )
        return _row(row)

    def exists(self, kind: str, name: str) -> bool:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM objects WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
        return row is not None

    def list(self, kind: str, status: str | None = None) -> list[dict[str, Any]]:
        """Objects of one kind, newest first."""
        query = "SELECT * FROM objects WHERE kind = ?"
        args: list[Any] = [kind]
        if status is not None:
            query += " AND status = ?"
            args.append(status)
        query += " ORDER BY created_at DESC, name DESC"
        with self._connect() as conn:
            return [_row(r) for r in conn.execute(query, args).fetchall()]

    def update(
        self,
        kind: str,
        name: str,
        *,
        status: str | None = None,
        expected_status: Iterable[str] | None = None,
        failure_reason: str | None = None,
        message: str | None = None,
        **fields: Any,
    ) -> dict[str, Any] | None:
        """Change an object atomically.

        JSON fields (``parameters``, ``metrics``, ``artifacts``, ``extra``) are merged key
        by key; ``started_at``/``ended_at`` are set as given. With ``expected_status``, the
        update happens only if the current status is one of those (compare-and-set), and
        ``None`` is returned when it is not.
        """
        unknown = set(fields) - set(_JSON_FIELDS) - set(_TIME_FIELDS)
        if unknown:
            raise TypeError(f"Unknown catalogue fields: {sorted(unknown)}")
        now = utcnow()
        with self._write() as conn:
            row = conn.execute(
                "SELECT * FROM objects WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
            if row is None:
                raise ResourceNotFound(f"No {kind} named {name!r} in the workspace")
            if expected_status is not None and row["status"] not in set(expected_status):
                return None
            sets: dict[str, Any] = {"updated_at": now}
            if status is not None:
                sets["status"] = status
            if failure_reason is not None:
                sets["failure_reason"] = failure_reason[:1024]
            for key in _TIME_FIELDS:
                if key in fields:
                    sets[key] = fields[key]
            for key in _JSON_FIELDS:
                if key in fields and fields[key] is not None:
                    merged = json.loads(row[key])
                    merged.update(fields[key])
                    sets[key] = _dumps(merged)
            assignments = ", ".join(f"{k} = ?" for k in sets)
            conn.execute(
                f"UPDATE objects SET {assignments} WHERE kind = ? AND name = ?",
                (*sets.values(), kind, name),
            )
            if status is not None and status != row["status"]:
                _event(conn, kind, name, status, message, now)
        return self.get(kind, name)

    def delete(self, kind: str, name: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM objects WHERE kind = ? AND name = ?", (kind, name))
            conn.execute("DELETE FROM metric_values WHERE kind = ? AND name = ?", (kind, name))
            conn.execute("DELETE FROM events WHERE kind = ? AND name = ?", (kind, name))

    def events(self, kind: str, name: str) -> list[dict[str, Any]]:
        """Status transitions of an object, oldest first (SageMaker's status transitions)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT status, message, time FROM events WHERE kind = ? AND name = ?"
                " ORDER BY rowid",
                (kind, name),
            ).fetchall()
        return [dict(r) for r in rows]

    # -- metrics -----------------------------------------------------------------------
    def add_metric_values(
        self, kind: str, name: str, values: Iterable[tuple[str, int, float, float]]
    ) -> None:
        """Append ``(metric, step, value, unix_time)`` rows to an object's metric series."""
        rows = [(kind, name, m, int(s), float(v), float(t)) for m, s, v, t in values]
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO metric_values (kind, name, metric, step, value, timestamp)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def metric_values(self, kind: str, name: str) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT metric, step, value, timestamp FROM metric_values"
                " WHERE kind = ? AND name = ? ORDER BY metric, step",
                (kind, name),
            ).fetchall()
        return [dict(r) for r in rows]

    # -- lineage -----------------------------------------------------------------------
    def add_lineage(
        self, src: tuple[str, str], dst: tuple[str, str], relation: str = "input"
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO lineage VALUES (?, ?, ?, ?, ?, ?)",
                (*src, *dst, relation, utcnow()),
            )

    def lineage(self, kind: str, name: str) -> dict[str, list[dict[str, str]]]:
        """Direct upstream and downstream neighbours of an object."""
        with self._connect() as conn:
            up = conn.execute(
                "SELECT src_kind AS kind, src_name AS name, relation FROM lineage"
                " WHERE dst_kind = ? AND dst_name = ? ORDER BY created_at",
                (kind, name),
            ).fetchall()
            down = conn.execute(
                "SELECT dst_kind AS kind, dst_name AS name, relation FROM lineage"
                " WHERE src_kind = ? AND src_name = ? ORDER BY created_at",
                (kind, name),
            ).fetchall()
        return {"upstream": [dict(r) for r in up], "downstream": [dict(r) for r in down]}


def _dumps(obj: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(obj or {}), sort_keys=True, default=str)


def _row(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in _JSON_FIELDS:
        out[key] = json.loads(out[key])
    return out


def _event(
    conn: sqlite3.Connection, kind: str, name: str, status: str, message: str | None, now: str
) -> None:
    conn.execute(
        "INSERT INTO events (kind, name, status, message, time) VALUES (?, ?, ?, ?, ?)",
        (kind, name, status, message, now),
    )
