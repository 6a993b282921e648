"""Non-blocking logging through the public API, on the embedded store."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import heron
from heron import log_queue
from heron.exceptions import HeronException


def _queue_threads() -> int:
    return sum(t.name == "heron-log-queue" for t in threading.enumerate())


def test_logging_returns_before_storing_and_reads_see_it() -> None:
    with heron.start_run() as run:
        for step in range(3000):
            heron.log_metric("loss", 1.0 / (step + 1), step=step)
        heron.log_params({f"p{i}": i for i in range(250)})  # more than one batch may hold
        heron.set_tags({"team": "vision", "stage": "dev"})
        heron.log_metrics({f"m{i}": float(i) for i in range(1500)}, step=3)
        # A read flushes first: it sees every value logged before it.
        stored = heron.get_run(run.info.run_id)
    assert len(stored.data.params) == 250
    assert stored.data.tags["team"] == "vision"
    assert len(stored.data.metrics) == 1501
    history = heron.MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(3000))


def test_synchronous_true_raises_in_place() -> None:
    with heron.start_run():
        heron.log_param("p", 1, synchronous=True)
        with pytest.raises(HeronException, match="Changing param values"):
            heron.log_param("p", 2, synchronous=True)


def test_the_setting_turns_the_queue_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERON_ASYNC_LOGGING", "false")
    before = _queue_threads()
    with heron.start_run() as run:
        heron.log_metric("m", 1.0)
        with pytest.raises(HeronException, match="Changing param values"):
            heron.log_param("p", 1)
            heron.log_param("p", 2)
    assert _queue_threads() == before
    assert heron.get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_flush_and_run_operations_wait() -> None:
    with heron.start_run() as run:
        operation = heron.log_metric("m", 1.0, synchronous=False)
        assert operation is not None
        operation.wait()
        heron.log_metric("m", 2.0, step=1)
        heron.flush()
        heron.flush_async_logging()
        assert heron.get_run(run.info.run_id).data.metrics == {"m": 2.0}


def test_bad_values_are_refused_at_the_call_not_later() -> None:
    with heron.start_run():
        with pytest.raises(HeronException, match="valid double"):
            heron.log_metric("m", "high")  # type: ignore[arg-type]
        with pytest.raises(HeronException):
            heron.log_metric("bad key!", 1.0)
        with pytest.raises(HeronException):
            heron.log_metric("m", 1.0, step=1.5)  # type: ignore[arg-type]


def test_exit_drains_the_queue(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import heron
        heron.set_tracking_uri("heronruns")
        run = heron.start_run()
        for step in range(20000):
            heron.log_metric("loss", float(step), step=step)
        print(run.info.run_id)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip()
    heron.set_tracking_uri(tmp_path / "heronruns")
    run = heron.get_run(run_id)
    assert run.info.status == "FINISHED"
    history = heron.MlflowClient().get_metric_history(run_id, "loss")
    assert len(history) == 20000 and len({m.step for m in history}) == 20000


def test_a_forked_child_does_not_send_the_parents_values(tmp_path: Path) -> None:
    import multiprocessing

    heron.set_tracking_uri(tmp_path / "store")
    with heron.start_run() as run:
        heron.log_metric("m", 1.0)
        context = multiprocessing.get_context("fork")
        child = context.Process(target=_child_logs, args=(str(tmp_path / "store"), run.info.run_id))
        child.start()
        child.join(60)
        assert child.exitcode == 0
    history = heron.MlflowClient().get_metric_history(run.info.run_id, "m")
    assert sorted(m.value for m in history) == [1.0, 2.0]


def _child_logs(uri: str, run_id: str) -> None:
    heron.set_tracking_uri(uri)
    heron.MlflowClient().log_metric(run_id, "m", 2.0, step=1)
    heron.flush()
    log_queue.close_all()
