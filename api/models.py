"""API keys and the answers kept for idempotent POSTs.

A key is shown once, when it is made; only its SHA-256 is kept, with a short visible prefix so that
people can tell their keys apart. A shop's key acts for that shop alone, as the member who made it;
the manager's key reads the town's data and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.database import BigIntId, IdMixin, UTCDateTime, utcnow
from app.extensions import db
from vendors.models import Shop


class ApiKey(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "api_keys"

    # None for the town manager's key.
    shop_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), index=True
    )
    # The person the key acts as: a member of the shop (the key stops working if they leave it), or a
    # manager (the key stops working if they no longer are one).
    created_by_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    # The token's first characters ("mk_live_3fA9…"), shown in lists; never enough to use it.
    prefix: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    shop: Mapped[Shop | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<ApiKey {self.prefix}… shop={self.shop_id}>"


class IdempotencyRecord(IdMixin, db.Model):  # type: ignore[name-defined]
    """The answer given to a POST sent with an ``Idempotency-Key``, sent again for the same key and body
    until ``expires_at`` (24 h); a different body under the same key is a conflict."""

    __tablename__ = "api_idempotency_records"
    __table_args__ = (sa.UniqueConstraint("api_key_id", "key"),)

    api_key_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False
    )
    key: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    # SHA-256 of the method, the path and the body (JSON read and written back with sorted keys).
    request_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # None while the first request is under way.
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    response_headers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
