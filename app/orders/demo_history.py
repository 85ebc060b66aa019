"""Demo town: a plausible past of orders, so that figures, statements and the ledger show something real.

``generate_history`` writes, day by day, the orders the town's shoppers could have placed between two
dates, and everything that followed them up to now: each shop's handling (accepted, ready, shipped,
delivered or collected, sometimes refused or cancelled), withdrawals and a few partial refunds, the
completion once the withdrawal window closed, and the transfer to the shop once the payout hold passed.

The orders are the same records the checkout and the back office write (``Order``, its ``VendorOrder``
parts and lines, frozen prices, VAT, commission and withdrawal exclusions, invoice numbers, ``Refund``,
``ReturnRequest``, the ``CreditNote`` of each refund of an invoiced part (``credit_notes.build_credit_note``,
numbered in the shop's ``AV`` series in the order the refunds were made), ``ShopTransfer``), with the
ledger transactions the real flow posts (``payouts.services``: payment, commission, refund and the
commission it gives back, release, transfer) under the same business keys, kinds and lines, dated when
each happened. The commission is frozen as ``payouts.commission.freeze`` does
and given back by ``commission.refund_share``; ``tests/orders/test_demo_history.py`` runs the real
functions over the result and checks they find their own rows and lines.

For speed (a year at a few hundred orders a day) nothing goes through the session one row at a time:
orders are built in memory, then each batch is written in a few multi-row statements per table, the
ledger transactions with ``ledger.post``'s own checks (lines of zero left out, unbalanced ones refused;
PostgreSQL's constraint trigger checks them again at commit). Batches are committed whole days at a time.

They are marked as demo data: checkout tokens ``demo-history-<seed>-<day>-<n>``, payment status ``demo``.
No payment was made: Stripe never saw them (no PaymentIntent, and their ledger transactions carry no
Stripe id, so the reconciliation with Stripe finds nothing missing, only the platform's balance apart by
their net), no e-mail is sent, and the stock is left as it is (the past does not empty today's shelves).

Deterministic: each day draws from its own ``random.Random`` seeded with the seed and the date, so the
same call on an empty history writes the same orders; a day that already has orders of the seed is left
alone (``flask demo load`` run again adds nothing).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import secrets
import time
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import orm

from app import money
from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.cart import services as cart_services
from app.cart.models import DeliveryMethod
from app.catalog.models import Category, Product, ProductStatus, Variant, WithdrawalExclusion
from app.database import database_backend, next_in_series, utcnow
from app.extensions import db
from app.invoicing import document_number
from app.orders import credit_notes
from app.orders.models import (
    DEMO_HISTORY,
    CreditNote,
    CreditNoteCounter,
    CreditNoteLine,
    InvoiceCounter,
    Order,
    OrderCounter,
    OrderLine,
    OrderStatus,
    Refund,
    RefundReason,
    RefundStatus,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    VendorOrder,
    VendorOrderStatus,
)
from app.orders.services import REFUND_DAYS, WITHDRAWAL_DAYS
from payouts import commission, ledger
from payouts.ledger import Line
from payouts.models import (
    LedgerEntry,
    LedgerTransaction,
    ShopTransfer,
    TransactionKind,
    TransferStatus,
)
from vendors.hours import TOWN_TZ
from vendors.models import Shop, ShopStatus, VatRegime

TOKEN_PREFIX = "demo-history"  # noqa: S105 - a marker, not a secret
PAYMENT_STATUS = DEMO_HISTORY
BATCH = 400  # orders per commit
S = VendorOrderStatus
M = DeliveryMethod

# -- what the town's days look like -----------------------------------------------------------------

# Monday .. Sunday: Saturday is market day; Sundays and Mondays many shops are closed.
WEEKDAY_FACTOR = (0.7, 0.95, 1.0, 1.0, 1.15, 1.55, 0.65)
# January .. December: a quiet summer, a busy run-up to Christmas.
MONTH_FACTOR = (0.85, 0.85, 0.95, 1.0, 1.0, 0.95, 0.85, 0.8, 1.0, 1.05, 1.15, 1.5)
# Orders by hour of the day (town time): shop hours, peaks at lunch and at the end of the day.
HOUR_WEIGHTS = (
    0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.6, 2.6, 3.0, 3.4,
    5.0, 4.6, 3.0, 2.8, 3.0, 3.8, 5.2, 4.6, 3.4, 2.4, 1.4, 0.6,
)  # fmt: skip
HOUR_CUMULATED = list(accumulate(HOUR_WEIGHTS))
SHOPS_PER_BASKET = ((1, 75), (2, 20), (3, 5))
LINES_PER_SHOP = ((1, 50), (2, 30), (3, 13), (4, 7))
QUANTITIES = ((1, 78), (2, 18), (3, 4))
# How shoppers choose, among what the shop offers (local delivery only inside its zone).
METHOD_WEIGHTS = {M.CLICK_COLLECT: 62, M.LOCAL_DELIVERY: 16, M.HOME_DELIVERY: 14, M.RELAY: 8}
REFUSED = 0.02  # the shop refuses the order (out of stock, closed)
CANCELLED = 0.02  # the shopper cancels before the goods leave
WITHDRAWN = {M.CLICK_COLLECT: 0.02, M.LOCAL_DELIVERY: 0.03, M.HOME_DELIVERY: 0.07, M.RELAY: 0.05}
PARTIAL_REFUND = 0.015  # the shop gives part back as a gesture
RETURNING_SHARE = 0.8  # of orders, placed by someone who ordered before this month
LOCAL_SHARE = 0.7  # of shoppers, living in the town's postcodes

TOWN = "Bellerive-sur-Loire"
TOWN_POSTCODES = ("37000", "37100", "37200")
NEARBY = (
    ("37300", "Joué-lès-Tours"),
    ("37170", "Chambray-lès-Tours"),
    ("37540", "Saint-Cyr-sur-Loire"),
    ("37550", "Saint-Avertin"),
    ("37520", "La Riche"),
    ("37230", "Fondettes"),
)
STREETS = (
    "rue Nationale", "rue du Commerce", "quai des Tanneurs", "rue des Halles", "avenue de Grammont",
    "rue Colbert", "place Plumereau", "rue de la Scellerie", "boulevard Béranger", "rue Bernard Palissy",
    "rue du Port", "allée des Tilleuls", "chemin des Vignes", "rue de la Victoire", "impasse des Roses",
    "rue Saint-Martin", "rue des Jardins", "avenue de la Loire", "rue du Moulin", "rue des Écoles",
)  # fmt: skip
FIRST_NAMES = (
    "Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Juliette", "Louise", "Alice", "Jeanne",
    "Anne", "Isabelle", "Nathalie", "Sophie", "Claire", "Élodie", "Margaux", "Lucie", "Pauline", "Hélène",
    "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Thomas", "Nicolas", "Julien", "Antoine",
    "Maxime", "Pierre", "Paul", "Mathieu", "Olivier", "Laurent", "Bruno", "Théo", "Raphaël", "Yanis",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez",
    "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas",
    "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin",
)  # fmt: skip
EMAIL_DOMAINS = ("example.org", "example.test")
CARRIERS = {M.HOME_DELIVERY: ("Colissimo", "Chronopost", "Mondial Relay"), M.RELAY: ("Dépôt relais",)}
REFUSAL_REASONS = (
    "Article épuisé en boutique, désolés.",
    "Boutique fermée exceptionnellement ce jour-là.",
    "Nous ne pouvons pas préparer la commande à temps.",
)
RETURN_REASONS = ("Ne convient pas", "Taille trop petite", "Cadeau en double", "Couleur différente", "")
PARTIAL_NOTES = ("Article abîmé à la livraison", "Retard de préparation", "Produit manquant remplacé")


@dataclass
class HistoryReport:
    """What a run wrote."""

    days: int = 0  # days generated
    skipped_days: int = 0  # days that already had this seed's orders
    orders: int = 0
    parts: int = 0
    lines: int = 0
    shoppers_created: int = 0
    refused: int = 0
    cancelled: int = 0
    withdrawals: int = 0
    partial_refunds: int = 0
    credit_notes: int = 0
    transfers: int = 0
    items_cents: int = 0
    refunded_cents: int = 0
    commission_cents: int = 0
    by_weekday: list[int] = field(default_factory=lambda: [0] * 7)
    by_method: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Orders written per second."""
        return self.orders / self.seconds if self.seconds else 0.0


