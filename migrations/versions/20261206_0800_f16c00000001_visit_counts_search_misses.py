"""visit counters, counter batches and searches that found little

Revision ID: f16c00000001
Revises: f16a00000001
Create Date: 2026-12-06 08:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "f16c00000001"
down_revision = 'f16a00000001'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "visit_counts",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "view", "cart_add", name="visit_kind", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("count > 0", name=op.f("ck_visit_counts_count_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_counts")),
    )
    with op.batch_alter_table("visit_counts", schema=None) as batch_op:
        batch_op.create_index("ix_visit_counts_day_shop_id", ["day", "shop_id"], unique=False)
        batch_op.create_index(
            "uq_visit_counts_product",
            ["day", "shop_id", "product_id", "kind"],
            unique=True,
            postgresql_where=sa.text("product_id IS NOT NULL"),
            sqlite_where=sa.text("product_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_visit_counts_storefront",
            ["day", "shop_id", "kind"],
            unique=True,
            postgresql_where=sa.text("product_id IS NULL"),
            sqlite_where=sa.text("product_id IS NULL"),
        )

    op.create_table(
        "counter_batches",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("applied_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_batches")),
    )
    with op.batch_alter_table("counter_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_counter_batches_applied_at"), ["applied_at"], unique=False)

    op.create_table(
        "search_misses",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("query", sa.String(length=100), nullable=False),
        sa.Column(
            "bucket",
            sa.Enum("none", "few", name="miss_bucket", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("max_results", sa.Integer(), nullable=False),
        sa.CheckConstraint("count > 0", name=op.f("ck_search_misses_count_positive")),
        sa.CheckConstraint("max_results >= 0", name=op.f("ck_search_misses_max_results_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_misses")),
        sa.UniqueConstraint("day", "query", "bucket", name=op.f("uq_search_misses_day_query_bucket")),
    )


def downgrade():
    op.drop_table("search_misses")
    with op.batch_alter_table("counter_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counter_batches_applied_at"))
    op.drop_table("counter_batches")
    with op.batch_alter_table("visit_counts", schema=None) as batch_op:
        batch_op.drop_index("uq_visit_counts_storefront", sqlite_where=sa.text("product_id IS NULL"))
        batch_op.drop_index("uq_visit_counts_product", sqlite_where=sa.text("product_id IS NOT NULL"))
        batch_op.drop_index("ix_visit_counts_day_shop_id")
    op.drop_table("visit_counts")
