"""The shop's published reviews (of its products and of the shop itself): list and read them, answer one
publicly and edit that answer, through the reviews' own service (``save_reply``), as the back office's
"Avis" page does. The author appears as the site shows them: first name and initial.

A review of another shop, or one the shop does not see (waiting for moderation, rejected), is a 404.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from api import PREFIX, cursors, schemas
from api.catalog import member
from api.problems import problem
from api.spec import Blueprint, operation
from app import storage
from app.database import lock
from app.extensions import db
from app.permissions import ApiScope
from app.reviews import services as reviews
from app.reviews.models import Review, ReviewKind, ReviewStatus

blueprint = Blueprint(
    "api_reviews",
    __name__,
    url_prefix=PREFIX,
    description="The shop's published reviews and its replies (reviews:read, reviews:write).",
)

LOADING = (joinedload(Review.author), joinedload(Review.reply), selectinload(Review.photos))
ETAG_HEADER = {"ETag": {"schema": {"type": "string"}}}
IF_MATCH = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"}}


def review_body(review: Review) -> dict[str, Any]:
    reply = review.reply
    return {
        "id": review.id,
        "kind": review.kind.value,
        "rating": review.rating,
        "title": review.title,
        "body": review.body,
        "author": review.author.display_name,
        "product_id": review.product_id,
        "product_title": review.product_title,
        "vendor_order_id": review.vendor_order_id,
        "photos": [storage.media_url(photo.path, external=True) for photo in review.photos],
        "purchased_at": review.purchased_at,
        "published_at": review.published_at or review.created_at,
        "edited_at": review.edited_at,
        "reply": None
        if reply is None
        else {"body": reply.body, "created_at": reply.created_at, "edited_at": reply.edited_at},
    }


def etag(review: Review) -> str:
    """A strong validator of the review as the API shows it, reply included: editing the reply (here or
    in the back office) changes it."""
    body = schemas.ReviewOut().dump(review_body(review))
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


def _with_etag(review: Review, status: int = 200) -> tuple[dict[str, Any], int, dict[str, str]]:
    return review_body(review), status, {"ETag": etag(review)}


def _shop_reviews() -> sa.Select[Any]:
    return sa.select(Review).where(
        Review.shop_id == member().shop_id, Review.status == ReviewStatus.PUBLISHED
    )


def _shop_review(review_id: int, for_update: bool = False) -> Review:
    """One of the shop's published reviews; with ``for_update``, its row locked first (two replies sent
    at once are written one after the other)."""
    if for_update and lock(Review, review_id) is None:
        raise problem(404)
    found = db.session.scalar(_shop_reviews().where(Review.id == review_id).options(*LOADING))
    if found is None:
        raise problem(404)
    return found


def _check_precondition(review: Review) -> None:
    sent = request.headers.get("If-Match")
    if sent is None:
        raise problem(428, _l("Envoyez l’en-tête If-Match avec l’ETag lu de l’avis."))
    tags = {tag.strip().removeprefix("W/") for tag in sent.split(",")}
    if "*" not in tags and etag(review) not in tags:
        raise problem(412, _l("La réponse a changé depuis votre lecture : relisez l’avis, puis recommencez."))


def _save_reply(review: Review, body: str) -> Review:
    """Write the reply with the back office's service, commit once; its refusals name ``body``."""
    try:
        reviews.save_reply(member(), review.id, body)
    except reviews.ReviewError as error:
        db.session.rollback()
        errors = [{"field": "body", "in": "body", "message": str(error.message)}] if error.field else []
        raise problem(422 if error.field else 404, str(error.message), errors=errors) from None
    db.session.commit()
    return _shop_review(review.id)


@blueprint.route("/reviews", methods=["GET"])
@operation(blueprint, ApiScope.REVIEWS_READ, errors=(422,))
@blueprint.arguments(schemas.ReviewListArgs, location="query")
@blueprint.response(200, schemas.ReviewListOut)
def review_list(args: dict[str, Any]) -> dict[str, Any]:
    """The shop's published reviews, of its products and of the shop, oldest publication first (keep the
    last cursor to get only those published since)."""
    query = _shop_reviews().options(*LOADING)
    if "rating" in args:
        query = query.where(Review.rating == args["rating"])
    if "has_reply" in args:
        query = query.where(Review.reply.has() if args["has_reply"] else ~Review.reply.has())
    if "kind" in args:
        query = query.where(Review.kind == ReviewKind(args["kind"]))
    if "since" in args:
        query = query.where(Review.published_at >= args["since"])
    items, following = cursors.page(
        query, (Review.published_at, Review.id), args.get("cursor"), args["limit"]
    )
    return {"items": [review_body(review) for review in items], "next_cursor": following}


@blueprint.route("/reviews/<int:review_id>", methods=["GET"])
@operation(blueprint, ApiScope.REVIEWS_READ, errors=(404,))
@blueprint.response(200, schemas.ReviewOut, headers=ETAG_HEADER)
def review(review_id: int) -> Any:
    """One published review of the shop, with its reply; its ``ETag`` goes in ``If-Match`` to edit the
    reply."""
    return _with_etag(_shop_review(review_id))


@blueprint.route("/reviews/<int:review_id>/reply", methods=["POST"])
@operation(blueprint, ApiScope.REVIEWS_WRITE, errors=(404, 409, 422), idempotent=True)
@blueprint.arguments(schemas.ReplyIn, example={"body": "Merci pour votre visite, à bientôt au fournil !"})
@blueprint.response(201, schemas.ReviewOut, headers=ETAG_HEADER)
def reply(sent: dict[str, Any], review_id: int) -> Any:
    """Answer the review publicly (the answer shows under it on the site). A review already answered is
    a 409: edit its answer with PUT."""
    current = _shop_review(review_id, for_update=True)
    if current.reply is not None:
        raise problem(409, _l("Cet avis a déjà une réponse : modifiez-la (PUT)."))
    return _with_etag(_save_reply(current, sent["body"]), 201)


@blueprint.route("/reviews/<int:review_id>/reply", methods=["PUT"])
@operation(blueprint, ApiScope.REVIEWS_WRITE, errors=(404, 409, 412, 422, 428))
@blueprint.arguments(schemas.ReplyIn, example={"body": "Merci ! Le pain de seigle revient samedi."})
@blueprint.response(200, schemas.ReviewOut, headers=ETAG_HEADER)
@blueprint.doc(parameters=[IF_MATCH])
def edit_reply(sent: dict[str, Any], review_id: int) -> Any:
    """Replace the shop's answer; ``If-Match`` (the review's ETag) is required, so that an edit made
    meanwhile in the back office is not lost. A review not answered yet is a 409: POST the answer."""
    current = _shop_review(review_id, for_update=True)
    if current.reply is None:
        raise problem(409, _l("Cet avis n’a pas encore de réponse : publiez-la (POST)."))
    _check_precondition(current)
    return _with_etag(_save_reply(current, sent["body"]))
