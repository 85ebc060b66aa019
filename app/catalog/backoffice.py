"""The shop's products in its back office (``/vendeur/<slug>/produits``).

Every page resolves the shop through the person's membership (``shop_member``) and every product
through ``services.shop_product``: a product of another shop is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app import money
from app.catalog import forms, services
from app.catalog.cards import Card
from app.catalog.models import Product, ProductStatus, StockReason
from app.extensions import db
from app.forms import show_error
from app.permissions import Permission
from app.routing import parse_id, parse_page
from vendors.backoffice import shop_member
from vendors.models import ShopMember
from vendors.services import active_categories

blueprint = Blueprint("catalog_backoffice", __name__, url_prefix="/vendeur")


def _product(member: ShopMember, product_id: int) -> Product:
    product = services.shop_product(member, product_id)
    if product is None:
        abort(404)
    return product


def _category_choices() -> list[tuple[int, str]]:
    choices = [(0, str(_l("Choisissez…")))]
    choices += [
        (category.id, f"{'— ' if category.parent_id else ''}{category.label}")
        for category in active_categories()
    ]
    return choices


# -- list and bulk actions ------------------------------------------------------------------------


@blueprint.route("/<slug>/produits")
@shop_member(Permission.PRODUCTS)
def products(member: ShopMember) -> str:
    status_value = request.args.get("statut", "")
    filters = services.ProductFilter(
        text=request.args.get("q", "")[:100],
        status=ProductStatus(status_value) if status_value in {s.value for s in ProductStatus} else None,
        category_id=request.args.get("categorie", type=parse_id),
        low_stock=request.args.get("stock") == "bas",
    )
    page = services.list_products(member, filters, page=request.args.get("page", 1, type=parse_page))
    limit = services.product_limit(member.shop)
    return render_template(
        "catalog/backoffice/products.html",
        member=member,
        shop=member.shop,
        page=page,
        filters=filters,
        categories=active_categories(),
        bulk_form=forms.BulkForm(),
        limit=limit,
        active_count=services.active_product_count(member.shop),
    )


@blueprint.route("/<slug>/produits/lot", methods=["POST"])
@shop_member(Permission.PRODUCTS)
def bulk(member: ShopMember) -> Response:
    form = forms.BulkForm()
    ids = request.form.getlist("product_ids", type=parse_id)
    chosen = [
        product for product in (services.shop_product(member, product_id) for product_id in ids) if product
    ]
    if not form.validate_on_submit() or not chosen:
        flash(_l("Cochez au moins un produit."), "error")
        return redirect(url_for(".products", slug=member.shop.slug))
    try:
        if form.action.data == "stock":
            count = 0
            for product in chosen:
                for variant in product.variants:
                    services.adjust_stock(member, variant, form.delta.data or 0, form.note.data or "")
                    count += 1
            message = _l("Stock ajusté pour %(count)d déclinaisons.", count=count)
        else:
            count = services.set_status(member, chosen, ProductStatus(form.action.data))
            message = _l("%(count)d produits modifiés.", count=count)
    except services.CatalogError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for(".products", slug=member.shop.slug))


# -- create and edit ------------------------------------------------------------------------------


def _form_for(member: ShopMember, product: Product | None) -> forms.ProductForm:
    form = forms.ProductForm(obj=product)
    form.category_id.choices = _category_choices()
    form.vat_choices(services.allowed_vat_rates(member.shop))
    form.withdrawal_exclusion.choices = forms.exclusion_choices(str(_l("Selon la catégorie")))
    if request.method == "GET" and product is not None:
        form.status.data = product.status.value
        exclusion = product.withdrawal_exclusion
        form.withdrawal_exclusion.data = exclusion.value if exclusion is not None else ""
        form.attributes.data = forms.format_pairs(product.attributes, "\n")
        while len(form.variants) < len(product.variants):
            form.variants.append_entry()
        for row, variant in zip(form.variants, product.variants, strict=False):
            row.form.id.data = str(variant.id)
            row.form.options.data = forms.format_pairs(variant.options, " ; ")
            row.form.sku.data = variant.sku
            row.form.price.data = variant.price_cents
            row.form.compare_at.data = variant.compare_at_cents
            row.form.stock.data = variant.stock
            row.form.low_stock_threshold.data = variant.low_stock_threshold
            row.form.weight_grams.data = variant.weight_grams
    return form


def _data(form: forms.ProductForm, product: Product | None) -> services.ProductData:
    current = {variant.id: variant for variant in product.variants} if product else {}
    variants = []
    for row in form.variants:
        if row.form.remove.data:
            continue
        # The hidden id as posted; a row posted without one keeps what the form was filled with (an int).
        given = str(row.form.id.data or "")
        variant_id = int(given) if given.isascii() and given.isdigit() and len(given) <= 18 else None
        existing = current.get(variant_id) if variant_id is not None else None
        variants.append(
            services.VariantData(
                id=existing.id if existing else None,
                sku=row.form.sku.data or "",
                options=forms.parse_pairs(row.form.options.data or "", ";"),
                price_cents=row.form.price.data or 0,
                compare_at_cents=row.form.compare_at.data,
                # An existing variant's stock changes through adjustments, with a reason.
                stock=existing.stock if existing else (row.form.stock.data or 0),
                low_stock_threshold=row.form.low_stock_threshold.data or 0,
                weight_grams=row.form.weight_grams.data,
            )
        )
    return services.ProductData(
        title=form.title.data or "",
        category_id=form.category_id.data or None,
        vat_bps=form.vat_bps.data if form.vat_bps.data is not None else -1,
        description=form.description.data or "",
        attributes=forms.parse_attributes(form.attributes.data or ""),
        gtin=form.gtin.data or "",
        status=ProductStatus(form.status.data),
        variants=variants,
        withdrawal_exclusion=form.withdrawal_exclusion.data or services.FOLLOW_CATEGORY,
    )


def _report(form: forms.ProductForm, error: services.CatalogError) -> None:
    """Put a refusal next to its field; variants-<n>-<field> names a field of the n-th kept row."""
    if error.field and error.field.startswith("variants-"):
        _, index, name = error.field.split("-", 2)
        rows = [row for row in form.variants if not row.form.remove.data]
        target = rows[int(index)].form if int(index) < len(rows) else None
        field = target[name] if target is not None and name in target._fields else None
        if field is not None:
            field.errors = [*field.errors, error.message]
            return
    if error.field == "variants":  # about the variants as a whole: the list itself shows no errors
        form.form_errors.append(error.message)
    else:
        show_error(form, error)


def _edit(member: ShopMember, product: Product | None) -> Response | str:
    form = _form_for(member, product)
    if form.is_submitted() and form.add_variant.data:
        form.variants.append_entry()  # "add a variant" works without JavaScript: the page comes back
        form.add_variant.data = False
    elif form.validate_on_submit():
        try:
            saved = services.save_product(member, product, _data(form, product))
        except services.CatalogError as error:
            db.session.rollback()
            _report(form, error)
        else:
            db.session.commit()
            flash(_l("Produit enregistré."), "success")
            return redirect(url_for(".edit", slug=member.shop.slug, product_id=saved.id))
    return render_template(
        "catalog/backoffice/edit.html",
        member=member,
        shop=member.shop,
        form=form,
        product=product,
        photo_form=forms.PhotoForm(),
    )


@blueprint.route("/<slug>/produits/nouveau", methods=["GET", "POST"])
@shop_member(Permission.PRODUCTS)
def new(member: ShopMember) -> Response | str:
    return _edit(member, None)


@blueprint.route("/<slug>/produits/<int:product_id>", methods=["GET", "POST"])
@shop_member(Permission.PRODUCTS)
def edit(member: ShopMember, product_id: int) -> Response | str:
    return _edit(member, _product(member, product_id))


@blueprint.route("/<slug>/produits/<int:product_id>/dupliquer", methods=["POST"])
@shop_member(Permission.PRODUCTS)
def duplicate(member: ShopMember, product_id: int) -> Response:
    product = _product(member, product_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    copy = services.duplicate(member, product)
    db.session.commit()
    flash(_l("Copie créée en brouillon : changez ce qui diffère, puis mettez-la en ligne."), "success")
    return redirect(url_for(".edit", slug=member.shop.slug, product_id=copy.id))


# -- photos ---------------------------------------------------------------------------------------


@blueprint.route("/<slug>/produits/<int:product_id>/photos", methods=["POST"])
@shop_member(Permission.PRODUCTS)
def add_photo(member: ShopMember, product_id: int) -> Response:
    product = _product(member, product_id)
    form = forms.PhotoForm()
    upload = form.photo.data if form.validate_on_submit() else None
    if upload is None or not getattr(upload, "filename", ""):
        flash(_l("Choisissez une photo."), "error")
    else:
        try:
            services.add_photo(member, product, upload.stream, form.alt.data or "")
        except services.CatalogError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_l("Photo ajoutée."), "success")
    return redirect(url_for(".edit", slug=member.shop.slug, product_id=product.id) + "#photos")


@blueprint.route("/<slug>/produits/<int:product_id>/photos/ordre", methods=["POST"])
@shop_member(Permission.PRODUCTS)
def update_photos(member: ShopMember, product_id: int) -> Response:
    product = _product(member, product_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    positions: list[tuple[int, int]] = []
    alts: dict[int, str] = {}
    for photo in product.photos:
        position = request.form.get(f"position-{photo.id}", type=int)
        positions.append((position if position is not None else photo.position, photo.id))
        alts[photo.id] = request.form.get(f"alt-{photo.id}", photo.alt)
    order = [photo_id for _, photo_id in sorted(positions)]
    remove = set(request.form.getlist("remove", type=parse_id))
    services.update_photos(member, product, order, alts, remove)
    db.session.commit()
    flash(_l("Photos enregistrées."), "success")
    return redirect(url_for(".edit", slug=member.shop.slug, product_id=product.id) + "#photos")


# -- stock ----------------------------------------------------------------------------------------


@blueprint.route("/<slug>/produits/<int:product_id>/stock", methods=["GET", "POST"])
@shop_member(Permission.PRODUCTS)
def stock(member: ShopMember, product_id: int) -> Response | str:
    product = _product(member, product_id)
    form = forms.StockForm()
    form.variant_id.choices = [(variant.id, variant.label or variant.sku) for variant in product.variants]
    if form.validate_on_submit():
        variant = services.shop_variant(member, form.variant_id.data)
        if variant is None or variant.product_id != product.id:
            abort(404)
        try:
            services.adjust_stock(member, variant, form.delta.data or 0, form.note.data or "")
        except services.CatalogError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_l("Stock mis à jour : %(stock)d en stock.", stock=variant.stock), "success")
            return redirect(url_for(".stock", slug=member.shop.slug, product_id=product.id))
    return render_template(
        "catalog/backoffice/stock.html",
        member=member,
        shop=member.shop,
        product=product,
        form=form,
        histories={variant.id: services.stock_history(variant, limit=20) for variant in product.variants},
        reasons={
            StockReason.ADJUSTMENT: _l("Ajustement"),
            StockReason.IMPORT: _l("Import CSV"),
            StockReason.SALE: _l("Vente"),
            StockReason.RELEASE: _l("Réservation libérée"),
            StockReason.RETURN: _l("Retour"),
        },
    )


def price_label(product: Product | Card) -> Any:
    """ "12,50 €" or "de 9,00 € à 15,00 €" for the list."""
    prices = product.price_range
    if prices is None:
        return "—"
    low, high = prices
    if low == high:
        return money.format_money(low)
    return _l("de %(low)s à %(high)s", low=money.format_money(low), high=money.format_money(high))


@blueprint.app_template_filter("price_label")
def _price_label_filter(product: Product | Card) -> Any:
    return price_label(product)
