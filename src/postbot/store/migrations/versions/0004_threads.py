"""Threads and server-side scheduling.

- `delivery_part`: a thread's parts per delivery, each recorded (remote id, URL, the CID a
  reply needs on Bluesky) as soon as it is published.
- `delivery.part_count`: how many parts a delivery has. Existing deliveries keep NULL: they
  were queued before threads existed (their text is the whole post; an X link reply is added at
  publish, as it was).
- `delivery.scheduled_id`, `delivery.handover_refused`: a delivery handed to the instance's own
  scheduled statuses (status `scheduled`), or refused by it. Existing deliveries: neither.
- `post.parts`, `post.variants`: what the post file (or the command line) said. NULL for
  existing posts: a single post without variants.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (see 0002: a batch copy of `delivery` would drop the
    # table, and with foreign keys on that deletes every attempt).
    op.add_column("post", sa.Column("parts", sa.JSON, nullable=True))
    op.add_column("post", sa.Column("variants", sa.JSON, nullable=True))
    op.add_column("delivery", sa.Column("part_count", sa.Integer, nullable=True))
    op.add_column("delivery", sa.Column("scheduled_id", sa.String(100), nullable=True))
    op.add_column(
        "delivery",
        sa.Column("handover_refused", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "delivery_part",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "delivery_id",
            sa.Integer,
            sa.ForeignKey("delivery.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("text", sa.String, nullable=False),
        sa.Column("remote_id", sa.String(500), nullable=True),
        sa.Column("remote_url", sa.String(1000), nullable=True),
        sa.Column("ref", sa.String(500), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("delivery_id", "idx", name="uq_delivery_part"),
    )


def downgrade() -> None:
    op.drop_table("delivery_part")
    op.drop_column("delivery", "handover_refused")
    op.drop_column("delivery", "scheduled_id")
    op.drop_column("delivery", "part_count")
    op.drop_column("post", "variants")
    op.drop_column("post", "parts")
