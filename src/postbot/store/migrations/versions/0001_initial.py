"""Initial schema: post, delivery, attempt, heartbeat.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "post",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(500), nullable=False, unique=True),
        sa.Column("headline", sa.String, nullable=True),
        sa.Column("teaser", sa.String, nullable=False),
        sa.Column("hashtags", sa.JSON, nullable=False),
        sa.Column("link", sa.String, nullable=True),
        sa.Column("language", sa.String(35), nullable=True),
        sa.Column("media", sa.JSON, nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "post_id", sa.Integer, sa.ForeignKey("post.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(50), nullable=False),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("text", sa.String, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("remote_id", sa.String(500), nullable=True),
        sa.Column("remote_url", sa.String(1000), nullable=True),
        sa.Column("last_error", sa.String, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("post_id", "account", name="uq_delivery_post_account"),
    )
    op.create_index("ix_delivery_post_id", "delivery", ["post_id"])
    op.create_index("ix_delivery_status_next", "delivery", ["status", "next_attempt_at"])
    op.create_table(
        "attempt",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "delivery_id",
            sa.Integer,
            sa.ForeignKey("delivery.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("error_class", sa.String(200), nullable=True),
        sa.Column("error_message", sa.String, nullable=True),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("remote_id", sa.String(500), nullable=True),
        sa.Column("remote_url", sa.String(1000), nullable=True),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_attempt_delivery_id", "attempt", ["delivery_id"])
    op.create_table(
        "heartbeat",
        sa.Column("worker", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("heartbeat")
    op.drop_index("ix_attempt_delivery_id", "attempt")
    op.drop_table("attempt")
    op.drop_index("ix_delivery_status_next", "delivery")
    op.drop_index("ix_delivery_post_id", "delivery")
    op.drop_table("delivery")
    op.drop_table("post")
