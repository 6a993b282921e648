"""Upgrading a database built by an older Heron: refused until `heron db upgrade`, then kept.

Each test builds a database at the first revision only, with data in it, the way an install
of the first release left it; then checks that the store and the server refuse it with the
command that fixes it, that the command upgrades it without losing anything, and that
processes opening a brand-new database together create the schema exactly once.
"""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Connection, column, inspect, select, table, text

from heron.cli.main import cli
from heron.store.engine import create_store_engine, write_transaction
from heron.store.schema import metadata
from heron.store.schema_version import (
    UPGRADE_COMMAND,
    SchemaOutdated,
    alembic_config,
    ensure_schema,
    head_revision,
)
from servers import free_port

FIRST = "0001"
HEAD = head_revision()
needs_a_newer_head = pytest.mark.skipif(
    HEAD == FIRST,
    reason=f"the head revision is still {FIRST}: no older schema exists to be refused yet",
)
RUN_ID = "0123456789abcdef0123456789abcdef"
NOW = 1_700_000_000_000


def insert(conn: Connection, table_name: str, /, **values: Any) -> None:
    """A row written by name, not through schema.py, whose tables may since have changed."""
    conn.execute(table(table_name, *(column(key) for key in values)).insert().values(**values))


def build_first_revision(db_uri: str) -> None:
    """A database at revision 0001 holding one experiment and one run with data, as an
    install of the first release left it."""
    engine = create_store_engine(db_uri)
    try:
        with write_transaction(engine) as conn:
            command.upgrade(alembic_config(conn), FIRST)
            insert(
                conn,
                "experiments",
                name="old",
                artifact_location="/old",
                lifecycle_stage="active",
                creation_time=NOW,
                last_update_time=NOW,
            )
            experiments = table("experiments", column("experiment_id"), column("name"))
            experiment_id = conn.execute(
                select(experiments.c.experiment_id).where(experiments.c.name == "old")
            ).scalar_one()
            insert(
                conn,
                "runs",
                run_uuid=RUN_ID,
                experiment_id=experiment_id,
                name="first",
                user_id="ann",
                status="FINISHED",
                start_time=NOW,
                end_time=NOW,
                lifecycle_stage="active",
                artifact_uri="/old/run",
            )
            insert(conn, "params", run_uuid=RUN_ID, key="lr", value="0.1")
            insert(conn, "tags", run_uuid=RUN_ID, key="team", value="vision")
            for name in ("metrics", "latest_metrics"):
                point = {"key": "loss", "value": 0.25, "is_nan": False, "step": 3}
                insert(conn, name, run_uuid=RUN_ID, timestamp=NOW, **point)
    finally:
        engine.dispose()


@pytest.fixture
def old_db(db_uri: str) -> str:
    build_first_revision(db_uri)
    return db_uri


def open_store(db_uri: str, tmp_path: Path) -> Any:
    from heron.backends.local import LocalBackend

    return LocalBackend(db_uri, db_uri, str(tmp_path / "artifacts"))


def assert_data_kept(db_uri: str, tmp_path: Path) -> None:
    store = open_store(db_uri, tmp_path)
    try:
        experiment = store.get_experiment_by_name("old")
        assert experiment is not None
        run = store.get_run(RUN_ID)
        assert run.info.experiment_id == experiment.experiment_id
        assert run.info.run_name == "first"
        assert run.info.status == "FINISHED"
        assert run.data.params == {"lr": "0.1"}
        assert run.data.tags["team"] == "vision"
        assert run.data.metrics == {"loss": 0.25}
        history = store.get_metric_history(RUN_ID, "loss")
        assert [(m.value, m.step) for m in history] == [(0.25, 3)]
        assert store.get_experiment("0").name == "Default"
    finally:
        store.close()


def server_command(db_uri: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "heron.cli.main",
        "server",
        "--backend-store-uri",
        db_uri,
        "--port",
        str(port),
    ]


def db_command(*args: str) -> Any:
    return CliRunner().invoke(cli, ["db", *args], catch_exceptions=False)


