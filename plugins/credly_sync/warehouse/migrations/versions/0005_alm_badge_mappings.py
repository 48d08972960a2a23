"""ALM badge mappings: the badges of an Adobe Learning Manager badge.csv and their Credly templates.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alm_badge_mappings",
        sa.Column("alm_badge_id", sa.String(64), primary_key=True),
        sa.Column("badge_name", sa.String(64), nullable=False),
        sa.Column("badge_template_id", sa.String(64), nullable=False),
        sa.Column("external_badge_provider", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("image_url", sa.String(1024), nullable=False),
        sa.Column("badge_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("badge_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alm_badge_mappings_badge_template_id", "alm_badge_mappings", ["badge_template_id"])


def downgrade() -> None:
    op.drop_index("ix_alm_badge_mappings_badge_template_id", table_name="alm_badge_mappings")
    op.drop_table("alm_badge_mappings")
