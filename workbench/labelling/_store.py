"""Answers, claims and item states of labelling jobs, in the workspace's SQLite database.

Every call is one ``BEGIN IMMEDIATE`` transaction, so several panels, kernels or processes
can label one job at once: an item is handed to an annotator by inserting a *claim* (a
lease that expires), and an answer is accepted only if the item still has room for it.
The primary key ``(job, item, worker)`` of the answers table makes a second answer by the
same annotator impossible, and the item's ``answers`` counter, checked and increased in the
same transaction, keeps every item at or under its ``required`` answers.

Item states: ``held`` (waiting for the automated-labelling loop to send it to people),
``open`` (people label it), ``complete`` (has all its answers), ``auto`` (labelled by the
model), ``failed`` (cannot be labelled: missing image, bad line...).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from ..core import Catalog, utcnow
from ..exceptions import ValidationError, WorkbenchError

__all__ = ["AnswerStore", "AnswerRejected", "SCHEMA"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS labeling_items (
    job TEXT NOT NULL,
    item INTEGER NOT NULL,
    line INTEGER NOT NULL,
    state TEXT NOT NULL,
    required INTEGER NOT NULL,
    answers INTEGER NOT NULL DEFAULT 0,
    priority REAL NOT NULL DEFAULT 0,
    batch INTEGER NOT NULL DEFAULT 0,
    label TEXT,
    confidence REAL,
    reason TEXT,
    PRIMARY KEY (job, item)
);
CREATE INDEX IF NOT EXISTS labeling_items_state ON labeling_items (job, state, priority);
CREATE TABLE IF NOT EXISTS labeling_claims (
    job TEXT NOT NULL,
    item INTEGER NOT NULL,
    worker TEXT NOT NULL,
    expires REAL NOT NULL,
    skipped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job, item, worker)
);
CREATE INDEX IF NOT EXISTS labeling_claims_worker ON labeling_claims (job, worker);
CREATE TABLE IF NOT EXISTS labeling_answers (
    job TEXT NOT NULL,
    item INTEGER NOT NULL,
    worker TEXT NOT NULL,
    answer TEXT NOT NULL,
    time TEXT NOT NULL,
    seconds REAL,
    seq REAL NOT NULL,
    PRIMARY KEY (job, item, worker)
);
CREATE INDEX IF NOT EXISTS labeling_answers_worker ON labeling_answers (job, worker, seq);
CREATE TABLE IF NOT EXISTS labeling_workers (
    job TEXT NOT NULL,
    worker TEXT NOT NULL,
    added TEXT NOT NULL,
    PRIMARY KEY (job, worker)
);
"""

_ACTIVE = ("held", "open")


class AnswerRejected(WorkbenchError, ValueError):
    """An answer the job cannot take: the item is full, closed, or already answered."""


