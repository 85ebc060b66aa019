"""personal data: export requests, erasure and inactivity markers on accounts

Revision ID: c19c00000001
Revises: c19b00000001
Create Date: 2026-12-06 11:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = "c19c00000001"
down_revision = "c19b00000001"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", WHEN, nullable=True))
        batch_op.add_column(sa.Column("inactivity_warned_at", WHEN, nullable=True))
    op.create_table(
        "personal_data_exports",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("user_id", BIGINT, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "ready",
                "failed",
                "deleted",
                name="data_export_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("file_key", sa.String(length=255), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("ready_at", WHEN, nullable=True),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_personal_data_exports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_exports")),
    )
    with op.batch_alter_table("personal_data_exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personal_data_exports_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_personal_data_exports_expires_at"), ["expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("personal_data_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_data_exports_expires_at"))
        batch_op.drop_index(batch_op.f("ix_personal_data_exports_user_id"))
    op.drop_table("personal_data_exports")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("inactivity_warned_at")
        batch_op.drop_column("erased_at")
