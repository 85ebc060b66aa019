"""The town's figures: the daily rollup (written), and what the manager's dashboard and the shop's
period figures read (read-only).

Money is read from the ledger, so the dashboard agrees with it to the cent: a shop's sales are its
parts' payments (goods and delivery, tax included), its refunds the money given back to shoppers
(net of refunds that failed later), its commission the platform's commission account (net of VAT and
of what refunds gave back). Counts come from the orders. Days are the town's (Europe/Paris).

The rollup keeps one row per (day, shop) and per (day, dimension, key), so a year of the dashboard
reads a few thousand small rows whatever the number of orders. Shoppers cannot be summed across days
(one shopper buying on two days is one shopper): they are counted from the orders for the period, by
an index-only scan of ``orders (paid_at, user_id)``, and a new shopper is one with no payment before
the period (one probe of ``orders (user_id, paid_at)`` each). That stays a few tens of milliseconds at
100,000 orders a year and needs no second copy of the orders kept in step.
"""

from __future__ import annotations

import calendar
import datetime as dt
import importlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date, format_decimal, format_percent
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from app.catalog.models import Category
from app.extensions import db
from app.figures.models import Dimension, FigureBreakdown, FigureDay
from app.orders.models import Order, OrderLine, OrderStatus, ReturnRequest, VendorOrder, VendorOrderStatus
from app.reviews.models import Review, ReviewStatus
from payouts import ledger
from payouts.models import LedgerAccount, LedgerEntry, LedgerTransaction, TransactionKind
from vendors.hours import TOWN_TZ, today
from vendors.models import Shop, ShopStatus

ROLLUP_LOCK_NAMESPACE = 0x46494753  # pg_advisory_xact_lock(namespace, day): one rollup of a day at a time
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2099, 12, 31)  # what a client may ask for; the console stops at today
MAX_DAYS = 366
DEFAULT_PERIOD = "30j"
TOP_SHOPS = 10
TOP_POSTCODES = 10
TOP_PRODUCTS = 5


def day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """From the first instant of ``start`` to the first instant after ``end`` (town time), in UTC."""
    low = dt.datetime.combine(start, dt.time(), tzinfo=TOWN_TZ).astimezone(dt.UTC)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=TOWN_TZ).astimezone(dt.UTC)
    return low, high


def days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


# -- the rollup -----------------------------------------------------------------------------------


# A dashboard showing today recomputes today's rows first, at most once every few minutes per process:
# the hourly job keeps the other days, and today's sales show as they happen.
TODAY_FRESH_SECONDS = 300.0


def refresh_today(period: Period) -> bool:
    """Recompute today's rows (in the caller's transaction, which commits) when ``period`` holds
    today and no dashboard of this process did so in the last few minutes; True when it did."""
    day = today()
    if not period.start <= day <= period.end:
        return False
    done: dict[dt.date, float] = current_app.extensions.setdefault("figures_today", {})
    if time.monotonic() - done.get(day, -TODAY_FRESH_SECONDS) < TODAY_FRESH_SECONDS:
        return False
    rollup_day(day)
    done.clear()
    done[day] = time.monotonic()
    return True


