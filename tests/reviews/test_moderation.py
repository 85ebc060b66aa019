"""Moderation: automatic checks hold a review for the manager's queue, the manager publishes or
refuses it with a reason, shops and shoppers report published reviews; every decision is in the audit
log and the author hears of it in their language. Negative reviews are published like the others."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask

from app.audit.models import AuditEvent
from app.extensions import db
from app.reviews import moderation, services
from app.reviews.models import RatingSubject, RejectionReason, Review, ReviewStatus
from tests.factories import UserFactory
from tests.plugins.application import Client, Mailbox
from tests.reviews.support import (
    GOOD,
    Bought,
    another_purchase,
    bought,
    login,
    login_manager,
    logout,
    post_review,
    review_now,
    text_of,
)


def fresh(review_id: int) -> Review:
    db.session.expire_all()
    review = db.session.get(Review, review_id)
    assert review is not None
    return review


def audit_actions(review_id: int) -> list[tuple[str, str | None]]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.reason)
        .where(AuditEvent.subject_type == "review", AuditEvent.subject_id == review_id)
        .order_by(AuditEvent.id)
    )
    return [(action, reason) for action, reason in rows]


@pytest.fixture
def purchase(app: Flask, db_session: object) -> Bought:
    with app.test_request_context():
        return bought()


# -- automatic checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body", "code"),
    [
        ("Bien", "Super !", "too_short"),
        (
            "Bon pain",
            "Allez plutôt voir sur https://concurrent.example, c’est moins cher et aussi bon.",
            "link",
        ),
        ("Bon pain", "Le même pain se trouve sur boulangerie-discount.fr pour deux fois moins cher.", "link"),
        (
            "Bon pain",
            "Écrivez-moi à camille.martin@example.com pour en parler, je vous dirai tout.",
            "personal_data",
        ),
        (
            "Bon pain",
            "Appelez-moi au 06 12 34 56 78 si vous voulez la recette de ma grand-mère.",
            "personal_data",
        ),
        ("Nul", "Ce boulanger est un vrai connard, il m’a mal rendu la monnaie ce matin-là.", "banned_word"),
        (
            "Bad",
            "The baker was rude and the bread was total shit, I will never come back here.",
            "banned_word",
        ),
        (
            "Escroc",
            "Quel ENCULÉ ce vendeur, le pain était rassis et il a refusé de l’échanger.",
            "banned_word",
        ),
    ],
)
def test_a_check_sends_the_review_to_the_queue_instead_of_publishing_it(
    client: Client, purchase: Bought, title: str, body: str, code: str
) -> None:
    response = post_review(client, purchase.url(0), title=title, body=body)
    assert response.status_code == 302
    review = db.session.scalars(
        sa.select(Review).where(Review.vendor_order_id == purchase.vendor_order_id)
    ).one()
    assert (review.status, code in review.flags) == (ReviewStatus.PENDING, True)
    assert "sera publié après une vérification" in text_of(client.get(response.headers["Location"]))
    assert title not in text_of(client.get(f"/produits/{purchase.product_ids[0]}"))


def test_a_negative_review_is_published_at_once_like_a_positive_one(client: Client, purchase: Bought) -> None:
    body = "Pain rassis, croûte molle, et des fruits pourris dans la tarte. Très déçu de cette commande."
    post_review(client, purchase.url(0), rating="1", title="Très déçu", body=body)
    review = db.session.scalars(
        sa.select(Review).where(Review.vendor_order_id == purchase.vendor_order_id)
    ).one()
    assert (review.status, review.flags) == (ReviewStatus.PUBLISHED, [])
    assert "Très déçu" in text_of(client.get(f"/produits/{purchase.product_ids[0]}"))


def test_the_same_text_posted_many_times_is_held_from_the_third_copy(app: Flask, purchase: Bought) -> None:
    body = "Excellent produit, livraison rapide, je recommande vivement cette boutique à tout le monde."
    with app.test_request_context():
        others = [another_purchase(purchase) for _ in range(3)]
        statuses = [fresh(review_now(buyer, title="Top", body=body)).status for buyer in [purchase, *others]]
    assert statuses == [
        ReviewStatus.PUBLISHED,
        ReviewStatus.PUBLISHED,
        ReviewStatus.PENDING,
        ReviewStatus.PENDING,
    ]
    held = db.session.scalars(sa.select(Review).where(Review.status == ReviewStatus.PENDING)).all()
    assert all("duplicate" in review.flags for review in held)


def test_the_checks_ignore_case_and_accents_and_whole_words_only(app_ctx: Flask) -> None:
    assert moderation.check("Titre", "Un pain CRÉTIN, vraiment, je vous le dis franchement.") == [
        "banned_word"
    ]
    assert moderation.check("Titre", "Une baguette bien cuite, croustillante, avec une mie moelleuse.") == []
    assert moderation.check("Titre", "Le pain est connu dans tout le quartier pour sa qualité.") == []


def test_editing_a_published_review_into_an_insult_takes_it_offline(app: Flask, purchase: Bought) -> None:
    with app.test_request_context():
        review_id = review_now(purchase, rating=4)
        assert services.summary(RatingSubject.PRODUCT, purchase.product_ids[0]).review_count == 1  # type: ignore[union-attr]
        services.edit_review(
            purchase.buyer(),
            review_id,
            services.ReviewData(1, "Nul", "Ce vendeur est un salaud, voilà tout ce que j’en dis."),
        )
        db.session.commit()
    assert fresh(review_id).status == ReviewStatus.PENDING
    assert services.summary(RatingSubject.PRODUCT, purchase.product_ids[0]).review_count == 0  # type: ignore[union-attr]


# -- the manager's queue --------------------------------------------------------------------------


@pytest.fixture
def held(app: Flask, purchase: Bought) -> int:
    with app.test_request_context():
        return review_now(
            purchase, title="Allez voir ailleurs", body="Moins cher sur www.ailleurs.example, foncez."
        )


def test_the_queue_lists_held_reviews_with_why_and_the_console_has_a_tab(client: Client, held: int) -> None:
    login_manager(client)
    page = client.get("/gestion/avis")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Allez voir ailleurs" in html
    assert "Lien ou adresse de site" in html
    assert 'href="/gestion/avis"' in client.get("/gestion/").get_data(as_text=True)
    assert re.search(r'data-testid="reviews-badge"[^>]*>1<', html)


def test_the_queue_is_for_managers_only(client: Client, held: int, purchase: Bought) -> None:
    login(client, purchase.owner_email)
    assert client.get("/gestion/avis").status_code == 404
    assert client.post(f"/gestion/avis/{held}/publier").status_code in (400, 404)
    assert fresh(held).status == ReviewStatus.PENDING


def test_the_manager_publishes_and_the_author_is_told(
    client: Client, mailbox: Mailbox, held: int, purchase: Bought
) -> None:
    manager_id = login_manager(client)
    response = client.submit(f"/gestion/avis/{held}/publier", {}, form_url="/gestion/avis")
    assert response.status_code == 302
    review = fresh(held)
    assert (review.status, review.decided_by_id, review.published_at is not None) == (
        ReviewStatus.PUBLISHED,
        manager_id,
        True,
    )
    assert audit_actions(held) == [("submitted", None), ("published", None)]
    told = mailbox.last_to(purchase.buyer_email)
    assert told.subject == "Votre avis est en ligne"
    assert "Allez voir ailleurs" in told.text
    assert "Allez voir ailleurs" in text_of(client.get(f"/produits/{purchase.product_ids[0]}"))
    assert services.summary(RatingSubject.PRODUCT, purchase.product_ids[0]).review_count == 1  # type: ignore[union-attr]


def test_the_manager_rejects_with_a_reason_and_the_author_is_told_in_english(
    app: Flask, client: Client, mailbox: Mailbox
) -> None:
    with app.test_request_context():
        english = bought(email="sam@example.com", first_name="Sam", last_name="Taylor", locale="en")
        review_id = review_now(
            english, title="Cheaper", body="Buy it for less at www.elsewhere.example instead."
        )
    login_manager(client)
    missing_note = client.submit(
        f"/gestion/avis/{review_id}/refuser", {"reason": "other", "note": ""}, form_url="/gestion/avis"
    )
    assert "Précisez le motif" in text_of(client.get(missing_note.headers["Location"]))
    assert fresh(review_id).status == ReviewStatus.PENDING
    client.submit(
        f"/gestion/avis/{review_id}/refuser", {"reason": "advertising", "note": ""}, form_url="/gestion/avis"
    )
    review = fresh(review_id)
    assert (review.status, review.rejection_reason) == (ReviewStatus.REJECTED, RejectionReason.ADVERTISING)
    assert audit_actions(review_id)[-1] == ("rejected", None)
    told = mailbox.last_to("sam@example.com")
    assert told.subject == "Your review was not published"
    assert "Advertising" in told.text


def test_a_refusal_with_another_reason_keeps_its_note_in_the_log(app_ctx: Flask, held: int) -> None:
    manager = UserFactory(manager=True)
    services.reject(manager, held, "other", "Le texte parle d’une autre boutique.")
    db.session.commit()
    assert audit_actions(held)[-1] == ("rejected", "Le texte parle d’une autre boutique.")
    with pytest.raises(services.ReviewError, match="déjà refusé"):
        services.reject(manager, held, "abusive")
    with pytest.raises(services.ReviewError, match="Réservé à la gestion"):
        services.publish(UserFactory(), held)


def test_the_author_may_edit_a_rejected_review_and_it_goes_back_to_the_manager(
    app_ctx: Flask, held: int
) -> None:
    services.reject(UserFactory(manager=True), held, "advertising")
    review = fresh(held)
    services.edit_review(review.author, held, services.ReviewData(3, "Correct", GOOD["body"]))
    review = fresh(held)
    assert (review.status, review.flags) == (ReviewStatus.PENDING, ["edited_after_rejection"])


# -- reports ----------------------------------------------------------------------------------------


@pytest.fixture
def published(app: Flask, purchase: Bought) -> int:
    with app.test_request_context():
        return review_now(
            purchase, rating=2, title="Bof", body="Le pain était trop cuit et la croûte brûlée par endroits."
        )


def test_the_shop_reports_a_review_from_its_back_office(
    client: Client, published: int, purchase: Bought
) -> None:
    login(client, purchase.owner_email)
    url = f"/vendeur/{purchase.shop_slug}/avis"
    assert "Bof" in text_of(client.get(url))
    response = client.submit(
        f"{url}/{published}/signaler", {"reason": "off_topic", "note": "Pas notre pain"}, form_url=url
    )
    assert response.status_code == 302
    review = fresh(published)
    assert review.status == ReviewStatus.PENDING
    [report] = review.reports
    assert (report.reporter_kind.value, report.reason, report.note) == (
        "shop",
        RejectionReason.OFF_TOPIC,
        "Pas notre pain",
    )
    assert services.summary(RatingSubject.PRODUCT, purchase.product_ids[0]).review_count == 0  # type: ignore[union-attr]
    assert "Bof" not in text_of(client.get(f"/produits/{purchase.product_ids[0]}"))
    assert audit_actions(published)[-1] == ("reported", "Pas notre pain")
    logout(client)
    login_manager(client)
    queue = text_of(client.get("/gestion/avis"))
    assert "Signalé par la boutique" in queue
    assert "Hors sujet — Pas notre pain" in queue


def test_a_shop_cannot_report_another_shops_review(app: Flask, client: Client, published: int) -> None:
    with app.test_request_context():
        other = bought(shop_name="Autre boutique")
    login(client, other.owner_email)
    url = f"/vendeur/{other.shop_slug}/avis"
    client.submit(f"{url}/{published}/signaler", {"reason": "abusive"}, form_url=url)
    assert fresh(published).status == ReviewStatus.PUBLISHED


def test_a_logged_in_shopper_reports_from_the_public_page(
    client: Client, published: int, purchase: Bought
) -> None:
    page_url = f"/produits/{purchase.product_ids[0]}"
    anonymous = client.get(page_url).get_data(as_text=True)
    assert f'action="/avis/{published}/signaler"' not in anonymous
    assert "Signaler cet avis" in anonymous
    login(client, UserFactory(email="voisine@example.com").email)
    page = client.get(page_url).get_data(as_text=True)
    assert f'action="/avis/{published}/signaler"' in page
    response = client.submit(
        f"/avis/{published}/signaler", {"reason": "abusive", "note": "", "next": page_url}, form_url=page_url
    )
    assert response.headers["Location"] == f"{page_url}#avis"
    assert "retiré le temps que l’équipe du site l’examine" in text_of(
        client.get(response.headers["Location"])
    )
    assert fresh(published).status == ReviewStatus.PENDING


def test_reporting_needs_a_login_and_a_known_reason(client: Client, published: int, purchase: Bought) -> None:
    page_url = f"/produits/{purchase.product_ids[0]}"
    response = client.submit(f"/avis/{published}/signaler", {"reason": "abusive"}, form_url="/connexion")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]
    login(client, UserFactory().email)
    client.submit(f"/avis/{published}/signaler", {"reason": "n-importe-quoi"}, form_url=page_url)
    assert fresh(published).status == ReviewStatus.PUBLISHED


def test_authors_cannot_report_their_own_review(app_ctx: Flask, published: int, purchase: Bought) -> None:
    with pytest.raises(services.ReviewError, match="votre propre avis"):
        services.report(purchase.buyer(), published, "abusive")


def test_publishing_a_reported_review_closes_its_reports(app_ctx: Flask, published: int) -> None:
    services.report(UserFactory(), published, "abusive")
    services.publish(UserFactory(manager=True), published)
    review = fresh(published)
    assert review.status == ReviewStatus.PUBLISHED
    assert review.open_reports == []
    assert len(review.reports) == 1
