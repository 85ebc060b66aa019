"""withdrawal exclusions (L221-28) on categories, products and order lines; DAC7 seller data and statements

Revision ID: c19b00000001
Revises: c19a00000001
Create Date: 2026-12-06 11:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c19b00000001"
down_revision = "c19a00000001"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)
EXCLUSIONS = "withdrawal_exclusion IN ('none', 'perishable', 'personalised', 'hygiene_seal', 'sealed_media')"

SHOP_TEXT_COLUMNS = (
    ("seller_first_name", 100),
    ("seller_last_name", 100),
    ("seller_birth_city", 100),
    ("seller_birth_country", 2),
    ("tax_number", 20),
    ("payout_account_masked", 40),
)


def upgrade():
    for table in ("categories", "products"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("withdrawal_exclusion", sa.String(length=20), nullable=True))
            batch_op.create_check_constraint(op.f(f"ck_{table}_withdrawal_exclusion"), EXCLUSIONS)
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("withdrawal_exclusion", sa.String(length=20), nullable=False, server_default="none")
        )
        batch_op.create_check_constraint(op.f("ck_order_lines_withdrawal_exclusion"), EXCLUSIONS)

    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seller_kind", sa.String(length=20), nullable=True))
        for name, length in SHOP_TEXT_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("seller_birth_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("dac7_reminders", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("dac7_reminded_at", WHEN, nullable=True))
        batch_op.add_column(sa.Column("payouts_withheld_at", WHEN, nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_shops_seller_kind"), "seller_kind IN ('company', 'individual')"
        )

    op.create_table(
        "dac7_statements",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sent_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_dac7_statements_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dac7_statements")),
        sa.UniqueConstraint("shop_id", "year", name=op.f("uq_dac7_statements_shop_id_year")),
    )
    with op.batch_alter_table("dac7_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dac7_statements_shop_id"), ["shop_id"], unique=False)


def downgrade():
    with op.batch_alter_table("dac7_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dac7_statements_shop_id"))
    op.drop_table("dac7_statements")

    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_shops_seller_kind"), type_="check")
        for name in ("payouts_withheld_at", "dac7_reminded_at", "dac7_reminders", "seller_birth_date"):
            batch_op.drop_column(name)
        for name, _length in reversed(SHOP_TEXT_COLUMNS):
            batch_op.drop_column(name)
        batch_op.drop_column("seller_kind")

    for table in ("order_lines", "products", "categories"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_withdrawal_exclusion"), type_="check")
            batch_op.drop_column("withdrawal_exclusion")