def rollup_day(day: dt.date) -> int:
    """Recompute ``day``'s rows from the orders and the ledger: the day's rows are deleted and written
    again in the caller's transaction (which commits), under a lock on the day, so two runs at once
    wait for each other and the day ends as one of them wrote it. Returns the shop rows written."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
            {"namespace": ROLLUP_LOCK_NAMESPACE, "key": day.toordinal()},
        )
    low, high = day_bounds(day, day)
    rows: dict[int, dict[str, int]] = defaultdict(
        lambda: {
            "orders": 0,
            "items": 0,
            "gmv_cents": 0,
            "refunds_cents": 0,
            "withdrawals": 0,
            "commission_cents": 0,
        }
    )
    breakdown: Counter[tuple[str, str]] = Counter()

    # Money: the ledger's movements of the day, per shop.
    money = (
        sa.select(
            LedgerTransaction.shop_id,
            LedgerTransaction.kind,
            LedgerAccount.code,
            sa.func.sum(LedgerEntry.amount_cents),
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(
            LedgerTransaction.occurred_at >= low,
            LedgerTransaction.occurred_at < high,
            LedgerTransaction.shop_id.is_not(None),
            LedgerAccount.code.in_((ledger.STRIPE, ledger.COMMISSION)),
        )
        .group_by(LedgerTransaction.shop_id, LedgerTransaction.kind, LedgerAccount.code)
    )
    for shop_id, kind, code, amount in db.session.execute(money):
        if shop_id is None:
            continue
        if code == ledger.COMMISSION:
            rows[shop_id]["commission_cents"] -= int(amount)  # a revenue: credits are negative
        elif kind == TransactionKind.SALE:
            rows[shop_id]["gmv_cents"] += int(amount)
        elif kind == TransactionKind.REFUND:
            rows[shop_id]["refunds_cents"] -= int(amount)  # out of the Stripe balance

    # Counts: the shops' parts of the orders paid that day.
    parts = (
        sa.select(
            VendorOrder.id,
            VendorOrder.shop_id,
            VendorOrder.delivery_method,
            Order.id,
            Order.paid_at,
            Order.postcode,
        )
        .join(Order, Order.id == VendorOrder.order_id)
        .where(
            Order.paid_at >= low,
            Order.paid_at < high,
            Order.status != OrderStatus.EXPIRED,
            VendorOrder.status != VendorOrderStatus.PENDING_PAYMENT,
        )
    )
    seen_orders: set[int] = set()
    part_ids: list[int] = []
    for part_id, shop_id, method, order_id, paid_at, postcode in db.session.execute(parts):
        part_ids.append(part_id)
        rows[shop_id]["orders"] += 1
        breakdown[(Dimension.DELIVERY, str(method.value if hasattr(method, "value") else method))] += 1
        if order_id not in seen_orders and paid_at is not None:
            seen_orders.add(order_id)
            breakdown[(Dimension.HOUR, f"{paid_at.astimezone(TOWN_TZ).hour:02d}")] += 1
            breakdown[(Dimension.POSTCODE, (postcode or "").strip().upper()[:20] or "?")] += 1
    for chunk in _chunks(part_ids, 5000):
        items = (
            sa.select(VendorOrder.shop_id, sa.func.sum(OrderLine.quantity))
            .join(OrderLine, OrderLine.vendor_order_id == VendorOrder.id)
            .where(VendorOrder.id.in_(chunk))
            .group_by(VendorOrder.shop_id)
        )
        for shop_id, quantity in db.session.execute(items):
            rows[shop_id]["items"] += int(quantity or 0)

    withdrawals = (
        sa.select(VendorOrder.shop_id, sa.func.count(ReturnRequest.id))
        .join(VendorOrder, VendorOrder.id == ReturnRequest.vendor_order_id)
        .where(ReturnRequest.created_at >= low, ReturnRequest.created_at < high)
        .group_by(VendorOrder.shop_id)
    )
    for shop_id, count in db.session.execute(withdrawals):
        rows[shop_id]["withdrawals"] += int(count)

    categories = dict(
        db.session.execute(sa.select(Shop.id, Shop.category_id).where(Shop.id.in_(list(rows)))).all()
    )
    db.session.execute(sa.delete(FigureDay).where(FigureDay.day == day))
    db.session.execute(sa.delete(FigureBreakdown).where(FigureBreakdown.day == day))
    kept = [
        {"day": day, "shop_id": shop_id, "category_id": categories.get(shop_id), **values}
        for shop_id, values in sorted(rows.items())
        if any(values.values())
    ]
    if kept:
        db.session.execute(sa.insert(FigureDay), kept)
    if breakdown:
        db.session.execute(
            sa.insert(FigureBreakdown),
            [
                {"day": day, "dimension": dimension, "key": key, "orders": count}
                for (dimension, key), count in sorted(breakdown.items())
            ],
        )
    return len(kept)


def _chunks(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for index in range(0, len(values), size):
        yield values[index : index + size]


# -- periods --------------------------------------------------------------------------------------

PERIOD_LABELS: Mapping[str, Any] = {
    "7j": _l("7 derniers jours"),
    "30j": _l("30 derniers jours"),
    "mois": _l("Ce mois-ci"),
    "mois-dernier": _l("Le mois dernier"),
    "annee": _l("Cette année"),
    "dates": _l("Dates choisies"),
}


@dataclass(frozen=True)
class Period:
    """Days from ``start`` to ``end``, both included (town time)."""

    start: dt.date
    end: dt.date
    key: str = "dates"
    notices: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end, "dates")

    def args(self) -> dict[str, str]:
        """The query arguments that give this period again."""
        if self.key == "dates":
            return {"periode": "dates", "du": self.start.isoformat(), "au": self.end.isoformat()}
        return {"periode": self.key}

    @property
    def choices(self) -> list[tuple[str, Any]]:
        """The usual periods (key, label), for a selector."""
        return [(key, label) for key, label in PERIOD_LABELS.items() if key != "dates"]

    @property
    def label(self) -> Any:
        return PERIOD_LABELS.get(self.key, PERIOD_LABELS["dates"])


def month_period(year: int, month: int) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(dt.date(year, month, 1), dt.date(year, month, last), "dates")


def _parse_day(text: str | None) -> dt.date | None:
    if not text or len(text) > 10:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_period(args: Mapping[str, str], now: dt.date | None = None) -> Period:
    """The period asked by ``periode`` (and ``du``/``au`` for chosen dates). Whatever is given, a
    period comes back: unknown or unreadable input falls back to the last 30 days, inverted dates are
    swapped, dates outside what can be shown are brought back, and a period longer than a year is cut
    to its last year; each with a notice saying so."""
    current = now or today()
    key = str(args.get("periode") or DEFAULT_PERIOD)
    notices: list[str] = []
    if key not in PERIOD_LABELS:
        notices.append(str(_l("Période inconnue : les 30 derniers jours sont affichés.")))
        key = DEFAULT_PERIOD
    if key == "7j":
        return Period(current - dt.timedelta(days=6), current, key, tuple(notices))
    if key == "30j":
        return Period(current - dt.timedelta(days=29), current, key, tuple(notices))
    if key == "mois":
        return Period(current.replace(day=1), current, key, tuple(notices))
    if key == "mois-dernier":
        last = current.replace(day=1) - dt.timedelta(days=1)
        return Period(last.replace(day=1), last, key, tuple(notices))
    if key == "annee":
        return Period(current.replace(month=1, day=1), current, key, tuple(notices))
    start, end = _parse_day(args.get("du")), _parse_day(args.get("au"))
    if start is None or end is None:
        notices.append(
            str(_l("Dates illisibles (attendu : AAAA-MM-JJ) : les 30 derniers jours sont affichés."))
        )
        return Period(current - dt.timedelta(days=29), current, DEFAULT_PERIOD, tuple(notices))
    if start > end:
        start, end = end, start
        notices.append(str(_l("La date de début était après la date de fin : elles ont été inversées.")))
    if start < EARLIEST or end > current:
        start, end = (min(max(day, EARLIEST), current) for day in (start, end))
        notices.append(str(_l("Les dates ont été ramenées entre le 1er janvier 2000 et aujourd’hui.")))
    if (end - start).days + 1 > MAX_DAYS:
        start = end - dt.timedelta(days=MAX_DAYS - 1)
        notices.append(
            str(
                _l(
                    "Une période dure au plus %(days)d jours : seuls les derniers sont affichés.",
                    days=MAX_DAYS,
                )
            )
        )
    return Period(start, end, "dates", tuple(notices))


def parse_month(text: str, now: dt.date | None = None) -> Period | None:
    """``AAAA-MM`` of a month already begun, or None."""
    try:
        year, month = (int(part) for part in text.split("-"))
        period = month_period(year, month)
    except ValueError:
        return None
    if period.start < EARLIEST or period.start > (now or today()):
        return None
    return period


# -- the town's totals ----------------------------------------------------------------------------


def _ratio_bps(part: int, whole: int) -> int:
    """``part / whole`` in basis points, rounded half up, within 0..100 %."""
    if whole <= 0 or part <= 0:
        return 0
    return min(10_000, (part * 20_000 + whole) // (2 * whole))


def _mean(total: int, count: int) -> int:
    return (total * 2 + count) // (2 * count) if count else 0


@dataclass(frozen=True)
class Totals:
    gmv_cents: int = 0
    refunds_cents: int = 0
    orders: int = 0  # the shops' parts
    checkouts: int = 0  # the shoppers' orders (one per checkout)
    items: int = 0
    withdrawals: int = 0
    commission_cents: int = 0
    shops_selling: int = 0
    buyers: int = 0
    new_buyers: int = 0
    subscriptions_cents: int = 0
    rating_sum: int = 0
    rating_count: int = 0

    @property
    def net_gmv_cents(self) -> int:
        return self.gmv_cents - self.refunds_cents

    @property
    def basket_cents(self) -> int:
        return _mean(self.gmv_cents, self.checkouts)

    @property
    def returning_buyers(self) -> int:
        return self.buyers - self.new_buyers

    @property
    def refund_rate_bps(self) -> int:
        return _ratio_bps(self.refunds_cents, self.gmv_cents)

    @property
    def withdrawal_rate_bps(self) -> int:
        return _ratio_bps(self.withdrawals, self.orders)

    @property
    def rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else None

    @property
    def rating_text(self) -> str:
        """The mean rating as the reader writes numbers ("4,5" in French), "—" without reviews."""
        return "—" if self.rating is None else format_decimal(self.rating, "#,##0.##")


Pair = tuple["Period", "Period"]


def _in_days(column: Any, period: Period) -> Any:
    return sa.and_(column >= period.start, column <= period.end)


def _in_time(column: Any, period: Period) -> Any:
    low, high = day_bounds(period.start, period.end)
    return sa.and_(column >= low, column < high)


def _rollup_totals(periods: Pair, shop_id: int | None = None) -> list[dict[str, int]]:
    """The rollup's sums for each of the periods, read in one query."""
    columns = []
    for period in periods:
        inside = _in_days(FigureDay.day, period)
        columns += [
            *(
                sa.func.coalesce(sa.func.sum(column).filter(inside), 0)
                for column in (
                    FigureDay.gmv_cents,
                    FigureDay.refunds_cents,
                    FigureDay.orders,
                    FigureDay.items,
                    FigureDay.withdrawals,
                    FigureDay.commission_cents,
                )
            ),
            sa.func.count(sa.distinct(FigureDay.shop_id)).filter(inside, FigureDay.orders > 0),
        ]
    query = sa.select(*columns).where(
        FigureDay.day >= min(period.start for period in periods),
        FigureDay.day <= max(period.end for period in periods),
    )
    if shop_id is not None:
        query = query.where(FigureDay.shop_id == shop_id)
    row = list(db.session.execute(query).one())
    names = (
        "gmv_cents",
        "refunds_cents",
        "orders",
        "items",
        "withdrawals",
        "commission_cents",
        "shops_selling",
    )
    return [
        {name: int(value or 0) for name, value in zip(names, row[index * 7 : index * 7 + 7], strict=True)}
        for index in range(len(periods))
    ]