# -- the catalogue and the shoppers, read once ------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    product_id: int
    category_id: int
    variant_id: int
    title: str
    label: str
    sku: str
    price_cents: int
    vat_bps: int
    exclusion: WithdrawalExclusion | None  # the product's own; None follows its category


@dataclass
class _Shop:
    id: int
    shop: Shop
    items: list[_Item]
    weight: float
    methods: list[M]
    zone: set[str]
    relay_point_ids: list[int]
    return_days: int


@dataclass(eq=False)
class _Shopper:
    index: int
    first_name: str
    last_name: str
    email: str
    street: str
    postcode: str
    city: str
    phone: str
    joined: dt.date
    user_id: int | None = None


def _catalogue(rng: random.Random) -> list[_Shop]:
    shops = list(
        db.session.scalars(
            sa.select(Shop)
            .where(Shop.status == ShopStatus.APPROVED, Shop.billing_hidden_at.is_(None))
            .options(orm.selectinload(Shop.relay_points))
            .order_by(Shop.id)
        )
    )
    rows = db.session.execute(
        sa.select(
            Product.id,
            Product.category_id,
            Product.shop_id,
            Product.title,
            Product.vat_bps,
            Product.withdrawal_exclusion,
            Variant,
        )
        .join(Variant, Variant.product_id == Product.id)
        .where(Product.status == ProductStatus.ACTIVE, Variant.price_cents > 0)
        .order_by(Product.id, Variant.position, Variant.id)
    )
    items: dict[int, list[_Item]] = {}
    for product_id, category_id, shop_id, title, vat_bps, exclusion, variant in rows:
        items.setdefault(shop_id, []).append(
            _Item(
                product_id,
                category_id,
                variant.id,
                title,
                variant.label,
                variant.sku,
                variant.price_cents,
                vat_bps,
                exclusion,
            )
        )
    found = []
    for shop in shops:
        methods = [M(method) for method in shop.delivery_methods]
        if M.RELAY in methods and not shop.relay_points:
            methods.remove(M.RELAY)
        if not items.get(shop.id) or not methods:
            continue
        found.append(
            _Shop(
                id=shop.id,
                shop=shop,
                items=items[shop.id],
                weight=rng.lognormvariate(0, 0.6),  # some shops sell much more than others
                methods=methods,
                zone=set(shop.postcode_zone),
                relay_point_ids=[point.id for point in shop.relay_points],
                return_days=max(WITHDRAWAL_DAYS, shop.return_days),
            )
        )
    return found


def _rng(seed: int, *what: object) -> random.Random:
    """A generator of its own for each thing drawn (a day, a shopper): the same seed draws the same."""
    return random.Random(":".join(str(part) for part in (seed, *what)))  # noqa: S311 - reproducible on purpose


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in plain.lower() if char.isalnum() or char == "-")


def _pool(seed: int, size: int, start: dt.date, end: dt.date) -> list[_Shopper]:
    """The town's shoppers, oldest customers first: over half were customers before ``start``, the others
    join over the period (some new each month)."""
    span = (end - start).days + 1
    people = []
    for index in range(size):
        rng = _rng(seed, "shopper", index)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if rng.random() < LOCAL_SHARE:
            postcode, city = rng.choice(TOWN_POSTCODES), TOWN
        else:
            postcode, city = rng.choice(NEARBY)
        joined = (
            start - dt.timedelta(days=rng.randrange(1, 700))
            if rng.random() < 0.55
            else start + dt.timedelta(days=rng.randrange(span))
        )
        people.append(
            _Shopper(
                index=index,
                first_name=first,
                last_name=last,
                email=f"{_ascii(first)}.{_ascii(last)}.{index}@{EMAIL_DOMAINS[index % 2]}",
                street=f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
                postcode=postcode,
                city=city,
                phone="06 " + " ".join(f"{rng.randint(10, 99)}" for _ in range(4)),
                joined=joined,
            )
        )
    people.sort(key=lambda person: (person.joined, person.index))
    return people


