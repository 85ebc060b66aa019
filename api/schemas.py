"""The API's request and response bodies (marshmallow): unknown fields are refused and named, integers
are integers (not ``12.5``, not ``"12"``, not ``true``), every number and text has its bounds, money is
integer cents with its currency, dates are ISO 8601 in UTC."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from app.catalog.models import VAT_RATES_BPS, ProductStatus
from app.catalog.services import MAX_VARIANTS
from app.figures.services import EARLIEST, LATEST
from app.orders.models import ReturnStatus, VendorOrderStatus
from app.orders.stock_sync import MAX_LINES, ChangeReason
from app.reviews.models import REPLY_MAX, ReviewKind

MAX_CENTS = 100_000_000  # a million euros: beyond, a typo
MAX_QUANTITY = 1_000_000
MAX_ID = 2**63 - 1


class Strict(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


def cents(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(1, MAX_CENTS), **kwargs)


def quantity(minimum: int = 0, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(minimum, MAX_QUANTITY), **kwargs)


def identifier(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(1, MAX_ID), **kwargs)


def utc(**kwargs: Any) -> fields.AwareDateTime:
    return fields.AwareDateTime(format="iso", default_timezone=None, **kwargs)


# -- errors ---------------------------------------------------------------------------------------


class FieldError(Schema):
    field = fields.String(required=True, metadata={"description": "Dotted path: lines.3.on_hand"})
    message = fields.String(required=True)
    location = fields.String(data_key="in", metadata={"description": "body, query, header or path"})
    index = fields.Integer(metadata={"description": "The line of a batch"})
    held = fields.Integer(metadata={"description": "Units held by online orders (stock conflicts)"})
    sellable = fields.Integer()


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(FieldError))


# -- the shop -------------------------------------------------------------------------------------


class ShopOut(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    city = fields.String(required=True)
    postcode = fields.String(required=True)
    country = fields.String(required=True)
    delivery_methods = fields.List(fields.String(), required=True)
    url = fields.String(required=True)
    created_at = utc(required=True)


class PublicShopOut(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    city = fields.String(required=True)
    postcode = fields.String(required=True)
    latitude = fields.Float(allow_none=True, required=True)
    longitude = fields.Float(allow_none=True, required=True)
    delivery_methods = fields.List(fields.String(), required=True)
    url = fields.String(required=True)


class ShopListOut(Schema):
    items = fields.List(fields.Nested(PublicShopOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class TownShopOut(ShopOut):
    approved_at = utc(allow_none=True, required=True)
    public = fields.Boolean(required=True)


class TownShopListOut(Schema):
    items = fields.List(fields.Nested(TownShopOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


# -- products -------------------------------------------------------------------------------------


class StockOut(Schema):
    on_hand = fields.Integer(required=True, metadata={"description": "In the shop: sellable + held"})
    held = fields.Integer(required=True, metadata={"description": "Held by online orders not handed over"})
    sellable = fields.Integer(required=True, metadata={"description": "What the marketplace may still sell"})


class VariantOut(Schema):
    id = fields.Integer(required=True)
    sku = fields.String(required=True)
    options = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    price_cents = fields.Integer(required=True)
    compare_at_cents = fields.Integer(allow_none=True, required=True)
    currency = fields.String(required=True)
    stock = fields.Nested(StockOut, required=True)
    low_stock_threshold = fields.Integer(required=True)
    weight_grams = fields.Integer(allow_none=True, required=True)


class PhotoOut(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    alt = fields.String(required=True)


class ProductOut(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([status.value for status in ProductStatus]))
    title = fields.String(required=True)
    description = fields.String(required=True)
    category_id = fields.Integer(required=True)
    vat_bps = fields.Integer(required=True)
    gtin = fields.String(allow_none=True, required=True)
    attributes = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)
    variants = fields.List(fields.Nested(VariantOut), required=True)
    photos = fields.List(fields.Nested(PhotoOut), required=True)
    created_at = utc(required=True)
    updated_at = utc(required=True)


class ProductListOut(Schema):
    items = fields.List(fields.Nested(ProductOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ProductListArgs(Strict):
    status = fields.String(validate=validate.OneOf([status.value for status in ProductStatus]))
    category_id = identifier()
    sku = fields.String(validate=validate.Length(1, 64))
    updated_since = utc(metadata={"description": "ISO 8601 with its offset, e.g. 2026-12-01T00:00:00Z"})
    cursor = fields.String(validate=validate.Length(1, 200))
    limit = fields.Integer(strict=False, load_default=50, validate=validate.Range(1, 100))


def _options() -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.Length(1, 40)),
        values=fields.String(validate=validate.Length(0, 80)),
        validate=validate.Length(max=10),
    )


def _attributes() -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.Length(1, 50)),
        values=fields.Raw(metadata={"description": "A text, a number, true/false or a list of texts"}),
        validate=validate.Length(max=50),
    )


def _attribute_problems(attributes: dict[str, Any] | None) -> None:
    for name, value in (attributes or {}).items():
        plain = value is None or isinstance(value, str | bool | int)
        listed = isinstance(value, list) and all(isinstance(item, str) for item in value)
        if not (plain or listed) or (isinstance(value, str) and len(value) > 500):
            raise ValidationError({name: ["Invalid value."]}, "attributes")


class VariantIn(Strict):
    id = identifier(metadata={"description": "An existing variant (when updating)"})
    sku = fields.String(required=True, validate=validate.Length(1, 64))
    price_cents = cents(required=True)
    compare_at_cents = cents(allow_none=True)
    options = _options()
    low_stock_threshold = quantity()
    weight_grams = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 1_000_000))


class NewVariantIn(VariantIn):
    stock = quantity(metadata={"description": "Initial quantity on hand"})


class ProductIn(Strict):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    category_id = identifier(required=True)
    vat_bps = fields.Integer(strict=True, required=True, validate=validate.OneOf(VAT_RATES_BPS))
    description = fields.String(validate=validate.Length(0, 10_000))
    gtin = fields.String(allow_none=True, validate=validate.Length(0, 20))
    attributes = _attributes()
    status = fields.String(validate=validate.OneOf([ProductStatus.DRAFT.value, ProductStatus.ACTIVE.value]))
    variants = fields.List(
        fields.Nested(NewVariantIn), required=True, validate=validate.Length(1, MAX_VARIANTS)
    )

    @validates_schema
    def _attributes_plain(self, data: dict[str, Any], **_: Any) -> None:
        _attribute_problems(data.get("attributes"))


class ProductPatch(Strict):
    """Only the fields sent change; ``variants``, when sent, is the whole list (matched by id or SKU;
    a variant left out is removed). Stock is changed through /stock."""

    title = fields.String(validate=validate.Length(1, 200))
    category_id = identifier()
    vat_bps = fields.Integer(strict=True, validate=validate.OneOf(VAT_RATES_BPS))
    description = fields.String(validate=validate.Length(0, 10_000))
    gtin = fields.String(allow_none=True, validate=validate.Length(0, 20))
    attributes = _attributes()
    status = fields.String(validate=validate.OneOf([ProductStatus.DRAFT.value, ProductStatus.ACTIVE.value]))
    variants = fields.List(fields.Nested(VariantIn), validate=validate.Length(1, MAX_VARIANTS))

    @validates_schema
    def _attributes_plain(self, data: dict[str, Any], **_: Any) -> None:
        _attribute_problems(data.get("attributes"))


class PhotoUrlIn(Strict):
    url = fields.Url(required=True, schemes={"https", "http"}, validate=validate.Length(1, 2000))
    alt = fields.String(validate=validate.Length(0, 200))


# -- stock ----------------------------------------------------------------------------------------


class StockLineIn(Strict):
    sku = fields.String(required=True, validate=validate.Length(1, 64))
    on_hand = quantity(metadata={"description": "The quantity in the shop, as the till counts it"})
    delta = fields.Integer(
        strict=True,
        validate=validate.Range(-MAX_QUANTITY, MAX_QUANTITY),
        metadata={"description": "Added to the quantity on hand; negative for a store sale"},
    )
    reason = fields.String(required=True, validate=validate.OneOf([reason.value for reason in ChangeReason]))
    note = fields.String(validate=validate.Length(0, 150))

    @validates_schema
    def _one_quantity(self, data: dict[str, Any], **_: Any) -> None:
        if ("on_hand" in data) == ("delta" in data):
            raise ValidationError("Send on_hand or delta (one of them).", "on_hand")
        if data.get("delta") == 0:
            raise ValidationError("Must not be zero.", "delta")


class StockBatchIn(Strict):
    lines = fields.List(fields.Nested(StockLineIn), required=True, validate=validate.Length(1, MAX_LINES))


class StockLevelOut(Schema):
    sku = fields.String(required=True)
    variant_id = fields.Integer(required=True)
    product_id = fields.Integer(required=True)
    on_hand = fields.Integer(required=True)
    held = fields.Integer(required=True)
    sellable = fields.Integer(required=True)


class StockLevelsOut(Schema):
    lines = fields.List(fields.Nested(StockLevelOut), required=True)


class StockQueryArgs(Strict):
    sku = fields.List(
        fields.String(validate=validate.Length(1, 64)), required=True, validate=validate.Length(1, 100)
    )


# -- public search --------------------------------------------------------------------------------


class SearchArgs(Strict):
    q = fields.String(load_default="", validate=validate.Length(0, 200))
    category = fields.String(validate=validate.Length(1, 80))
    shop = fields.String(validate=validate.Length(1, 60))
    in_stock = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(1, 50))


class SearchHitOut(Schema):
    product_id = fields.Integer(required=True)
    title = fields.String(required=True)
    shop = fields.String(required=True)
    shop_count = fields.Integer(required=True)
    price_cents = fields.Integer(allow_none=True, required=True)
    currency = fields.String(required=True)
    in_stock = fields.Boolean(required=True)
    url = fields.String(required=True)


class SearchUnderstoodOut(Schema):
    """The query as searched, once the words about buying are read out of ``q`` ("moins de 20 €",
    "pas cher", "click and collect", "en stock"), as the site's search page reads them."""

    text = fields.String(required=True)
    price_max_cents = fields.Integer(allow_none=True, required=True)
    sort = fields.String(required=True)
    delivery = fields.List(fields.String(), required=True)
    in_stock = fields.Boolean(required=True)


