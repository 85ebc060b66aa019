"""disputes

Revision ID: b7d41e2c9a05
Revises: 5c1e7a9b3d20
Create Date: 2026-12-06 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d41e2c9a05'
down_revision = '5c1e7a9b3d20'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade():
    op.create_table('disputes',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('stripe_dispute_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', BIGINT, nullable=True),
    sa.Column('charge_id', sa.String(length=64), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('warning_needs_response', 'warning_under_review', 'warning_closed', 'needs_response', 'under_review', 'won', 'lost', name='dispute_status', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('evidence_due_by', WHEN, nullable=True),
    sa.Column('submitted_at', WHEN, nullable=True),
    sa.Column('submitted_by_id', BIGINT, nullable=True),
    sa.Column('closed_at', WHEN, nullable=True),
    sa.Column('opening_notified_at', WHEN, nullable=True),
    sa.Column('closing_notified_at', WHEN, nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_disputes_amount_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_disputes_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_disputes_submitted_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes')),
    sa.UniqueConstraint('stripe_dispute_id', name=op.f('uq_disputes_stripe_dispute_id'))
    )
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disputes_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disputes_charge_id'), ['charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disputes_status'), ['status'], unique=False)

    op.create_table('dispute_parts',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('dispute_id', BIGINT, nullable=False),
    sa.Column('vendor_order_id', BIGINT, nullable=False),
    sa.Column('shop_id', BIGINT, nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('tracking_number', sa.String(length=100), nullable=False),
    sa.Column('evidence_text', sa.Text(), nullable=False),
    sa.Column('evidence_by_id', BIGINT, nullable=True),
    sa.Column('evidence_at', WHEN, nullable=True),
    sa.Column('reversed_cents', sa.BigInteger(), nullable=False),
    sa.Column('stripe_reversal_id', sa.String(length=64), nullable=True),
    sa.Column('reversal_error', sa.String(length=300), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_dispute_parts_amount_not_negative')),
    sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id'], name=op.f('fk_dispute_parts_dispute_id_disputes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vendor_order_id'], ['vendor_orders.id'], name=op.f('fk_dispute_parts_vendor_order_id_vendor_orders')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_dispute_parts_shop_id_shops')),
    sa.ForeignKeyConstraint(['evidence_by_id'], ['users.id'], name=op.f('fk_dispute_parts_evidence_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute_parts')),
    sa.UniqueConstraint('dispute_id', 'vendor_order_id', name=op.f('uq_dispute_parts_dispute_id_vendor_order_id')),
    sa.UniqueConstraint('stripe_reversal_id', name=op.f('uq_dispute_parts_stripe_reversal_id'))
    )
    with op.batch_alter_table('dispute_parts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispute_parts_dispute_id'), ['dispute_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_parts_vendor_order_id'), ['vendor_order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_parts_shop_id'), ['shop_id'], unique=False)


def downgrade():
    with op.batch_alter_table('dispute_parts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispute_parts_shop_id'))
        batch_op.drop_index(batch_op.f('ix_dispute_parts_vendor_order_id'))
        batch_op.drop_index(batch_op.f('ix_dispute_parts_dispute_id'))
    op.drop_table('dispute_parts')
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disputes_status'))
        batch_op.drop_index(batch_op.f('ix_disputes_charge_id'))
        batch_op.drop_index(batch_op.f('ix_disputes_order_id'))
    op.drop_table('disputes')
