"""The emulator's memory: Stripe objects by id, idempotent responses, and one lock for the threaded server.

Everything lives in memory and dies with the process, like localstripe started ``--from-scratch``. Objects
are kept as the JSON-ready dicts the API returns, so what is stored is exactly what is served.
"""

from __future__ import annotations

import secrets
import string
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import no_such

StripeObject = dict[str, Any]
Clock = Callable[[], float]

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 16) -> str:
    """An id shaped like Stripe's (``acct_1Nv0FGQ9RKHgCVdK``)."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class Collection:
    """The objects of one type, in creation order; Stripe lists them newest first."""

    def __init__(self, object_name: str, url: str) -> None:
        self.object_name = object_name
        self.url = url
        self._items: dict[str, StripeObject] = {}

    def __contains__(self, object_id: object) -> bool:
        return object_id in self._items

    def __iter__(self) -> Iterator[StripeObject]:
        return iter(self._items.values())

    def add(self, obj: StripeObject) -> StripeObject:
        self._items[obj["id"]] = obj
        return obj

    def get(self, object_id: str, *, param: str = "id", status: int = 404) -> StripeObject:
        """The object, or Stripe's ``resource_missing`` error (404 when named in the path, 400 in a param)."""
        try:
            return self._items[object_id]
        except KeyError:
            raise no_such(self.object_name, object_id, param=param, status=status) from None

    def delete(self, object_id: str) -> StripeObject:
        obj = self.get(object_id)
        del self._items[object_id]
        return obj

    def page(
        self,
        query: p.Params,
        *,
        url: str | None = None,
        where: Callable[[StripeObject], bool] | None = None,
    ) -> StripeObject:
        """A Stripe list: ``limit`` (1-100, default 10), ``starting_after``, ``ending_before``, ``created``

        ``where`` keeps only the objects a list's own filters select (``payment_intent=...``).
        """
        limit = p.integer(query.get("limit", "10"), "limit")
        if not 1 <= limit <= 100:
            raise p.invalid_param("limit", "Limit must be between 1 and 100.")
        items = [item for item in reversed(self._items.values()) if where is None or where(item)]
        items = _created_filter(items, query.get("created"))
        after, before = query.get("starting_after"), query.get("ending_before")
        if after and before:
            raise p.invalid_param(
                "starting_after",
                "You may only specify one of these parameters: starting_after, ending_before.",
                code="parameters_exclusive",
            )
        if after:
            index = self._cursor(items, after, "starting_after")
            window, has_more = items[index + 1 : index + 1 + limit], len(items) > index + 1 + limit
        elif before:
            index = self._cursor(items, before, "ending_before")
            window, has_more = items[max(0, index - limit) : index], index - limit > 0
        else:
            window, has_more = items[:limit], len(items) > limit
        return {"object": "list", "data": window, "has_more": has_more, "url": url or self.url}

    def _cursor(self, items: list[StripeObject], object_id: str, param: str) -> int:
        for index, item in enumerate(items):
            if item["id"] == object_id:
                return index
        raise no_such(self.object_name, object_id, param=param)