def _buyers(periods: Pair, shop_id: int | None = None) -> list[tuple[int, int]]:
    """For each period: (shoppers who paid an order in it, of whom had never paid one before it); with
    ``shop_id``, orders from that shop only. One query: the window's shoppers, each probed once per
    period for an earlier order (``orders (user_id, paid_at)``)."""
    low = min(day_bounds(period.start, period.end)[0] for period in periods)
    high = max(day_bounds(period.start, period.end)[1] for period in periods)
    flags = [
        sa.func.max(sa.case((_in_time(Order.paid_at, period), 1), else_=0)).label(f"in_{index}")
        for index, period in enumerate(periods)
    ]
    per_shopper = sa.select(Order.user_id.label("buyer"), *flags).where(
        Order.paid_at >= low, Order.paid_at < high, Order.status != OrderStatus.EXPIRED
    )
    if shop_id is not None:
        per_shopper = per_shopper.join(VendorOrder, VendorOrder.order_id == Order.id).where(
            VendorOrder.shop_id == shop_id
        )
    shoppers = per_shopper.group_by(Order.user_id).subquery("shoppers")

    def earlier(period: Period) -> Any:
        before = orm.aliased(Order)
        query = (
            sa.select(sa.literal(1))
            .select_from(before)
            .where(
                before.user_id == shoppers.c.buyer,
                before.paid_at < day_bounds(period.start, period.end)[0],
                before.status != OrderStatus.EXPIRED,
            )
        )
        if shop_id is not None:
            part = orm.aliased(VendorOrder)
            query = query.join(part, part.order_id == before.id).where(part.shop_id == shop_id)
        return query.exists()

    columns = []
    for index, period in enumerate(periods):
        inside = shoppers.c[f"in_{index}"] == 1
        columns += [sa.func.count().filter(inside), sa.func.count().filter(inside, ~earlier(period))]
    row = list(db.session.execute(sa.select(*columns).select_from(shoppers)).one())
    return [(int(row[index * 2]), int(row[index * 2 + 1])) for index in range(len(periods))]


