"""api keys and idempotency records

Revision ID: c18a00000001
Revises: b20a00000001
Create Date: 2026-12-06 10:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c18a00000001"
down_revision = "b20a00000001"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "api_keys",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("shop_id", BIGINT, nullable=True),
        sa.Column("created_by_id", BIGINT, nullable=True),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_used_at", WHEN, nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_api_keys_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_api_keys_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_keys_token_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_keys_created_by_id"), ["created_by_id"], unique=False)

    op.create_table(
        "api_idempotency_records",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("api_key_id", BIGINT, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_api_idempotency_records_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotency_records")),
        sa.UniqueConstraint("api_key_id", "key", name=op.f("uq_api_idempotency_records_api_key_id_key")),
    )
    with op.batch_alter_table("api_idempotency_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_idempotency_records_expires_at"), ["expires_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("api_idempotency_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_idempotency_records_expires_at"))
    op.drop_table("api_idempotency_records")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_created_by_id"))
        batch_op.drop_index(batch_op.f("ix_api_keys_shop_id"))
    op.drop_table("api_keys")
