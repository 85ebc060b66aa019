"""Who may review what and until when, through the e-mail's signed link: only the buyer, once the
goods are in their hands, within 12 months, once per line and once per shop, editable for 30 days."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from app.database import utcnow
from app.extensions import db
from app.orders.models import VendorOrderStatus
from app.reviews import services
from app.reviews.models import Review, ReviewKind, ReviewRevision, ReviewStatus
from tests.factories import UserFactory
from tests.plugins.application import Client
from tests.reviews.support import (
    DAY,
    GOOD,
    Bought,
    another_purchase,
    bought,
    login,
    png,
    post_review,
    text_of,
)

S = VendorOrderStatus


def reviews_of(vendor_order_id: int) -> list[Review]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Review).where(Review.vendor_order_id == vendor_order_id).order_by(Review.id)
        )
    )


@pytest.fixture
def purchase(app: Flask, db_session: object) -> Bought:
    # Made in a context of its own: a test's requests must not share ``g`` (and its CSRF token).
    with app.test_request_context():
        return bought()


# -- the link -------------------------------------------------------------------------------------


def test_the_buyer_reviews_a_product_from_the_link_without_logging_in(
    client: Client, purchase: Bought
) -> None:
    page = client.get(f"/avis/commande/{purchase.token}")
    assert page.status_code == 200
    assert "Pain au levain" in text_of(page)
    assert "Donner mon avis" in text_of(page)
    response = post_review(client, purchase.url(0))
    assert response.status_code == 302
    [review] = reviews_of(purchase.vendor_order_id)
    assert (review.kind, review.rating, review.status, review.author_id, review.product_id) == (
        ReviewKind.PRODUCT,
        5,
        ReviewStatus.PUBLISHED,
        purchase.buyer_id,
        purchase.product_ids[0],
    )
    assert "Votre avis est en ligne" in text_of(client.get(response.headers["Location"]))


def test_the_buyer_reviews_the_shop_once_per_order(client: Client, purchase: Bought) -> None:
    assert post_review(client, purchase.url(None), rating="4").status_code == 302
    assert post_review(client, purchase.url(None), rating="1").status_code == 302
    shop_reviews = [
        review for review in reviews_of(purchase.vendor_order_id) if review.kind == ReviewKind.SHOP
    ]
    assert [(review.rating, review.shop_id) for review in shop_reviews] == [(1, purchase.shop_id)], (
        "the second post edits the same review, it never adds one"
    )


def test_a_second_review_of_the_same_line_is_refused(app_ctx: Flask, purchase: Bought) -> None:
    data = services.ReviewData(5, "Très bon", GOOD["body"])
    services.submit_review(purchase.buyer(), purchase.vendor_order_id, purchase.line_ids[0], data)
    with pytest.raises(services.ReviewError, match="déjà donné votre avis"):
        services.submit_review(purchase.buyer(), purchase.vendor_order_id, purchase.line_ids[0], data)


def test_the_database_keeps_one_review_per_line_and_one_shop_review_per_part(
    app_ctx: Flask, purchase: Bought
) -> None:
    from sqlalchemy.exc import IntegrityError

    data = services.ReviewData(5, "Très bon", GOOD["body"])
    first = services.submit_review(purchase.buyer(), purchase.vendor_order_id, purchase.line_ids[0], data)
    shop = services.submit_review(purchase.buyer(), purchase.vendor_order_id, None, data)
    for copied in (first, shop):
        twin = Review(
            kind=copied.kind,
            author_id=copied.author_id,
            vendor_order_id=copied.vendor_order_id,
            order_line_id=copied.order_line_id,
            shop_id=copied.shop_id,
            product_id=copied.product_id,
            rating=3,
            title="Copie",
            body="Copie",
            fingerprint="x",
            status=ReviewStatus.PUBLISHED,
            purchased_at=copied.purchased_at,
        )
        with pytest.raises(IntegrityError):
            _insert(twin)


def _insert(review: Review) -> None:
    with db.session.begin_nested():
        db.session.add(review)
        db.session.flush()


def test_an_altered_link_is_refused(client: Client, purchase: Bought) -> None:
    token = purchase.token
    altered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for url in (f"/avis/commande/{altered}", f"/avis/commande/{altered}/article/{purchase.line_ids[0]}"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Ce lien n’est pas valide" in text_of(response)
    assert client.post(f"/avis/commande/{altered}/boutique", data=GOOD).status_code in (400, 404)
    assert reviews_of(purchase.vendor_order_id) == []


def test_a_link_forged_for_someone_elses_order_is_refused(
    app: Flask, client: Client, purchase: Bought
) -> None:
    """A token names the part and the buyer together, signed: changing either breaks the signature,
    and a token signed with another key is worthless."""
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("not-our-secret", salt=services.SALT).dumps(
        {"vo": purchase.vendor_order_id, "u": purchase.buyer_id}
    )
    response = post_review(client, f"/avis/commande/{forged}/article/{purchase.line_ids[0]}", "/connexion")
    assert response.status_code == 404
    with app.test_request_context():
        # A real token of this part, for a person who is not its buyer.
        mismatched = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=services.SALT).dumps(
            {"vo": purchase.vendor_order_id, "u": UserFactory().id}
        )
    refused = client.get(f"/avis/commande/{mismatched}")
    assert refused.status_code == 404
    assert "Seule la personne qui a acheté" in text_of(refused)
    assert reviews_of(purchase.vendor_order_id) == []


def test_a_logged_in_different_person_is_refused_even_with_the_buyers_link(
    client: Client, purchase: Bought
) -> None:
    stranger = UserFactory(email="curieux@example.com")
    login(client, stranger.email)
    page = client.get(f"/avis/commande/{purchase.token}")
    assert page.status_code == 403
    assert "déconnectez-vous" in text_of(page)
    assert post_review(client, purchase.url(0), form_url="/compte").status_code == 403
    assert reviews_of(purchase.vendor_order_id) == []


def test_the_buyer_logged_in_uses_the_same_link(client: Client, purchase: Bought) -> None:
    login(client, purchase.buyer_email)
    assert post_review(client, purchase.url(1)).status_code == 302
    assert [review.order_line_id for review in reviews_of(purchase.vendor_order_id)] == [purchase.line_ids[1]]


def test_a_forged_form_for_a_line_of_another_order_is_refused(
    app: Flask, client: Client, purchase: Bought
) -> None:
    """A buyer with a valid link of their own posts to another person's order line."""
    with app.test_request_context():
        other = another_purchase(purchase)
    url = f"/avis/commande/{other.token}/article/{purchase.line_ids[0]}"
    response = post_review(client, url, form_url=other.url(0))
    assert response.status_code == 404
    assert "ne fait pas partie de cette commande" in text_of(response)
    assert reviews_of(purchase.vendor_order_id) == []
    assert reviews_of(other.vendor_order_id) == []


