"""Idempotent writes: a request id is applied once, on every database, also under races."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text

from heron.backends.local import LocalBackend
from heron.entities import Metric, Param, RunTag
from heron.exceptions import HeronException
from heron.store import schema as s
from heron.store.engine import write_transaction

POINTS = [Metric("loss", 1.0 / (step + 1), 1000 + step, step) for step in range(5)]


def stored(store: LocalBackend, run_id: str) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).where(s.metrics.c.run_uuid == run_id)).scalar_one()
        )


def applied(store: LocalBackend) -> dict[str, str]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(s.applied_requests.c.request_id, s.applied_requests.c.run_uuid))
        return {row.request_id: row.run_uuid for row in rows}


def test_a_retried_batch_is_stored_once(store: LocalBackend) -> None:
    run_id = store.create_run("0").info.run_id
    request_id = str(uuid.uuid4())
    for _ in range(3):
        store.log_batch(
            run_id, POINTS, [Param("lr", "0.1")], [RunTag("t", "v")], request_id=request_id
        )
    assert stored(store, run_id) == len(POINTS)
    assert applied(store) == {request_id: run_id}
    history = store.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4]


def test_without_an_id_every_call_is_stored(store: LocalBackend) -> None:
    """What MLflow's client gets: no header, no deduplication, exactly as before."""
    run_id = store.create_run("0").info.run_id
    store.log_batch(run_id, POINTS)
    store.log_batch(run_id, POINTS)
    store.log_batch(run_id, POINTS, request_id=str(uuid.uuid4()))
    store.log_batch(run_id, POINTS, request_id=str(uuid.uuid4()))
    assert stored(store, run_id) == 4 * len(POINTS)


def test_a_retried_create_run_answers_the_first_run(store: LocalBackend) -> None:
    request_id = str(uuid.uuid4())
    first = store.create_run("0", run_name="once", request_id=request_id)
    again = store.create_run("0", run_name="once", request_id=request_id)
    assert again.info.run_id == first.info.run_id
    assert [r.info.run_id for r in store.search_runs(["0"])] == [first.info.run_id]
    assert applied(store) == {request_id: first.info.run_id}


def test_a_failed_batch_records_nothing(store: LocalBackend) -> None:
    run_id = store.create_run("0").info.run_id
    store.log_batch(run_id, params=[Param("lr", "0.1")])
    request_id = str(uuid.uuid4())
    with pytest.raises(HeronException):
        store.log_batch(run_id, POINTS, [Param("lr", "0.2")], request_id=request_id)
    assert applied(store) == {} and stored(store, run_id) == 0
    store.log_batch(run_id, POINTS, request_id=request_id)  # the fixed retry goes through
    assert applied(store) == {request_id: run_id} and stored(store, run_id) == len(POINTS)


@pytest.mark.parametrize("bad", ["", "has space", "x" * 65, "-leading-dash", "ü"])
def test_a_malformed_id_is_refused(store: LocalBackend, bad: str) -> None:
    run_id = store.create_run("0").info.run_id
    with pytest.raises(HeronException) as excinfo:
        store.log_batch(run_id, POINTS, request_id=bad)
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    assert stored(store, run_id) == 0


def test_the_same_id_from_many_threads_at_once_is_stored_once(store: LocalBackend) -> None:
    run_id = store.create_run("0").info.run_id
    request_id = str(uuid.uuid4())
    threads = 8
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def attempt() -> None:
        barrier.wait()
        try:
            store.log_batch(run_id, POINTS, request_id=request_id)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    assert stored(store, run_id) == len(POINTS)


def test_an_attempt_racing_an_uncommitted_one_is_skipped(store: LocalBackend) -> None:
    """The unique-key race, made certain: the id is inserted but not yet committed when a
    second attempt runs. It must wait, then answer success and write nothing."""
    run_id = store.create_run("0").info.run_id
    request_id = str(uuid.uuid4())
    outcome: list[Any] = []

    def second_attempt() -> None:
        try:
            store.log_batch(run_id, POINTS, request_id=request_id)
            outcome.append("ok")
        except BaseException as exc:
            outcome.append(exc)

    with write_transaction(store.engine) as first:
        first.execute(
            insert(s.applied_requests).values(
                request_id=request_id, run_uuid=run_id, applied_time=int(time.time() * 1000)
            )
        )
        racer = threading.Thread(target=second_attempt)
        racer.start()
        _wait_until_blocked(store.engine, racer)
    racer.join(timeout=60)
    assert outcome == ["ok"]
    assert stored(store, run_id) == 0  # the first attempt (here: the bare insert) won


def _wait_until_blocked(engine: Engine, racer: threading.Thread) -> None:
    """Until the racer waits on a lock (PostgreSQL, MySQL) or has given up; SQLite's writer
    waits on BEGIN IMMEDIATE, which cannot be observed, so give it a moment."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        time.sleep(0.5)
        return
    query = {  # sessions on this test's database only: other tests share the server
        "postgresql": "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'",
        "mysql": "SELECT count(*) FROM information_schema.innodb_trx t "
        "JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id "
        "WHERE t.trx_state = 'LOCK WAIT' AND p.db = DATABASE()",
    }["mysql" if dialect == "mariadb" else dialect]
    deadline = time.monotonic() + 20
    with engine.connect() as watcher:
        while racer.is_alive() and watcher.execute(text(query)).scalar_one() == 0:
            watcher.rollback()
            assert time.monotonic() < deadline, "the second attempt never waited on the first"
            # InnoDB refreshes INNODB_TRX only when it was not read for 0.1 s: poll slower.
            time.sleep(0.15)


def test_applied_ids_are_purged_with_their_run(store: LocalBackend) -> None:
    kept, purged = store.create_run("0").info.run_id, store.create_run("0").info.run_id
    store.log_batch(kept, POINTS, request_id="kept-1")
    store.log_batch(purged, POINTS, request_id="purged-1")
    store.log_batch(purged, POINTS, request_id="purged-2")
    store.delete_run(purged)
    store.purge_runs([purged])
    assert applied(store) == {"kept-1": kept}


def test_old_ids_are_pruned(store: LocalBackend) -> None:
    run_id = store.create_run("0").info.run_id
    store.log_batch(run_id, POINTS, request_id="recent")
    now = int(time.time() * 1000)
    with write_transaction(store.engine) as conn:
        conn.execute(
            insert(s.applied_requests),
            [
                {"request_id": "last-year", "run_uuid": run_id, "applied_time": 0},
                {"request_id": "a-minute-ago", "run_uuid": run_id, "applied_time": now - 60_000},
            ],
        )
    assert store.prune_applied_requests() == 1  # older than a day
    assert store.prune_applied_requests(max_age_ms=30_000) == 1
    assert applied(store) == {"recent": run_id}