def _subscriptions(periods: Pair) -> list[int]:
    """For each period, the subscription revenue (net of VAT) the ledger recorded in it."""
    low = min(day_bounds(period.start, period.end)[0] for period in periods)
    high = max(day_bounds(period.start, period.end)[1] for period in periods)
    row = db.session.execute(
        sa.select(
            *(
                sa.func.coalesce(
                    sa.func.sum(LedgerEntry.amount_cents).filter(
                        _in_time(LedgerTransaction.occurred_at, period)
                    ),
                    0,
                )
                for period in periods
            )
        )
        .select_from(LedgerEntry)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(
            LedgerAccount.code == ledger.SUBSCRIPTIONS,
            LedgerTransaction.occurred_at >= low,
            LedgerTransaction.occurred_at < high,
        )
    ).one()
    return [-int(value or 0) for value in row]


def _ratings(periods: Pair, shop_id: int | None = None) -> list[tuple[int, int]]:
    """For each period, (sum, count) of the ratings of the reviews published in it."""
    low = min(day_bounds(period.start, period.end)[0] for period in periods)
    high = max(day_bounds(period.start, period.end)[1] for period in periods)
    columns = []
    for period in periods:
        inside = _in_time(Review.published_at, period)
        columns += [
            sa.func.coalesce(sa.func.sum(Review.rating).filter(inside), 0),
            sa.func.count().filter(inside),
        ]
    query = sa.select(*columns).where(
        Review.status == ReviewStatus.PUBLISHED, Review.published_at >= low, Review.published_at < high
    )
    if shop_id is not None:
        query = query.where(Review.shop_id == shop_id)
    row = list(db.session.execute(query).one())
    return [(int(row[index * 2] or 0), int(row[index * 2 + 1])) for index in range(len(periods))]


