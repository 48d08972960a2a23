"""Webhook inbox processing: the event type, attempts, when to try again.

An event whose processing keeps failing is retried with a growing delay (``next_attempt_at``)
and closed as ``failed`` after a few attempts, with its reason in ``last_error``.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_inbox") as batch:
        batch.add_column(sa.Column("event_type", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_event_inbox_status_source", "event_inbox", ["status", "source"])


def downgrade() -> None:
    op.drop_index("ix_event_inbox_status_source", table_name="event_inbox")
    with op.batch_alter_table("event_inbox") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
        batch.drop_column("event_type")
