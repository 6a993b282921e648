"""Shared fixtures, in Datasette's three tiers: a bare store, a populated one, and (with the
server issue) a live server on loopback. Store tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_ENV = "HERON_TEST_POSTGRES_URL"
MYSQL_ENV = "HERON_TEST_MYSQL_URL"


@pytest.fixture(autouse=True)
def _isolated_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts in its own working folder with no tracking configuration."""
    for name in (
        "HERON_TRACKING_URI",
        "MLFLOW_TRACKING_URI",
        "HERON_EXPERIMENT_NAME",
        "MLFLOW_EXPERIMENT_NAME",
        "HERON_EXPERIMENT_ID",
        "MLFLOW_EXPERIMENT_ID",
        "HERON_ARTIFACT_ROOT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    import heron.fluent
    from heron.backends import close_all

    while heron.fluent.active_run() is not None:
        heron.fluent.end_run()
    heron.fluent._session.__init__()  # type: ignore[misc]
    close_all()


def _postgres_database() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} must be set in CI")
        pytest.skip(
            f"PostgreSQL store tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1/test)"
        )
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from heron.tracking_uri import resolve

    admin_url = make_url(resolve(base).db_uri or base)
    name = f"heron_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        from heron.backends import close_all

        close_all()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _mysql_database() -> Iterator[str]:
    base = os.environ.get(MYSQL_ENV)
    if not base:
        pytest.skip(f"MySQL / MariaDB store tests need {MYSQL_ENV} (e.g. mysql://root@127.0.0.1/test)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from heron.tracking_uri import resolve

    admin_url = make_url(resolve(base).db_uri or base)
    name = f"heron_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        from heron.backends import close_all

        close_all()
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def db_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'heron.db'}"
    elif request.param == "postgresql":
        yield from _postgres_database()
    else:
        yield from _mysql_database()


@pytest.fixture
def store(db_uri: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A bare store on an empty database (tier one)."""
    from heron.backends.local import LocalBackend

    backend = LocalBackend(db_uri, db_uri, str(tmp_path / "artifacts"))
    yield backend
    backend.close()


@pytest.fixture
def client(db_uri: str):  # type: ignore[no-untyped-def]
    """A HeronClient on that database, through the in-process backend."""
    from heron.client import HeronClient

    return HeronClient(db_uri)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(folder: Path, *extra: str) -> Iterator[str]:
    """A real ``heron server`` subprocess on loopback; yields its URL, stops it afterwards."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "heron.cli.main",
            "server",
            "--port",
            str(port),
            "--backend-store-uri",
            str(folder / "store"),
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((folder / "server.log").read_text()) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Tier three: a real server on loopback, one per test module, on SQLite."""
    with running_server(tmp_path_factory.mktemp("server")) as url:
        yield url