def test_the_service_refuses_anyone_but_the_buyer(app_ctx: Flask, purchase: Bought) -> None:
    data = services.ReviewData(5, "Très bon", GOOD["body"])
    with pytest.raises(services.ReviewError, match="Seule la personne qui a acheté"):
        services.submit_review(UserFactory(), purchase.vendor_order_id, purchase.line_ids[0], data)


def test_the_buyers_order_page_links_to_the_review_pages(client: Client, purchase: Bought) -> None:
    login(client, purchase.buyer_email)
    number = purchase.part().order.number
    page = client.get(f"/commandes/{number}").get_data(as_text=True)
    payload = purchase.token.split(".")[0]  # the rest is a timestamp and the signature
    assert f'href="/avis/commande/{payload}.' in page
    assert "Donner mon avis" in page


# -- when -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.PAID, S.ACCEPTED, S.SHIPPED, S.READY_FOR_PICKUP])
def test_no_review_before_the_goods_are_received(client: Client, app_ctx: Flask, status: S) -> None:
    early = bought(status=status, received=False)
    page = client.get(f"/avis/commande/{early.token}")
    assert "Vous pourrez donner votre avis une fois la commande reçue" in text_of(page)
    assert "Donner mon avis" not in text_of(page)
    response = post_review(client, early.url(0), "/connexion")
    assert response.status_code == 200
    assert "une fois la commande reçue" in text_of(response)
    assert reviews_of(early.vendor_order_id) == []


def test_a_cancelled_part_cannot_be_reviewed(client: Client, app_ctx: Flask) -> None:
    cancelled = bought(status=S.CANCELLED, received=False)
    response = post_review(client, cancelled.url(None), "/connexion")
    assert "une fois la commande reçue" in text_of(response)
    assert reviews_of(cancelled.vendor_order_id) == []


@pytest.mark.parametrize("status", [S.COLLECTED, S.COMPLETED, S.RETURN_REQUESTED, S.RETURNED, S.REFUNDED])
def test_received_parts_can_be_reviewed_whatever_happened_since(
    client: Client, app_ctx: Flask, status: S
) -> None:
    received = bought(status=status)
    assert post_review(client, received.url(0)).status_code == 302


def test_reviews_close_twelve_months_after_receipt(client: Client, app_ctx: Flask) -> None:
    received_at = utcnow() - 400 * DAY
    old = bought(status=S.COMPLETED, received=received_at)
    response = post_review(client, old.url(0), "/connexion")
    assert response.status_code == 200
    assert "dans les 12 mois qui suivent la réception" in text_of(response)
    assert reviews_of(old.vendor_order_id) == []


