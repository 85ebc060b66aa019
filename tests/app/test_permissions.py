"""The permission table, asked by every back-office route: the whole matrix, through HTTP.

Every route under ``/vendeur`` is requested, with each of its methods, by a visitor, a shopper, a
staff member and the owner of the shop, the owner of another shop and the town's manager; the status
each gets follows from the table. A route added without a permission fails here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask, current_app
from werkzeug.routing import Rule

from api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app import permissions
from app.accounts.models import User
from app.catalog.models import CatalogImport, ImportStatus, Product
from app.database import utcnow
from app.events import Event
from app.extensions import db
from app.orders import credit_notes
from app.orders.documents import issue_invoice
from app.orders.models import Refund, RefundReason, RefundStatus, VendorOrder, VendorOrderStatus
from app.permissions import Actor, Permission
from app.reviews import services as reviews
from app.reviews.models import Review
from payouts.models import CommissionInvoice, Dispute, DisputeFile, DisputePart, DisputeStatus
from tests.factories import PASSWORD, ProductFactory, ShopFactory, UserFactory, owner_of
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator
from tests.reviews.support import GOOD, place
from vendors.models import MemberRole, ShopMember, StaffInvitation
from vendors.services import STEPS

BACKOFFICE = "/vendeur"
# Path values that name no row of a shop's (the same for every shop).
NOT_IDS = frozenset({"year"})
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Shop:
    """One shop and an object of each kind a back-office URL names, as ids."""

    slug: str
    shop_id: int
    owner_email: str
    ids: dict[str, int]


def _shop(slug: str, owner_email: str, buyer_id: int) -> Shop:
    owner = owner_of(ShopFactory(slug=slug, name=slug.title()), email=owner_email)
    shop = owner.shop
    product = ProductFactory(shop=shop, title=f"Produit secret de {slug}")
    buyer = db.session.get(User, buyer_id)
    assert buyer is not None
    to_handle = place(buyer, [product], VendorOrderStatus.PAID, received=False)
    issue_invoice(to_handle)
    # A partial refund of the invoiced part, and so its credit note (the part itself stays paid).
    refund = Refund(
        vendor_order_id=to_handle.id,
        amount_cents=100,
        reason=RefundReason.PARTIAL,
        status=RefundStatus.SUCCEEDED,
        key=f"permissions-{slug}",
    )
    db.session.add(refund)
    db.session.flush()
    credit_note = credit_notes.issue_for_refund(refund)
    assert credit_note is not None
    delivered = place(buyer, [product])
    review = reviews.submit_review(
        buyer, delivered.id, None, reviews.ReviewData(4, f"Avis sur {slug}", GOOD["body"])
    )
    extra = ShopMember(shop_id=shop.id, user_id=UserFactory().id, role=MemberRole.STAFF)
    invitation = StaffInvitation(
        shop_id=shop.id,
        email=f"invite@{slug}.example.com",
        role=MemberRole.STAFF,
        expires_at=utcnow() + dt.timedelta(days=3),
    )
    invoice = CommissionInvoice(
        shop_id=shop.id,
        year=2026,
        month=1,
        number=f"C-{slug}",
        net_cents=100,
        vat_cents=20,
        total_cents=120,
    )
    catalog_import = CatalogImport(
        shop_id=shop.id, filename="produits.csv", stored_path="x.csv", status=ImportStatus.UPLOADED
    )
    dispute = Dispute(
        stripe_dispute_id=f"dp_{slug}",
        order_id=delivered.order_id,
        charge_id=f"ch_{slug}",
        amount_cents=delivered.total_cents,
        status=DisputeStatus.NEEDS_RESPONSE,
    )
    dispute.parts.append(
        DisputePart(vendor_order_id=delivered.id, shop_id=shop.id, amount_cents=delivered.total_cents)
    )
    db.session.add_all([extra, invitation, invoice, catalog_import, dispute])
    db.session.flush()
    evidence = DisputeFile(
        dispute_id=dispute.id,
        dispute_part_id=dispute.parts[0].id,
        field="receipt",
        path=f"disputes/{slug}/{slug}.pdf",
        filename="recu.pdf",
        content_type="application/pdf",
        size_bytes=9,
    )
    db.session.add(evidence)
    webhook = _webhook(shop.id, slug)
    stored = Path(current_app.config["PRIVATE_MEDIA_DIR"]) / evidence.path
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"%PDF-1.4\n")
    db.session.commit()
    return Shop(
        slug=slug,
        shop_id=shop.id,
        owner_email=owner_email,
        ids={
            "product_id": product.id,
            "vendor_order_id": to_handle.id,
            "credit_note_id": credit_note.id,
            "year": utcnow().year,  # a DAC7 statement's: not an id, the same for every shop
            "review_id": review.id,
            "member_id": extra.id,
            "invitation_id": invitation.id,
            "invoice_id": invoice.id,
            "import_id": catalog_import.id,
            "dispute_id": dispute.id,
            "file_id": evidence.id,
            "endpoint_id": webhook.endpoint_id,
            "delivery_id": webhook.id,
        },
    )


def _webhook(shop_id: int, slug: str) -> WebhookDelivery:
    """A webhook endpoint of the shop, with one delivery made."""
    endpoint = WebhookEndpoint(
        shop_id=shop_id,
        url=f"https://hooks.{slug}.example.com/",
        events=["order.paid"],
        secret=f"whsec_{slug}",
    )
    event = Event(public_id=f"evt_{slug}", type="order.paid", shop_id=shop_id, payload={})
    delivery = WebhookDelivery(
        event=event, endpoint=endpoint, status=DeliveryStatus.SUCCEEDED, attempts=1, retry_until=utcnow()
    )
    db.session.add(delivery)
    db.session.flush()
    return delivery


@dataclass
class World:
    mine: Shop
    other: Shop
    staff_email: str
    shopper_email: str
    manager_email: str
    manager_secret: str


@pytest.fixture
def world(app: Flask, db_session: Any, stripe_api: StripeEmulator) -> World:
    # Built in a request context of its own: the clients' requests must not share its ``g``
    # (the CSRF token is kept there).
    with app.test_request_context("/"):
        buyer = UserFactory(email="acheteur@example.com")
        mine = _shop("boutique-a", "owner-a@example.com", buyer.id)
        other = _shop("boutique-b", "owner-b@example.com", buyer.id)
        staff = UserFactory(email="staff-a@example.com")
        db.session.add(ShopMember(shop_id=mine.shop_id, user_id=staff.id, role=MemberRole.STAFF))
        manager = UserFactory(email="gestion@example.com", manager=True, two_factor=True)
        db.session.commit()
        return World(
            mine=mine,
            other=other,
            staff_email="staff-a@example.com",
            shopper_email="acheteur@example.com",
            manager_email="gestion@example.com",
            manager_secret=str(manager.totp_secret),
        )


# -- the people -----------------------------------------------------------------------------------


@dataclass
class Person:
    name: str
    client: Client
    token: str
    # For a shop's pages: the actor the table knows them as in the shop of the URL, None if no member.
    in_shop: Actor | None
    platform: Actor


def _client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()


def _signed_in(app: Flask, email: str, secret: str | None = None) -> Client:
    client = _client(app)
    response = client.submit("/connexion", {"email": email, "password": PASSWORD})
    if secret is not None:
        response = client.submit("/connexion/verification", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302, email
    return client


def _token(client: Client, url: str) -> str:
    found = CSRF.search(client.get(url).get_data(as_text=True))
    assert found, url
    return found.group(1)


def people(app: Flask, world: World) -> list[Person]:
    """In the order they act: those refused first, the shop's own people last (their actions change
    things: an order accepted, a person removed)."""
    anonymous = _client(app)
    made = [Person("visitor", anonymous, _token(anonymous, "/connexion"), None, Actor.ANONYMOUS)]
    for name, email, secret, in_shop, platform in (
        ("shopper", world.shopper_email, None, None, Actor.SHOPPER),
        ("owner of another shop", world.other.owner_email, None, None, Actor.SHOPPER),
        ("manager", world.manager_email, world.manager_secret, None, Actor.MANAGER),
        ("staff", world.staff_email, None, Actor.STAFF, Actor.SHOPPER),
        ("owner", world.mine.owner_email, None, Actor.OWNER, Actor.SHOPPER),
    ):
        client = _signed_in(app, email, secret)
        made.append(Person(name, client, _token(client, "/compte"), in_shop, platform))
    return made


# -- the routes -----------------------------------------------------------------------------------


def backoffice_rules(app: Flask) -> list[Rule]:
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(BACKOFFICE)]
    assert {rule.endpoint.split(".")[0] for rule in rules} >= {
        "vendors_backoffice",
        "payouts_backoffice",
        "catalog_backoffice",
        "catalog_imports",
        "orders_backoffice",
        "reviews_backoffice",
    }
    return rules


def required(app: Flask, rule: Rule, method: str, arguments: dict[str, Any]) -> Permission | None:
    view = app.view_functions[rule.endpoint]
    ask = getattr(view, "required_permission", None)
    assert ask is not None, f"{rule.endpoint} asks no permission of the table"
    return ask(method, arguments)


def requests(app: Flask, shop: Shop, slug: str | None = None) -> list[tuple[Rule, str, str, dict[str, Any]]]:
    """Every (rule, method, path, arguments): settings steps one by one, ids from ``shop``."""
    made = []
    for rule in backoffice_rules(app):
        names = set(rule.arguments) - {"slug", "step"}
        unknown = names - set(shop.ids)
        assert not unknown, f"{rule.endpoint}: give the test an object for {unknown}"
        for step in STEPS if "step" in rule.arguments else (None,):
            values: dict[str, Any] = {name: shop.ids[name] for name in names}
            if step is not None:
                values["step"] = step
            if "slug" in rule.arguments:
                values["slug"] = slug or shop.slug
            path = rule.build(values, append_unknown=False)[1]
            arguments = {name: value for name, value in values.items() if name != "slug"}
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                made.append((rule, method, path, arguments))
    return made


def expected(person: Person, permission: Permission, in_a_shop: bool) -> str:
    if person.platform is Actor.ANONYMOUS:
        return "login"
    if in_a_shop:
        if person.in_shop is None:
            return "not found"
        return "allowed" if permissions.allows(person.in_shop, permission) else "forbidden"
    return "allowed" if permissions.allows(person.platform, permission) else "forbidden"


def outcome(response: Any) -> str:
    status = response.status_code
    if status in {302, 303} and "/connexion" in response.headers.get("Location", ""):
        return "login"
    return {403: "forbidden", 404: "not found"}.get(status, "allowed" if status < 500 else f"error {status}")


def test_every_backoffice_route_answers_each_person_as_the_table_says(app: Flask, world: World) -> None:
    checked = set()
    failures = []
    for person in people(app, world):
        for rule, method, path, arguments in requests(app, world.mine):
            permission = required(app, rule, method, arguments)
            assert permission is not None, f"{method} {path}: no permission"
            checked.add(permission)
            want = expected(person, permission, "slug" in rule.arguments)
            response = person.client.open(path, method=method, data={"csrf_token": person.token})
            got = outcome(response)
            if got != want:
                failures.append(f"{person.name}: {method} {path} ({permission}) {got}, expected {want}")
    assert not failures, "\n".join(failures)
    shop_permissions = set(Permission) - {Permission.TOWN_CONSOLE}
    assert checked == shop_permissions, "every permission of the table guards at least one route"


CONSOLE = "/gestion"


def test_every_console_route_is_the_managers_alone(app: Flask, world: World) -> None:
    """The town's console: the table's manager row. Others get a 404 (its URLs reveal nothing), a
    visitor the log-in page; the manager opens every page that names no object."""
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(CONSOLE)]
    assert len(rules) >= 15
    for rule in rules:
        assert required(app, rule, "GET", {}) is Permission.TOWN_CONSOLE, rule.endpoint
    failures = []
    for person in people(app, world):
        want = expected(person, Permission.TOWN_CONSOLE, in_a_shop=False)
        if want == "forbidden":
            want = "not found"
        for rule in rules:
            path = rule.build(dict.fromkeys(rule.arguments, 1), append_unknown=False)[1]
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                if want == "allowed" and (rule.arguments or method != "GET"):
                    continue  # the manager's actions are the console's own tests
                response = person.client.open(path, method=method, data={"csrf_token": person.token})
                if (got := outcome(response)) != want:
                    failures.append(f"{person.name}: {method} {path} {got}, expected {want}")
    assert not failures, "\n".join(failures)


def test_another_shops_ids_under_this_shops_address_are_404(app: Flask, world: World) -> None:
    owner = _signed_in(app, world.mine.owner_email)
    token = _token(owner, "/compte")
    tried = 0
    for rule, method, path, _ in requests(app, world.other, slug=world.mine.slug):
        if not (set(rule.arguments) & set(world.other.ids)) - NOT_IDS:
            continue
        response = owner.open(path, method=method, data={"csrf_token": token, "body": "Merci !"})
        assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
        assert "boutique-b" not in response.get_data(as_text=True).lower()
        tried += 1
    assert tried >= 20, "every route that names a product, an order, a review, an import, an invoice…"
    db.session.expire_all()
    theirs = world.other.ids
    assert db.session.get(VendorOrder, theirs["vendor_order_id"]).status == VendorOrderStatus.PAID
    assert db.session.get(Review, theirs["review_id"]).reply is None
    assert db.session.get(ShopMember, theirs["member_id"]) is not None
    assert db.session.get(StaffInvitation, theirs["invitation_id"]).revoked_at is None
    products = db.session.scalars(sa.select(Product.id).where(Product.shop_id == world.other.shop_id))
    assert list(products) == [theirs["product_id"]], "no copy made of another shop's product"


def test_the_table_keeps_money_legal_identity_and_the_team_for_the_owner() -> None:
    owner_only = {
        Permission.FINANCES,
        Permission.PAYMENTS,
        Permission.LEGAL,
        Permission.TEAM_MANAGE,
        Permission.SETTINGS,
        Permission.SUBMIT,
        Permission.API_KEYS,
    }
    assert [actor for actor in Actor if permissions.allows(actor, Permission.TOWN_CONSOLE)] == [Actor.MANAGER]
    for permission in set(Permission) - {Permission.TOWN_CONSOLE}:
        assert not permissions.allows(Actor.ANONYMOUS, permission), "a visitor is sent to sign in"
        assert permissions.allows(Actor.OWNER, permission)
        assert permissions.allows(Actor.STAFF, permission) == (permission not in owner_only), permission
        shop_page = permission is not Permission.OPEN_SHOP
        assert permissions.allows(Actor.MANAGER, permission) is not shop_page, "the manager has the console"
        assert permissions.allows(Actor.SHOPPER, permission) is not shop_page
        assert permissions.LABELS[permission]


def test_the_team_page_shows_the_table_to_staff(app: Flask, world: World) -> None:
    staff = _signed_in(app, world.staff_email)
    page = staff.get(f"/vendeur/{world.mine.slug}/equipe").get_data(as_text=True)
    assert 'data-testid="permission-table"' in page
    finances = re.search(r'<tr data-permission="shop.finances">(.*?)</tr>', page, re.S)
    assert finances is not None
    cells = re.findall(r'<td><span aria-hidden="true">(.)</span>', finances.group(1))
    assert cells == ["—", "✓", "—", "—"], "staff, owner, manager, shopper"
    assert "Finances : soldes, virements, relevés, factures, forfait" in page
    nav = page.split('<nav class="tabs"', 1)[1].split("</nav>", 1)[0]
    assert "/finances" not in nav
    assert "/paiements" not in nav
    assert "/commandes" in nav
