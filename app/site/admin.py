"""The manager's home page console (``/gestion/accueil``): blocks, featured shops, collections."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from app.accounts.auth import acting_user, manager_required
from app.database import utcnow
from app.errors import ServiceError
from app.extensions import db
from app.forms import commit_or_say, show_error
from app.site import forms
from app.site import services as site
from app.site.models import Collection, CollectionKind, HomeBlockKind
from vendors.hours import TOWN_TZ

blueprint = Blueprint("site_admin", __name__, url_prefix="/gestion/accueil")

MOVES = {"monter": -1, "descendre": 1}


def _posted() -> None:
    """A console action: a valid CSRF token or a 400."""
    if not FlaskForm().validate_on_submit():
        abort(400)


@blueprint.route("")
@manager_required
def home() -> str:
    wanted = request.args.get("boutique", "")[:100]
    return render_template(
        "site/admin/home.html",
        blocks=site.block_order(),
        labels=site.BLOCK_LABELS,
        featured=site.featured_list(),
        wanted=wanted,
        shop_choices=site.pick_shops(wanted),
        collections=site.all_collections(),
        action_form=FlaskForm(),
        now=utcnow(),
    )


@blueprint.route("/blocs/<kind>/<action>", methods=["POST"])
@manager_required
def block(kind: str, action: str) -> Response:
    try:
        found = HomeBlockKind(kind)
    except ValueError:
        abort(404)
    if action not in {*MOVES, "activer", "desactiver"}:
        abort(404)
    _posted()
    manager = acting_user()
    if action in MOVES:
        commit_or_say(lambda: site.move_block(manager, found, MOVES[action]))
    else:
        commit_or_say(
            lambda: site.set_block_enabled(manager, found, action == "activer"),
            _l("Page d’accueil mise à jour."),
        )
    return redirect(url_for(".home"))


@blueprint.route("/une/<int:shop_id>/<action>", methods=["POST"])
@manager_required
def featured(shop_id: int, action: str) -> Response:
    manager = acting_user()
    changes = {
        "ajouter": lambda: site.feature_shop(manager, shop_id),
        "retirer": lambda: site.unfeature_shop(manager, shop_id),
        "monter": lambda: site.move_featured_shop(manager, shop_id, -1),
        "descendre": lambda: site.move_featured_shop(manager, shop_id, 1),
    }
    if action not in changes:
        abort(404)
    _posted()
    commit_or_say(changes[action])
    return redirect(url_for(".home"))


def _collection(collection_id: int) -> Collection:
    collection = db.session.get(Collection, collection_id)
    if collection is None:
        abort(404)
    return collection


def _save(form: forms.CollectionForm, collection: Collection | None) -> Collection | None:
    if not form.validate_on_submit():
        return None
    manager = acting_user()
    try:
        saved = site.save_collection(
            manager,
            collection.id if collection is not None else None,
            site.CollectionData(
                title=form.title.data or "",
                slug=form.slug.data or "",
                text=form.text.data or "",
                kind=CollectionKind(form.kind.data or CollectionKind.PRODUCTS.value),
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
            ),
        )
        upload = form.image.data
        if isinstance(upload, FileStorage) and upload.filename:
            site.set_collection_image(manager, saved.id, upload.stream)
    except ServiceError as error:
        db.session.rollback()
        show_error(form, error)
        return None
    db.session.commit()
    return saved


@blueprint.route("/collections/nouvelle", methods=["GET", "POST"])
@manager_required
def new_collection() -> Response | str:
    form = forms.CollectionForm()
    saved = _save(form, None)
    if saved is not None:
        flash(_l("Sélection créée : ajoutez-lui des produits ou des boutiques."), "success")
        return redirect(url_for(".collection", collection_id=saved.id))
    return render_template("site/admin/collection_form.html", form=form, collection=None)


@blueprint.route("/collections/<int:collection_id>", methods=["GET", "POST"])
@manager_required
def collection(collection_id: int) -> Response | str:
    found = _collection(collection_id)
    form = forms.CollectionForm(obj=found)
    if request.method == "GET":
        form.kind.data = found.kind.value
        form.starts_on.data = found.starts_at.astimezone(TOWN_TZ).date() if found.starts_at else None
        form.ends_on.data = (
            (found.ends_at.astimezone(TOWN_TZ) - dt.timedelta(days=1)).date() if found.ends_at else None
        )
    saved = _save(form, found)
    if saved is not None:
        flash(_l("Sélection enregistrée."), "success")
        return redirect(url_for(".collection", collection_id=saved.id))
    wanted = request.args.get("q", "")[:100]
    choices = site.pick_products(wanted) if found.kind == CollectionKind.PRODUCTS else site.pick_shops(wanted)
    return render_template(
        "site/admin/collection_form.html",
        form=form,
        collection=found,
        items=site.collection_items(found),
        wanted=wanted,
        choices=choices,
        action_form=FlaskForm(),
        now=utcnow(),
    )


@blueprint.route("/collections/<int:collection_id>/ajouter/<int:target_id>", methods=["POST"])
@manager_required
def add_item(collection_id: int, target_id: int) -> Response:
    found = _collection(collection_id)
    _posted()
    manager = acting_user()
    commit_or_say(
        lambda: site.add_collection_item(manager, found.id, target_id), _l("Ajouté à la sélection.")
    )
    return redirect(url_for(".collection", collection_id=found.id, q=request.args.get("q", "")[:100] or None))


@blueprint.route("/collections/<int:collection_id>/elements/<int:item_id>/<action>", methods=["POST"])
@manager_required
def item(collection_id: int, item_id: int, action: str) -> Response:
    found = _collection(collection_id)
    manager = acting_user()
    changes = {
        "retirer": lambda: site.remove_collection_item(manager, found.id, item_id),
        "monter": lambda: site.move_collection_item(manager, found.id, item_id, -1),
        "descendre": lambda: site.move_collection_item(manager, found.id, item_id, 1),
    }
    if action not in changes:
        abort(404)
    _posted()
    commit_or_say(changes[action])
    return redirect(url_for(".collection", collection_id=found.id))


@blueprint.route("/collections/<int:collection_id>/supprimer", methods=["POST"])
@manager_required
def delete_collection(collection_id: int) -> Response:
    found = _collection(collection_id)
    _posted()
    manager = acting_user()
    if commit_or_say(lambda: site.delete_collection(manager, found.id), _l("Sélection supprimée.")) is None:
        return redirect(url_for(".collection", collection_id=collection_id))
    return redirect(url_for(".home"))