def _weighted(rng: random.Random, choices: Iterable[tuple[int, int]]) -> int:
    values, weights = zip(*choices, strict=True)
    return int(rng.choices(values, weights)[0])


def _orders_on(day: dt.date, per_day: float, rng: random.Random) -> int:
    mean = per_day * WEEKDAY_FACTOR[day.weekday()] * MONTH_FACTOR[day.month - 1]
    if day.month == 12 and 10 <= day.day <= 23:
        mean *= 1.3  # the last fortnight before Christmas
    if (day.month, day.day) in ((12, 25), (1, 1)):
        mean *= 0.2
    if mean <= 0:
        return 0
    # Poisson for small means, its normal approximation for large ones.
    if mean < 30:
        limit, count, product = math.exp(-mean), 0, rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
        return count
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def _local(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), TOWN_TZ).astimezone(dt.UTC)


def _open_hours(moment: dt.datetime, rng: random.Random) -> dt.datetime:
    """``moment``, or the next morning's opening (9 h and a little) when it falls outside 9-19 h."""
    local = moment.astimezone(TOWN_TZ)
    if 9 <= local.hour < 19:
        return moment
    day = local.date() + dt.timedelta(days=1) if local.hour >= 19 else local.date()
    return _local(day, 9, rng.randrange(60))


def _hours(rng: random.Random, low: float, high: float) -> dt.timedelta:
    return dt.timedelta(hours=rng.uniform(low, high))


# -- one order ------------------------------------------------------------------------------------


@dataclass
class _PartPlan:
    """What happens to one shop's part after payment, with the time of each step (None: never)."""

    part: VendorOrder
    shop: _Shop
    refund_kind: str = ""  # refused, cancelled, withdrawal, partial
    refund_at: dt.datetime | None = None
    refund_amount: int = 0
    refund_delivery: int = 0
    token: str = ""  # a partial refund's form token
    release_at: dt.datetime | None = None
    note: str = ""


