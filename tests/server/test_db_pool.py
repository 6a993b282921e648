"""--db-pool-size, --db-max-overflow and --db-pool-timeout: a server's connections to
PostgreSQL (or MySQL) are bounded, and a request that cannot get one is a 503, not a 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from heron.exceptions import HeronException
from heron.server.context import ServerContext
from heron.settings import Settings
from heron.store.engine import PoolLimits, create_store_engine
from servers import running_server


def test_pool_settings_from_the_cli_and_environment() -> None:
    env = {"HERON_DB_POOL_SIZE": "7", "HERON_DB_MAX_OVERFLOW": "0"}
    settings = Settings.from_sources({"db_pool_timeout": 9}, env)
    assert (settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout) == (7, 0, 9)
    default = Settings.from_sources({}, {})
    assert (default.db_pool_size, default.db_max_overflow, default.db_pool_timeout) == (5, 10, 30)
    assert PoolLimits().max_connections == 15


@pytest.mark.parametrize(
    "wrong", [{"db_pool_size": 0}, {"db_max_overflow": -1}, {"db_pool_timeout": 0}]
)
def test_impossible_pool_settings_are_refused(wrong: dict[str, int]) -> None:
    with pytest.raises(HeronException, match="--db-"):
        Settings.from_sources(wrong, {})


@pytest.mark.parametrize("db_uri", ["postgresql", "mysql"], indirect=True)
def test_the_server_engine_gets_the_pool_settings(db_uri: str) -> None:
    settings = Settings(
        backend_store_uri=db_uri, db_pool_size=3, db_max_overflow=2, db_pool_timeout=7
    )
    context = ServerContext.open(settings)
    try:
        pool = context.store.engine.pool
        assert (pool.size(), pool._max_overflow, pool.timeout()) == (3, 2, 7)  # type: ignore[attr-defined]
    finally:
        context.close()


def test_sqlite_keeps_its_own_pooling(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'h.db'}", pool_size=1, max_overflow=0)
    try:
        with engine.connect() as first, engine.connect() as second:  # not limited to one
            assert first.exec_driver_sql("SELECT 1").scalar() == 1
            assert second.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()


def connections_to(db_uri: str) -> Iterator[int]:
    """Endless samples of how many connections PostgreSQL has open to this database."""
    url = make_url(db_uri)
    admin = create_engine(url.set(database="postgres"), poolclass=NullPool)
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db")
    try:
        with admin.connect() as conn:
            while True:
                yield int(conn.execute(query, {"db": url.database}).scalar_one())
                conn.rollback()
    finally:
        admin.dispose()


@pytest.mark.parametrize("db_uri", ["postgresql"], indirect=True)
def test_an_engine_never_opens_more_than_size_plus_overflow(db_uri: str) -> None:
    engine = create_store_engine(db_uri, pool_size=2, max_overflow=1, pool_timeout=10)
    limit, threads = 3, 12

    def hold() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_sleep(0.1)")

    workers = [threading.Thread(target=hold) for _ in range(threads)]
    most = 0
    try:
        for worker in workers:
            worker.start()
        samples = connections_to(db_uri)
        while any(w.is_alive() for w in workers):
            most = max(most, next(samples))
            time.sleep(0.01)
        samples.close()
    finally:
        for worker in workers:
            worker.join(timeout=30)
        engine.dispose()
    assert 0 < most <= limit


@pytest.mark.parametrize("db_uri", ["postgresql"], indirect=True)
def test_an_exhausted_pool_answers_503(db_uri: str, tmp_path: Path) -> None:
    """One connection per worker: while a request holds it (waiting on a lock the test
    holds), the next one waits --db-pool-timeout, then gets a 503 the client may retry."""
    options = ("--db-pool-size", "1", "--db-max-overflow", "0", "--db-pool-timeout", "1")
    with running_server(tmp_path, *options, store_uri=db_uri) as url:
        get = f"{url}/api/2.0/mlflow/experiments/get?experiment_id=0"
        answers: list[httpx.Response] = []
        admin = create_store_engine(db_uri)
        try:
            with admin.begin() as conn:
                conn.execute(text("LOCK TABLE experiments IN ACCESS EXCLUSIVE MODE"))
                stuck = threading.Thread(target=lambda: answers.append(httpx.get(get)))
                stuck.start()
                _wait_for_lock_waiter(conn)
                refused = httpx.get(get)
            stuck.join(timeout=30)
        finally:
            admin.dispose()
        assert refused.status_code == 503
        assert refused.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
        assert [a.status_code for a in answers] == [200]
        assert httpx.get(get).status_code == 200


def _wait_for_lock_waiter(conn: Connection) -> None:
    deadline = time.monotonic() + 20
    query = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    while conn.execute(query).scalar_one() == 0:
        assert time.monotonic() < deadline, "the first request never waited on the lock"
        time.sleep(0.02)
