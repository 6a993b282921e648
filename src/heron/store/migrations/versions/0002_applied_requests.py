"""Applied requests: the request ids of writes already stored, so retries are idempotent.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    op.create_table(
        "applied_requests",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("applied_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_uuid"],
            ["runs.run_uuid"],
            name="fk_applied_requests_run_uuid_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name="pk_applied_requests"),
        **MYSQL,
    )
    op.create_index("ix_applied_requests_run_uuid", "applied_requests", ["run_uuid"])
    op.create_index("ix_applied_requests_applied_time", "applied_requests", ["applied_time"])


def downgrade() -> None:
    op.drop_table("applied_requests")