class _Writer:
    """Builds a batch of orders in memory, then writes it in a few statements per table."""

    def __init__(self, seed: int, now: dt.datetime, report: HistoryReport, password_hash: str) -> None:
        self.seed = seed
        self.now = now
        self.report = report
        self.password_hash = password_hash
        self.hold = dt.timedelta(days=int(current_app.config.get("PAYOUT_HOLD_DAYS", 14)))
        self.vat = cart_services.STANDARD_VAT_BPS
        self.batch: list[tuple[Order, list[_PartPlan]]] = []
        self.new_users: dict[_Shopper, dt.datetime] = {}
        self.buyers: dict[int, _Shopper] = {}
        self.rules: dict[dt.date, commission.Rules] = {}
        self.plans: dict[int, int | None] = {}
        self.accounts: dict[str, int] = {}
        # Refunds of invoiced parts written, whose credit note waits for every earlier refund to be known.
        self.to_credit: list[_Credit] = []
        # Categories with their parents, read once and kept out of the session (commits do not expire them).
        self.categories = {category.id: category for category in db.session.scalars(sa.select(Category))}
        for category in self.categories.values():
            _ = category.parent
        for category in self.categories.values():
            db.session.expunge(category)

    # -- an order as the checkout places it ---------------------------------------------------------

    def order(
        self, rng: random.Random, token: str, placed: dt.datetime, person: _Shopper, shops: list[_Shop]
    ) -> None:
        day = placed.astimezone(TOWN_TZ).date()
        plans: list[_PartPlan] = []
        parts = []
        for shop in shops:
            count = min(_weighted(rng, LINES_PER_SHOP), len(shop.items))
            chosen = sorted(rng.sample(shop.items, count), key=lambda item: item.variant_id)
            lines = []
            for item in chosen:
                quantity = _weighted(rng, QUANTITIES)
                lines.append(
                    OrderLine(
                        variant_id=item.variant_id,
                        product_id=item.product_id,
                        title=item.title,
                        variant_label=item.label,
                        sku=item.sku,
                        unit_price_cents=item.price_cents,
                        quantity=quantity,
                        vat_bps=item.vat_bps,
                        total_cents=item.price_cents * quantity,
                        # As ``Product.withdrawal_exclusion_now`` says at checkout (L221-28).
                        withdrawal_exclusion=item.exclusion
                        or self.categories[item.category_id].default_withdrawal_exclusion,
                    )
                )
            items_cents = sum(line.total_cents for line in lines)
            options = {
                M(option.method): option
                for option in cart_services.delivery_options(shop.shop, items_cents, person.postcode)
                if option.available and M(option.method) in shop.methods
            }
            offered = [method for method in METHOD_WEIGHTS if method in options]
            method = rng.choices(offered, [METHOD_WEIGHTS[method] for method in offered])[0]
            fee = options[method].fee_cents
            part = VendorOrder(
                shop_id=shop.id,
                status=S.PAID,
                delivery_method=method,
                relay_point_id=rng.choice(shop.relay_point_ids) if method == M.RELAY else None,
                delivery_fee_cents=fee,
                delivery_vat_bps=0
                if shop.shop.vat_regime == VatRegime.FRANCHISE
                else self.vat.get(shop.shop.country, 2000),
                items_cents=items_cents,
                total_cents=items_cents + fee,
                lines=lines,
                refunds=[],
                returns=[],
                created_at=placed,
            )
            self.freeze(part, day, [item.category_id for item in chosen])
            parts.append(part)
            plans.append(_PartPlan(part, shop))
        items = sum(part.items_cents for part in parts)
        delivery = sum(part.delivery_fee_cents for part in parts)
        address = any(part.delivery_method in (M.LOCAL_DELIVERY, M.HOME_DELIVERY) for part in parts)
        paid_at = placed + dt.timedelta(seconds=rng.randint(40, 240))
        order = Order(
            checkout_token=token,
            status=OrderStatus.PAID,
            items_cents=items,
            delivery_cents=delivery,
            total_cents=items + delivery,
            currency=money.DEFAULT_CURRENCY,
            email=person.email,
            phone=person.phone,
            full_name=f"{person.first_name} {person.last_name}",
            street=person.street if address else "",
            postcode=person.postcode if address else "",
            city=person.city if address else "",
            country="FR",
            reserved_until=placed + dt.timedelta(minutes=30),
            paid_at=paid_at,
            payment_status=PAYMENT_STATUS,
            terms_version=PAYMENT_STATUS,
            locale="fr",
            vendor_orders=parts,
            created_at=placed,
            updated_at=paid_at,
        )
        if person.user_id is not None:
            order.user_id = person.user_id
        elif person not in self.new_users:
            self.new_users[person] = placed  # their account, created with their first order
        self.buyers[id(order)] = person
        for index, plan in enumerate(plans):
            # Each part's story draws from its own generator: how far it got by now changes nothing else.
            self.handle(_rng(self.seed, token, index), plan, paid_at)
        self.batch.append((order, plans))
        report = self.report
        report.orders += 1
        report.parts += len(parts)
        report.lines += sum(len(part.lines) for part in parts)
        report.items_cents += items
        report.by_weekday[day.weekday()] += 1
        for part in parts:
            method_name = part.delivery_method.value
            report.by_method[method_name] = report.by_method.get(method_name, 0) + 1
            report.commission_cents += part.commission_cents

    def freeze(self, part: VendorOrder, day: dt.date, category_ids: list[int]) -> None:
        """What ``commission.freeze`` sets, with the rules of the order's day read once per batch: each
        line's rate, the part's commission rounded once (plus the fixed fee, never more than the goods)
        and the VAT on it."""
        rules = self.rules.get(day)
        if rules is None:
            rules = self.rules[day] = commission.Rules.on(day)
        if part.shop_id not in self.plans:
            self.plans[part.shop_id] = commission.plan_id_of(part.shop_id)
        plan_id = self.plans[part.shop_id]
        exact = Decimal(0)
        for line, category_id in zip(part.lines, category_ids, strict=True):
            rule = rules.for_line(part.shop_id, self.categories.get(category_id), plan_id)
            line.commission_bps = (
                rule.rate_bps if rule and rule.rate_bps is not None else commission.default_rate_bps()
            )
            exact += money.rate_share(line.total_cents, line.commission_bps)
        fee = rules.fixed_fee(part.shop_id, plan_id)
        part.commission_cents = min(money.round_cents(exact) + fee, part.items_cents)
        part.commission_vat_cents = money.apply_rate(part.commission_cents, commission.COMMISSION_VAT_BPS)

    # -- what each shop did with its part ---------------------------------------------------------

    def handle(self, rng: random.Random, plan: _PartPlan, paid_at: dt.datetime) -> None:
        """Walk the part through its states, each step at its time, up to the first one still to come."""
        part, now = plan.part, self.now
        last = part.updated_at = paid_at
        draw = rng.random()
        if draw < REFUSED + CANCELLED:
            at = _open_hours(paid_at + _hours(rng, 0.3, 3), rng)
            if at > now:
                return
            refused = draw < REFUSED
            part.status = S.CANCELLED
            part.cancelled_at = at
            part.cancel_reason = rng.choice(REFUSAL_REASONS) if refused else "Annulée par le client."
            plan.refund_kind = "refused" if refused else "cancelled"
            plan.refund_at, plan.refund_amount = at, part.total_cents
            plan.refund_delivery = part.delivery_fee_cents
            part.refunded_cents = part.total_cents
            part.updated_at = at
            return
        accepted = _open_hours(paid_at + _hours(rng, 0.2, 4), rng)
        if accepted > now:
            return
        part.status, part.accepted_at, last = S.ACCEPTED, accepted, accepted
        method = part.delivery_method
        if method == M.CLICK_COLLECT:
            ready = _open_hours(accepted + _hours(rng, 0.5, 20), rng)
            part.pickup_slot = ready.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
            if ready > now:
                part.updated_at = last
                return
            part.status, part.ready_at, last = S.READY_FOR_PICKUP, ready, ready
            part.pickup_code = f"{rng.randrange(10**6):06d}"
            received = _open_hours(part.pickup_slot + _hours(rng, 0, 52), rng)
        else:
            if method == M.LOCAL_DELIVERY:
                shipped = _open_hours(accepted + _hours(rng, 0.5, 20), rng)
                received = _open_hours(shipped + _hours(rng, 0.5, 5), rng)
            else:
                shipped = _open_hours(accepted + _hours(rng, 3, 30), rng)
                received = _open_hours(shipped + _hours(rng, 20, 80), rng)
                part.carrier = rng.choice(CARRIERS[method])
                part.tracking_number = f"{rng.randrange(10**12, 10**13)}"
            if shipped > now:
                part.updated_at = last
                return
            part.status, part.shipped_at, last = S.SHIPPED, shipped, shipped
        if received > now:
            part.updated_at = last
            return
        part.status = S.COLLECTED if method == M.CLICK_COLLECT else S.DELIVERED
        part.received_at = last = received
        deadline = received.astimezone(TOWN_TZ).date() + dt.timedelta(days=plan.shop.return_days)
        release = received + self.hold
        draw = rng.random()
        if draw < WITHDRAWN[method]:
            requested = received + _hours(rng, 6, 24 * (plan.shop.return_days - 1))
            if requested <= now and any(line.withdrawable for line in part.lines):
                last = self.withdraw(rng, plan, requested)
                release = max(release, plan.refund_at or release)
        elif draw < WITHDRAWN[method] + PARTIAL_REFUND:
            at = _open_hours(received + _hours(rng, 4, 96), rng)
            if at <= now:
                amount = max(100, int(round(part.items_cents * rng.uniform(0.1, 0.3), -1)))
                plan.refund_kind, plan.refund_at = "partial", at
                plan.refund_amount = min(amount, part.total_cents)
                plan.note = rng.choice(PARTIAL_NOTES)
                plan.token = f"{rng.getrandbits(64):016x}"
                part.refunded_cents = plan.refund_amount
                last = max(last, at)
        if part.status in (S.DELIVERED, S.COLLECTED, S.REFUNDED):
            # The hourly job completes the part the day after the withdrawal window closed.
            completed = _local(deadline + dt.timedelta(days=1), 3, rng.randrange(60))
            if completed <= now:
                part.status, part.completed_at, last = S.COMPLETED, completed, max(last, completed)
        # The hourly transfer job: past the hold, and no withdrawal open.
        release += dt.timedelta(minutes=rng.randrange(5, 60))
        if release <= now and part.status not in (S.RETURN_REQUESTED, S.RETURNED):
            plan.release_at = release
        part.updated_at = last

    def withdraw(self, rng: random.Random, plan: _PartPlan, requested: dt.datetime) -> dt.datetime:
        """The shopper withdraws from some units of the lines the law lets them withdraw from (never an
        excluded one, as ``services.request_withdrawal`` refuses); the shop receives them back and
        refunds them."""
        part = plan.part
        chosen: dict[int, int] = {}
        indexes = [index for index, line in enumerate(part.lines) if line.withdrawable]
        for index in sorted(rng.sample(indexes, rng.randint(1, len(indexes)))):
            chosen[index] = rng.randint(1, part.lines[index].quantity)
        self.report.withdrawals += 1
        part.status = S.RETURN_REQUESTED
        back = _open_hours(requested + _hours(rng, 30, 24 * 6), rng)
        done = back <= self.now
        ReturnRequest(
            vendor_order=part,
            status=ReturnStatus.REFUNDED if done else ReturnStatus.REQUESTED,
            reason=rng.choice(RETURN_REASONS),
            received_at=back if done else None,
            refund_due_on=requested.astimezone(TOWN_TZ).date() + dt.timedelta(days=REFUND_DAYS),
            lines=[ReturnLine(line=part.lines[index], quantity=count) for index, count in chosen.items()],
            created_at=requested,
            updated_at=back if done else requested,
        )
        if not done:
            return requested
        for index, count in chosen.items():
            part.lines[index].returned_quantity = count
        everything = all(line.returned_quantity == line.quantity for line in part.lines)
        delivery = part.delivery_fee_cents if everything else 0
        amount = sum(part.lines[index].unit_price_cents * count for index, count in chosen.items())
        plan.refund_kind, plan.refund_at = "withdrawal", back
        plan.refund_amount, plan.refund_delivery = min(amount + delivery, part.total_cents), delivery
        part.refunded_cents = plan.refund_amount
        part.status = S.REFUNDED
        return back

    # -- writing a batch ----------------------------------------------------------------------------

    def write(self, until: dt.datetime | None = None) -> None:
        """Numbers, then the rows of the batch, each table in one statement (a few hundred rows at a
        time): the objects built above are never added to the session, only read into rows. Then the
        credit notes of the refunds made before ``until`` (all of them when None), see ``credit``."""
        if self.batch:
            self.write_batch()
        self.credit(until)

    def write_batch(self) -> None:
        orders = [order for order, _plans in self.batch]
        self.number(orders)
        users = [
            User(
                email=person.email,
                first_name=person.first_name,
                last_name=person.last_name,
                locale="fr",
                role=Role.SHOPPER,
                is_active=True,
                email_confirmed_at=first - dt.timedelta(minutes=20),
                session_token=secrets.token_hex(16),
                password_hash=self.password_hash,
                created_at=first - dt.timedelta(minutes=25),
                updated_at=first - dt.timedelta(minutes=20),
            )
            for person, first in self.new_users.items()
        ]
        _insert(User, users)
        for person, user in zip(self.new_users, users, strict=True):
            person.user_id = user.id
        self.report.shoppers_created += len(users)
        for order in orders:
            if order.user_id is None:
                order.user_id = self.buyers[id(order)].user_id
        _insert(Order, orders)
        parts = [part for order in orders for part in order.vendor_orders]
        for part in parts:
            part.order_id = part.order.id
        _insert(VendorOrder, parts)
        lines = [line for part in parts for line in part.lines]
        for line in lines:
            line.vendor_order_id = line.vendor_order.id
        _insert(OrderLine, lines)
        requests = [request for part in parts for request in part.returns]
        for request in requests:
            request.vendor_order_id = request.vendor_order.id
        _insert(ReturnRequest, requests)
        returned = [item for request in requests for item in request.lines]
        for item in returned:
            item.request_id, item.order_line_id = item.request.id, item.line.id
        _insert(ReturnLine, returned)
        planned = [plan for _order, plans in self.batch for plan in plans if plan.refund_at]
        refunds = [self.refund(plan) for plan in planned]
        _insert(Refund, refunds)
        self.to_credit += [
            _Credit(done, _refunded_units(done), credit_notes.vat_exempt(plan.shop.shop))
            for plan, done in zip(planned, refunds, strict=True)
            if plan.part.invoice_number
        ]
        settled = [
            {"request_id": request.id, "refund_id": request.refund.id}
            for request in requests
            if request.refund is not None
        ]
        if settled:
            table = ReturnRequest.__table__
            db.session.execute(
                sa.update(table)
                .where(table.c.id == sa.bindparam("request_id"))
                .values(refund_id=sa.bindparam("refund_id")),
                settled,
            )
        postings = _Postings(self.accounts)
        for order, plans in self.batch:
            self.money(postings, order, plans)
        _insert(ShopTransfer, postings.transfers)
        postings.write()
        self.batch, self.new_users, self.buyers, self.rules, self.plans = [], {}, {}, {}, {}

    def number(self, orders: list[Order]) -> None:
        """Order numbers in the year's series (by UTC year, as ``next_number``), and each accepted part's
        invoice number in its shop's series of the year, in the order things happened."""
        by_year: dict[int, list[Order]] = {}
        for order in orders:
            by_year.setdefault(order.created_at.year, []).append(order)
        for year, same in by_year.items():
            for order, number in zip(same, _numbers(OrderCounter, len(same), year=year), strict=True):
                order.number = f"M-{year}-{number:06d}"
        invoiced: dict[tuple[int, int], list[VendorOrder]] = {}
        for part in (part for order in orders for part in order.vendor_orders):
            if part.accepted_at is not None:
                year = part.accepted_at.astimezone(TOWN_TZ).year
                invoiced.setdefault((part.shop_id, year), []).append(part)
        for (shop_id, year), parts in sorted(invoiced.items()):
            parts.sort(key=lambda part: (part.accepted_at, part.created_at))
            numbers = _numbers(InvoiceCounter, len(parts), shop_id=shop_id, year=year)
            for part, number in zip(parts, numbers, strict=True):
                part.invoice_number, part.invoiced_at = f"F-{year}-{number:05d}", part.accepted_at

    def credit(self, until: dt.datetime | None) -> None:
        """The credit notes (``credit_notes.build_credit_note``) of the refunds of invoiced parts made
        before ``until``, numbered in each shop's ``AV`` series of the refund's year in the order the
        refunds were made, dated when they were. A refund can come weeks after its order, so one made
        after ``until`` (the first moment a later batch's orders can be placed) waits for a later call:
        a refund of those orders may come before it and must take the smaller number."""
        ready: list[_Credit] = []
        waiting: list[_Credit] = []
        for credit in self.to_credit:
            (ready if until is None or credit.refund.created_at < until else waiting).append(credit)
        self.to_credit = waiting
        if not ready:
            return
        series: dict[tuple[int, int], list[_Credit]] = {}
        for credit in sorted(ready, key=lambda credit: (credit.refund.created_at, credit.refund.id)):
            year = credit.refund.created_at.astimezone(TOWN_TZ).year
            series.setdefault((credit.refund.vendor_order.shop_id, year), []).append(credit)
        notes = []
        for (shop_id, year), credits in sorted(series.items()):
            numbers = _numbers(CreditNoteCounter, len(credits), shop_id=shop_id, year=year)
            for credit, number in zip(credits, numbers, strict=True):
                notes.append(self.credit_note(credit, document_number(credit_notes.PREFIX, year, number)))
        _insert(CreditNote, notes)
        lines = [line for note in notes for line in note.lines]
        for line in lines:
            line.credit_note_id = line.credit_note.id
        _insert(CreditNoteLine, lines)
        self.report.credit_notes += len(notes)

    @staticmethod
    def credit_note(credit: _Credit, number: str) -> CreditNote:
        done = credit.refund
        part, at = done.vendor_order, done.created_at
        note = credit_notes.build_credit_note(
            part, done, credit.items, number=number, issued_at=at, exempt=credit.exempt
        )
        note.vendor_order_id, note.refund_id = part.id, done.id
        note.created_at = note.updated_at = at
        return note

    def refund(self, plan: _PartPlan) -> Refund:
        part, at = plan.part, plan.refund_at
        assert at is not None
        request = part.returns[-1] if part.returns else None
        reason, key = {
            "refused": (RefundReason.REFUSED, f"vendor-order-{part.id}-cancel"),
            "cancelled": (RefundReason.CANCELLED, f"vendor-order-{part.id}-cancel"),
            "withdrawal": (RefundReason.WITHDRAWAL, f"return-{request.id if request else 0}-refund"),
            "partial": (RefundReason.PARTIAL, f"vendor-order-{part.id}-partial-{plan.token}"),
        }[plan.refund_kind]
        done = Refund(
            vendor_order=part,
            amount_cents=plan.refund_amount,
            delivery_cents=min(plan.refund_delivery, plan.refund_amount),
            reason=reason,
            status=RefundStatus.SUCCEEDED,
            key=key,
            # Marks the money as given back (what the commission engine counts); not a Stripe object.
            stripe_refund_id=f"demo_{key}",
            note=plan.note,
            created_at=at,
            updated_at=at,
        )
        done.vendor_order_id = part.id
        done.commission_cents, done.commission_vat_cents = commission.refund_share(part, done)
        if request is not None:
            request.refund, request.updated_at = done, at
        self.report.refunded_cents += done.amount_cents
        if plan.refund_kind == "refused":
            self.report.refused += 1
        elif plan.refund_kind == "cancelled":
            self.report.cancelled += 1
        elif plan.refund_kind == "partial":
            self.report.partial_refunds += 1
        return done

    def money(self, postings: _Postings, order: Order, plans: list[_PartPlan]) -> None:
        """The ledger transactions ``payouts.services`` posts for the same events (``record_payment``,
        ``record_refund``, ``release``, ``record_transfer``): same keys, kinds and lines, at the time each
        happened. Stripe never saw these orders: no Stripe id, no fee."""
        paid_at = order.paid_at
        assert paid_at is not None
        for plan in plans:
            post_payment(postings.post, plan.part, paid_at)
        for plan in plans:
            part = plan.part
            held = part.total_cents - part.commission_cents - part.commission_vat_cents
            for done in part.refunds:
                # Refunded before any transfer: the money comes out of the part's pending balance.
                account = ledger.pending(part.shop_id)
                postings.post(
                    f"refund-{done.id}",
                    TransactionKind.REFUND,
                    [Line(account, done.amount_cents), Line(ledger.STRIPE, -done.amount_cents)],
                    part,
                    done.created_at,
                )
                given = done.commission_cents + done.commission_vat_cents
                postings.post(
                    f"refund-{done.id}-commission",
                    TransactionKind.COMMISSION_REFUND,
                    [
                        Line(ledger.COMMISSION, done.commission_cents),
                        Line(ledger.COMMISSION_VAT, done.commission_vat_cents),
                        Line(account, -given),
                    ],
                    part,
                    done.created_at,
                )
                held -= done.amount_cents - given
            if plan.release_at is not None:
                postings.transfers.append(post_transfer(postings.post, part, held, plan.release_at))
                self.report.transfers += 1