class SearchOut(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    understood = fields.Nested(SearchUnderstoodOut, required=True)
    items = fields.List(fields.Nested(SearchHitOut), required=True)


class CursorArgs(Strict):
    cursor = fields.String(validate=validate.Length(1, 200))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 200))


# -- the town (manager) ---------------------------------------------------------------------------


class TownOrderArgs(Strict):
    status = fields.String(validate=validate.OneOf([status.value for status in VendorOrderStatus]))
    shop_id = identifier()
    created_since = utc()
    cursor = fields.String(validate=validate.Length(1, 200))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 100))


class TownOrderOut(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    shop_id = fields.Integer(required=True)
    status = fields.String(required=True)
    delivery_method = fields.String(required=True)
    items_cents = fields.Integer(required=True)
    delivery_fee_cents = fields.Integer(required=True)
    total_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    created_at = utc(required=True)
    paid_at = utc(allow_none=True, required=True)


class TownOrderListOut(Schema):
    items = fields.List(fields.Nested(TownOrderOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class FiguresArgs(Strict):
    start = fields.Date(required=True, validate=validate.Range(EARLIEST, LATEST))
    end = fields.Date(required=True, validate=validate.Range(EARLIEST, LATEST))

    @validates_schema
    def _in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data["end"] < data["start"]:
            raise ValidationError("Must not be before start.", "end")
        if (data["end"] - data["start"]).days > 366:
            raise ValidationError("One year at most.", "end")


class FiguresOut(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    currency = fields.String(required=True)
    gmv_cents = fields.Integer(required=True)
    refunds_cents = fields.Integer(required=True)
    net_gmv_cents = fields.Integer(required=True)
    orders = fields.Integer(required=True)
    checkouts = fields.Integer(required=True)
    items = fields.Integer(required=True)
    commission_cents = fields.Integer(required=True)
    shops_selling = fields.Integer(required=True)
    buyers = fields.Integer(required=True)
    basket_cents = fields.Integer(required=True)


# -- the shop's orders ----------------------------------------------------------------------------


class OrderListArgs(Strict):
    status = fields.String(validate=validate.OneOf([status.value for status in VendorOrderStatus]))
    updated_since = utc()
    cursor = fields.String(validate=validate.Length(1, 200))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 100))


class OrderLineOut(Schema):
    id = fields.Integer(required=True)
    sku = fields.String(required=True)
    title = fields.String(required=True)
    variant_label = fields.String(required=True)
    quantity = fields.Integer(required=True)
    returned_quantity = fields.Integer(required=True)
    unit_price_cents = fields.Integer(required=True)
    total_cents = fields.Integer(required=True)
    vat_bps = fields.Integer(required=True)


class CustomerOut(Schema):
    full_name = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(required=True)
    street = fields.String(required=True)
    postcode = fields.String(required=True)
    city = fields.String(required=True)
    country = fields.String(required=True)


class ShopOrderOut(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True)
    delivery_method = fields.String(required=True)
    pickup_slot = utc(allow_none=True, required=True)
    carrier = fields.String(required=True)
    tracking_number = fields.String(required=True)
    items_cents = fields.Integer(required=True)
    delivery_fee_cents = fields.Integer(required=True)
    total_cents = fields.Integer(required=True)
    refunded_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    customer = fields.Nested(CustomerOut, required=True)
    lines = fields.List(fields.Nested(OrderLineOut), required=True)
    paid_at = utc(allow_none=True, required=True)
    accepted_at = utc(allow_none=True, required=True)
    shipped_at = utc(allow_none=True, required=True)
    ready_at = utc(allow_none=True, required=True)
    received_at = utc(allow_none=True, required=True)
    cancelled_at = utc(allow_none=True, required=True)
    created_at = utc(required=True)
    updated_at = utc(required=True)


class ShopOrderListOut(Schema):
    items = fields.List(fields.Nested(ShopOrderOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class RefuseIn(Strict):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class ShipIn(Strict):
    carrier = fields.String(required=True, validate=validate.Length(1, 60))
    tracking_number = fields.String(required=True, validate=validate.Length(1, 60))


class CollectedIn(Strict):
    code = fields.String(required=True, validate=validate.Length(1, 12))


# -- the shop's returns (withdrawals) -------------------------------------------------------------


class ReturnListArgs(Strict):
    status = fields.String(validate=validate.OneOf([status.value for status in ReturnStatus]))
    requested_since = utc(metadata={"description": "Returns asked for at or after this time"})
    cursor = fields.String(validate=validate.Length(1, 200))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 100))


class ReturnLineOut(Schema):
    order_line_id = fields.Integer(required=True)
    sku = fields.String(required=True)
    title = fields.String(required=True)
    variant_label = fields.String(required=True)
    quantity = fields.Integer(required=True, metadata={"description": "Units sent back"})
    unit_price_cents = fields.Integer(required=True)
    total_cents = fields.Integer(required=True)


class ReturnRefundOut(Schema):
    amount_cents = fields.Integer(required=True)
    delivery_cents = fields.Integer(required=True, metadata={"description": "Of which delivery fee"})
    status = fields.String(required=True)
    created_at = utc(required=True)


class ReturnOut(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([status.value for status in ReturnStatus]))
    vendor_order_id = fields.Integer(required=True, metadata={"description": "The order: GET /orders/{id}"})
    order_number = fields.String(required=True)
    reason = fields.String(required=True, metadata={"description": "The shopper's words, if any"})
    lines = fields.List(fields.Nested(ReturnLineOut), required=True)
    currency = fields.String(required=True)
    refunded_cents = fields.Integer(required=True, metadata={"description": "0 until the refund is made"})
    refund = fields.Nested(ReturnRefundOut, allow_none=True, required=True)
    requested_at = utc(required=True)
    received_at = utc(allow_none=True, required=True)
    refund_due_on = fields.Date(required=True, metadata={"description": "14 days after the request"})
    updated_at = utc(required=True)


class ReturnListOut(Schema):
    items = fields.List(fields.Nested(ReturnOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


# -- the shop's reviews ---------------------------------------------------------------------------


class ReviewListArgs(Strict):
    rating = fields.Integer(validate=validate.Range(1, 5))
    has_reply = fields.Boolean()
    kind = fields.String(validate=validate.OneOf([kind.value for kind in ReviewKind]))
    since = utc(metadata={"description": "Reviews published at or after this time"})
    cursor = fields.String(validate=validate.Length(1, 200))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 100))


class ReplyOut(Schema):
    body = fields.String(required=True)
    created_at = utc(required=True)
    edited_at = utc(allow_none=True, required=True)


class ReviewOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([kind.value for kind in ReviewKind]))
    rating = fields.Integer(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    author = fields.String(
        required=True, metadata={"description": "First name and initial, as shown on the site"}
    )
    product_id = fields.Integer(allow_none=True, required=True)
    product_title = fields.String(required=True)
    vendor_order_id = fields.Integer(required=True)
    photos = fields.List(fields.String(), required=True)
    purchased_at = utc(required=True)
    published_at = utc(required=True)
    edited_at = utc(allow_none=True, required=True)
    reply = fields.Nested(ReplyOut, allow_none=True, required=True)


class ReviewListOut(Schema):
    items = fields.List(fields.Nested(ReviewOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ReplyIn(Strict):
    body = fields.String(required=True, validate=validate.Length(1, REPLY_MAX))
