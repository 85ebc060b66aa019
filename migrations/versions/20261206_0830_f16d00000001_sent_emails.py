"""the log of e-mails sent

Revision ID: f16d00000001
Revises: f17a00000001
Create Date: 2026-12-06 08:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f16d00000001'
down_revision = 'f17a00000001'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade():
    op.create_table('sent_emails',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('sent_at', WHEN, nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('template', sa.String(length=100), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('order_id', BIGINT, nullable=True),
    sa.Column('vendor_order_id', BIGINT, nullable=True),
    sa.Column('refund_id', BIGINT, nullable=True),
    sa.Column('key', sa.String(length=80), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_emails')),
    sa.UniqueConstraint('key', name=op.f('uq_sent_emails_key'))
    )
    with op.batch_alter_table('sent_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sent_emails_order_id'), ['order_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sent_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sent_emails_order_id'))
    op.drop_table('sent_emails')