# How a demo order's ledger transaction is written: ``_Postings.post`` for a batch of history, or
# ``ledger.post`` itself (``post_now``) for the few orders written one by one.
Post = Callable[[str, TransactionKind, list[Line], VendorOrder, dt.datetime], None]


def post_now(key: str, kind: TransactionKind, lines: list[Line], part: VendorOrder, at: dt.datetime) -> None:
    shop_id, number = part.shop_id, part.order.number
    ledger.post(key, kind, lines, shop_id=shop_id, vendor_order_id=part.id, memo=number, occurred_at=at)


def post_payment(post: Post, part: VendorOrder, paid_at: dt.datetime) -> None:
    """What ``payouts.services.record_payment`` posts for a part paid without Stripe: the sale and the
    commission frozen on the part."""
    post(
        f"vendor-order-{part.id}-payment",
        TransactionKind.SALE,
        [Line(ledger.STRIPE, part.total_cents), Line(ledger.pending(part.shop_id), -part.total_cents)],
        part,
        paid_at,
    )
    post(
        f"vendor-order-{part.id}-commission",
        TransactionKind.COMMISSION,
        [
            Line(ledger.pending(part.shop_id), part.commission_cents + part.commission_vat_cents),
            Line(ledger.COMMISSION, -part.commission_cents),
            Line(ledger.COMMISSION_VAT, -part.commission_vat_cents),
        ],
        part,
        paid_at,
    )


