"""Lookup tables, operations journal, issued-badge ledger and event inbox.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "course_badge_templates",
        sa.Column("course_id", sa.String(length=64), nullable=False),
        sa.Column("badge_template_id", sa.String(length=64), nullable=True),
        sa.Column("dropdown_element_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("course_id"),
    )
    op.create_index(
        op.f("ix_course_badge_templates_badge_template_id"),
        "course_badge_templates",
        ["badge_template_id"],
        unique=False,
    )
    op.create_table(
        "credly_badge_templates",
        sa.Column("badge_template_id", sa.String(length=64), nullable=False),
        sa.Column("badge_template_name", sa.String(length=512), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("dropdown_element_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("badge_template_id"),
    )
    op.create_table(
        "credly_integration_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("badge_template_id", sa.String(length=64), nullable=False),
        sa.Column("badge_template_name", sa.String(length=512), nullable=True),
        sa.Column("learning_plan_id", sa.String(length=64), nullable=True),
        sa.Column("import_as_external_training", sa.Boolean(), nullable=False),
        sa.Column("certification_code", sa.String(length=128), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_credly_integration_mappings_badge_template_id"),
        "credly_integration_mappings",
        ["badge_template_id"],
        unique=False,
    )
    op.create_table(
        "event_inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "event_id", name="uq_event_inbox_source_event"),
    )
    op.create_table(
        "integration_settings",
        sa.Column("integration", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("integration", "key"),
    )
    op.create_table(
        "issued_badge_ledger",
        sa.Column("credly_badge_id", sa.String(length=64), nullable=False),
        sa.Column("lms_user_id", sa.String(length=64), nullable=False),
        sa.Column("learning_object_type", sa.String(length=32), nullable=False),
        sa.Column("learning_object_id", sa.String(length=64), nullable=False),
        sa.Column("badge_template_id", sa.String(length=64), nullable=False),
        sa.Column("recipient_email", sa.String(length=320), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("credly_badge_id"),
    )
    op.create_index(
        "ix_issued_badge_ledger_learner",
        "issued_badge_ledger",
        ["lms_user_id", "badge_template_id"],
        unique=False,
    )
    op.create_table(
        "operation_journal",
        sa.Column("op_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("dag_run_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("op_key"),
    )
    op.create_index("ix_operation_journal_status_kind", "operation_journal", ["status", "kind"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_operation_journal_status_kind", table_name="operation_journal")
    op.drop_table("operation_journal")
    op.drop_index("ix_issued_badge_ledger_learner", table_name="issued_badge_ledger")
    op.drop_table("issued_badge_ledger")
    op.drop_table("integration_settings")
    op.drop_table("event_inbox")
    op.drop_index(
        op.f("ix_credly_integration_mappings_badge_template_id"), table_name="credly_integration_mappings"
    )
    op.drop_table("credly_integration_mappings")
    op.drop_table("credly_badge_templates")
    op.drop_index(op.f("ix_course_badge_templates_badge_template_id"), table_name="course_badge_templates")
    op.drop_table("course_badge_templates")
