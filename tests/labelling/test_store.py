"""Routing and reliability of answers: claims, N per item, concurrency, crashes."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import time

import pandas as pd
import pytest

from workbench.core import Workspace
from workbench.exceptions import ValidationError
from workbench.labelling import AnswerRejected, LabelingJob

TOPICS = ["a", "b", "c"]


def _job(workspace, n=6, per_item=2, annotators=("ana", "ben", "cy"), **kw) -> LabelingJob:
    frame = pd.DataFrame({"text": [f"text number {i}" for i in range(n)]})
    return LabelingJob(
        frame, task_type="text-classification", labels=TOPICS, annotators=list(annotators),
        annotators_per_item=per_item, workspace=workspace, **kw,
    ).start()  # fmt: skip


def test_no_annotator_sees_an_item_twice_and_items_get_exactly_n(workspace):
    job = _job(workspace, n=5, per_item=2)
    seen = {name: [] for name in ("ana", "ben", "cy")}
    while True:
        progressed = False
        for name in seen:
            task = job.next_task(name)
            if task is not None:
                assert task.item not in seen[name]
                seen[name].append(task.item)
                job.submit(name, task.item, "a")
                progressed = True
        if not progressed:
            break
    answers = job.answers()
    assert answers.groupby("item").size().tolist() == [2] * 5
    assert not answers.duplicated(["item", "annotator"]).any()
    assert job.status == "Completed"


def test_a_claimed_item_is_not_handed_to_more_people_than_needed(workspace):
    job = _job(workspace, n=1, per_item=1, annotators=("ana", "ben"))
    assert job.next_task("ana").item == 0
    assert job.next_task("ben") is None  # the only slot is held by ana
    assert job.next_task("ana").item == 0  # ana gets her claimed item back


def test_an_expired_claim_frees_the_slot_and_a_late_answer_is_refused(workspace):
    job = _job(workspace, n=1, per_item=1, annotators=("ana", "ben"), task_time_limit=1.0)
    job.next_task("ana")
    time.sleep(1.1)
    assert job.next_task("ben").item == 0
    with pytest.raises(AnswerRejected, match="held by other annotators"):
        job.submit("ana", 0, "a")
    job.submit("ben", 0, "b")
    with pytest.raises(AnswerRejected, match="is Completed"):
        job.submit("ana", 0, "a")


def test_the_same_annotator_cannot_answer_twice(workspace):
    job = _job(workspace, n=2, per_item=2)
    job.submit("ana", 0, "a")
    with pytest.raises(AnswerRejected, match="already answered"):
        job.submit("ana", 0, "b")
    assert len(job.answers()) == 1


def test_unknown_annotator_and_bad_label_are_refused_with_the_item(workspace):
    job = _job(workspace)
    with pytest.raises(ValidationError, match="annotator: got 'zoe'.*ana, ben, cy"):
        job.next_task("zoe")
    with pytest.raises(ValidationError, match="item 3 answer: got 'z'.*a, b, c"):
        job.submit("ana", 3, "z")
    with pytest.raises(ValidationError, match="item"):
        job.submit("ana", 99, "a")
    assert job.answers().empty
    job.add_annotators(["zoe"])
    assert job.next_task("zoe") is not None


def test_skip_and_undo(workspace):
    job = _job(workspace, n=3, per_item=1, annotators=("ana", "ben"))
    first = job.next_task("ana")
    job.skip("ana", first.item)
    second = job.next_task("ana")
    assert second.item != first.item
    job.submit("ana", second.item, "b")
    undone = job.undo("ana")
    assert undone.item == second.item and undone.previous == "b"
    assert job.answers().empty
    assert job.next_task("ana").item == second.item  # the undone item is hers again
    assert job.next_task("ben").item == first.item  # the skipped item went to ben
    assert job.undo("ben") is None


def test_submit_answers_keeps_good_rows_and_reports_bad_ones(workspace):
    job = _job(workspace, n=3, per_item=1)
    rows = pd.DataFrame(
        {
            "item": [0, 1, 1, 2, 7],
            "annotator": ["ana", "ben", "cy", "zoe", "ana"],
            "answer": ["a", "b", "c", "a", "a"],
        }  # fmt: skip
    )
    rejected = job.submit_answers(rows)
    assert rejected["item"].tolist() == [1, 2, 7]
    assert "already has its 1 answer" in rejected["reason"].iloc[0]
    assert "zoe" in rejected["reason"].iloc[1]
    assert sorted(job.answers()["item"]) == [0, 1]


def test_stopped_job_hands_out_nothing_and_keeps_answers(workspace):
    job = _job(workspace, n=3, per_item=1)
    job.submit("ana", 0, "a")
    job.stop()
    assert job.status == "Stopped"
    assert job.next_task("ben") is None
    out = job.output()
    assert out["label"].tolist()[0] == "a"
    assert out["label_state"].tolist() == ["complete", "open", "open"]


def _annotate(home: str, job: str, name: str, count: int, queue) -> None:
    wb_job = LabelingJob.attach(job, Workspace(home))
    done = 0
    while done < count:
        task = wb_job.next_task(name)
        if task is None:
            break
        wb_job.submit(name, task.item, TOPICS[task.item % 3])
        done += 1
    queue.put((name, done))


def test_four_processes_500_answers_each_nothing_lost_or_duplicated(workspace):
    job = _job(workspace, n=1000, per_item=3, annotators=("p0", "p1", "p2", "p3"))
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_annotate, args=(str(workspace.path), job.name, f"p{i}", 500, queue))
        for i in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    reported = dict(queue.get(timeout=5) for _ in procs)
    assert reported == {f"p{i}": 500 for i in range(4)}
    answers = job.answers()
    assert len(answers) == 2000
    assert not answers.duplicated(["item", "annotator"]).any()
    assert answers.groupby("item").size().max() <= 3
    counts = pd.Series({r["item"]: r["answers"] for r in job._store.items()})
    assert (counts == answers.groupby("item").size().reindex(counts.index, fill_value=0)).all()


def _label_forever(home: str, job: str, ready) -> None:
    wb_job = LabelingJob.attach(job, Workspace(home))
    while True:
        task = wb_job.next_task("ana")
        if task is None:
            time.sleep(0.01)
            continue
        wb_job.submit("ana", task.item, "a")
        ready.set()


def test_a_killed_labelling_process_loses_no_saved_answer(workspace):
    job = _job(workspace, n=3000, per_item=1, annotators=("ana", "ben"))
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_label_forever, args=(str(workspace.path), job.name, ready))
    proc.start()
    assert ready.wait(60)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    saved = job.answers()
    assert len(saved) > 0
    with sqlite3.connect(workspace.catalog.path) as conn:  # integrity after the kill
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    counted = sum(r["answers"] for r in job._store.items())
    assert counted == len(saved)  # the counter and the answers moved together
    again = LabelingJob.attach(job.name, workspace)  # a restarted kernel resumes
    task = again.next_task("ana")
    assert task is not None and task.item not in set(saved["item"])


def test_a_stopped_job_takes_no_answers_and_no_undo(workspace):
    job = _job(workspace, n=3, per_item=1)
    job.submit("ana", 0, "a")
    job.stop()
    with pytest.raises(AnswerRejected, match="Stopped"):
        job.submit("ben", 1, "a")
    with pytest.raises(AnswerRejected, match="Stopped"):
        job.undo("ana")
    assert len(job.answers()) == 1