def post_transfer(post: Post, part: VendorOrder, held: int, at: dt.datetime) -> ShopTransfer:
    """``payouts.services.release`` and the transfer ``pay_out`` makes of what the part holds, done at
    ``at`` without Stripe: the transfer row to write, paid (netted when nothing was left)."""
    post(
        f"vendor-order-{part.id}-release",
        TransactionKind.RELEASE,
        [Line(ledger.pending(part.shop_id), held), Line(ledger.available(part.shop_id), -held)],
        part,
        at,
    )
    if held > 0:
        post(
            f"vendor-order-{part.id}-transfer",
            TransactionKind.TRANSFER,
            [Line(ledger.available(part.shop_id), held), Line(ledger.STRIPE, -held)],
            part,
            at,
        )
    return ShopTransfer(
        vendor_order_id=part.id,
        shop_id=part.shop_id,
        status=TransferStatus.PAID if held > 0 else TransferStatus.NETTED,
        amount_cents=max(held, 0),
        attempts=1 if held > 0 else 0,
        transferred_at=at,
        created_at=at,
        updated_at=at,
    )


@dataclass(eq=False)
class _Credit:
    """A refund written whose part has an invoice, waiting for its credit note."""

    refund: Refund
    items: dict[int, int] | None  # the units given back, by order line id; None: an amount
    exempt: bool  # the shop is under the VAT franchise


