"""category names in the English interface

Revision ID: a15e00000001
Revises: f16d00000001
Create Date: 2026-12-06 09:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a15e00000001"
down_revision = "f16d00000001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("categories", sa.Column("name_en", sa.String(length=120), nullable=True))


def downgrade():
    op.drop_column("categories", "name_en")