def _checkouts(periods: Pair) -> list[int]:
    row = db.session.execute(
        sa.select(
            *(
                sa.func.coalesce(
                    sa.func.sum(FigureBreakdown.orders).filter(_in_days(FigureBreakdown.day, period)), 0
                )
                for period in periods
            )
        ).where(
            FigureBreakdown.dimension == Dimension.HOUR,
            FigureBreakdown.day >= min(period.start for period in periods),
            FigureBreakdown.day <= max(period.end for period in periods),
        )
    ).one()
    return [int(value or 0) for value in row]


def town_totals_pair(period: Period, previous: Period) -> tuple[Totals, Totals]:
    """The town's figures of ``period`` and of ``previous``, each query reading both at once."""
    periods = (period, previous)
    rollups, checkouts = _rollup_totals(periods), _checkouts(periods)
    buyers, ratings, subscriptions = _buyers(periods), _ratings(periods), _subscriptions(periods)
    now, before = (
        Totals(
            **rollups[index],
            checkouts=checkouts[index],
            buyers=buyers[index][0],
            new_buyers=buyers[index][1],
            subscriptions_cents=subscriptions[index],
            rating_sum=ratings[index][0],
            rating_count=ratings[index][1],
        )
        for index in range(2)
    )
    return now, before


def town_totals(start: dt.date, end: dt.date) -> Totals:
    """The town's figures of the days from ``start`` to ``end``."""
    period = Period(start, end)
    return town_totals_pair(period, period.previous())[0]


# -- charts' data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """One chart's numbers: a label and one or more values per row; ``money`` columns are in cents."""

    name: str
    title: Any
    kind: str  # "bar", "hbar", "line" or "pie"
    headers: tuple[Any, ...]
    rows: Sequence[tuple[Any, ...]]
    money: tuple[bool, ...] = ()
    summary: Any = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(any(value for value in row[1:]) for row in self.rows)


def sales_per_day(period: Period, shop_id: int | None = None) -> Chart:
    query = (
        sa.select(FigureDay.day, sa.func.sum(FigureDay.gmv_cents), sa.func.sum(FigureDay.orders))
        .where(FigureDay.day >= period.start, FigureDay.day <= period.end)
        .group_by(FigureDay.day)
    )
    if shop_id is not None:
        query = query.where(FigureDay.shop_id == shop_id)
    found = {day: (int(gmv or 0), int(orders or 0)) for day, gmv, orders in db.session.execute(query)}
    return _sales_chart(period, found)


def _sales_chart(period: Period, found: Mapping[dt.date, tuple[int, int]]) -> Chart:
    rows = [(day.isoformat(), *found.get(day, (0, 0))) for day in days(period.start, period.end)]
    return Chart(
        "ventes",
        _l("Ventes par jour"),
        "line" if period.days > 31 else "bar",
        (_l("Jour"), _l("Ventes TTC"), _l("Commandes")),
        rows,
        (False, True, False),
    )


def sales_per_category(period: Period) -> Chart:
    query = (
        sa.select(
            FigureDay.category_id,
            Category.name,
            sa.func.sum(FigureDay.gmv_cents),
            sa.func.sum(FigureDay.orders),
        )
        .outerjoin(Category, Category.id == FigureDay.category_id)
        .where(FigureDay.day >= period.start, FigureDay.day <= period.end)
        .group_by(FigureDay.category_id, Category.name)
        .order_by(sa.func.sum(FigureDay.gmv_cents).desc())
    )
    rows = [
        (name or str(_l("Sans catégorie")), int(gmv or 0), int(orders or 0))
        for _id, name, gmv, orders in db.session.execute(query)
    ]
    return Chart(
        "categories",
        _l("Ventes par catégorie de boutique"),
        "hbar",
        (_l("Catégorie"), _l("Ventes TTC"), _l("Commandes")),
        rows,
        (False, True, False),
    )