def _refunded_units(done: Refund) -> dict[int, int] | None:
    """The units a refund gives back by order line id (a withdrawal's), None for an amount."""
    request = next((item for item in done.vendor_order.returns if item.refund is done), None)
    return {item.line.id: item.quantity for item in request.lines} if request else None


class _Postings:
    """``ledger.post`` for a whole batch: the same checks (lines of zero left out, a transaction with
    nothing left not written, unbalanced lines refused), the accounts found or created by
    ``ledger.account``; written with the batch. PostgreSQL's constraint trigger checks every transaction
    again at commit."""

    def __init__(self, accounts: dict[str, int]) -> None:
        self.accounts = accounts
        self.transactions: list[dict[str, Any]] = []
        self.entries: list[list[tuple[int, int]]] = []  # each transaction's (account id, amount)
        self.transfers: list[ShopTransfer] = []

    def post(
        self, key: str, kind: TransactionKind, lines: list[Line], part: VendorOrder, at: dt.datetime
    ) -> None:
        kept = [line for line in lines if line.amount_cents]
        total = sum(line.amount_cents for line in kept)
        if total != 0:
            raise ledger.UnbalancedTransaction(f"{key}: entries sum to {total}")
        if not kept:
            return
        for line in kept:
            if line.code not in self.accounts:
                self.accounts[line.code] = ledger.account(line.code).id
        self.entries.append([(self.accounts[line.code], line.amount_cents) for line in kept])
        self.transactions.append(
            {
                "key": key,
                "kind": kind,
                "occurred_at": at,
                "shop_id": part.shop_id,
                "vendor_order_id": part.id,
                "stripe_id": None,
                "memo": part.order.number[:300],
                "created_at": at,
            }
        )

    def write(self) -> None:
        if not self.transactions:
            return
        ids = _insert_rows(LedgerTransaction.__table__, self.transactions)
        rows = [
            {"transaction_id": transaction_id, "account_id": account_id, "amount_cents": amount}
            for transaction_id, entries in zip(ids, self.entries, strict=True)
            for account_id, amount in entries
        ]
        db.session.execute(sa.insert(LedgerEntry.__table__), rows)


def _default_of(column: sa.Column[Any]) -> Callable[[], Any]:
    """What an insert through the session would write in a column left unset."""
    default = column.default
    if default is None:
        return lambda: None
    arg = default.arg  # type: ignore[attr-defined]
    return (lambda: arg(None)) if default.is_callable else (lambda: arg)


def _insert(model: Any, objects: list[Any]) -> None:
    """Insert objects built but never added to the session, as rows (their columns, or the column's
    default), in one statement per few hundred rows; each gets its new id."""
    if not objects:
        return
    table = model.__table__
    columns = [prop.columns[0] for prop in sa.inspect(model).column_attrs if prop.key != "id"]
    defaults = {column.key: _default_of(column) for column in columns}
    rows = []
    for obj in objects:
        state = obj.__dict__
        rows.append(
            {
                column.key: state[column.key] if column.key in state else defaults[column.key]()
                for column in columns
            }
        )
    for obj, new_id in zip(objects, _insert_rows(table, rows), strict=True):
        obj.id = new_id


