"""follow-up reminders and announcements to shops

Revision ID: f16e00000001
Revises: f17b00000001
Create Date: 2026-12-06 08:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f16e00000001'
down_revision = 'f17b00000001'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade():
    op.create_table('followup_reminders',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('shop_id', BIGINT, nullable=False),
    sa.Column('list_name', sa.String(length=40), nullable=False),
    sa.Column('sent_at', WHEN, nullable=False),
    sa.Column('sent_by_id', BIGINT, nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_followup_reminders_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_followup_reminders_sent_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_reminders'))
    )
    with op.batch_alter_table('followup_reminders', schema=None) as batch_op:
        batch_op.create_index('ix_followup_reminders_shop_list', ['shop_id', 'list_name', 'sent_at'], unique=False)

    op.create_table('announcements',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('starts_at', WHEN, nullable=False),
    sa.Column('ends_at', WHEN, nullable=True),
    sa.Column('created_by_id', BIGINT, nullable=True),
    sa.Column('sent_at', WHEN, nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.CheckConstraint('ends_at IS NULL OR ends_at >= starts_at', name=op.f('ck_announcements_ends_after_start')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_announcements_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements'))
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index('ix_announcements_period', ['starts_at', 'ends_at'], unique=False)

    op.create_table('announcement_deliveries',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('announcement_id', BIGINT, nullable=False),
    sa.Column('shop_id', BIGINT, nullable=False),
    sa.Column('sent_at', WHEN, nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], name=op.f('fk_announcement_deliveries_announcement_id_announcements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_announcement_deliveries_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcement_deliveries')),
    sa.UniqueConstraint('announcement_id', 'shop_id', name=op.f('uq_announcement_deliveries_announcement_id_shop_id'))
    )
    with op.batch_alter_table('announcement_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_deliveries_shop_id'), ['shop_id'], unique=False)

    op.create_table('announcement_dismissals',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('announcement_id', BIGINT, nullable=False),
    sa.Column('member_id', BIGINT, nullable=False),
    sa.Column('dismissed_at', WHEN, nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], name=op.f('fk_announcement_dismissals_announcement_id_announcements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['shop_members.id'], name=op.f('fk_announcement_dismissals_member_id_shop_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcement_dismissals')),
    sa.UniqueConstraint('announcement_id', 'member_id', name=op.f('uq_announcement_dismissals_announcement_id_member_id'))
    )
    with op.batch_alter_table('announcement_dismissals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_dismissals_member_id'), ['member_id'], unique=False)


def downgrade():
    with op.batch_alter_table('announcement_dismissals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_dismissals_member_id'))
    op.drop_table('announcement_dismissals')
    with op.batch_alter_table('announcement_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_deliveries_shop_id'))
    op.drop_table('announcement_deliveries')
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index('ix_announcements_period')
    op.drop_table('announcements')
    with op.batch_alter_table('followup_reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_followup_reminders_shop_list')
    op.drop_table('followup_reminders')