def top_shops(period: Period) -> Chart:
    query = (
        sa.select(
            Shop.name,
            sa.func.sum(FigureDay.gmv_cents),
            sa.func.sum(FigureDay.orders),
            sa.func.sum(FigureDay.refunds_cents),
        )
        .join(Shop, Shop.id == FigureDay.shop_id)
        .where(FigureDay.day >= period.start, FigureDay.day <= period.end)
        .group_by(Shop.id, Shop.name)
        .order_by(sa.func.sum(FigureDay.gmv_cents).desc(), Shop.name)
        .limit(TOP_SHOPS)
    )
    rows = [
        (name, int(gmv or 0), int(orders or 0), int(refunds or 0))
        for name, gmv, orders, refunds in db.session.execute(query)
    ]
    return Chart(
        "boutiques",
        _l("Meilleures boutiques"),
        "hbar",
        (_l("Boutique"), _l("Ventes TTC"), _l("Commandes"), _l("Remboursements")),
        rows,
        (False, True, False, True),
    )


DELIVERY_LABELS: Mapping[str, Any] = {
    "click_collect": _l("Retrait en boutique"),
    "local_delivery": _l("Livraison locale"),
    "home_delivery": _l("Livraison à domicile"),
    "relay": _l("Point relais"),
}


def _breakdown(period: Period, dimension: str) -> list[tuple[dt.date, str, int]]:
    query = sa.select(FigureBreakdown.day, FigureBreakdown.key, FigureBreakdown.orders).where(
        FigureBreakdown.dimension == dimension,
        FigureBreakdown.day >= period.start,
        FigureBreakdown.day <= period.end,
    )
    return [(day, key, int(orders)) for day, key, orders in db.session.execute(query)]


def delivery_mix(period: Period) -> Chart:
    counts: Counter[str] = Counter()
    for _day, key, orders in _breakdown(period, Dimension.DELIVERY):
        counts[key] += orders
    total = sum(counts.values())
    rows = [
        (str(DELIVERY_LABELS.get(key, key)), count, _ratio_bps(count, total))
        for key, count in counts.most_common()
    ]
    return Chart(
        "livraison",
        _l("Modes de livraison"),
        "pie",
        (_l("Mode"), _l("Commandes de boutique"), _l("Part")),
        rows,
        (False, False, False),
        extra={"rates": (False, False, True)},
    )


MONDAY = dt.date(2024, 1, 1)
WEEKDAYS = (
    _l("lundi"),
    _l("mardi"),
    _l("mercredi"),
    _l("jeudi"),
    _l("vendredi"),
    _l("samedi"),
    _l("dimanche"),
)


def orders_by_weekday(period: Period) -> Chart:
    counts = [0] * 7
    for day, _key, orders in _breakdown(period, Dimension.HOUR):
        counts[day.weekday()] += orders
    return Chart(
        "jours",
        _l("Commandes par jour de la semaine"),
        "bar",
        (_l("Jour"), _l("Commandes")),
        [(str(WEEKDAYS[index]), count) for index, count in enumerate(counts)],
        (False, False),
        extra={"short_labels": [format_date(MONDAY + dt.timedelta(days=index), "EEE") for index in range(7)]},
    )


def orders_by_hour(period: Period) -> Chart:
    counts = [0] * 24
    for _day, key, orders in _breakdown(period, Dimension.HOUR):
        if key.isdigit() and int(key) < 24:
            counts[int(key)] += orders
    return Chart(
        "heures",
        _l("Commandes par heure"),
        "bar",
        (_l("Heure"), _l("Commandes")),
        [(f"{hour:02d} h", count) for hour, count in enumerate(counts)],
        (False, False),
    )


def town_postcodes() -> set[str]:
    """The town's own postcodes: those of its approved shops."""
    return {
        code.strip().upper()
        for code in db.session.scalars(
            sa.select(Shop.postcode).where(Shop.status == ShopStatus.APPROVED).distinct()
        )
        if code and code.strip()
    }


