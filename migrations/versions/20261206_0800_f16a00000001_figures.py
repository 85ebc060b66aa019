"""figures: daily rollups per shop and breakdowns, indexes to read a day or a period

Revision ID: f16a00000001
Revises: c3a8f1d29e47
Create Date: 2026-12-06 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f16a00000001'
down_revision = 'c3a8f1d29e47'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('figure_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('shop_id', BIGINT, nullable=False),
    sa.Column('category_id', BIGINT, nullable=True),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('gmv_cents', sa.BigInteger(), nullable=False),
    sa.Column('refunds_cents', sa.BigInteger(), nullable=False),
    sa.Column('withdrawals', sa.Integer(), nullable=False),
    sa.Column('commission_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('orders >= 0 AND items >= 0 AND withdrawals >= 0', name=op.f('ck_figure_days_counts_not_negative')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_figure_days_category_id_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_figure_days_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'shop_id', name=op.f('pk_figure_days'))
    )
    with op.batch_alter_table('figure_days', schema=None) as batch_op:
        batch_op.create_index('ix_figure_days_shop_day', ['shop_id', 'day'], unique=False)
    op.create_table('figure_breakdowns',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('dimension', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=20), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.CheckConstraint('orders > 0', name=op.f('ck_figure_breakdowns_orders_positive')),
    sa.PrimaryKeyConstraint('day', 'dimension', 'key', name=op.f('pk_figure_breakdowns'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_paid_at_user_id', ['paid_at', 'user_id'], unique=False)
        batch_op.create_index('ix_orders_user_id_paid_at', ['user_id', 'paid_at'], unique=False)
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_transactions_occurred_at', ['occurred_at'], unique=False)


def downgrade():
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_transactions_occurred_at')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_user_id_paid_at')
        batch_op.drop_index('ix_orders_paid_at_user_id')
    op.drop_table('figure_breakdowns')
    with op.batch_alter_table('figure_days', schema=None) as batch_op:
        batch_op.drop_index('ix_figure_days_shop_day')
    op.drop_table('figure_days')
