"""Badge holders (and their BI view), the Microsoft 365 profile items pushed, sync watermarks.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from credly_sync.warehouse.schema import BADGE_HOLDERS_VIEW, BADGE_HOLDERS_VIEW_SQL

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "badge_holders",
        sa.Column("organization_id", sa.String(64), primary_key=True),
        sa.Column("badge_id", sa.String(64), primary_key=True),
        sa.Column("badge_template_id", sa.String(64), nullable=False),
        sa.Column("badge_template_name", sa.String(512), nullable=True),
        sa.Column("recipient_email", sa.String(320), nullable=False),
        sa.Column("issued_to", sa.String(512), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("public", sa.Boolean, nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("badge_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("badge_url", sa.String(1024), nullable=True),
        *_timestamps(),
    )
    op.create_index("ix_badge_holders_template_name", "badge_holders", ["badge_template_name"])
    op.create_index("ix_badge_holders_email", "badge_holders", ["recipient_email"])
    op.create_table(
        "m365_profile_items",
        sa.Column("connection_id", sa.String(32), primary_key=True),
        sa.Column("item_id", sa.String(128), primary_key=True),
        sa.Column("organization_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("user_principal_name", sa.String(320), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("certifications", sa.Integer, nullable=False),
        sa.Column("awards", sa.Integer, nullable=False),
        *_timestamps(),
    )
    op.create_table(
        "sync_watermarks",
        sa.Column("stream", sa.String(255), primary_key=True),
        sa.Column("value", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(BADGE_HOLDERS_VIEW_SQL)


def downgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {BADGE_HOLDERS_VIEW}")
    op.drop_table("sync_watermarks")
    op.drop_table("m365_profile_items")
    op.drop_index("ix_badge_holders_email", "badge_holders")
    op.drop_index("ix_badge_holders_template_name", "badge_holders")
    op.drop_table("badge_holders")
