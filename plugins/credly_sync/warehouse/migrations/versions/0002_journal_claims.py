"""Journal claims (an apply task owns the operations it sends) and failure reporting.

Statuses change meaning: ``failed`` is now closed (transient failures reached the cap), where
revision 0001 code treated it as open and resent it every run. Existing ``failed`` rows are
therefore made ``pending`` again (they keep their attempts, so the apply step looks first),
and the ``skipped`` rows a newer plan closed become ``superseded``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operation_journal") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE operation_journal SET status = 'pending' WHERE status = 'failed'")
    op.execute(
        "UPDATE operation_journal SET status = 'superseded' "
        "WHERE status = 'skipped' AND last_error LIKE 'superseded by %'"
    )


def downgrade() -> None:
    # 0001 code knows no rejected or superseded; it resends failed rows, as it did before
    op.execute("UPDATE operation_journal SET status = 'failed' WHERE status = 'rejected'")
    op.execute("UPDATE operation_journal SET status = 'skipped' WHERE status = 'superseded'")
    with op.batch_alter_table("operation_journal") as batch:
        batch.drop_column("reported_at")
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
