"""Review and feeds: `review` (each approval or rejection of a draft: who, when, what),
`feed` (each feed's last poll, backoff, counts) and `feed_item` (every article key a feed
listed, kept for good; unique per feed and key). A draft is a delivery in status `draft`,
a value of the existing column: nothing existing changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "post_id", sa.Integer, sa.ForeignKey("post.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_review_post_id", "review", ["post_id"])
    op.create_table(
        "feed",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("etag", sa.String(1000), nullable=True),
        sa.Column("last_modified", sa.String(200), nullable=True),
        sa.Column("polled_at", UTCDateTime(), nullable=True),
        sa.Column("result", sa.String(20), nullable=True),
        sa.Column("error", sa.String, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("next_poll_at", UTCDateTime(), nullable=True),
        sa.Column("watched_since", UTCDateTime(), nullable=True),
        sa.Column("items_seen", sa.Integer, nullable=False),
        sa.Column("posts_created", sa.Integer, nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=True),
    )
    op.create_table(
        "feed_item",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("feed", sa.String(200), nullable=False),
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("article", sa.Integer, nullable=True),
        sa.Column(
            "post_id", sa.Integer, sa.ForeignKey("post.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("link", sa.String(2000), nullable=True),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.String, nullable=True),
        sa.UniqueConstraint("feed", "key", name="uq_feed_item_feed_key"),
    )
    op.create_index("ix_feed_item_article", "feed_item", ["article"])


def downgrade() -> None:
    op.drop_table("feed_item")
    op.drop_table("feed")
    op.drop_table("review")
