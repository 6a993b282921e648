"""The log queue on its own, over a fake backend: order, batching, back-pressure, errors,
and the spool when the backend stops answering."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from heron import log_queue, spool
from heron.entities import Metric, Param, RunTag
from heron.exceptions import TEMPORARILY_UNAVAILABLE, HeronException, invalid
from heron.log_queue import Batch, LogQueue, Update, coalesce


class FakeBackend:
    """Stores batches like a store would: params are immutable, request ids apply once."""

    tracking_uri = "fake://store"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.metrics: list[tuple[str, str, float, int]] = []
        self.params: dict[tuple[str, str], str] = {}
        self.applied: set[str] = set()
        self.down = False
        self.gate: threading.Event | None = None

    def log_batch(
        self,
        run_id: str,
        metrics: Any = (),
        params: Any = (),
        tags: Any = (),
        *,
        request_id: str | None = None,
    ) -> None:
        if self.gate is not None:
            self.gate.wait()
        if self.down:
            raise HeronException("connection refused", TEMPORARILY_UNAVAILABLE)
        if request_id in self.applied:
            return
        for p in params:
            held = self.params.get((run_id, p.key))
            if held is not None and held != p.value:
                raise invalid(f"Changing param values is not allowed ({p.key})")
        for p in params:
            self.params[(run_id, p.key)] = p.value
        self.metrics.extend((run_id, m.key, m.value, m.step) for m in metrics)
        self.calls.append(("log_batch", (run_id, len(metrics), len(params), len(tags))))
        if request_id:
            self.applied.add(request_id)

    def update_run_info(
        self, run_id: str, status: Any = None, end_time: Any = None, **_: Any
    ) -> None:
        if self.down:
            raise HeronException("connection refused", TEMPORARILY_UNAVAILABLE)
        self.calls.append(("update", (run_id, status)))


def metric(step: int, key: str = "loss") -> Metric:
    return Metric(key, float(step), 1000 + step, step)


def test_values_arrive_in_order_and_in_few_batches() -> None:
    backend = FakeBackend()
    queue = LogQueue(backend)
    for step in range(5000):
        queue.put(Batch("r1", (metric(step),), (), ()))
    assert queue.flush(10)
    assert [m[3] for m in backend.metrics] == list(range(5000))
    assert len(backend.calls) < 100  # coalesced, not one request per call


def test_coalescing_keeps_each_runs_order_and_splits_a_changed_param() -> None:
    ops = [
        Batch("a", (metric(0),), (Param("p", "1"),), ()),
        Batch("b", (metric(0),), (), ()),
        Batch("a", (metric(1),), (Param("p", "2"),), ()),  # must fail on its own
        Update("a", "FINISHED", 5),
        Batch("a", (metric(2),), (), (RunTag("t", "x"),)),
    ]
    sends = coalesce(ops)
    assert [(s.run_id, len(s.ops), s.update is not None) for s in sends] == [
        ("a", 1, False),
        ("b", 1, False),
        ("a", 1, False),
        ("a", 1, True),
        ("a", 1, False),
    ]


def test_a_refused_call_is_raised_later_and_its_neighbours_are_stored() -> None:
    backend = FakeBackend()
    queue = LogQueue(backend)
    backend.gate = threading.Event()  # hold the thread so the calls gather in one round
    queue.put(Batch("r", (), (Param("p", "1"),), ()))
    time.sleep(0.05)
    for step in range(10):
        queue.put(Batch("r", (metric(step),), (), ()))
    queue.put(Batch("r", (), (Param("p", "2"),), ()))
    queue.put(Batch("r", (metric(10),), (), ()))
    backend.gate.set()
    with pytest.raises(HeronException, match=r"log_param\('p', '2'\).*not allowed"):
        queue.flush(10)
    assert sorted(m[3] for m in backend.metrics) == list(range(11))
    queue.flush(10)  # the error was raised once


def test_the_next_call_raises_a_background_error() -> None:
    backend = FakeBackend()
    queue = LogQueue(backend)
    queue.put(Batch("r", (), (Param("p", "1"),), ()))
    queue.put(Batch("r", (), (Param("p", "2"),), ()))
    deadline = time.monotonic() + 10
    while queue.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(HeronException, match="not allowed"):
        queue.put(Batch("r", (metric(1),), (), ()))


def test_a_burst_is_held_back_not_buffered_without_bound() -> None:
    backend = FakeBackend()
    backend.gate = threading.Event()
    queue = LogQueue(backend, capacity=100)
    producer = threading.Thread(
        target=lambda: [queue.put(Batch("r", (metric(i),), (), ())) for i in range(1000)]
    )
    producer.start()
    time.sleep(0.3)
    assert producer.is_alive()  # waiting for room
    assert len(queue._ops) <= 100
    backend.gate.set()
    producer.join(10)
    assert queue.flush(10)
    assert len(backend.metrics) == 1000


def test_an_unreachable_backend_spools_in_order_then_replays_once(tmp_path: Any) -> None:
    backend = FakeBackend()
    queue = LogQueue(backend)
    queue.retry_seconds = 0.05
    queue.put(Batch("r", (metric(0),), (), ()))
    assert queue.flush(10)
    backend.down = True
    for step in range(1, 50):
        queue.put(Batch("r", (metric(step),), (), ()))
    queue.put(Update("r", "FINISHED", 7))
    assert not queue.flush(10)  # spooled, not stored
    journals = spool.list_journals()
    assert len(journals) == 1 and journals[0].in_use and journals[0].pending >= 1
    backend.down = False
    deadline = time.monotonic() + 10
    while queue._spooled and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [m[3] for m in backend.metrics] == list(range(50))
    assert backend.calls[-1] == ("update", ("r", "FINISHED"))
    assert queue.close(5) == []
    assert spool.list_journals() == []  # all acked: the journal is gone


def test_close_spools_what_could_not_be_sent_in_time() -> None:
    backend = FakeBackend()
    backend.gate = threading.Event()  # the backend hangs
    queue = LogQueue(backend)
    for step in range(20):
        queue.put(Batch("r", (metric(step),), (), ()))
    messages = queue.close(timeout=0.2)
    assert messages and "heron sync" in messages[0]
    [journal] = spool.list_journals()
    records = spool.pending_records(journal.path)
    assert sum(len(r["metrics"]) for r in records) == 20
    backend.gate.set()
    spool.replay(journal.path, backend)
    assert sorted(m[3] for m in backend.metrics) == list(range(20))  # once each


def test_async_logging_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert log_queue.async_enabled()
    monkeypatch.setenv("HERON_ASYNC_LOGGING", "false")
    assert not log_queue.async_enabled()
    monkeypatch.setenv("HERON_ASYNC_LOGGING", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    assert log_queue.async_enabled()
    monkeypatch.delenv("HERON_ASYNC_LOGGING")
    assert not log_queue.async_enabled()
    log_queue.enable_async_logging(True)
    try:
        assert log_queue.async_enabled()
    finally:
        log_queue._async_override = None
