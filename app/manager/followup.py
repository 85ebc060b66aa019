"""The manager's follow-up lists: shops that need a nudge, each list one query over the shops.

Every list is a query of rows ``(shop_id, name, figure, since)``, one per shop, so that a list's count,
all the lists' counts (one query), a page of a list and "is this shop in that list" are read the same
way, in a fixed number of queries whatever the town's size. Read-only; reminders are in services.py.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.catalog.models import Product, ProductStatus, Variant
from app.database import utcnow
from app.extensions import db
from app.manager.models import FollowUpReminder
from app.orders.models import Order, VendorOrder, VendorOrderStatus
from app.reviews.models import Review, ReviewStatus
from payouts.models import Plan, ShopSubscription, SubscriptionStatus
from vendors.dashboard import low_stock_threshold
from vendors.models import Shop, ShopMember, ShopStatus

PER_PAGE = 25
REMINDER_INTERVAL = dt.timedelta(hours=24)
LATE_ORDER_AFTER = dt.timedelta(hours=24)
REVIEW_REPLY_AFTER = dt.timedelta(days=3)
NOT_SEEN_AFTER = dt.timedelta(days=30)

Rows = Callable[[dt.datetime], sa.Select]


@dataclass(frozen=True)
class FollowUpList:
    name: str  # in URLs and in the reminders' records
    title: Any
    hint: Any  # what the list holds, in one sentence
    figure: Any  # the heading of the figure column ("" when the list has none)
    figure_is_money: bool
    since: Any  # the heading of the date column
    rows: Rows


def _approved() -> sa.ColumnElement[bool]:
    return Shop.status == ShopStatus.APPROVED


def _no_payment_account(now: dt.datetime) -> sa.Select:
    return sa.select(Shop.id, Shop.name, sa.null(), Shop.approved_at).where(
        _approved(),
        sa.or_(
            Shop.stripe_account_id.is_(None),
            Shop.stripe_charges_enabled.is_(False),
            Shop.stripe_payouts_enabled.is_(False),
        ),
    )


def _card_missing(now: dt.datetime) -> sa.Select:
    # As the shop's dashboard says "add a card": a paying plan whose billing never started.
    return (
        sa.select(Shop.id, Shop.name, Plan.monthly_price_cents, ShopSubscription.created_at)
        .join(ShopSubscription, ShopSubscription.shop_id == Shop.id)
        .join(Plan, Plan.id == ShopSubscription.plan_id)
        .where(
            _approved(),
            Plan.monthly_price_cents > 0,
            ShopSubscription.stripe_subscription_id.is_(None),
            ShopSubscription.status != SubscriptionStatus.CANCELED,
        )
    )


def _late_orders(now: dt.datetime) -> sa.Select:
    return (
        sa.select(Shop.id, Shop.name, sa.func.count(VendorOrder.id), sa.func.min(Order.paid_at))
        .join(VendorOrder, VendorOrder.shop_id == Shop.id)
        .join(Order, Order.id == VendorOrder.order_id)
        .where(
            VendorOrder.status.in_((VendorOrderStatus.PAID, VendorOrderStatus.ACCEPTED)),
            Order.paid_at <= now - LATE_ORDER_AFTER,
        )
        .group_by(Shop.id, Shop.name)
    )


def _low_stock(now: dt.datetime) -> sa.Select:
    return (
        sa.select(Shop.id, Shop.name, sa.func.count(Variant.id), sa.null())
        .join(Product, Product.shop_id == Shop.id)
        .join(Variant, Variant.product_id == Product.id)
        .where(_approved(), Product.status == ProductStatus.ACTIVE, Variant.stock <= low_stock_threshold())
        .group_by(Shop.id, Shop.name)
    )


def _no_product_online(now: dt.datetime) -> sa.Select:
    online = sa.exists().where(Product.shop_id == Shop.id, Product.status == ProductStatus.ACTIVE)
    return sa.select(Shop.id, Shop.name, sa.null(), Shop.approved_at).where(_approved(), ~online)


def _reviews_unanswered(now: dt.datetime) -> sa.Select:
    return (
        sa.select(Shop.id, Shop.name, sa.func.count(Review.id), sa.func.min(Review.published_at))
        .join(Review, Review.shop_id == Shop.id)
        .where(
            Review.status == ReviewStatus.PUBLISHED,
            Review.published_at <= now - REVIEW_REPLY_AFTER,
            ~Review.reply.has(),
        )
        .group_by(Shop.id, Shop.name)
    )


def _not_seen(now: dt.datetime) -> sa.Select:
    # A member's last log-in is the last sign of life the platform records of a shop's people.
    last_seen = sa.func.max(User.last_login_at)
    return (
        sa.select(Shop.id, Shop.name, sa.null(), last_seen)
        .outerjoin(ShopMember, ShopMember.shop_id == Shop.id)
        .outerjoin(User, User.id == ShopMember.user_id)
        .where(_approved())
        .group_by(Shop.id, Shop.name)
        .having(sa.or_(last_seen.is_(None), last_seen < now - NOT_SEEN_AFTER))
    )


LISTS: Sequence[FollowUpList] = (
    FollowUpList(
        "paiements",
        _l("Sans compte de paiement"),
        _l("Boutiques validées dont le compte Stripe n’existe pas ou ne reçoit pas encore de paiements."),
        "",
        False,
        _l("Validée le"),
        _no_payment_account,
    ),
    FollowUpList(
        "carte",
        _l("Forfait payant sans carte"),
        _l("Boutiques dont le forfait payant n’a pas démarré faute de moyen de paiement."),
        _l("Prix mensuel"),
        True,
        _l("Choisi le"),
        _card_missing,
    ),
    FollowUpList(
        "commandes",
        _l("Commandes en attente"),
        _l("Commandes payées depuis plus de 24 heures et pas encore acceptées ou préparées."),
        _l("Commandes"),
        False,
        _l("Plus ancienne payée le"),
        _late_orders,
    ),
    FollowUpList(
        "stock",
        _l("Stock bas"),
        _l("Variantes de produits en ligne presque épuisées."),
        _l("Variantes"),
        False,
        "",
        _low_stock,
    ),
    FollowUpList(
        "catalogue",
        _l("Aucun produit en ligne"),
        _l("Boutiques validées qui n’ont encore aucun produit en ligne."),
        "",
        False,
        _l("Validée le"),
        _no_product_online,
    ),
    FollowUpList(
        "avis",
        _l("Avis sans réponse"),
        _l("Avis publiés depuis plus de 3 jours auxquels la boutique n’a pas répondu."),
        _l("Avis"),
        False,
        _l("Plus ancien publié le"),
        _reviews_unanswered,
    ),
    FollowUpList(
        "inactives",
        _l("Pas vues depuis 30 jours"),
        _l("Boutiques validées dont personne ne s’est connecté depuis 30 jours."),
        "",
        False,
        _l("Dernière connexion"),
        _not_seen,
    ),
)
BY_NAME = {followup.name: followup for followup in LISTS}
LOW_STOCK_LIST = "stock"


def find(name: str) -> FollowUpList | None:
    return BY_NAME.get(name)


def counts(now: dt.datetime | None = None) -> dict[str, int]:
    """Every list's number of shops, in one query."""
    now = now or utcnow()
    columns = [
        sa.select(sa.func.count()).select_from(followup.rows(now).subquery()).scalar_subquery()
        for followup in LISTS
    ]
    values = db.session.execute(sa.select(*columns)).one()
    return {followup.name: int(value or 0) for followup, value in zip(LISTS, values, strict=True)}


