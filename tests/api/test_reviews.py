"""The shop's reviews through the API: its published reviews listed and filtered, a reply written and
edited with the reviews' own service (as the back office does), another shop's review a 404."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from api import services as api_services
from app.extensions import db
from app.permissions import ApiScope
from app.reviews.models import Review, ReviewReply, ReviewStatus
from tests.api.support import World, call, make_review
from vendors.models import ShopMember


def _reply_count() -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(ReviewReply)) or 0)


def test_list_filter_and_page(app: Flask, client: FlaskClient, world: World) -> None:
    key = world.keys["full"]
    made = [
        make_review(app, world, rating=5),
        make_review(app, world, rating=2),
        make_review(app, world, rating=4, shop=True),
    ]
    make_review(app, world, rating=5, product_id=world.other_product_id)  # the other shop's

    first = call(client, "GET", "/reviews?limit=2", key)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert [item["id"] for item in first.json["items"]] == made[:2]
    rest = call(client, "GET", f"/reviews?limit=2&cursor={first.json['next_cursor']}", key).json
    assert [item["id"] for item in rest["items"]] == made[2:]
    assert rest["next_cursor"] is None

    item = first.json["items"][0]
    assert item["author"] == "Camille M.", "first name and initial, as the site shows"
    assert (item["kind"], item["rating"], item["product_id"]) == ("product", 5, world.product_id)
    assert item["reply"] is None
    assert item["published_at"].endswith("+00:00")
    assert "@" not in json.dumps(first.json), "no e-mail"
    assert "Martin" not in json.dumps(first.json), "no last name"

    def ids(query: str) -> list[int]:
        response = call(client, "GET", f"/reviews?{query}", key)
        assert response.status_code == 200, (query, response.get_data(as_text=True))
        return [item["id"] for item in response.json["items"]]

    assert ids("rating=2") == [made[1]]
    assert ids("kind=shop") == [made[2]]
    assert ids("since=2999-01-01T00:00:00Z") == []
    assert ids("since=2020-01-01T00:00:00Z") == made
    assert ids("has_reply=true") == []
    assert call(client, "POST", f"/reviews/{made[1]}/reply", key, {"body": "Merci."}).status_code == 201
    assert ids("has_reply=true") == [made[1]]
    assert ids("has_reply=false") == [made[0], made[2]]
    assert ids("has_reply=false&rating=5") == [made[0]]


def test_reply_then_edit_it(app: Flask, client: FlaskClient, world: World) -> None:
    key = world.keys["full"]
    review_id = make_review(app, world)
    path = f"/reviews/{review_id}/reply"
    assert call(client, "PUT", path, key, {"body": "Rien"}, {"If-Match": "*"}).status_code == 409, (
        "no reply yet"
    )

    headers = {"Idempotency-Key": "reponse-1"}
    written = call(client, "POST", path, key, {"body": "Merci pour votre visite !"}, headers)
    assert written.status_code == 201, written.get_data(as_text=True)
    assert written.json["reply"]["body"] == "Merci pour votre visite !"
    assert written.json["reply"]["edited_at"] is None
    replay = call(client, "POST", path, key, {"body": "Merci pour votre visite !"}, headers)
    assert (replay.status_code, replay.json) == (201, written.json)
    assert replay.headers["Idempotent-Replayed"] == "true"
    again = call(client, "POST", path, key, {"body": "Une autre réponse"})
    assert again.status_code == 409, "already answered: PUT edits it"
    assert again.mimetype == "application/problem+json"
    assert _reply_count() == 1

    read = call(client, "GET", f"/reviews/{review_id}", key)
    assert read.headers["ETag"] == written.headers["ETag"]
    missing = call(client, "PUT", path, key, {"body": "Merci !"})
    assert missing.status_code == 428
    stale = call(client, "PUT", path, key, {"body": "Merci !"}, {"If-Match": '"0123"'})
    assert stale.status_code == 412
    edited = call(client, "PUT", path, key, {"body": "Merci, à samedi !"}, {"If-Match": read.headers["ETag"]})
    assert edited.status_code == 200, edited.get_data(as_text=True)
    assert edited.json["reply"]["body"] == "Merci, à samedi !"
    assert edited.json["reply"]["edited_at"] is not None
    assert edited.headers["ETag"] != read.headers["ETag"]
    late = call(client, "PUT", path, key, {"body": "Écrasée ?"}, {"If-Match": read.headers["ETag"]})
    assert late.status_code == 412, "an edit made meanwhile is not lost"

    db.session.expire_all()
    review = db.session.get(Review, review_id)
    assert review is not None
    assert review.reply is not None
    assert review.reply.body == "Merci, à samedi !", "what the back office and the site show"
    assert _reply_count() == 1


def test_another_shops_review_is_not_found(app: Flask, client: FlaskClient, world: World) -> None:
    key = world.keys["full"]
    theirs = make_review(app, world, product_id=world.other_product_id)
    assert call(client, "GET", f"/reviews/{theirs}", key).status_code == 404
    foreign = call(client, "POST", f"/reviews/{theirs}/reply", key, {"body": "Merci"})
    assert foreign.status_code == 404
    assert foreign.mimetype == "application/problem+json"
    assert (
        call(client, "PUT", f"/reviews/{theirs}/reply", key, {"body": "x"}, {"If-Match": "*"}).status_code
        == 404
    )
    assert call(client, "GET", "/reviews", world.keys["other"]).json["items"][0]["id"] == theirs
    assert _reply_count() == 0

    held = make_review(app, world)
    db.session.execute(sa.update(Review).where(Review.id == held).values(status=ReviewStatus.PENDING))
    db.session.commit()
    assert call(client, "GET", f"/reviews/{held}", key).status_code == 404, "not the shop's to see now"
    assert call(client, "POST", f"/reviews/{held}/reply", key, {"body": "Merci"}).status_code == 404
    assert call(client, "GET", "/reviews", key).json["items"] == []


def test_the_reviews_scopes(app: Flask, client: FlaskClient, world: World) -> None:
    review_id = make_review(app, world)
    with app.test_request_context("/"):
        owner = db.session.scalars(sa.select(ShopMember).where(ShopMember.shop_id == world.shop_id)).one()
        orders_only = api_services.create_shop_key(
            owner, "Commandes", [ApiScope.ORDERS_READ, ApiScope.ORDERS_WRITE]
        ).token
        reader = api_services.create_shop_key(owner, "Avis", [ApiScope.REVIEWS_READ]).token
        db.session.commit()
    assert call(client, "GET", "/reviews", orders_only).status_code == 403
    assert call(client, "GET", "/reviews", reader).status_code == 200
    refused = call(client, "POST", f"/reviews/{review_id}/reply", reader, {"body": "Merci"})
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert _reply_count() == 0


def test_bad_input_is_a_problem_naming_the_field(app: Flask, client: FlaskClient, world: World) -> None:
    key = world.keys["full"]
    review_id = make_review(app, world)
    path = f"/reviews/{review_id}/reply"
    bodies = {
        "empty": ({"body": ""}, "body"),
        "blank": ({"body": "   \r\n "}, "body"),  # refused by the reviews' service
        "too long": ({"body": "x" * 2001}, "body"),
        "not text": ({"body": 12}, "body"),
        "null": ({"body": None}, "body"),
        "missing": ({}, "body"),
        "unknown field": ({"body": "Merci", "signature": "Le Fournil"}, "signature"),
        "not an object": (["Merci"], ""),
    }
    for name, (body, field) in bodies.items():
        response = call(client, "POST", path, key, body)
        assert response.status_code == 422, (name, response.status_code, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json", name
        if field:
            assert field in {error["field"] for error in response.json["errors"]}, (name, response.json)
    assert call(client, "POST", path, key, raw=b'{"body": "Merci",').status_code == 400
    queries = {
        "rating=6": "rating",
        "rating=cinq": "rating",
        "has_reply=peut-etre": "has_reply",
        "kind=vendeur": "kind",
        "since=demain": "since",
        "cursor=WzEsMl0": "cursor",  # [1,2]: not a time and an id
        "limit=500": "limit",
    }
    for query, field in queries.items():
        response = call(client, "GET", f"/reviews?{query}", key)
        assert response.status_code == 422, (query, response.status_code)
        assert field in {error["field"] for error in response.json["errors"]}, query
    assert call(client, "GET", f"/reviews/{2**70}", key).status_code == 404
    assert _reply_count() == 0, "nothing written"
