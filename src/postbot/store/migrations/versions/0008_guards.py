"""The duplicate guard and the X cost guard.

- `delivery.text_hash`: the hash of the delivery's normalised first-part text
  (`postbot.duplicates.text_hash`), with an index on (account, text_hash): the duplicate guard
  finds earlier deliveries of the same text to an account by that index, never by a scan.
  Existing deliveries keep NULL: they are not compared (they were queued before the guard).
- `ix_delivery_account_status_updated`: an account's published deliveries of a month (its X
  spend in `status`, and the monthly budget decided in the claim).
- `ix_delivery_part_published_at`: the thread parts published in a month (each is billed).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0002: a batch copy of `delivery` would drop the table).
    op.add_column("delivery", sa.Column("text_hash", sa.String(64), nullable=True))
    op.create_index("ix_delivery_account_hash", "delivery", ["account", "text_hash"])
    op.create_index(
        "ix_delivery_account_status_updated", "delivery", ["account", "status", "updated_at"]
    )
    op.create_index("ix_delivery_part_published_at", "delivery_part", ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_delivery_part_published_at", table_name="delivery_part")
    op.drop_index("ix_delivery_account_status_updated", table_name="delivery")
    op.drop_index("ix_delivery_account_hash", table_name="delivery")
    op.drop_column("delivery", "text_hash")
