"""Tracking tables: experiments, runs, params, metrics, tags, datasets.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# Binary collation keeps MySQL / MariaDB comparisons case-sensitive, as on other databases.
MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.String(2048), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.Column("deleted_time", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("experiment_id", name="pk_experiments"),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
        sqlite_autoincrement=True,
        **MYSQL,
    )
    op.create_index(
        "ix_experiments_lifecycle_stage_creation_time",
        "experiments",
        ["lifecycle_stage", "creation_time"],
    )
    op.create_table(
        "experiment_tags",
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            name="fk_experiment_tags_experiment_id_experiments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "key", name="pk_experiment_tags"),
        **MYSQL,
    )
    op.create_table(
        "runs",
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", sa.BigInteger(), nullable=False),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("deleted_time", sa.BigInteger(), nullable=True),
        sa.Column("artifact_uri", sa.String(2048), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            name="fk_runs_experiment_id_experiments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_uuid", name="pk_runs"),
        **MYSQL,
    )
    op.create_index(
        "ix_runs_experiment_id_lifecycle_stage_start_time",
        "runs",
        ["experiment_id", "lifecycle_stage", "start_time"],
    )
    for table, width in (("params", 6000), ("tags", 8000)):
        op.create_table(
            table,
            sa.Column("run_uuid", sa.String(32), nullable=False),
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("value", sa.String(width), nullable=False),
            sa.ForeignKeyConstraint(
                ["run_uuid"],
                ["runs.run_uuid"],
                name=f"fk_{table}_run_uuid_runs",
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("run_uuid", "key", name=f"pk_{table}"),
            **MYSQL,
        )
    op.create_index(
        "ix_params_key_value",
        "params",
        ["key", "value"],
        mysql_length={"key": 250, "value": 500},
    )
    op.create_table(
        "metrics",
        sa.Column("metric_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("is_nan", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_uuid"], ["runs.run_uuid"], name="fk_metrics_run_uuid_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("metric_id", name="pk_metrics"),
        **MYSQL,
    )
    op.create_index("ix_metrics_run_uuid_key_step", "metrics", ["run_uuid", "key", "step"])
    op.create_table(
        "latest_metrics",
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("is_nan", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_uuid"],
            ["runs.run_uuid"],
            name="fk_latest_metrics_run_uuid_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_uuid", "key", name="pk_latest_metrics"),
        **MYSQL,
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.create_table(
        "datasets",
        sa.Column("dataset_uuid", sa.String(32), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(36), nullable=False),
        sa.Column("source_type", sa.String(36), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("schema", sa.Text(), nullable=True),
        sa.Column("profile", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            name="fk_datasets_experiment_id_experiments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_uuid", name="pk_datasets"),
        sa.UniqueConstraint(
            "experiment_id", "name", "digest", name="uq_datasets_experiment_id_name_digest"
        ),
        **MYSQL,
    )
    op.create_table(
        "run_inputs",
        sa.Column("input_uuid", sa.String(32), nullable=False),
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("dataset_uuid", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_uuid"], ["runs.run_uuid"], name="fk_run_inputs_run_uuid_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["dataset_uuid"],
            ["datasets.dataset_uuid"],
            name="fk_run_inputs_dataset_uuid_datasets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("input_uuid", name="pk_run_inputs"),
        sa.UniqueConstraint("run_uuid", "dataset_uuid", name="uq_run_inputs_run_uuid_dataset_uuid"),
        **MYSQL,
    )
    op.create_table(
        "input_tags",
        sa.Column("input_uuid", sa.String(32), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(
            ["input_uuid"],
            ["run_inputs.input_uuid"],
            name="fk_input_tags_input_uuid_run_inputs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("input_uuid", "key", name="pk_input_tags"),
        **MYSQL,
    )
    _create_default_experiment()


def _create_default_experiment() -> None:
    """MLflow's experiment "0", named Default; its artifact location is filled in by the store."""
    now = int(time.time() * 1000)
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        # MySQL would treat an explicit 0 in an AUTO_INCREMENT column as "next id".
        op.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")
    experiments = sa.table(
        "experiments",
        sa.column("experiment_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("artifact_location", sa.String),
        sa.column("lifecycle_stage", sa.String),
        sa.column("creation_time", sa.BigInteger),
        sa.column("last_update_time", sa.BigInteger),
    )
    op.bulk_insert(
        experiments,
        [
            {
                "experiment_id": 0,
                "name": "Default",
                "artifact_location": "",
                "lifecycle_stage": "active",
                "creation_time": now,
                "last_update_time": now,
            }
        ],
    )


def downgrade() -> None:
    for table in (
        "input_tags",
        "run_inputs",
        "datasets",
        "latest_metrics",
        "metrics",
        "tags",
        "params",
        "runs",
        "experiment_tags",
        "experiments",
    ):
        op.drop_table(table)