def shoppers_by_postcode(period: Period) -> Chart:
    counts: Counter[str] = Counter()
    for _day, key, orders in _breakdown(period, Dimension.POSTCODE):
        counts[key] += orders
    own = town_postcodes()
    total = sum(counts.values())
    in_town = sum(count for key, count in counts.items() if key in own)
    rows: list[tuple[Any, ...]] = [
        (key, count, _ratio_bps(count, total)) for key, count in counts.most_common(TOP_POSTCODES)
    ]
    others = total - sum(row[1] for row in rows)
    if others:
        rows.append((str(_l("Autres codes postaux")), others, _ratio_bps(others, total)))
    return Chart(
        "codes-postaux",
        _l("Commandes par code postal"),
        "pie",
        (_l("Code postal"), _l("Commandes"), _l("Part")),
        rows,
        (False, False, False),
        summary=_l(
            "%(share)s des commandes viennent des codes postaux de la ville (%(codes)s).",
            share=_share_text(_ratio_bps(in_town, total)),
            codes=", ".join(sorted(own)) or "—",
        ),
        extra={"rates": (False, False, True), "in_town": in_town, "elsewhere": total - in_town},
    )


def _share_text(bps: int) -> str:
    from app.money import format_rate

    return format_rate(bps)


TOWN_CHARTS: Mapping[str, Callable[[Period], Chart]] = {
    "ventes": sales_per_day,
    "categories": sales_per_category,
    "boutiques": top_shops,
    "livraison": delivery_mix,
    "jours": orders_by_weekday,
    "heures": orders_by_hour,
    "codes-postaux": shoppers_by_postcode,
}


# -- visits and searches --------------------------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    shop_id: int
    shop_name: str
    views: int
    carts: int
    orders: int

    @property
    def conversion_bps(self) -> int:
        return _ratio_bps(self.orders, self.views)


def funnel(period: Period, limit: int = 20) -> list[Funnel] | None:
    """Visits, cart additions and orders per shop (the most visited first); None when visits are not
    counted on this installation."""
    try:
        from app.visits import services as visits
    except ImportError:
        return None
    views = visits.views_by_shop(period.start, period.end)
    carts = visits.cart_adds_by_shop(period.start, period.end)
    orders = {
        shop_id: int(count or 0)
        for shop_id, count in db.session.execute(
            sa.select(FigureDay.shop_id, sa.func.sum(FigureDay.orders))
            .where(FigureDay.day >= period.start, FigureDay.day <= period.end)
            .group_by(FigureDay.shop_id)
        )
    }
    shop_ids = set(views) | set(carts) | {shop_id for shop_id, count in orders.items() if count}
    names = dict(db.session.execute(sa.select(Shop.id, Shop.name).where(Shop.id.in_(shop_ids))).all())
    rows = [
        Funnel(
            shop_id,
            names.get(shop_id, "?"),
            int(views.get(shop_id, 0)),
            int(carts.get(shop_id, 0)),
            int(orders.get(shop_id) or 0),
        )
        for shop_id in shop_ids
        if shop_id in names
    ]
    rows.sort(key=lambda row: (-row.views, -row.orders, row.shop_name))
    return rows[:limit]


def search_misses(period: Period, limit: int = 30) -> list[tuple[str, int, int]] | None:
    """What shoppers searched for and did not find; None when searches are not recorded here."""
    try:
        misses = importlib.import_module("search.misses")
    except ImportError:
        return None
    return list(misses.top_misses(period.start, period.end, limit=limit))


# -- the town's dashboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    period: Period
    previous: Period
    totals: Totals
    before: Totals
    charts: list[Chart]
    funnel: list[Funnel] | None
    misses: list[tuple[str, int, int]] | None

    @staticmethod
    def change(now: int | float | None, before: int | float | None) -> str:
        return change_text(now, before)


def town_dashboard(period: Period, previous: Period | None = None) -> Dashboard:
    """Everything the manager's dashboard shows for ``period``, with the period before (of the same
    length, unless told) to compare."""
    previous = previous or period.previous()
    totals, before = town_totals_pair(period, previous)
    return Dashboard(
        period=period,
        previous=previous,
        totals=totals,
        before=before,
        charts=[build(period) for build in TOWN_CHARTS.values()],
        funnel=funnel(period),
        misses=search_misses(period),
    )


