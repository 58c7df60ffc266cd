"""Posting slots and recurring posts.

- `delivery.slot_at`: the slot a delivery took (`--next-slot`, `slot: next`); NULL for the
  rest, and for every existing delivery. `uq_delivery_slot`, a partial unique index on
  (account, slot_at) over deliveries that hold a slot and are not cancelled, is what keeps
  two concurrent enqueues from taking one slot; cancelling frees the slot (the row leaves the
  index), rescheduling clears `slot_at`.
- `ix_delivery_account_due` (account, due_at): the free-slot search looks each candidate
  slot up by key, never scanning the queue.
- `post.every`, `post.until_at`: a recurring post's rule as written and its end; `series_id`
  and `occurrence_at` on the posts a series queued after its first (`uq_post_occurrence`:
  one post per series and occurrence, so each occurrence is queued exactly once);
  `series_stopped_at`: when the series was stopped (cancelled). NULL for existing posts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

HOLDS_SLOT = "slot_at IS NOT NULL AND status <> 'cancelled'"


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (see 0002 and 0004: no batch copy of `delivery`).
    op.add_column("delivery", sa.Column("slot_at", UTCDateTime(), nullable=True))
    op.create_index("ix_delivery_account_due", "delivery", ["account", "due_at"])
    op.create_index(
        "uq_delivery_slot", "delivery", ["account", "slot_at"], unique=True,
        sqlite_where=sa.text(HOLDS_SLOT), postgresql_where=sa.text(HOLDS_SLOT),
    )  # fmt: skip
    op.add_column("post", sa.Column("every", sa.String(200), nullable=True))
    op.add_column("post", sa.Column("until_at", UTCDateTime(), nullable=True))
    op.add_column("post", sa.Column("series_id", sa.Integer, nullable=True))
    op.add_column("post", sa.Column("occurrence_at", UTCDateTime(), nullable=True))
    op.add_column("post", sa.Column("series_stopped_at", UTCDateTime(), nullable=True))
    op.create_index("uq_post_occurrence", "post", ["series_id", "occurrence_at"], unique=True)
    op.create_index("ix_post_every", "post", ["every"])


def downgrade() -> None:
    op.drop_index("ix_post_every", "post")
    op.drop_index("uq_post_occurrence", "post")
    for column in ("series_stopped_at", "occurrence_at", "series_id", "until_at", "every"):
        op.drop_column("post", column)
    op.drop_index("uq_delivery_slot", "delivery")
    op.drop_index("ix_delivery_account_due", "delivery")
    op.drop_column("delivery", "slot_at")
