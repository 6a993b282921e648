"""Table definitions. Alembic migrations, not this file, create and change the database;
a test checks that the migrated schema matches these tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# On MySQL / MariaDB, binary collation keeps `=`, LIKE and unique names case-sensitive, as
# they are on SQLite and PostgreSQL (MLflow's semantics); ILIKE lowers both sides itself.
MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
# (key, value, run_uuid) search indexes on MySQL: 4 bytes a character, 3072 bytes at most.
SEARCH_INDEX_MYSQL_LENGTH = {"key": 250, "value": 460}

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(500), nullable=False),
    Column("artifact_location", String(2048), nullable=False),
    Column("lifecycle_stage", String(32), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Column("deleted_time", BigInteger, nullable=True),
    UniqueConstraint("name"),
    Index(None, "lifecycle_stage", "creation_time"),
    # Never reuse the id of a purged experiment: its artifact folder is named after it.
    sqlite_autoincrement=True,
    **MYSQL,
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("experiment_id", "key"),
    **MYSQL,
)

runs = Table(
    "runs",
    metadata,
    Column("run_uuid", String(32), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(250), nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("status", String(20), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("lifecycle_stage", String(32), nullable=False),
    Column("deleted_time", BigInteger, nullable=True),
    Column("artifact_uri", String(2048), nullable=False),
    Index(None, "experiment_id", "lifecycle_stage", "start_time"),
    **MYSQL,
)

params = Table(
    "params",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", String(6000), nullable=False),
    PrimaryKeyConstraint("run_uuid", "key"),
    # Covers search's `run_uuid IN (SELECT run_uuid ... WHERE key = ? AND value ...)` and
    # ordering by a param. MySQL caps index keys at 3072 bytes: a prefix of long values there.
    Index(None, "key", "value", "run_uuid", mysql_length=SEARCH_INDEX_MYSQL_LENGTH),
    **MYSQL,
)

tags = Table(
    "tags",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", String(8000), nullable=False),
    PrimaryKeyConstraint("run_uuid", "key"),
    Index(None, "key", "value", "run_uuid", mysql_length=SEARCH_INDEX_MYSQL_LENGTH),
    **MYSQL,
)

# Full metric history. NaN is stored as value NULL with is_nan true, because SQLite turns
# NaN into NULL anyway and MySQL has no NaN; infinities are stored as they are.
metrics = Table(
    "metrics",
    metadata,
    Column("metric_id", Integer, primary_key=True, autoincrement=True),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Double(), nullable=True),
    Column("is_nan", Boolean(create_constraint=False), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Index(None, "run_uuid", "key", "step"),
    **MYSQL,
)

# The latest value of each metric of each run (largest step, then timestamp), kept for
# search and ordering so they never scan the history.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Double(), nullable=True),
    Column("is_nan", Boolean(create_constraint=False), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_uuid", "key"),
    # Covers metric filters and gives ordering by a metric in value order (see search/runs.py).
    Index(None, "key", "value", "run_uuid"),
    **MYSQL,
)

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_uuid", String(32), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(500), nullable=False),
    Column("digest", String(36), nullable=False),
    Column("source_type", String(36), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text, nullable=True),
    Column("profile", Text, nullable=True),
    UniqueConstraint("experiment_id", "name", "digest"),
    **MYSQL,
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("input_uuid", String(32), primary_key=True),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column(
        "dataset_uuid",
        String(32),
        ForeignKey("datasets.dataset_uuid", ondelete="CASCADE"),
        nullable=False,
    ),
    UniqueConstraint("run_uuid", "dataset_uuid"),
    **MYSQL,
)

input_tags = Table(
    "input_tags",
    metadata,
    Column(
        "input_uuid",
        String(32),
        ForeignKey("run_inputs.input_uuid", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("key", String(255), nullable=False),
    Column("value", String(500), nullable=False),
    PrimaryKeyConstraint("input_uuid", "key"),
    **MYSQL,
)

# Writes already applied, by the client's request id (X-Heron-Request-Id), recorded in the
# same transaction as the write: a retry of a request whose answer was lost is skipped, so a
# batch is never stored twice. Rows may be pruned after a day (prune_applied_requests).
applied_requests = Table(
    "applied_requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("applied_time", BigInteger, nullable=False),
    Index(None, "run_uuid"),
    Index(None, "applied_time"),
    **MYSQL,
)