def _insert_rows(table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows, their new ids in the same order. On PostgreSQL the ids are drawn from the table's
    sequence first, then one statement is sent for all rows (psycopg's pipelined executemany, parsed
    once); elsewhere a multi-row INSERT ... RETURNING."""
    if database_backend() == "postgresql":
        ids = list(
            db.session.execute(
                sa.text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
                ),
                {"table": table.name, "count": len(rows)},
            ).scalars()
        )
        for row, new_id in zip(rows, ids, strict=True):
            row["id"] = new_id
        db.session.execute(sa.insert(table), rows)
        return [int(new_id) for new_id in ids]
    found = db.session.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [int(new_id) for new_id in found.scalars()]


def _numbers(counter: Any, count: int, **key: Any) -> range:
    """``count`` numbers of a gapless series at once: the first drawn by ``next_in_series`` (which
    creates the series), the others by moving its counter on under the same row lock."""
    first = next_in_series(counter, **key)
    if count > 1:
        db.session.execute(
            sa.update(counter)
            .where(*(getattr(counter, column) == value for column, value in key.items()))
            .values(last=counter.last + (count - 1))
        )
    return range(first, first + count)


# -- the run --------------------------------------------------------------------------------------


def _existing_days(seed: int) -> set[str]:
    prefix = f"{TOKEN_PREFIX}-{seed}-"
    tokens = db.session.scalars(
        sa.select(Order.checkout_token).where(Order.checkout_token.startswith(prefix))
    )
    return {token[len(prefix) : len(prefix) + 8] for token in tokens}


def _uncredited(seed: int) -> list[_Credit]:
    """Refunds of this seed's invoiced parts still without their credit note: a run stopped after a
    batch was committed and before the later refunds' notes were written. The next run writes them,
    after all the others already numbered (they were held back because they came later)."""
    refunds = db.session.scalars(
        sa.select(Refund)
        .join(VendorOrder, VendorOrder.id == Refund.vendor_order_id)
        .join(Order, Order.id == VendorOrder.order_id)
        .where(
            Order.checkout_token.startswith(f"{TOKEN_PREFIX}-{seed}-"),
            VendorOrder.invoice_number.is_not(None),
            ~sa.exists().where(CreditNote.refund_id == Refund.id),
        )
        .options(
            orm.joinedload(Refund.vendor_order).options(
                orm.joinedload(VendorOrder.shop),
                orm.joinedload(VendorOrder.order),
                orm.selectinload(VendorOrder.lines),
                orm.selectinload(VendorOrder.returns).selectinload(ReturnRequest.lines),
            )
        )
        .order_by(Refund.id)
    )
    return [
        _Credit(done, _refunded_units(done), credit_notes.vat_exempt(done.vendor_order.shop))
        for done in refunds
    ]


def _known_users(pool: list[_Shopper]) -> None:
    emails = {person.email: person for person in pool}
    for domain in EMAIL_DOMAINS:
        for user_id, email in db.session.execute(
            sa.select(User.id, User.email).where(User.email.endswith(f"@{domain}"))
        ):
            if email in emails:
                emails[email].user_id = user_id


def generate_history(
    start: dt.date,
    end: dt.date,
    orders_per_day: float,
    seed: int,
    *,
    now: dt.datetime | None = None,
    progress: Callable[[HistoryReport], None] | None = None,
) -> HistoryReport:
    """Write the orders of the days from ``start`` to ``end`` (both included, all before ``now``), about
    ``orders_per_day`` a day on average, and commit them in batches. Days that already have orders of
    this ``seed`` are skipped."""
    began = time.perf_counter()
    now = now or utcnow()
    today = now.astimezone(TOWN_TZ).date()
    if end < start:
        raise ValueError("the history ends before it starts")
    if not 0 <= orders_per_day <= 10_000:
        raise ValueError("orders_per_day must be between 0 and 10000")
    end = min(end, today - dt.timedelta(days=1))
    report = HistoryReport()
    town = _catalogue(_rng(seed, "shops"))
    if not town or end < start:
        return report
    span = (end - start).days + 1
    pool = _pool(seed, max(30, round(orders_per_day * span / 5)), start, end)
    joined = [person.joined for person in pool]
    _known_users(pool)
    from app.demo import DEMO_PASSWORD

    writer = _Writer(seed, now, report, accounts.hash_password(DEMO_PASSWORD))
    writer.to_credit = _uncredited(seed)
    done_days = _existing_days(seed)
    shop_weights = list(accumulate(shop.weight for shop in town))
    pending = 0
    for offset in range(span):
        day = start + dt.timedelta(days=offset)
        stamp = day.strftime("%Y%m%d")
        if stamp in done_days:
            report.skipped_days += 1
            continue
        rng = _rng(seed, "day", stamp)
        count = _orders_on(day, orders_per_day, rng)
        hours = sorted(
            (rng.choices(range(24), cum_weights=HOUR_CUMULATED)[0], rng.randrange(60), rng.randrange(60))
            for _ in range(count)
        )
        month_start = day.replace(day=1)
        regulars = bisect_right(joined, month_start - dt.timedelta(days=1))
        newcomers = bisect_right(joined, day)
        report.days += 1
        for number, (hour, minute, second) in enumerate(hours):
            placed = _local(day, hour, minute) + dt.timedelta(seconds=second)
            if placed > now:
                break
            if regulars and (rng.random() < RETURNING_SHARE or newcomers <= regulars):
                # Some regulars order far more often than others.
                person = pool[int(regulars * rng.random() ** 1.6)]
            else:
                person = pool[rng.randrange(regulars, max(newcomers, regulars + 1))]
            basket = min(_weighted(rng, SHOPS_PER_BASKET), len(town))
            shops: list[_Shop] = []
            while len(shops) < basket:
                shop = rng.choices(town, cum_weights=shop_weights)[0]
                if shop not in shops:
                    shops.append(shop)
            writer.order(rng, f"{TOKEN_PREFIX}-{seed}-{stamp}-{number:05d}", placed, person, shops)
            pending += 1
        if pending >= BATCH:  # whole days at a time: a day is written entirely or not at all
            writer.write(until=_local(day + dt.timedelta(days=1), 0, 0))
            db.session.commit()
            pending = 0
            if progress is not None:
                report.seconds = time.perf_counter() - began
                progress(report)
    writer.write()
    db.session.commit()
    report.seconds = time.perf_counter() - began
    return report
