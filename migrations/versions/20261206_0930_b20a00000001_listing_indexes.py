"""indexes in the order of the product listings

Revision ID: b20a00000001
Revises: a15e00000001
Create Date: 2026-12-06 09:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b20a00000001"
down_revision = "a15e00000001"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status = 'active'")


def upgrade():
    op.create_index(
        "ix_products_active_shop_newest",
        "products",
        ["shop_id", sa.text("created_at DESC"), sa.text("id DESC")],
        postgresql_where=ACTIVE,
    )
    op.create_index(
        "ix_products_active_category_newest",
        "products",
        ["category_id", sa.text("created_at DESC"), sa.text("id DESC")],
        postgresql_where=ACTIVE,
    )
    op.create_index(
        "ix_products_active_newest",
        "products",
        [sa.text("created_at DESC"), sa.text("id DESC")],
        postgresql_where=ACTIVE,
    )
    op.create_index(
        "ix_products_shop_updated", "products", ["shop_id", sa.text("updated_at DESC"), sa.text("id DESC")]
    )


def downgrade():
    op.drop_index("ix_products_shop_updated", table_name="products")
    op.drop_index("ix_products_active_newest", table_name="products")
    op.drop_index("ix_products_active_category_newest", table_name="products")
    op.drop_index("ix_products_active_shop_newest", table_name="products")
