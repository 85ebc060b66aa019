"""transfer reversal retries: their attempts, and when a refused reversal's debt was settled

Revision ID: 5c1e7a9b3d20
Revises: 5e1f0c7a9b24
Create Date: 2026-12-06 06:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c1e7a9b3d20'
down_revision = '5e1f0c7a9b24'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('transfer_reversals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('recovered_cents', sa.BigInteger(), server_default='0', nullable=False))

    op.create_table('transfer_reversal_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reversal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('stripe_reversal_id', sa.String(length=64), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_transfer_reversal_attempts_amount_positive')),
    sa.ForeignKeyConstraint(['reversal_id'], ['transfer_reversals.id'], name=op.f('fk_transfer_reversal_attempts_reversal_id_transfer_reversals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_reversal_attempts')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_transfer_reversal_attempts_idempotency_key'))
    )
    with op.batch_alter_table('transfer_reversal_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_reversal_attempts_reversal_id'), ['reversal_id'], unique=False)


def downgrade():
    with op.batch_alter_table('transfer_reversal_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_reversal_attempts_reversal_id'))

    op.drop_table('transfer_reversal_attempts')
    with op.batch_alter_table('transfer_reversals', schema=None) as batch_op:
        batch_op.drop_column('recovered_cents')
        batch_op.drop_column('settled_at')