def change_bps(now: int, before: int) -> int | None:
    """The change from ``before`` to ``now`` in basis points (signed, rounded half away from zero),
    None when there was nothing before."""
    if before <= 0:
        return None
    steps = abs(now - before) * 20_000 + before
    return (1 if now >= before else -1) * (steps // (2 * before))


def change_text(now: int | float | None, before: int | float | None) -> str:
    """ "+12,5 %", "-3 %", "=" or "—" (nothing to compare with), in the reader's language."""
    if now is None or before is None:
        return "—"
    if isinstance(now, float) or isinstance(before, float):
        return "—" if not before else format_percent((now - before) / before, "+#,##0.#%;-#,##0.#%")
    bps = change_bps(now, before)
    if bps is None:
        return "—"
    if bps == 0:
        return "="
    return format_percent(Decimal(bps) / 10_000, "+#,##0.#%;-#,##0.#%")


# -- a shop's period ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopPeriod:
    period: Period
    totals: Totals
    before: Totals
    sales: Chart
    top_products: list[tuple[str, int, int]]  # title, units, sales tax included
    views: int | None  # None: visits are not counted here
    carts: int | None

    @staticmethod
    def change(now: int | float | None, before: int | float | None) -> str:
        return change_text(now, before)

    @property
    def conversion_bps(self) -> int | None:
        return _ratio_bps(self.totals.orders, self.views) if self.views else None


def _shop_days(shop_id: int, period: Period, previous: Period) -> tuple[Totals, Totals, Chart]:
    """The shop's totals for both periods and its sales per day, from one read of its rollup rows, plus
    its shoppers and ratings (one query each)."""
    rows = db.session.execute(
        sa.select(
            FigureDay.day,
            FigureDay.gmv_cents,
            FigureDay.refunds_cents,
            FigureDay.orders,
            FigureDay.items,
            FigureDay.withdrawals,
            FigureDay.commission_cents,
        ).where(
            FigureDay.shop_id == shop_id,
            FigureDay.day >= min(period.start, previous.start),
            FigureDay.day <= max(period.end, previous.end),
        )
    ).all()
    names = ("gmv_cents", "refunds_cents", "orders", "items", "withdrawals", "commission_cents")
    periods = (period, previous)
    sums = [dict.fromkeys(names, 0) for _ in periods]
    for day, *values in rows:
        for index, span in enumerate(periods):
            if span.start <= day <= span.end:
                for name, value in zip(names, values, strict=True):
                    sums[index][name] += int(value or 0)
    buyers, ratings = _buyers(periods, shop_id), _ratings(periods, shop_id)
    now, before = (
        Totals(
            **sums[index],
            checkouts=sums[index]["orders"],  # one part per checkout for one shop
            shops_selling=int(sums[index]["orders"] > 0),
            buyers=buyers[index][0],
            new_buyers=buyers[index][1],
            rating_sum=ratings[index][0],
            rating_count=ratings[index][1],
        )
        for index in range(2)
    )
    by_day = {day: (int(gmv or 0), int(orders or 0)) for day, gmv, _r, orders, *_rest in rows}
    return now, before, _sales_chart(period, by_day)


def top_products(shop_id: int, period: Period, limit: int = TOP_PRODUCTS) -> list[tuple[str, int, int]]:
    """The shop's best sellers of the period: (title as sold, units, sales tax included)."""
    low, high = day_bounds(period.start, period.end)
    query = (
        sa.select(
            sa.func.min(OrderLine.title),
            sa.func.sum(OrderLine.quantity),
            sa.func.sum(OrderLine.total_cents),
        )
        .join(VendorOrder, VendorOrder.id == OrderLine.vendor_order_id)
        .join(Order, Order.id == VendorOrder.order_id)
        .where(
            VendorOrder.shop_id == shop_id,
            VendorOrder.status != VendorOrderStatus.PENDING_PAYMENT,
            Order.paid_at >= low,
            Order.paid_at < high,
            Order.status != OrderStatus.EXPIRED,
        )
        .group_by(sa.func.coalesce(OrderLine.product_id, -OrderLine.id))
        .order_by(sa.func.sum(OrderLine.total_cents).desc())
        .limit(limit)
    )
    return [
        (str(title), int(units or 0), int(total or 0)) for title, units, total in db.session.execute(query)
    ]


def shop_period(shop_id: int, period: Period) -> ShopPeriod:
    """One shop's figures for ``period`` (and the period before): only that shop's rows are read."""
    previous = period.previous()
    views: int | None = None
    carts: int | None = None
    try:
        from app.visits import services as visits
    except ImportError:
        pass
    else:
        views = int(visits.views_by_shop(period.start, period.end, [shop_id]).get(shop_id, 0))
        carts = int(visits.cart_adds_by_shop(period.start, period.end, [shop_id]).get(shop_id, 0))
    totals, before, sales = _shop_days(shop_id, period, previous)
    return ShopPeriod(
        period=period,
        totals=totals,
        before=before,
        sales=sales,
        top_products=top_products(shop_id, period),
        views=views,
        carts=carts,
    )


def shop_period_for(shop_id: int, args: Mapping[str, str]) -> ShopPeriod:
    """``shop_period`` for the period the page's arguments ask (``periode``, ``du``, ``au``)."""
    return shop_period(shop_id, parse_period(args))
