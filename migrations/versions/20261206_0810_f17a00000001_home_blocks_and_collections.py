"""home page blocks, collections and featured shops

Revision ID: f17a00000001
Revises: f16e00000001
Create Date: 2026-12-06 08:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f17a00000001'
down_revision = 'f16e00000001'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)
BLOCK_KINDS = (
    'categories', 'collections', 'featured_shops', 'new_products', 'open_now', 'popular',
    'best_products', 'best_shops',
)


def upgrade():
    op.create_table('home_blocks',
    sa.Column('kind', sa.Enum(*BLOCK_KINDS, name='home_block_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_home_blocks'))
    )
    op.create_table('collections',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('kind', sa.Enum('products', 'shops', name='collection_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('image_path', sa.String(length=255), nullable=True),
    sa.Column('image_thumbnails', sa.JSON(), nullable=False),
    sa.Column('starts_at', WHEN, nullable=True),
    sa.Column('ends_at', WHEN, nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.CheckConstraint('starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at', name=op.f('ck_collections_starts_before_end')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collections')),
    sa.UniqueConstraint('slug', name=op.f('uq_collections_slug'))
    )
    op.create_table('collection_items',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('collection_id', BIGINT, nullable=False),
    sa.Column('product_id', BIGINT, nullable=True),
    sa.Column('shop_id', BIGINT, nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('(product_id IS NULL) <> (shop_id IS NULL)', name=op.f('ck_collection_items_one_product_or_one_shop')),
    sa.ForeignKeyConstraint(['collection_id'], ['collections.id'], name=op.f('fk_collection_items_collection_id_collections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_collection_items_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_collection_items_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_items')),
    sa.UniqueConstraint('collection_id', 'product_id', name=op.f('uq_collection_items_collection_id_product_id')),
    sa.UniqueConstraint('collection_id', 'shop_id', name=op.f('uq_collection_items_collection_id_shop_id'))
    )
    with op.batch_alter_table('collection_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_items_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collection_items_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collection_items_shop_id'), ['shop_id'], unique=False)
    op.create_table('featured_shops',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('shop_id', BIGINT, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_featured_shops_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_featured_shops')),
    sa.UniqueConstraint('shop_id', name=op.f('uq_featured_shops_shop_id'))
    )


def downgrade():
    op.drop_table('featured_shops')
    with op.batch_alter_table('collection_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_items_shop_id'))
        batch_op.drop_index(batch_op.f('ix_collection_items_product_id'))
        batch_op.drop_index(batch_op.f('ix_collection_items_collection_id'))
    op.drop_table('collection_items')
    op.drop_table('collections')
    op.drop_table('home_blocks')