def _created_filter(items: list[StripeObject], created: Any) -> list[StripeObject]:
    if created is None:
        return items
    if not isinstance(created, dict):
        created = {"eq": created}
    tests: dict[str, Callable[[int, int], bool]] = {
        "eq": lambda a, b: a == b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    p.check_known(created, tests, "created")
    bounds = {op: p.integer(v, f"created[{op}]") for op, v in created.items()}
    return [item for item in items if all(tests[op](item["created"], v) for op, v in bounds.items())]


@dataclass
class IdempotentResult:
    """A POST's response kept under its ``Idempotency-Key``, replayed as it was first answered."""

    fingerprint: str
    status: int
    body: str


@dataclass
class AccountLinkRecord:
    """The private side of an account link: where its single visit leads."""

    token: str
    account: str
    type: str
    refresh_url: str
    return_url: str
    expires_at: int
    session: str | None = None  # set by the first visit; the page's form must carry it back
    finished: bool = False


@dataclass
class AuthenticationRecord:
    """The private side of a 3-D Secure page: the PaymentIntent it authenticates, and where it returns."""

    token: str
    payment_intent: str
    return_url: str | None
    finished: bool = False


@dataclass
class TransferFailureRecord:
    """A control's order that transfers to one account fail with this error (``remaining`` more, or all)."""

    code: str
    message: str
    status: int = 400
    remaining: int | None = 1  # None: every transfer, until cleared


@dataclass(frozen=True)
class CardPricing:
    """Stripe's fee on a card charge: ``bps`` of the amount (rounded half up) plus ``fixed_cents``.

    The default is Stripe's standard pricing for European (EEA) cards, 1.5 % + €0.25; 0 and 0: no fees.
    """

    bps: int = 150
    fixed_cents: int = 25

    def fee(self, amount: int) -> int:
        """The fee on a charge of ``amount``: never more than the charge itself."""
        if amount <= 0 or (self.bps == 0 and self.fixed_cents == 0):
            return 0
        return min(amount, (amount * self.bps + 5_000) // 10_000 + self.fixed_cents)


@dataclass
class BillingRecords:
    """Billing's private side (billing.py): what links a PaymentIntent to its invoice, and hosted pages."""

    invoice_of_payment_intent: dict[str, str] = field(default_factory=dict)
    hosted_invoices: dict[str, str] = field(default_factory=dict)  # hosted_invoice_url token: invoice id
    settling: set[str] = field(default_factory=set)  # PaymentIntents an invoice is paying in this request
    frozen: dict[int, int] = field(default_factory=dict)  # thread id: the test clock time now() answers


@dataclass
class State:
    """All of the emulator's data. Hold ``lock`` to read or change any of it."""

    clock: Clock
    lock: threading.RLock = field(default_factory=threading.RLock)
    accounts: Collection = field(default_factory=lambda: Collection("account", "/v1/accounts"))
    events: Collection = field(default_factory=lambda: Collection("event", "/v1/events"))
    deliveries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    account_links: dict[str, AccountLinkRecord] = field(default_factory=dict)
    payment_intents: Collection = field(
        default_factory=lambda: Collection("payment_intent", "/v1/payment_intents")
    )
    charges: Collection = field(default_factory=lambda: Collection("charge", "/v1/charges"))
    refunds: Collection = field(default_factory=lambda: Collection("refund", "/v1/refunds"))
    payment_methods: Collection = field(
        default_factory=lambda: Collection("PaymentMethod", "/v1/payment_methods")
    )
    cards: dict[str, str] = field(default_factory=dict)  # a PaymentMethod's id: the test id it came from
    authentications: dict[str, AuthenticationRecord] = field(default_factory=dict)  # by token
    idempotency: dict[tuple[str, str], IdempotentResult] = field(default_factory=dict)
    # Money movement (balances.py, resources/transfers.py, resources/balance.py)
    transfers: Collection = field(default_factory=lambda: Collection("transfer", "/v1/transfers"))
    transfer_reversals: Collection = field(
        default_factory=lambda: Collection("transfer_reversal", "/v1/transfers")
    )
    balance_transactions: Collection = field(
        default_factory=lambda: Collection("balance_transaction", "/v1/balance_transactions")
    )
    payouts: Collection = field(default_factory=lambda: Collection("payout", "/v1/payouts"))
    # Disputes (resources/disputes.py); their fee and whether a won dispute gives it back are settings.
    disputes: Collection = field(default_factory=lambda: Collection("dispute", "/v1/disputes"))
    dispute_settings: dict[str, Any] = field(
        default_factory=lambda: {"fee": 2000, "fee_returned_on_win": False}
    )
    # File uploads (resources/files.py): the File objects, and their bytes kept beside them.
    files: Collection = field(default_factory=lambda: Collection("file", "/v1/files"))
    file_contents: dict[str, bytes] = field(default_factory=dict)
    owners: dict[str, str | None] = field(default_factory=dict)  # txn or payout id: account, None: platform
    paid_out: dict[str, str] = field(default_factory=dict)  # balance transaction id: the payout that took it
    transfer_failures: dict[str, TransferFailureRecord] = field(default_factory=dict)  # by account
    card_pricing: CardPricing = field(default_factory=CardPricing)  # Stripe's fee on each card charge

    # Billing (billing.py, resources/customers.py, products.py, subscriptions.py, invoices.py, test_clocks.py)
    customers: Collection = field(default_factory=lambda: Collection("customer", "/v1/customers"))
    products: Collection = field(default_factory=lambda: Collection("product", "/v1/products"))
    prices: Collection = field(default_factory=lambda: Collection("price", "/v1/prices"))
    subscriptions: Collection = field(default_factory=lambda: Collection("subscription", "/v1/subscriptions"))
    invoices: Collection = field(default_factory=lambda: Collection("invoice", "/v1/invoices"))
    invoice_payments: Collection = field(
        default_factory=lambda: Collection("invoice payment", "/v1/invoice_payments")
    )
    test_clocks: Collection = field(
        default_factory=lambda: Collection("test clock", "/v1/test_helpers/test_clocks")
    )
    billing: BillingRecords = field(default_factory=BillingRecords)

    def now(self) -> int:
        """The time, or a test clock's while :meth:`frozen_at` holds it for this thread."""
        frozen = self.billing.frozen.get(threading.get_ident())
        return int(self.clock()) if frozen is None else frozen

    @contextmanager
    def frozen_at(self, moment: int | None) -> Iterator[None]:
        """``now()`` answers ``moment`` in this thread (a test clock's time; ``None``: the real time)."""
        thread = threading.get_ident()
        before = self.billing.frozen.get(thread)
        if moment is None:
            self.billing.frozen.pop(thread, None)
        else:
            self.billing.frozen[thread] = moment
        try:
            yield
        finally:
            if before is None:
                self.billing.frozen.pop(thread, None)
            else:
                self.billing.frozen[thread] = before