def test_the_last_day_of_the_twelve_months_still_counts(app_ctx: Flask) -> None:
    received_at = dt.datetime(2026, 2, 28, 15, 0, tzinfo=dt.UTC)
    purchase = bought(status=S.COMPLETED, received=received_at)
    data = services.ReviewData(4, "Bien", GOOD["body"])
    with time_machine.travel(dt.datetime(2027, 2, 28, 14, 0, tzinfo=dt.UTC), tick=False):
        assert services.submit_review(purchase.buyer(), purchase.vendor_order_id, None, data).id
    with (
        time_machine.travel(dt.datetime(2027, 2, 28, 16, 0, tzinfo=dt.UTC), tick=False),
        pytest.raises(services.ReviewError, match="12 mois"),
    ):
        services.submit_review(purchase.buyer(), purchase.vendor_order_id, purchase.line_ids[0], data)


# -- what -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rating", ["0", "6", "-1", "abc", ""])
def test_a_rating_outside_one_to_five_is_refused_with_a_clear_message(
    client: Client, purchase: Bought, rating: str
) -> None:
    response = post_review(client, purchase.url(0), rating=rating)
    assert response.status_code == 200
    assert "Choisissez une note de 1 à 5 étoiles" in text_of(response)
    assert reviews_of(purchase.vendor_order_id) == []


def test_the_service_refuses_a_rating_of_zero_or_six(app_ctx: Flask, purchase: Bought) -> None:
    for rating in (0, 6):
        with pytest.raises(services.ReviewError, match="de 1 à 5") as refused:
            services.submit_review(
                purchase.buyer(),
                purchase.vendor_order_id,
                None,
                services.ReviewData(rating, "Titre", GOOD["body"]),
            )
        assert refused.value.field == "rating"


def test_twenty_thousand_characters_are_refused_with_a_clear_message(
    client: Client, purchase: Bought
) -> None:
    response = post_review(client, purchase.url(0), body="Très bon pain. " * 1334)
    assert response.status_code == 200
    assert "Votre avis fait 20009 caractères : 5000 au plus." in text_of(response)
    long_title = post_review(client, purchase.url(0), title="T" * 121)
    assert "Le titre fait 121 caractères : 120 au plus." in text_of(long_title)
    assert reviews_of(purchase.vendor_order_id) == []


def test_the_service_refuses_too_long_a_text(app_ctx: Flask, purchase: Bought) -> None:
    with pytest.raises(services.ReviewError, match="5000 au plus"):
        services.submit_review(
            purchase.buyer(), purchase.vendor_order_id, None, services.ReviewData(3, "Titre", "x" * 5001)
        )


def test_a_title_and_a_text_are_required(client: Client, purchase: Bought) -> None:
    response = post_review(client, purchase.url(0), title="  ", body="")
    assert "Donnez un titre à votre avis" in text_of(response)
    assert "Écrivez votre avis" in text_of(response)


