"""Incidents and alert messages (postbot.ops.alerts): deduplicated, rate-limited across
processes, because the database is what every worker and every `postbot doctor --alert` shares.

- `alert_message`: one row per message sent; the rate limit counts them by `sent_at`.
- `incident`: what an operator is told of once. `open_key` (unique) is the key while the
  incident stands, NULL once a condition ended, so one is open per key; `message_id` NULL means
  not told yet.

Nothing existing changes.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_message",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_alert_message_sent_at", "alert_message", ["sent_at"])
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("open_key", sa.String(300), nullable=True, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("subject", sa.String, nullable=False),
        sa.Column("account", sa.String(200), nullable=True),
        sa.Column("delivery_id", sa.Integer, nullable=True),
        sa.Column("condition", sa.Boolean, nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("seen", sa.Integer, nullable=False),
        sa.Column(
            "message_id",
            sa.Integer,
            sa.ForeignKey("alert_message.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_incident_kind", "incident", ["kind"])
    op.create_index("ix_incident_message_id", "incident", ["message_id"])


def downgrade() -> None:
    op.drop_table("incident")
    op.drop_table("alert_message")
