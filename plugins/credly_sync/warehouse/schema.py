"""The warehouse tables (SQLAlchemy 2 Core). Alembic migrations create them; this module is
what code queries against. Column names follow the Docebo Connect for Credly lookup tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)

metadata = MetaData()


def utcnow() -> datetime:
    return datetime.now(UTC)


def _timestamps() -> list[Column]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
        Column("updated_at", DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow),
    ]


integration_settings = Table(
    "integration_settings",
    metadata,
    Column("integration", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=True),
)

credly_badge_templates = Table(
    "credly_badge_templates",
    metadata,
    Column("badge_template_id", String(64), primary_key=True),
    Column("badge_template_name", String(512), nullable=False),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("dropdown_element_id", Integer, nullable=True),
    *_timestamps(),
)

credly_integration_mappings = Table(
    "credly_integration_mappings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("badge_template_id", String(64), nullable=False, index=True),
    Column("badge_template_name", String(512), nullable=True),
    Column("learning_plan_id", String(64), nullable=True),
    Column("import_as_external_training", Boolean, nullable=False, default=False),
    Column("certification_code", String(128), nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
    *_timestamps(),
)

course_badge_templates = Table(
    "course_badge_templates",
    metadata,
    Column("course_id", String(64), primary_key=True),
    Column("badge_template_id", String(64), nullable=True, index=True),
    Column("dropdown_element_id", Integer, nullable=True),
    *_timestamps(),
)

operation_journal = Table(
    "operation_journal",
    metadata,
    Column("op_key", String(255), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("target", String(255), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("result", JSON, nullable=True),
    Column("dag_run_id", String(255), nullable=True),
    Column("claimed_by", String(255), nullable=True),  # the apply task sending it, until claimed_until
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("reported_at", DateTime(timezone=True), nullable=True),  # failure digest mailed
    *_timestamps(),
    Index("ix_operation_journal_status_kind", "status", "kind"),
)

issued_badge_ledger = Table(
    "issued_badge_ledger",
    metadata,
    Column("credly_badge_id", String(64), primary_key=True),
    Column("lms_user_id", String(64), nullable=False),
    Column("learning_object_type", String(32), nullable=False),
    Column("learning_object_id", String(64), nullable=False),
    Column("badge_template_id", String(64), nullable=False),
    Column("recipient_email", String(320), nullable=False),
    Column("state", String(32), nullable=False, default="issued"),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("replaced_by", String(64), nullable=True),
    *_timestamps(),
    Index("ix_issued_badge_ledger_learner", "lms_user_id", "badge_template_id"),
)

event_inbox = Table(
    "event_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("event_type", String(128), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="received"),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),  # retry after a failure
    Column("last_error", Text, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False, default=utcnow),
    Column("processed_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("source", "event_id", name="uq_event_inbox_source_event"),
    Index("ix_event_inbox_status_source", "status", "source"),
)

# Every badge of an organisation as Credly last showed it: "who holds badge X" without an API call.
badge_holders = Table(
    "badge_holders",
    metadata,
    Column("organization_id", String(64), primary_key=True),
    Column("badge_id", String(64), primary_key=True),
    Column("badge_template_id", String(64), nullable=False),
    Column("badge_template_name", String(512), nullable=True),
    Column("recipient_email", String(320), nullable=False),
    Column("issued_to", String(512), nullable=True),
    Column("state", String(32), nullable=False),
    Column("public", Boolean, nullable=True),
    Column("issued_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("badge_updated_at", DateTime(timezone=True), nullable=True),
    Column("badge_url", String(1024), nullable=True),
    *_timestamps(),
    Index("ix_badge_holders_template_name", "badge_template_name"),
    Index("ix_badge_holders_email", "recipient_email"),
)

# What the Microsoft 365 export last PUT per Graph connection: Graph cannot list items back.
m365_profile_items = Table(
    "m365_profile_items",
    metadata,
    Column("connection_id", String(32), primary_key=True),
    Column("item_id", String(128), primary_key=True),
    Column("organization_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("user_principal_name", String(320), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("certifications", Integer, nullable=False, default=0),
    Column("awards", Integer, nullable=False, default=0),
    *_timestamps(),
)

# High-water marks of incremental reads, one per stream (e.g. "m365_profiles:<connection>").
sync_watermarks = Table(
    "sync_watermarks",
    metadata,
    Column("stream", String(255), primary_key=True),
    Column("value", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow),
)

api_call_budget = Table(
    "api_call_budget",
    metadata,
    Column("api", String(64), primary_key=True),
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("calls", Integer, nullable=False),  # reserved by the tasks of the deployment so far
)

# Adobe Learning Manager badges read from a badge.csv: which Credly template each ALM badge is
# (externalBadgeId), by the badge.csv id and by name, since ALM gives migrated badges ids of its own.
alm_badge_mappings = Table(
    "alm_badge_mappings",
    metadata,
    Column("alm_badge_id", String(64), primary_key=True),
    Column("badge_name", String(64), nullable=False),
    Column("badge_template_id", String(64), nullable=False, index=True),
    Column("external_badge_provider", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("image_url", String(1024), nullable=False),
    Column("badge_created_at", DateTime(timezone=True), nullable=False),
    Column("badge_modified_at", DateTime(timezone=True), nullable=True),
    *_timestamps(),
)

BADGE_HOLDERS_VIEW = "badge_holders_view"
#: For BI tools: one row per badge, with whether it is held now (accepted and not expired).
BADGE_HOLDERS_VIEW_SQL = f"""
CREATE VIEW {BADGE_HOLDERS_VIEW} AS
SELECT organization_id, badge_template_id, badge_template_name, issued_to AS holder_name,
       recipient_email AS holder_email, state, public, issued_at, expires_at, badge_url,
       CASE WHEN state = 'accepted' AND (expires_at IS NULL OR expires_at > CURRENT_TIMESTAMP)
            THEN 1 ELSE 0 END AS is_current,
       updated_at AS synced_at
FROM badge_holders
"""
# The view depends on the table: drop it first wherever the tables are dropped from metadata.
event.listen(metadata, "before_drop", DDL(f"DROP VIEW IF EXISTS {BADGE_HOLDERS_VIEW}"))

JOURNAL_STATUSES = ("pending", "applied", "failed", "rejected", "skipped", "superseded")
INBOX_STATUSES = ("received", "processed", "failed", "ignored")