def test_script_tags_are_shown_as_text_never_as_html(client: Client, purchase: Bought) -> None:
    script = "<script>alert('avis')</script>"
    response = post_review(
        client,
        purchase.url(0),
        title=f"Bon {script}",
        body=f"Le pain est bon, vraiment très bon. <img src=x onerror=alert(1)> {script}",
    )
    assert response.status_code == 302
    [review] = reviews_of(purchase.vendor_order_id)
    assert review.status == ReviewStatus.PUBLISHED
    for url in (f"/produits/{purchase.product_ids[0]}", f"/vendeur/{purchase.shop_slug}/avis"):
        if url.startswith("/vendeur"):
            login(client, purchase.owner_email)
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(&#39;avis&#39;)&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page


# -- photos ---------------------------------------------------------------------------------------


def test_photos_are_checked_by_content_re_encoded_and_shown(
    app: Flask, client: Client, purchase: Bought
) -> None:
    response = client.submit(
        purchase.url(0),
        {**GOOD, "photos": [(png(), "pain.png"), (png(500, 500, (90, 60, 30)), "mie.jpg")]},
        form_url=purchase.url(0),
    )
    assert response.status_code == 302
    [review] = reviews_of(purchase.vendor_order_id)
    assert len(review.photos) == 2
    from pathlib import Path

    media = Path(app.config["MEDIA_DIR"])
    for photo in review.photos:
        assert photo.path.startswith("reviews/")
        assert photo.path.endswith(".webp")
        assert (media / photo.path).is_file()
        assert (media / photo.thumbnails["thumb"]).is_file()
    page = client.get(f"/produits/{purchase.product_ids[0]}").get_data(as_text=True)
    assert f"/media/{review.photos[0].thumbnails['thumb']}" in page


def test_a_file_that_is_not_a_photo_is_refused(client: Client, purchase: Bought) -> None:
    import io

    response = client.submit(
        purchase.url(0),
        {**GOOD, "photos": [(io.BytesIO(b"#!/bin/sh\necho pwned\n" * 50), "photo.jpg")]},
        form_url=purchase.url(0),
    )
    assert response.status_code == 200
    assert "Ce fichier n’est pas une image." in text_of(response)
    assert reviews_of(purchase.vendor_order_id) == []


def test_three_photos_at_most(client: Client, purchase: Bought) -> None:
    response = client.submit(
        purchase.url(0),
        {**GOOD, "photos": [(png(), f"{n}.png") for n in range(4)]},
        form_url=purchase.url(0),
    )
    assert "3 photos au plus" in text_of(response)
    assert reviews_of(purchase.vendor_order_id) == []


# -- editing --------------------------------------------------------------------------------------


def test_editing_within_thirty_days_keeps_the_history_and_says_modifie(
    client: Client, purchase: Bought
) -> None:
    post_review(client, purchase.url(0), rating="2", title="Un peu sec")
    form = client.get(purchase.url(0)).get_data(as_text=True)
    assert "Un peu sec" in form
    assert "Enregistrer mon avis" in form
    with time_machine.travel(utcnow() + 29 * DAY):
        response = post_review(client, purchase.url(0), rating="4", title="Meilleur le lendemain")
    assert response.status_code == 302
    [review] = reviews_of(purchase.vendor_order_id)
    assert (review.rating, review.title, review.edited_at is not None) == (4, "Meilleur le lendemain", True)
    revisions = list(
        db.session.scalars(sa.select(ReviewRevision).where(ReviewRevision.review_id == review.id))
    )
    assert [(revision.rating, revision.title) for revision in revisions] == [(2, "Un peu sec")]
    page = text_of(client.get(f"/produits/{purchase.product_ids[0]}"))
    assert "Meilleur le lendemain" in page
    assert "modifié" in page
    assert "Un peu sec" not in page


def test_an_edit_after_thirty_days_is_refused(client: Client, purchase: Bought) -> None:
    post_review(client, purchase.url(0), title="Premier avis")
    with time_machine.travel(utcnow() + 31 * DAY):
        page = client.get(purchase.url(0))
        assert "ne peut plus l’être" in text_of(page)
        response = post_review(client, purchase.url(0), "/connexion", title="Trop tard")
    assert response.status_code == 200
    assert "Un avis se modifie pendant 30 jours" in text_of(response)
    [review] = reviews_of(purchase.vendor_order_id)
    assert review.title == "Premier avis"
    assert review.revisions == []


def test_photos_can_be_removed_and_added_in_an_edit(client: Client, purchase: Bought) -> None:
    client.submit(
        purchase.url(0), {**GOOD, "photos": [(png(), "a.png"), (png(), "b.png")]}, form_url=purchase.url(0)
    )
    [review] = reviews_of(purchase.vendor_order_id)
    first, second = (photo.id for photo in review.photos)
    response = client.submit(
        purchase.url(0),
        {**GOOD, "remove_photos": [str(first)], "photos": [(png(), "c.png"), (png(), "d.png")]},
        form_url=purchase.url(0),
    )
    assert response.status_code == 302
    [review] = reviews_of(purchase.vendor_order_id)
    assert len(review.photos) == 3
    assert second in {photo.id for photo in review.photos}
    too_many = client.submit(
        purchase.url(0), {**GOOD, "photos": [(png(), "e.png")]}, form_url=purchase.url(0)
    )
    assert "3 photos au plus" in text_of(too_many)


def test_only_the_author_edits_a_review(app_ctx: Flask, purchase: Bought) -> None:
    data = services.ReviewData(5, "Très bon", GOOD["body"])
    review = services.submit_review(purchase.buyer(), purchase.vendor_order_id, None, data)
    with pytest.raises(services.ReviewError, match="Seule la personne qui l’a écrit"):
        services.edit_review(UserFactory(), review.id, services.ReviewData(1, "Nul", GOOD["body"]))


# -- the forms' protections -----------------------------------------------------------------------


def test_posting_without_the_csrf_token_is_refused(client: Client, purchase: Bought) -> None:
    response = client.post(purchase.url(0), data=GOOD)
    assert response.status_code == 400
    assert "Formulaire expiré" in text_of(response)
    assert reviews_of(purchase.vendor_order_id) == []


def test_posting_is_rate_limited(client: Client, purchase: Bought) -> None:
    token = client.csrf_token(purchase.url(0))
    statuses = [
        client.post(purchase.url(0), data={**GOOD, "rating": "0", "csrf_token": token}).status_code
        for _ in range(11)
    ]
    assert statuses == [200] * 10 + [429]