def contains(followup: FollowUpList, shop_id: int, now: dt.datetime | None = None) -> bool:
    rows = followup.rows(now or utcnow()).subquery()
    return bool(db.session.scalar(sa.select(sa.exists().where(rows.c[0] == shop_id))))


@dataclass(frozen=True)
class Row:
    shop: Shop
    figure: int | None
    since: dt.datetime | None
    reminded_at: dt.datetime | None

    @property
    def owners(self) -> list[User]:
        return [member.user for member in self.shop.members if member.is_owner]

    def reminded_recently(self, now: dt.datetime) -> bool:
        return self.reminded_at is not None and self.reminded_at > now - REMINDER_INTERVAL


@dataclass(frozen=True)
class Page:
    """A page of a list, shaped as the templates' ``pagination`` macro reads it."""

    items: list[Row]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def page(followup: FollowUpList, number: int = 1, now: dt.datetime | None = None) -> Page:
    """One page of the list, oldest first, in six queries whatever its length (count, rows, shops,
    their members and people, reminders)."""
    now = now or utcnow()
    rows = followup.rows(now).subquery()
    total = int(db.session.scalar(sa.select(sa.func.count()).select_from(rows)) or 0)
    number = min(max(number, 1), max(1, math.ceil(total / PER_PAGE)))
    shop_id, name, figure, since = rows.c[0], rows.c[1], rows.c[2], rows.c[3]
    found = db.session.execute(
        sa.select(shop_id, figure, since)
        .order_by(since.is_(None).desc(), since, name, shop_id)
        .limit(PER_PAGE)
        .offset((number - 1) * PER_PAGE)
    ).all()
    ids = [row[0] for row in found]
    shops: dict[int, Shop] = {}
    reminded: dict[int, dt.datetime] = {}
    if ids:
        shops = {
            shop.id: shop
            for shop in db.session.scalars(
                sa.select(Shop)
                .where(Shop.id.in_(ids))
                .options(selectinload(Shop.members).selectinload(ShopMember.user))
            )
        }
        reminded = dict(
            db.session.execute(
                sa.select(FollowUpReminder.shop_id, sa.func.max(FollowUpReminder.sent_at))
                .where(FollowUpReminder.list_name == followup.name, FollowUpReminder.shop_id.in_(ids))
                .group_by(FollowUpReminder.shop_id)
            ).all()
        )
    items = [Row(shops[row[0]], row[1], row[2], reminded.get(row[0])) for row in found if row[0] in shops]
    return Page(items, number, PER_PAGE, total)


def last_reminder(followup: FollowUpList, shop_id: int) -> dt.datetime | None:
    return db.session.scalar(
        sa.select(sa.func.max(FollowUpReminder.sent_at)).where(
            FollowUpReminder.list_name == followup.name, FollowUpReminder.shop_id == shop_id
        )
    )