@needs_a_newer_head
def test_the_store_refuses_an_outdated_database(old_db: str, tmp_path: Path) -> None:
    with pytest.raises(SchemaOutdated) as refused:
        open_store(old_db, tmp_path)
    message = refused.value.message
    assert f"revision {FIRST}" in message
    assert UPGRADE_COMMAND in message
    assert "Back up" in message


@needs_a_newer_head
def test_the_server_refuses_an_outdated_database_in_one_line(old_db: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        server_command(old_db, free_port()),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert f"{UPGRADE_COMMAND} --backend-store-uri" in output
    assert "Traceback" not in output, output
    assert "Uvicorn running" not in output


def test_db_current_shows_the_old_revision_and_the_fix(old_db: str) -> None:
    shown = db_command("current", "--backend-store-uri", old_db, "--json")
    assert shown.exit_code == 0, shown.output
    assert f'"current": "{FIRST}"' in shown.output
    assert f'"head": "{HEAD}"' in shown.output
    text_output = db_command("current", "--backend-store-uri", old_db).output
    assert FIRST in text_output
    if HEAD != FIRST:
        assert "heron db upgrade" in text_output


def test_db_upgrade_migrates_and_keeps_the_data(old_db: str, tmp_path: Path) -> None:
    upgraded = db_command("upgrade", "--backend-store-uri", old_db)
    assert upgraded.exit_code == 0, upgraded.output
    if HEAD != FIRST:
        assert f"from {FIRST} to {HEAD}" in upgraded.output
    current = db_command("current", "--backend-store-uri", old_db, "--json")
    assert f'"current": "{HEAD}"' in current.output
    assert '"up_to_date": true' in current.output
    assert_data_kept(old_db, tmp_path)
    engine = create_store_engine(old_db)
    try:
        with engine.connect() as conn:  # upgraded with data in it, yet as schema.py says
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()
    again = db_command("upgrade", "--backend-store-uri", old_db)
    assert f"already at head revision {HEAD}" in again.output


@needs_a_newer_head
def test_after_the_upgrade_the_server_starts(old_db: str, tmp_path: Path) -> None:
    import urllib.request

    assert db_command("upgrade", "--backend-store-uri", old_db).exit_code == 0
    port = free_port()
    proc = subprocess.Popen(
        server_command(old_db, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        url = f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/get?run_id={RUN_ID}"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    assert b'"lr"' in answer.read()
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail(f"the server did not start:\n{proc.communicate()[0].decode()}")
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


# -- a brand-new database opened by many processes at once ----------------------------------

PROCESSES = 8
BARRIER_SECONDS = 30


def _open_new_database(db_uri: str, start: Any, done: Any, errors: Any) -> None:
    engine = create_store_engine(db_uri)
    try:
        start.wait()  # all processes reach ensure_schema at the same moment
        ensure_schema(engine, db_uri)
        # Every process keeps its engine (and pooled connections) until all are through, as
        # long-lived training jobs do: a lock that outlives its migration shows up here.
        done.wait(BARRIER_SECONDS)
    except threading.BrokenBarrierError:
        errors.append(f"a process waited more than {BARRIER_SECONDS} s for the migration lock")
    except Exception as exc:  # reported by the parent, which fails the test
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        engine.dispose()


@pytest.mark.slow
def test_processes_opening_a_new_database_together_create_it_once(
    db_uri: str, request: pytest.FixtureRequest
) -> None:
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        start, done = manager.Barrier(PROCESSES), manager.Barrier(PROCESSES)
        errors = manager.list()
        procs = [
            ctx.Process(target=_open_new_database, args=(db_uri, start, done, errors))
            for _ in range(PROCESSES)
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=300)
        problems = list(errors)
    assert problems == []
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES
    engine = create_store_engine(db_uri)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
            defaults = conn.execute(
                text("SELECT COUNT(*) FROM experiments WHERE name = 'Default'")
            ).scalar_one()
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert versions == [(HEAD,)]
    assert defaults == 1  # the first migration's Default experiment was inserted once
    assert tables == set(metadata.tables) | {"alembic_version"}
