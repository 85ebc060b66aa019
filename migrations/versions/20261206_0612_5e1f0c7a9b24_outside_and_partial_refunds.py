"""outside, partial and goodwill refunds

Revision ID: 5e1f0c7a9b24
Revises: 83f790d18d93
Create Date: 2026-12-06 06:12:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1f0c7a9b24'
down_revision = '83f790d18d93'
branch_labels = None
depends_on = None

OLD_REASONS = ('refused', 'cancelled', 'withdrawal', 'expired')
NEW_REASONS = (*OLD_REASONS, 'partial', 'goodwill', 'external')


def _reasons(values):
    return 'reason IN ({})'.format(', '.join(f"'{value}'" for value in values))


def upgrade():
    op.create_table('external_refunds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stripe_refund_id', sa.String(length=64), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum('to_allocate', 'allocated', 'failed', name='external_refund_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('allocated_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('allocated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_external_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['allocated_by_id'], ['users.id'], name=op.f('fk_external_refunds_allocated_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_external_refunds_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_refunds')),
    sa.UniqueConstraint('stripe_refund_id', name=op.f('uq_external_refunds_stripe_refund_id'))
    )
    with op.batch_alter_table('external_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_refunds_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_refunds_status'), ['status'], unique=False)

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('external_refund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('retried_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index(batch_op.f('ix_refunds_external_refund_id'), ['external_refund_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_refunds_external_refund_id_external_refunds'), 'external_refunds', ['external_refund_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_refunds_retried_by_id_refunds'), 'refunds', ['retried_by_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_refunds_refund_reason'), type_='check')
        batch_op.create_check_constraint(op.f('ck_refunds_refund_reason'), _reasons(NEW_REASONS))


def downgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_refunds_refund_reason'), type_='check')
        batch_op.create_check_constraint(op.f('ck_refunds_refund_reason'), _reasons(OLD_REASONS))
        batch_op.drop_constraint(batch_op.f('fk_refunds_retried_by_id_refunds'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_refunds_external_refund_id_external_refunds'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_refunds_external_refund_id'))
        batch_op.drop_column('retried_by_id')
        batch_op.drop_column('external_refund_id')
        batch_op.drop_column('note')

    with op.batch_alter_table('external_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_refunds_status'))
        batch_op.drop_index(batch_op.f('ix_external_refunds_order_id'))

    op.drop_table('external_refunds')
