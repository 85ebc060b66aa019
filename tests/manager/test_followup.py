"""The manager's follow-up lists find the shops that need a nudge, and only those; a reminder reaches
the shop's owners once a day per list, in their language, and is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, render_template

from app.audit.models import AuditEvent
from app.catalog.models import ProductStatus
from app.database import utcnow
from app.extensions import db
from app.manager import followup, services
from app.manager.models import FollowUpReminder
from app.orders.models import VendorOrderStatus
from payouts.models import Plan, ShopSubscription, SubscriptionStatus
from tests.factories import PASSWORD, ProductFactory, ShopFactory, UserFactory
from tests.manager.support import ready_shop, review
from tests.plugins.application import Client, Mailbox
from tests.reviews.support import login_manager, place, text_of
from vendors.models import MemberRole, ShopMember

NOW = dt.timedelta(0)
DAY = dt.timedelta(days=1)


def _in(name: str) -> set[str]:
    found = followup.find(name)
    assert found is not None
    everyone = followup.page(found, 1)
    return {row.shop.slug for row in everyone.items}


def _subscribe(shop_id: int, price_cents: int, stripe_subscription_id: str | None = None) -> None:
    plan = Plan(slug=f"plan-{shop_id}-{price_cents}", name="Commerçant", monthly_price_cents=price_cents)
    db.session.add(plan)
    db.session.flush()
    db.session.add(
        ShopSubscription(
            shop_id=shop_id,
            plan_id=plan.id,
            status=SubscriptionStatus.INCOMPLETE,
            stripe_subscription_id=stripe_subscription_id,
        )
    )
    db.session.commit()


def test_shops_without_a_payment_account(app_ctx: Flask) -> None:
    ready_shop("en-regle")
    ready_shop(
        "sans-compte", stripe_account_id=None, stripe_charges_enabled=False, stripe_payouts_enabled=False
    )
    ready_shop("virements-coupes", stripe_payouts_enabled=False)
    ready_shop("brouillon", draft=True, stripe_account_id=None)
    assert _in("paiements") == {"sans-compte", "virements-coupes"}


def test_paid_plans_without_a_card(app_ctx: Flask) -> None:
    for slug in ("sans-carte", "gratuit", "payant", "en-regle"):
        ready_shop(slug)
    shops = {shop.slug: shop.id for shop in db.session.scalars(sa.select(ShopFactory._meta.model))}
    _subscribe(shops["sans-carte"], 1900)
    _subscribe(shops["gratuit"], 0)
    _subscribe(shops["payant"], 1900, stripe_subscription_id="sub_123")
    assert _in("carte") == {"sans-carte"}
    page = followup.page(followup.BY_NAME["carte"])
    assert page.items[0].figure == 1900


def test_orders_waiting_more_than_a_day(app_ctx: Flask) -> None:
    late, fresh, accepted_late, shipped = (
        ready_shop(slug) for slug in ("en-retard", "recente", "acceptee", "partie")
    )
    buyer = UserFactory()
    place(buyer, [ProductFactory(shop=late)], VendorOrderStatus.PAID, received=False)  # paid 2 days ago
    recent = place(buyer, [ProductFactory(shop=fresh)], VendorOrderStatus.PAID, received=False)
    recent.order.paid_at = utcnow() - dt.timedelta(hours=3)
    place(buyer, [ProductFactory(shop=accepted_late)], VendorOrderStatus.ACCEPTED, received=False)
    place(buyer, [ProductFactory(shop=shipped)], VendorOrderStatus.SHIPPED, received=False)
    db.session.commit()
    assert _in("commandes") == {"en-retard", "acceptee"}


def test_low_stock_on_online_products(app_ctx: Flask) -> None:
    low, plenty, draft = (ready_shop(slug) for slug in ("stock-bas", "stock-ok", "brouillon-bas"))
    ProductFactory(shop=low, variants=[{"stock": 2}, {"stock": 0}, {"stock": 8}])
    ProductFactory(shop=plenty, variants=[{"stock": 3}])
    ProductFactory(shop=draft, status=ProductStatus.DRAFT, variants=[{"stock": 0}])
    assert _in("stock") == {"stock-bas"}
    assert followup.page(followup.BY_NAME["stock"]).items[0].figure == 2


def test_shops_with_no_product_online(app_ctx: Flask) -> None:
    ready_shop("vitrine")
    ready_shop("vide", product=False)
    drafts_only = ready_shop("brouillons", product=False)
    ProductFactory(shop=drafts_only, status=ProductStatus.DRAFT)
    ready_shop("en-attente", product=False, submitted=True)
    assert _in("catalogue") == {"vide", "brouillons"}


def test_reviews_without_a_reply_after_three_days(app_ctx: Flask) -> None:
    silent, replied, recent = (ready_shop(slug) for slug in ("muette", "repond", "recent"))
    buyer = UserFactory()
    review(place(buyer, [ProductFactory(shop=silent)]), buyer, published_days_ago=4)
    review(place(buyer, [ProductFactory(shop=replied)]), buyer, published_days_ago=5, replied=True)
    review(place(buyer, [ProductFactory(shop=recent)]), buyer, published_days_ago=1)
    assert _in("avis") == {"muette"}


def test_shops_not_seen_for_thirty_days(app_ctx: Flask) -> None:
    ready_shop("active")
    asleep = ready_shop("endormie")
    never = ready_shop("jamais")
    staff_only = ready_shop("equipe")
    for shop, seen in ((asleep, utcnow() - 40 * DAY), (never, None), (staff_only, utcnow() - 60 * DAY)):
        owner = next(member.user for member in shop.members)
        owner.last_login_at = seen
    staff = UserFactory(last_login_at=utcnow() - 2 * DAY)
    db.session.add(ShopMember(shop_id=staff_only.id, user_id=staff.id, role=MemberRole.STAFF))
    db.session.commit()
    assert _in("inactives") == {"endormie", "jamais"}


def test_counts_in_one_query_and_pages(app: Flask, app_ctx: Flask) -> None:
    for number in range(followup.PER_PAGE + 3):
        ready_shop(f"vide-{number:02d}", product=False)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        counts = followup.counts()
        assert len(statements) == 1
        first = followup.page(followup.BY_NAME["catalogue"], 1)
        second = followup.page(followup.BY_NAME["catalogue"], 2)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert counts["catalogue"] == followup.PER_PAGE + 3
    assert len(first.items) == followup.PER_PAGE
    assert first.has_next
    assert len(second.items) == 3
    assert not second.has_next
    # The counts; then per page: count, rows, shops, their members and people, the reminders.
    assert len(statements) == 1 + 2 * 6
    last = followup.page(followup.BY_NAME["catalogue"], 10_000)
    assert last.page == 2


def test_the_console_shows_the_lists_to_the_manager_only(client: Client, app: Flask) -> None:
    with app.test_request_context("/"):
        ready_shop("vide", product=False)
        ready_shop("autre")
    anyone: Client = app.test_client()  # type: ignore[assignment]
    anyone.submit("/connexion", {"email": "owner@autre.example.com", "password": PASSWORD})
    assert anyone.get("/gestion/suivi").status_code == 404
    assert anyone.get("/gestion/suivi/catalogue").status_code == 404
    login_manager(client)
    overview = client.get("/gestion/suivi").get_data(as_text=True)
    assert 'data-testid="count-catalogue">1 boutique<' in overview
    page = text_of(client.get("/gestion/suivi/catalogue"))
    assert "Vide" in page
    assert "owner@vide.example.com" in page
    assert client.get("/gestion/suivi/inconnue").status_code == 404
    assert client.get("/gestion/suivi/catalogue?page=99999999999999999999999").status_code == 200


def test_a_reminder_is_mailed_once_a_day_and_audited(
    client: Client, app: Flask, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.test_request_context("/"):
        shop = ready_shop("vide", product=False)
        shop_id = shop.id
        owner = next(member.user for member in shop.members)
        owner.locale = "en"
        db.session.commit()
    sent: list[dict[str, Any]] = []
    original = services.mail.send

    def recording(to: str, subject: Any, template: str, locale: str | None = None, **context: Any) -> None:
        sent.append({"to": to, "locale": locale, "template": template})
        original(to, subject, template, locale, **context)

    monkeypatch.setattr(services.mail, "send", recording)
    login_manager(client)
    url = f"/gestion/suivi/catalogue/{shop_id}/relancer"
    first = client.submit(url, {}, form_url="/gestion/suivi/catalogue")
    assert first.status_code == 302
    assert "Relance envoyée" in text_of(client.get("/gestion/suivi/catalogue"))
    again = client.submit(url, {}, form_url="/gestion/suivi/catalogue", follow_redirects=True)
    assert "Déjà relancée aujourd’hui." in again.get_data(as_text=True)
    assert sent == [{"to": "owner@vide.example.com", "locale": "en", "template": "manager/reminder"}]
    messages = mailbox.to("owner@vide.example.com")
    assert len(messages) == 1
    assert "/vendeur/vide/produits" in messages[0].text
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "followup_reminder", AuditEvent.subject_id == shop_id
            )
        ).all()
        assert [event.details for event in events] == [{"list": "catalogue"}]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUpReminder)) == 1


def test_a_day_later_the_shop_may_be_reminded_again(app_ctx: Flask) -> None:
    shop = ready_shop("vide", product=False)
    manager = UserFactory(manager=True)
    services.send_reminder(manager, "catalogue", shop.id)
    db.session.commit()
    with pytest.raises(services.ServiceError):
        services.send_reminder(manager, "catalogue", shop.id, now=utcnow() + dt.timedelta(hours=23))
    db.session.rollback()
    services.send_reminder(manager, "catalogue", shop.id, now=utcnow() + dt.timedelta(hours=25))
    db.session.commit()
    # Another list is another reminder, the same day.
    other = ready_shop("sans-compte", product=False, stripe_account_id=None)
    services.send_reminder(manager, "paiements", other.id)
    services.send_reminder(manager, "catalogue", other.id)
    db.session.commit()


def test_odd_reminders_are_refused_clearly(client: Client, app: Flask) -> None:
    with app.test_request_context("/"):
        fine = ready_shop("en-regle").id
    login_manager(client)
    form = "/gestion/suivi/catalogue"
    assert client.submit(f"/gestion/suivi/catalogue/{2**62}/relancer", {}, form_url=form).status_code == 404
    assert client.submit(f"/gestion/suivi/nulle/{fine}/relancer", {}, form_url=form).status_code == 404
    answer = client.submit(
        f"/gestion/suivi/catalogue/{fine}/relancer", {}, form_url=form, follow_redirects=True
    )
    assert "Cette boutique n’est plus dans cette liste." in answer.get_data(as_text=True)


def test_the_console_home_links_each_list_with_its_count(app_ctx: Flask) -> None:
    ready_shop("vide", product=False)
    ready_shop("sans-compte", stripe_account_id=None)
    panel = text_of(render_template("manager/_followup_panel.html"))
    assert "Aucun produit en ligne 1" in panel
    assert "Sans compte de paiement 1" in panel
    assert "Stock bas 0" in panel


def test_every_list_page_shows_its_shops(client: Client, app: Flask) -> None:
    with app.test_request_context("/"):
        shop = ready_shop("tout-a-faire", product=False, stripe_payouts_enabled=False, stripe_account_id=None)
        owner = next(member.user for member in shop.members)
        owner.last_login_at = utcnow() - 40 * DAY
        product = ProductFactory(shop=shop, variants=[{"stock": 1}])
        buyer = UserFactory()
        place(buyer, [product], VendorOrderStatus.PAID, received=False)
        review(place(buyer, [product]), buyer, published_days_ago=5)
        _subscribe(shop.id, 2900)
        ProductFactory(shop=shop, status=ProductStatus.DRAFT)
        counts = followup.counts()
    assert {name for name, count in counts.items() if count} == set(followup.BY_NAME) - {"catalogue"}
    login_manager(client)
    for name in set(followup.BY_NAME) - {"catalogue"}:
        page = text_of(client.get(f"/gestion/suivi/{name}"))
        assert "Tout A Faire" in page, name
        assert "Envoyer une relance" in page, name
    assert "29,00" in text_of(client.get("/gestion/suivi/carte"))
