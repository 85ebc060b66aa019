"""favourites: saved products, followed shops, the weekly e-mail

Revision ID: f17b00000001
Revises: f16c00000001
Create Date: 2026-12-06 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f17b00000001'
down_revision = 'f16c00000001'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade():
    op.create_table('saved_products',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('user_id', BIGINT, nullable=False),
    sa.Column('product_id', BIGINT, nullable=False),
    sa.Column('price_seen_cents', sa.BigInteger(), nullable=False),
    sa.Column('price_mailed_cents', sa.BigInteger(), nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    sa.CheckConstraint('price_seen_cents > 0', name=op.f('ck_saved_products_price_seen_positive')),
    sa.CheckConstraint('price_mailed_cents IS NULL OR price_mailed_cents > 0', name=op.f('ck_saved_products_price_mailed_positive')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_products_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_saved_products_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_products')),
    sa.UniqueConstraint('user_id', 'product_id', name=op.f('uq_saved_products_user_id_product_id'))
    )
    with op.batch_alter_table('saved_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_products_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_saved_products_product_id'), ['product_id'], unique=False)
    op.create_table('followed_shops',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('user_id', BIGINT, nullable=False),
    sa.Column('shop_id', BIGINT, nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_followed_shops_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_followed_shops_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followed_shops')),
    sa.UniqueConstraint('user_id', 'shop_id', name=op.f('uq_followed_shops_user_id_shop_id'))
    )
    with op.batch_alter_table('followed_shops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followed_shops_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followed_shops_shop_id'), ['shop_id'], unique=False)
    op.create_table('favourite_digests',
    sa.Column('user_id', BIGINT, autoincrement=False, nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('last_week', sa.String(length=8), nullable=True),
    sa.Column('last_sent_at', WHEN, nullable=True),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_favourite_digests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_favourite_digests'))
    )


def downgrade():
    op.drop_table('favourite_digests')
    with op.batch_alter_table('followed_shops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followed_shops_shop_id'))
        batch_op.drop_index(batch_op.f('ix_followed_shops_user_id'))
    op.drop_table('followed_shops')
    with op.batch_alter_table('saved_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_products_product_id'))
        batch_op.drop_index(batch_op.f('ix_saved_products_user_id'))
    op.drop_table('saved_products')
