"""credit notes and the buyer's company on orders

Each shop's credit notes (factures d'avoir) with their lines, numbered in the shop's own yearly series
(credit_note_counters); the company name, SIREN and VAT number a buyer may give at checkout (its
invoices and credit notes are then Factur-X).

Revision ID: c19a00000001
Revises: c18b00000001
Create Date: 2026-12-06 11:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c19a00000001"
down_revision = "c18b00000001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buyer_company", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("buyer_siren", sa.String(length=9), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("buyer_vat_number", sa.String(length=20), nullable=False, server_default="")
        )

    op.create_table(
        "credit_note_counters",
        sa.Column("shop_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_credit_note_counters_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "year", name=op.f("pk_credit_note_counters")),
    )
    op.create_table(
        "credit_notes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("vendor_order_id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("refund_id", BIG_ID, nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invoice_number", sa.String(length=30), nullable=False),
        sa.Column("invoice_issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_exempt", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("total_cents > 0", name=op.f("ck_credit_notes_total_positive")),
        sa.CheckConstraint("total_cents = net_cents + vat_cents", name=op.f("ck_credit_notes_total_adds_up")),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refunds.id"], name=op.f("fk_credit_notes_refund_id_refunds"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_credit_notes_shop_id_shops")),
        sa.ForeignKeyConstraint(
            ["vendor_order_id"],
            ["vendor_orders.id"],
            name=op.f("fk_credit_notes_vendor_order_id_vendor_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_credit_notes_refund_id")),
        sa.UniqueConstraint("shop_id", "number", name=op.f("uq_credit_notes_shop_id_number")),
    )
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_notes_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_notes_vendor_order_id"), ["vendor_order_id"], unique=False)

    op.create_table(
        "credit_note_lines",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("credit_note_id", BIG_ID, nullable=False),
        sa.Column("order_line_id", BIG_ID, nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("variant_label", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_bps", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "goods",
                "delivery",
                "amount",
                name="credit_line_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_credit_note_lines_quantity_positive")),
        sa.CheckConstraint("total_cents > 0", name=op.f("ck_credit_note_lines_total_positive")),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name=op.f("fk_credit_note_lines_credit_note_id_credit_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_credit_note_lines_order_line_id_order_lines"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_lines")),
    )
    with op.batch_alter_table("credit_note_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_note_lines_credit_note_id"), ["credit_note_id"], unique=False)


def downgrade():
    with op.batch_alter_table("credit_note_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_note_lines_credit_note_id"))
    op.drop_table("credit_note_lines")
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_notes_vendor_order_id"))
        batch_op.drop_index(batch_op.f("ix_credit_notes_shop_id"))
    op.drop_table("credit_notes")
    op.drop_table("credit_note_counters")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("buyer_vat_number")
        batch_op.drop_column("buyer_siren")
        batch_op.drop_column("buyer_company")
