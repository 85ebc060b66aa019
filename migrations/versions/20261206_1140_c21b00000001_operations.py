"""operations: the nightly reconciliation's results

Revision ID: c21b00000001
Revises: c19c00000001
Create Date: 2026-12-06 11:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c21b00000001"
down_revision = "c19c00000001"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ran_at", WHEN, nullable=False),
        sa.Column("stripe_count", sa.Integer(), nullable=False),
        sa.Column("ledger_count", sa.Integer(), nullable=False),
        sa.Column("matched_count", sa.Integer(), nullable=False),
        sa.Column("difference_count", sa.Integer(), nullable=False),
        sa.Column("total_difference_cents", sa.BigInteger(), nullable=False),
        sa.Column("differences", sa.JSON(), nullable=False),
        sa.Column("mailed_at", WHEN, nullable=True),
        sa.CheckConstraint(
            "difference_count >= 0", name=op.f("ck_reconciliation_runs_difference_count_not_negative")
        ),
        sa.CheckConstraint(
            "total_difference_cents >= 0", name=op.f("ck_reconciliation_runs_total_difference_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
        sa.UniqueConstraint("day", name=op.f("uq_reconciliation_runs_day")),
    )
    with op.batch_alter_table("reconciliation_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconciliation_runs_ran_at"), ["ran_at"], unique=False)


def downgrade():
    with op.batch_alter_table("reconciliation_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconciliation_runs_ran_at"))
    op.drop_table("reconciliation_runs")
