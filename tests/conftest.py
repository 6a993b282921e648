"""Shared fixtures, in Datasette's three tiers: a bare store, a populated one, and (with the
server issue) a live server on loopback. Store tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import running_server

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
        pytest.skip(
            f"MySQL / MariaDB store tests need {MYSQL_ENV} (e.g. mysql://root@127.0.0.1/test)"
        )
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


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Tier three: a real server on loopback, one per test module, on SQLite."""
    with running_server(tmp_path_factory.mktemp("server")) as url:
        yield url
