"""dispute files and shares given back

Revision ID: c3a8f1d29e47
Revises: b7d41e2c9a05
Create Date: 2026-12-06 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3a8f1d29e47'
down_revision = 'b7d41e2c9a05'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade():
    op.create_table('dispute_files',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('dispute_id', BIGINT, nullable=False),
    sa.Column('dispute_part_id', BIGINT, nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', BIGINT, nullable=True),
    sa.Column('stripe_file_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.CheckConstraint('size_bytes > 0', name=op.f('ck_dispute_files_size_positive')),
    sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id'], name=op.f('fk_dispute_files_dispute_id_disputes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dispute_part_id'], ['dispute_parts.id'], name=op.f('fk_dispute_files_dispute_part_id_dispute_parts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_dispute_files_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute_files')),
    sa.UniqueConstraint('dispute_id', 'field', name=op.f('uq_dispute_files_dispute_id_field'))
    )
    with op.batch_alter_table('dispute_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispute_files_dispute_id'), ['dispute_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_files_dispute_part_id'), ['dispute_part_id'], unique=False)
    with op.batch_alter_table('dispute_parts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('returned_transfer_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_dispute_parts_returned_transfer_id'), ['returned_transfer_id'])


def downgrade():
    with op.batch_alter_table('dispute_parts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_dispute_parts_returned_transfer_id'), type_='unique')
        batch_op.drop_column('returned_transfer_id')
    with op.batch_alter_table('dispute_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispute_files_dispute_part_id'))
        batch_op.drop_index(batch_op.f('ix_dispute_files_dispute_id'))
    op.drop_table('dispute_files')
