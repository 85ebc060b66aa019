"""What shoppers and shops see: the rating summary, its distribution and the reviews (newest first, a
page at a time, with the verified-purchase badge and the shop's reply) on product pages and
storefronts; the shop's reviews page with its replies; the page that says how reviews work."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from flask import Flask

from app.database import utcnow
from app.extensions import db
from app.reviews import services
from app.reviews.models import RatingSubject, Review
from tests.plugins.application import Client
from tests.reviews.support import (
    Bought,
    another_purchase,
    bought,
    login,
    post_review,
    review_now,
    text_of,
)
from vendors.hours import TOWN_TZ


@pytest.fixture
def purchase(app: Flask, db_session: object) -> Bought:
    with app.test_request_context():
        return bought(email="camille.m@example.com")


def test_the_product_page_shows_the_summary_distribution_and_reviews(
    app: Flask, client: Client, purchase: Bought
) -> None:
    with app.test_request_context():
        review_now(purchase, rating=5, title="Parfait")
        for rating in (4, 2):
            review_now(another_purchase(purchase), rating=rating, title=f"Avis à {rating}")
    page = client.get(f"/produits/{purchase.product_ids[0]}")
    html = page.get_data(as_text=True)
    text = text_of(html)
    assert re.search(r'data-testid="rating-line".*?3,7.*?\(3 avis\)', html, re.S)
    assert "3 avis d’acheteurs vérifiés" in text
    counts = dict(re.findall(r'data-testid="stars-(\d)">(\d+)<', html))
    assert counts == {"5": "1", "4": "1", "3": "0", "2": "1", "1": "0"}
    assert text.index("Avis à 2") < text.index("Avis à 4") < text.index("Parfait"), "newest first"
    assert 'href="/avis/comment-ca-marche"' in html


def test_a_published_review_shows_at_once_where_the_summary_was_shown_before(
    app: Flask, client: Client, purchase: Bought
) -> None:
    product_page = f"/produits/{purchase.product_ids[0]}"
    storefront = f"/boutiques/{purchase.part().shop.slug}"
    for url in (product_page, storefront):  # no review yet: kept as such by this process
        assert "rating-line" not in client.get(url).get_data(as_text=True)
    with app.test_request_context():
        review_now(purchase, rating=4)  # a review of the product
        review_now(purchase, line=None, rating=2)  # and one of the shop
    product_html = client.get(product_page).get_data(as_text=True)
    assert re.search(r'data-testid="rating-line".*?4,0.*?\(1 avis\)', product_html, re.S)
    assert '"ratingValue": "4.0"' in product_html
    shop_html = client.get(storefront).get_data(as_text=True)
    assert re.search(r'data-testid="rating-line".*?2,0.*?\(1 avis\)', shop_html, re.S)


def test_a_review_shows_first_name_and_initial_and_the_verified_purchase_month(
    app: Flask, client: Client, purchase: Bought
) -> None:
    with app.test_request_context():
        review_now(purchase)
    month = purchase.part().order.created_at.astimezone(TOWN_TZ)  # the month as the town's clock says it
    html = client.get(f"/produits/{purchase.product_ids[0]}").get_data(as_text=True)
    assert re.search(r'data-testid="review-author">Camille M\.<', html)
    assert "camille.m@example.com" not in html
    assert "Martin" not in html
    months = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ]
    assert f"Achat vérifié · {months[month.month - 1]} {month.year}" in text_of(html)


def test_reviews_come_ten_a_page(app: Flask, client: Client, purchase: Bought) -> None:
    start = utcnow()
    with app.test_request_context():
        for number in range(12):
            with time_machine.travel(start + dt.timedelta(minutes=number), tick=False):
                review_now(another_purchase(purchase), title=f"Avis numéro {number:02d}")
    url = f"/produits/{purchase.product_ids[0]}"
    first = text_of(client.get(url))
    assert "Avis numéro 11" in first
    assert "Avis numéro 02" in first
    assert "Avis numéro 01" not in first
    assert "Page 1 sur 2" in first
    second = text_of(client.get(f"{url}?avis=2"))
    assert "Avis numéro 01" in second
    assert "Avis numéro 00" in second
    assert "Avis numéro 11" not in second


def test_the_storefront_shows_the_shops_rating_reviews_and_replies(
    app: Flask, client: Client, purchase: Bought
) -> None:
    with app.test_request_context():
        review_id = review_now(purchase, line=None, rating=4, title="Accueil charmant")
        member = purchase.part().shop.members[0]
        services.save_reply(member, review_id, "Merci Camille, à bientôt au fournil !")
        db.session.commit()
    html = client.get(f"/boutiques/{purchase.shop_slug}").get_data(as_text=True)
    assert "Avis sur la boutique" in html
    assert re.search(r'data-testid="rating-line".*?4,0.*?\(1 avis\)', html, re.S)
    assert "Accueil charmant" in html
    assert re.search(
        r'data-testid="shop-reply".*?Réponse du Fournil.*?Merci Camille, à bientôt au fournil !',
        html,
        re.S,
    )


def test_a_shop_answers_a_review_once_and_edits_its_answer(
    app: Flask, client: Client, purchase: Bought
) -> None:
    with app.test_request_context():
        review_id = review_now(purchase, rating=3, title="Correct")
    login(client, purchase.owner_email)
    url = f"/vendeur/{purchase.shop_slug}/avis"
    page = client.get(url).get_data(as_text=True)
    assert 'href="/vendeur/' + purchase.shop_slug + '/avis" aria-current="page"' in page, "the Avis tab"
    assert "Correct" in page
    assert purchase.buyer_email not in page
    assert (
        client.submit(
            f"{url}/{review_id}/reponse", {"body": "Merci, nous ferons mieux."}, form_url=url
        ).status_code
        == 302
    )
    assert (
        client.submit(
            f"{url}/{review_id}/reponse", {"body": "Merci, le four est réparé."}, form_url=url
        ).status_code
        == 302
    )
    db.session.expire_all()
    review = db.session.get(Review, review_id)
    assert review is not None
    assert review.reply is not None
    assert (review.reply.body, review.reply.edited_at is not None) == ("Merci, le four est réparé.", True)
    public = text_of(client.get(f"/produits/{purchase.product_ids[0]}"))
    assert "Merci, le four est réparé." in public
    assert "Merci, nous ferons mieux." not in public
    empty = client.submit(f"{url}/{review_id}/reponse", {"body": "  "}, form_url=url)
    assert "Écrivez votre réponse" in text_of(client.get(empty.headers["Location"]))
    unanswered = text_of(client.get(f"{url}?filtre=sans-reponse"))
    assert "Vous avez répondu à tous vos avis" in unanswered


def test_a_shop_cannot_answer_another_shops_review(app: Flask, client: Client, purchase: Bought) -> None:
    with app.test_request_context():
        review_id = review_now(purchase)
        other = bought(shop_name="La Cave")
    login(client, other.owner_email)
    url = f"/vendeur/{other.shop_slug}/avis"
    client.submit(f"{url}/{review_id}/reponse", {"body": "Je réponds à la place d’un autre"}, form_url=url)
    db.session.expire_all()
    assert db.session.get(Review, review_id).reply is None  # type: ignore[union-attr]
    assert client.get(f"/vendeur/{purchase.shop_slug}/avis").status_code == 404


def test_a_long_reply_is_refused(app_ctx: Flask, purchase: Bought) -> None:
    review_id = review_now(purchase)
    with pytest.raises(services.ReviewError, match="2000 au plus"):
        services.save_reply(purchase.part().shop.members[0], review_id, "x" * 2001)


def test_the_how_it_works_page_in_french_and_english(client: Client) -> None:
    french = text_of(client.get("/avis/comment-ca-marche"))
    assert "Comment les avis sont collectés, vérifiés et modérés" in french
    assert "qu’il soit positif ou négatif" in french
    assert "12 mois" in french
    assert "30 jours" in french
    client.get("/langue/en?next=/")
    english = text_of(client.get("/avis/comment-ca-marche"))
    assert "How reviews are collected, checked and moderated" in english
    assert "whether it is positive or negative" in english


def test_a_product_without_reviews_says_who_may_review(client: Client, purchase: Bought) -> None:
    text = text_of(client.get(f"/produits/{purchase.product_ids[1]}"))
    assert "Pas encore d’avis. Seules les personnes qui ont acheté ici peuvent en donner un" in text


def test_the_buyers_page_lists_each_line_and_the_shop_with_their_reviews(
    client: Client, purchase: Bought
) -> None:
    post_review(client, purchase.url(0), rating="4", title="Bon levain")
    page = text_of(client.get(f"/avis/commande/{purchase.token}"))
    assert "Bon levain" in page
    assert "en ligne" in page
    assert "Modifier mon avis" in page
    assert page.count("Donner mon avis") == 2, "the other product and the shop"


def test_summaries_follow_publish_edit_and_reject(app_ctx: Flask, purchase: Bought) -> None:
    from tests.factories import UserFactory

    product = purchase.product_ids[0]
    first = review_now(purchase, rating=5)
    second = review_now(another_purchase(purchase), rating=3)
    summary = services.summary(RatingSubject.PRODUCT, product)
    assert summary is not None
    assert (summary.review_count, summary.rating_sum, summary.average) == (2, 8, 4.0)
    services.edit_review(
        purchase.buyer(),
        first,
        services.ReviewData(1, "Finalement non", "Le pain a moisi en deux jours, dommage vraiment."),
    )
    db.session.commit()
    assert (summary.review_count, summary.rating_sum, summary.stars_1, summary.stars_5) == (2, 4, 1, 0)
    services.reject(UserFactory(manager=True), second, "off_topic")
    db.session.commit()
    assert (summary.review_count, summary.rating_sum, summary.distribution) == (
        1,
        1,
        [(5, 0), (4, 0), (3, 0), (2, 0), (1, 1)],
    )


def test_a_product_without_reviews_lists_none_without_reading_them(
    app: Flask, client: Client, purchase: Bought
) -> None:
    """Its summary counts none: the page does not look for reviews. Once one is published, it lists it."""
    from tests.site.support import count_queries

    url = f"/produits/{purchase.product_ids[0]}"
    with count_queries() as statements:
        assert "Pas encore d’avis" in text_of(client.get(url))
    assert not [statement for statement in statements if "FROM reviews" in statement]
    with app.test_request_context():
        review_id = review_now(purchase, title="Très bon levain")
    assert review_id
    assert "Très bon levain" in text_of(client.get(url))
