"""platform payouts: the ledger's bank_payout transactions

Revision ID: c21c00000001
Revises: c21b00000001
Create Date: 2026-12-06 11:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c21c00000001"
down_revision = "c21b00000001"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "sale",
    "commission",
    "refund",
    "commission_refund",
    "release",
    "transfer",
    "transfer_reversal",
    "subscription",
)
NEW_KINDS = (*OLD_KINDS, "bank_payout")
CONSTRAINT = "ck_ledger_transactions_transaction_kind"


def _kinds(values):
    return "kind IN ({})".format(", ".join(f"'{value}'" for value in values))


def upgrade():
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(CONSTRAINT), _kinds(NEW_KINDS))


def downgrade():
    # The ledger is append-only: its bank payouts are not deleted to go back, the downgrade refuses.
    found = op.get_bind().scalar(
        sa.text("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'bank_payout'")
    )
    if found:
        raise RuntimeError(
            f"{found} ledger transactions of kind bank_payout: the previous schema cannot hold them"
        )
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(CONSTRAINT), _kinds(OLD_KINDS))
