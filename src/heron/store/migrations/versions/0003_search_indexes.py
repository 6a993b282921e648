"""Search indexes: (key, value, run_uuid) on latest_metrics, params and tags.

A filter on a metric, param or tag reads the run ids matching ``key = ? AND value ...`` from
these indexes alone (they cover the subquery), and ordering by one reads them in value order
and stops at the end of the page. They replace the (key, value) indexes of 0001, which they
contain; tags had none.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-17
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# MySQL caps an index key at 3072 bytes (utf8mb4: 4 per character): 250 + 460 + 32 fit.
MYSQL_LENGTH = {"key": 250, "value": 460}


def upgrade() -> None:
    op.create_index(
        "ix_latest_metrics_key_value_run_uuid", "latest_metrics", ["key", "value", "run_uuid"]
    )
    op.drop_index("ix_latest_metrics_key_value", table_name="latest_metrics")
    for table in ("params", "tags"):
        op.create_index(
            f"ix_{table}_key_value_run_uuid",
            table,
            ["key", "value", "run_uuid"],
            mysql_length=MYSQL_LENGTH,
        )
    op.drop_index("ix_params_key_value", table_name="params")


def downgrade() -> None:
    op.create_index(
        "ix_params_key_value", "params", ["key", "value"], mysql_length={"key": 250, "value": 500}
    )
    op.drop_index("ix_tags_key_value_run_uuid", table_name="tags")
    op.drop_index("ix_params_key_value_run_uuid", table_name="params")
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.drop_index("ix_latest_metrics_key_value_run_uuid", table_name="latest_metrics")
