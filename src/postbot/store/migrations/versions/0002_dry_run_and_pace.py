"""Dry-run results kept apart from live ones; pace budgets counted by an index.

- `delivery.dry_run`: the delivery's status was set by a dry run (nothing was sent). Every
  existing delivery is live (false): before this revision a dry run left no mark on it.
- `ix_attempt_started_at`: a claim under a pace counts the account's recent attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite has ADD and DROP COLUMN since 3.35): a
    # batch copy of `delivery` would drop the old table, and with foreign keys on, dropping it
    # deletes every attempt that refers to it.
    op.add_column(
        "delivery", sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_index("ix_attempt_started_at", "attempt", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_attempt_started_at", "attempt")
    op.drop_column("delivery", "dry_run")