class AnswerStore:
    """The SQLite side of one labelling job."""

    def __init__(self, catalog: Catalog, job: str) -> None:
        self.catalog = catalog
        self.job = job
        catalog.ensure_schema(SCHEMA)

    # -- set-up ------------------------------------------------------------------------
    def add_items(self, rows: Iterable[tuple[int, int, str, int, str | None]]) -> None:
        """Insert ``(item, line, state, required, reason)`` rows, all in one transaction."""
        with self.catalog.transaction() as conn:
            conn.executemany(
                "INSERT INTO labeling_items (job, item, line, state, required, reason)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(self.job, *row) for row in rows],
            )

    def add_workers(self, workers: Iterable[str]) -> None:
        now = utcnow()
        with self.catalog.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO labeling_workers (job, worker, added) VALUES (?, ?, ?)",
                [(self.job, w, now) for w in workers],
            )

    def workers(self) -> list[str]:
        with self.catalog.reader() as conn:
            rows = conn.execute(
                "SELECT worker FROM labeling_workers WHERE job = ? ORDER BY added, worker",
                (self.job,),
            ).fetchall()
        return [r[0] for r in rows]

    def delete(self) -> None:
        with self.catalog.transaction() as conn:
            for table in ("labeling_items", "labeling_claims", "labeling_answers"):
                conn.execute(f"DELETE FROM {table} WHERE job = ?", (self.job,))
            conn.execute("DELETE FROM labeling_workers WHERE job = ?", (self.job,))

    # -- routing -----------------------------------------------------------------------
    def _check_worker(self, conn: sqlite3.Connection, worker: str) -> None:
        known = conn.execute(
            "SELECT 1 FROM labeling_workers WHERE job = ? AND worker = ?", (self.job, worker)
        ).fetchone()
        if known is None:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT worker FROM labeling_workers WHERE job = ? ORDER BY worker LIMIT 30",
                    (self.job,),
                )
            ]
            raise ValidationError(
                "annotator",
                worker,
                "an annotator of this job: " + ", ".join(names),
                hint="Add people with job.add_annotators([...]).",
            )

    def next_item(self, worker: str, lease: float) -> int | None:
        """Claim the next item for ``worker`` (or return the one it already holds)."""
        now = time.time()
        with self.catalog.transaction() as conn:
            self._check_worker(conn, worker)
            held = conn.execute(
                "SELECT c.item FROM labeling_claims c JOIN labeling_items i"
                " ON i.job = c.job AND i.item = c.item"
                " WHERE c.job = ? AND c.worker = ? AND c.skipped = 0 AND c.expires > ?"
                " AND i.state = 'open' ORDER BY c.expires LIMIT 1",
                (self.job, worker, now),
            ).fetchone()
            if held is not None:
                conn.execute(
                    "UPDATE labeling_claims SET expires = ? WHERE job = ? AND item = ?"
                    " AND worker = ?",
                    (now + lease, self.job, held[0], worker),
                )
                return int(held[0])
            # Open items with room left (answers + other people's live claims), never one
            # this worker answered, holds or skipped. Items already started come first, so
            # items finish (and can be consolidated) instead of all being half done.
            row = conn.execute(
                "SELECT i.item FROM labeling_items i"
                " WHERE i.job = ? AND i.state = 'open'"
                " AND i.answers + (SELECT count(*) FROM labeling_claims c WHERE c.job = i.job"
                "   AND c.item = i.item AND c.skipped = 0 AND c.expires > ?) < i.required"
                " AND NOT EXISTS (SELECT 1 FROM labeling_answers a WHERE a.job = i.job"
                "   AND a.item = i.item AND a.worker = ?)"
                " AND NOT EXISTS (SELECT 1 FROM labeling_claims c WHERE c.job = i.job"
                "   AND c.item = i.item AND c.worker = ?)"
                " ORDER BY i.priority DESC, i.answers DESC, i.item LIMIT 1",
                (self.job, now, worker, worker),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "INSERT OR REPLACE INTO labeling_claims (job, item, worker, expires, skipped)"
                " VALUES (?, ?, ?, ?, 0)",
                (self.job, row[0], worker, now + lease),
            )
            return int(row[0])

    def submit(
        self, worker: str, item: int, answer: Any, seconds: float | None = None
    ) -> tuple[bool, bool]:
        """Save one answer; returns ``(item_complete, job_has_active_items)``."""
        now = time.time()
        payload = json.dumps(answer)
        with self.catalog.transaction() as conn:
            self._check_worker(conn, worker)
            row = conn.execute(
                "SELECT state, answers, required FROM labeling_items WHERE job = ? AND item = ?",
                (self.job, item),
            ).fetchone()
            if row is None:
                raise ValidationError("item", item, "an item id of this job")
            state, answers, required = row
            if state == "complete":
                raise AnswerRejected(f"Item {item} is complete: it already has its {required} "
                                     "answer(s)")  # fmt: skip
            if state != "open":
                raise AnswerRejected(
                    f"Item {item} is {state}, not open for answers"
                    + (" (waiting for the automated-labelling loop)" if state == "held" else "")
                )
            if conn.execute(
                "SELECT 1 FROM labeling_answers WHERE job = ? AND item = ? AND worker = ?",
                (self.job, item, worker),
            ).fetchone():
                raise AnswerRejected(f"Annotator {worker!r} already answered item {item}")
            others = conn.execute(
                "SELECT count(*) FROM labeling_claims WHERE job = ? AND item = ? AND worker != ?"
                " AND skipped = 0 AND expires > ?",
                (self.job, item, worker, now),
            ).fetchone()[0]
            mine = conn.execute(
                "SELECT 1 FROM labeling_claims WHERE job = ? AND item = ? AND worker = ?"
                " AND skipped = 0 AND expires > ?",
                (self.job, item, worker, now),
            ).fetchone()
            if answers + (0 if mine else others) >= required:
                raise AnswerRejected(
                    f"Item {item} already has its {required} answer(s)"
                    + ("" if mine else " or is held by other annotators")
                )
            conn.execute(
                "DELETE FROM labeling_claims WHERE job = ? AND item = ? AND worker = ?",
                (self.job, item, worker),
            )
            conn.execute(
                "INSERT INTO labeling_answers (job, item, worker, answer, time, seconds, seq)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.job, item, worker, payload, utcnow(), seconds, now),
            )
            complete = answers + 1 >= required
            conn.execute(
                "UPDATE labeling_items SET answers = answers + 1, state = ?"
                " WHERE job = ? AND item = ?",
                ("complete" if complete else "open", self.job, item),
            )
            active = conn.execute(
                "SELECT 1 FROM labeling_items WHERE job = ? AND state IN ('held', 'open') LIMIT 1",
                (self.job,),
            ).fetchone()
        return complete, active is not None

    def skip(self, worker: str, item: int) -> None:
        """Give the item back and never show it to ``worker`` again."""
        with self.catalog.transaction() as conn:
            self._check_worker(conn, worker)
            conn.execute(
                "INSERT OR REPLACE INTO labeling_claims (job, item, worker, expires, skipped)"
                " VALUES (?, ?, ?, ?, 1)",
                (self.job, item, worker, float("inf")),
            )

    def release(self, worker: str, item: int) -> None:
        """Give a claimed item back (the panel closed) so others can take it."""
        with self.catalog.transaction() as conn:
            conn.execute(
                "DELETE FROM labeling_claims WHERE job = ? AND item = ? AND worker = ?"
                " AND skipped = 0",
                (self.job, item, worker),
            )

    def undo(self, worker: str, lease: float) -> tuple[int, Any] | None:
        """Withdraw ``worker``'s latest answer on a still-open job; the item stays theirs."""
        now = time.time()
        with self.catalog.transaction() as conn:
            self._check_worker(conn, worker)
            row = conn.execute(
                "SELECT a.item, a.answer FROM labeling_answers a JOIN labeling_items i"
                " ON i.job = a.job AND i.item = a.item"
                " WHERE a.job = ? AND a.worker = ? AND i.state IN ('open', 'complete')"
                " ORDER BY a.seq DESC LIMIT 1",
                (self.job, worker),
            ).fetchone()
            if row is None:
                return None
            item = int(row[0])
            conn.execute(
                "DELETE FROM labeling_answers WHERE job = ? AND item = ? AND worker = ?",
                (self.job, item, worker),
            )
            conn.execute(
                "UPDATE labeling_items SET answers = answers - 1, state = 'open'"
                " WHERE job = ? AND item = ?",
                (self.job, item),
            )
            # Drop any other claim this worker holds, then hold the undone item: it is next.
            conn.execute(
                "DELETE FROM labeling_claims WHERE job = ? AND worker = ? AND skipped = 0",
                (self.job, worker),
            )
            conn.execute(
                "INSERT OR REPLACE INTO labeling_claims (job, item, worker, expires, skipped)"
                " VALUES (?, ?, ?, ?, 0)",
                (self.job, item, worker, now + lease),
            )
        return item, json.loads(row[1])

    # -- states set by the job ---------------------------------------------------------
    def set_states(
        self,
        rows: Iterable[tuple[int, str, float, int, Any, float | None]],
        *,
        from_states: tuple[str, ...] = ("held",),
    ) -> int:
        """Move items ``(item, state, priority, batch, label, confidence)``; returns how many."""
        changed = 0
        with self.catalog.transaction() as conn:
            for item, state, priority, batch, label, confidence in rows:
                marks = ",".join("?" * len(from_states))
                cur = conn.execute(
                    "UPDATE labeling_items SET state = ?, priority = ?, batch = ?, label = ?,"
                    f" confidence = ? WHERE job = ? AND item = ? AND state IN ({marks})",
                    (
                        state,
                        priority,
                        batch,
                        None if label is None else json.dumps(label),
                        confidence,
                        self.job,
                        item,
                        *from_states,
                    ),
                )
                changed += cur.rowcount
        return changed

    def fail(self, item: int, reason: str) -> bool:
        """Mark an item failed (e.g. its image cannot be read); its answers are kept."""
        with self.catalog.transaction() as conn:
            cur = conn.execute(
                "UPDATE labeling_items SET state = 'failed', reason = ? WHERE job = ? AND item = ?"
                " AND state IN ('held', 'open')",
                (reason[:500], self.job, item),
            )
            conn.execute("DELETE FROM labeling_claims WHERE job = ? AND item = ?", (self.job, item))
        return cur.rowcount > 0

    def release_all(self) -> None:
        """Drop every claim of the job (it was stopped): nothing stays held."""
        with self.catalog.transaction() as conn:
            conn.execute("DELETE FROM labeling_claims WHERE job = ?", (self.job,))

    # -- reads -------------------------------------------------------------------------
    def items(self) -> list[dict[str, Any]]:
        with self.catalog.reader() as conn:
            rows = conn.execute(
                "SELECT item, line, state, required, answers, priority, batch, label,"
                " confidence, reason FROM labeling_items WHERE job = ? ORDER BY item",
                (self.job,),
            ).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["label"] = None if d["label"] is None else json.loads(d["label"])
            out.append(d)
        return out

    def answers(self) -> list[dict[str, Any]]:
        with self.catalog.reader() as conn:
            rows = conn.execute(
                "SELECT item, worker, answer, time, seconds FROM labeling_answers"
                " WHERE job = ? ORDER BY seq, item, worker",
                (self.job,),
            ).fetchall()
        return [{**dict(r), "answer": json.loads(r["answer"])} for r in rows]

    def state_counts(self) -> dict[str, int]:
        with self.catalog.reader() as conn:
            rows = conn.execute(
                "SELECT state, count(*) FROM labeling_items WHERE job = ? GROUP BY state",
                (self.job,),
            ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def answer_counts(self) -> dict[str, int]:
        with self.catalog.reader() as conn:
            rows = conn.execute(
                "SELECT worker, count(*) FROM labeling_answers WHERE job = ? GROUP BY worker",
                (self.job,),
            ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def remaining_for(self, worker: str) -> int:
        """Open items this worker could still answer (ignoring other people's claims)."""
        with self.catalog.reader() as conn:
            row = conn.execute(
                "SELECT count(*) FROM labeling_items i WHERE i.job = ? AND i.state = 'open'"
                " AND i.answers < i.required"
                " AND NOT EXISTS (SELECT 1 FROM labeling_answers a WHERE a.job = i.job"
                "   AND a.item = i.item AND a.worker = ?)"
                " AND NOT EXISTS (SELECT 1 FROM labeling_claims c WHERE c.job = i.job"
                "   AND c.item = i.item AND c.worker = ? AND c.skipped = 1)",
                (self.job, worker, worker),
            ).fetchone()
        return int(row[0])
