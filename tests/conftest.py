"""Shared fixtures, in Datasette's three tiers: a bare store, a populated one, and (with the
server issue) a live server on loopback. Store tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from databases import scratch_database
from servers import free_port, running_server

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
        "HERON_MODE",
        "HERON_ASYNC_LOGGING",
        "MLFLOW_ENABLE_ASYNC_LOGGING",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HERON_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.chdir(tmp_path)
    yield
    import heron.fluent
    from heron.backends import close_all

    while heron.fluent.active_run() is not None:
        heron.fluent.end_run()
    heron.fluent._session.__init__()  # type: ignore[misc]
    close_all()
    heron.log_queue._async_override = None


def _postgres_binaries() -> tuple[str, str] | None:
    """initdb and pg_ctl: from PATH, else the newest /usr/lib/postgresql/<version>/bin."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl
    folders = Path("/usr/lib/postgresql").glob("*/bin")
    for folder in sorted(
        folders,
        key=lambda f: [int(p) for p in f.parent.name.split(".") if p.isdigit()],
        reverse=True,
    ):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return str(folder / "initdb"), str(folder / "pg_ctl")
    return None


def _as_postgres_user() -> tuple[list[str], tuple[int, int] | None]:
    """initdb refuses to run as root; there, the server runs as the postgres user.

    Returns the command prefix that does so and the (uid, gid) to own its folder.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return [], None
    import pwd

    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("a throwaway PostgreSQL cannot run as root and there is no postgres user")
    runuser = shutil.which("runuser")
    prefix = [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-c"]
    return prefix, (user.pw_uid, user.pw_gid)


def _run_as(prefix: list[str], args: list[str]) -> subprocess.CompletedProcess[str]:
    import shlex

    command = [*prefix, shlex.join(args)] if prefix[-1:] == ["-c"] else [*prefix, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def _throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL server of this test session's own (initdb + pg_ctl, on a free port),
    for machines where HERON_TEST_POSTGRES_URL is not set; stopped when the session ends."""
    binaries = _postgres_binaries()
    if binaries is None:
        pytest.skip(
            f"PostgreSQL store tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1/"
            "test), or initdb and pg_ctl (PATH or /usr/lib/postgresql/*/bin) to start one"
        )
    initdb, pg_ctl = binaries
    prefix, owner = _as_postgres_user()
    folder = Path(tempfile.mkdtemp(prefix="heron-pg-"))
    data, log, port = folder / "data", folder / "server.log", free_port()
    try:
        if owner is not None:
            os.chown(folder, *owner)
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        for step in (
            [
                initdb,
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--no-locale",
                "-E",
                "UTF8",
            ],
            [pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
        ):
            done = _run_as(prefix, step)
            if done.returncode != 0:
                detail = log.read_text()[-2000:] if log.exists() else done.stderr
                pytest.skip(f"could not start a throwaway PostgreSQL: {detail.strip()}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            _run_as(prefix, [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


def _postgres_database(request: pytest.FixtureRequest) -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} must be set in CI")
        base = request.getfixturevalue("_throwaway_postgres")
    yield from _scratch(base)


def _mysql_database() -> Iterator[str]:
    base = os.environ.get(MYSQL_ENV)
    if not base:
        pytest.skip(
            f"MySQL / MariaDB store tests need {MYSQL_ENV} (e.g. mysql://root@127.0.0.1/test)"
        )
    yield from _scratch(base)


def _scratch(server_url: str) -> Iterator[str]:
    """A fresh database for one test; the test's backends close before it is dropped."""
    with scratch_database(server_url) as db_uri:
        try:
            yield db_uri
        finally:
            from heron.backends import close_all

            close_all()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def db_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'heron.db'}"
    elif request.param == "postgresql":
        yield from _postgres_database(request)
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


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real server on loopback over SQLite, then over PostgreSQL (one per test module)."""
    folder = tmp_path_factory.mktemp(f"server-{request.param}")
    if request.param == "sqlite":
        with running_server(folder) as url:
            yield url
        return
    databases = _postgres_database(request)
    db_uri = next(databases)
    try:
        with running_server(folder, store_uri=db_uri) as url:
            yield url
    finally:
        databases.close()
