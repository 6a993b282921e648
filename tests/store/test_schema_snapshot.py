"""The schema the migrations build on each database equals the committed snapshot of it.

tests/store/schema/<dialect>.sql is written by scripts/schema_snapshot.py; a migration that
changes the schema must come with a regenerated snapshot, so the change is a visible,
reviewed diff (and an accidental change, from a new SQLAlchemy or Alembic, fails here).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from heron.store.engine import create_store_engine
from heron.store.schema_version import ensure_schema

ROOT = Path(__file__).resolve().parents[2]


def load_snapshot_script() -> ModuleType:
    path = ROOT / "scripts" / "schema_snapshot.py"
    spec = importlib.util.spec_from_file_location("schema_snapshot", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SNAPSHOT = load_snapshot_script()


def migrated_schema(db_uri: str) -> tuple[str, str]:
    """(dialect, dump) of a fresh database migrated to head."""
    engine = create_store_engine(db_uri)
    try:
        ensure_schema(engine, db_uri)
        with engine.connect() as conn:
            return SNAPSHOT.dialect_key(conn), SNAPSHOT.dump(conn)
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_snapshot(db_uri: str) -> None:
    dialect, actual = migrated_schema(db_uri)
    problem = SNAPSHOT.mismatch(dialect, actual)
    if problem is not None:
        pytest.fail(problem, pytrace=False)


def test_a_changed_schema_fails_with_a_diff_and_the_command(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'heron.db'}"
    engine = create_store_engine(uri)
    ensure_schema(engine, uri)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_runs_status ON runs (status)")
        changed = SNAPSHOT.dump(conn)
    engine.dispose()
    problem = SNAPSHOT.mismatch("sqlite", changed)
    assert problem is not None
    assert "python scripts/schema_snapshot.py --dialect sqlite --write" in problem
    assert "+CREATE INDEX ix_runs_status ON runs (status);" in problem


def test_the_dump_is_sorted_and_names_the_revision(tmp_path: Path) -> None:
    from heron.store.schema_version import head_revision

    _, dump = migrated_schema(f"sqlite:///{tmp_path / 'heron.db'}")
    tables = [line.split()[2] for line in dump.splitlines() if line.startswith("CREATE TABLE")]
    assert tables == sorted(tables)
    assert {"alembic_version", "experiments", "runs", "metrics"} <= set(tables)
    assert f"(revision {head_revision()})" in dump.splitlines()[0]
