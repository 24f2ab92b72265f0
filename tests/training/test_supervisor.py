"""The job supervisor's worker handling: a stop at any moment reaches the training code."""

import os
import signal

import pytest

from workbench.training._supervisor import ForkedWorker


@pytest.fixture
def supervisor_sigterm_handler():
    """This process handles SIGTERM in Python, as the supervisor does (it records a stop)."""
    received = []
    previous = signal.signal(signal.SIGTERM, lambda *_: received.append(True))
    yield received
    signal.signal(signal.SIGTERM, previous)


def test_a_stop_the_moment_fork_returns_ends_the_forked_worker(
    tmp_path, supervisor_sigterm_handler
):
    # The spec is not runnable: a worker that missed the signal exits 1, not by SIGTERM.
    for _ in range(5):
        worker = ForkedWorker()
        worker.start({"kind": "script", "cwd": str(tmp_path)})
        os.killpg(worker.pid, signal.SIGTERM)  # the group exists as soon as fork returns
        assert worker.wait() == -signal.SIGTERM
    assert supervisor_sigterm_handler == []  # the signal went to the worker's group only
