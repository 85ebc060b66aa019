"""Products and Prices (``/v1/products``, ``/v1/prices``): what a subscription's items are priced with.

A Price is immutable in what it charges (amount, currency, interval, tax behaviour once chosen): a new
amount is a new Price, and the old one is set ``active=false``. ``lookup_key`` is unique among prices;
``transfer_lookup_key=true`` takes it from the price holding it. Only ``per_unit`` prices with a fixed
``unit_amount`` are emulated. Events: ``product.created``, ``.updated``, ``.deleted``, ``price.created``,
``.updated``.
"""

from __future__ import annotations

import re
from copy import deepcopy

from devtools.stripe_emulator import expand
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import ApiError
from devtools.stripe_emulator.events import previous_attributes
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import State, StripeObject, new_id

PRODUCT_UPDATE = (
    "active",
    "default_price",
    "description",
    "images",
    "metadata",
    "name",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "unit_label",
    "url",
)
PRODUCT_CREATE = (*(k for k in PRODUCT_UPDATE if k != "default_price"), "id", "type")
PRICE_UPDATE = ("active", "lookup_key", "metadata", "nickname", "tax_behavior", "transfer_lookup_key")
PRICE_CREATE = (
    *PRICE_UPDATE,
    "billing_scheme",
    "currency",
    "product",
    "product_data",
    "recurring",
    "unit_amount",
    "unit_amount_decimal",
)
INTERVALS = ("day", "week", "month", "year")
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")
MAX_INTERVAL = {"day": 1095, "week": 156, "month": 36, "year": 3}  # Stripe's limit: three years


# --- Products --------------------------------------------------------------------------------------------


def create_product(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "product")
    p.check_known(params, PRODUCT_CREATE)
    state = call.backend.state
    with state.lock:
        product_id = p.string(params, "id") or new_id("prod", 14)
        if product_id in state.products:
            raise ApiError(400, "Product already exists.", param="id", code="resource_already_exists")
        now = state.now()
        product = _new_product(now, product_id, p.string(params, "name", required=True) or "")
        if "type" in params:
            product["type"] = p.choice(params, "type", ("good", "service"))
        _apply_product(state, product, params)
        state.products.add(product)
        call.backend.emit("product.created", product, None, call.request, account=None)
        return expand.expanded(state, product, paths)


def _new_product(now: int, product_id: str, name: str) -> StripeObject:
    return {
        "id": product_id,
        "object": "product",
        "active": True,
        "created": now,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {},
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "tax_details": None,
        "type": "service",
        "unit_label": None,
        "updated": now,
        "url": None,
    }


def _apply_product(state: State, product: StripeObject, params: p.Params) -> None:
    if "name" in params:
        product["name"] = p.string(params, "name", required=True)
    for key in ("description", "statement_descriptor", "tax_code", "unit_label", "url"):
        if key in params:
            product[key] = p.string(params, key)
    for key in ("active", "shippable"):
        if key in params:
            product[key] = p.boolean(params[key], key)
    if "images" in params:
        images = [] if params["images"] == "" else params["images"]
        if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
            raise p.invalid_param("images", "Invalid array")
        product["images"] = images
    if "metadata" in params:
        product["metadata"] = p.merge_metadata(product["metadata"], p.mapping(params, "metadata"))
    if "default_price" in params:
        price_id = p.string(params, "default_price")
        if price_id is not None:
            price = state.prices.get(price_id, param="default_price", status=400)
            if price["product"] != product["id"]:
                raise p.invalid_param(
                    "default_price", f"The price {price_id} does not belong to the product {product['id']}."
                )
        product["default_price"] = price_id


def retrieve_product(call: ApiCall) -> StripeObject:
    paths = expand.requested(call.params, "product")
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        return expand.expanded(state, state.products.get(call.args["product"], param="id"), paths)


def update_product(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "product")
    p.check_known(params, PRODUCT_UPDATE)
    state = call.backend.state
    with state.lock:
        product = state.products.get(call.args["product"], param="id")
        changed = deepcopy(product)
        _apply_product(state, changed, params)
        before = deepcopy(product)
        if changed != product:
            changed["updated"] = state.now()
        product.update(changed)
        previous = previous_attributes(before, product)
        if previous:
            call.backend.emit("product.updated", product, previous, call.request, account=None)
        return expand.expanded(state, product, paths)


def delete_product(call: ApiCall) -> StripeObject:
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        product = state.products.get(call.args["product"], param="id")
        if any(price["product"] == product["id"] for price in state.prices):
            raise p.invalid_param(
                "product", "This product cannot be deleted because it has one or more user-created prices."
            )
        state.products.delete(product["id"])
        call.backend.emit("product.deleted", product, None, call.request, account=None)
        return {"id": product["id"], "object": "product", "deleted": True}


def list_products(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "product", is_list=True)
    p.check_known(params, ("limit", "starting_after", "ending_before", "created", "active", "ids", "url"))
    active = p.boolean(params["active"], "active") if "active" in params else None
    ids = params.get("ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise p.invalid_param("ids", "Invalid array")
    url = p.string(params, "url")
    state = call.backend.state
    with state.lock:
        page = state.products.page(
            params,
            where=lambda x: (
                (active is None or x["active"] == active)
                and (ids is None or x["id"] in ids)
                and (url is None or x["url"] == url)
            ),
        )
        return expand.expanded(state, page, paths)


# --- Prices ----------------------------------------------------------------------------------------------


def create_price(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "price")
    p.check_known(params, PRICE_CREATE)
    state = call.backend.state
    with state.lock:
        now = state.now()
        currency = (p.string(params, "currency", required=True) or "").lower()
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise p.invalid_param("currency", f"Invalid currency: {currency}.")
        product_id = p.string(params, "product")
        product_data = p.mapping(params, "product_data")
        if product_id is not None and product_data is not None:
            raise p.invalid_param(
                "product",
                "You may only specify one of these parameters: product, product_data.",
                code="parameters_exclusive",
            )
        if product_id is None and product_data is None:
            raise p.missing_param("product")
        if product_id is not None:
            state.products.get(product_id, param="product", status=400)
        if (p.choice(params, "billing_scheme", ("per_unit", "tiered")) or "per_unit") != "per_unit":
            raise _not_emulated("billing_scheme", "Tiered prices")
        amount = _unit_amount(params)
        recurring = _recurring(params)
        tax_behavior = p.choice(params, "tax_behavior", TAX_BEHAVIORS) or "unspecified"
        lookup_key = p.string(params, "lookup_key")
        transfer = p.boolean(params.get("transfer_lookup_key", "false"), "transfer_lookup_key")
        _take_lookup_key(call, lookup_key, transfer)
        if product_data is not None:
            p.check_known(
                product_data,
                ("name", "active", "metadata", "statement_descriptor", "tax_code", "unit_label", "id"),
                "product_data",
            )
            name = p.string(product_data, "name", required=True, param="product_data[name]") or ""
            product = _new_product(now, p.string(product_data, "id") or new_id("prod", 14), name)
            _apply_product(state, product, {k: v for k, v in product_data.items() if k not in ("id", "name")})
            state.products.add(product)
            call.backend.emit("product.created", product, None, call.request, account=None)
            product_id = product["id"]
        price: StripeObject = {
            "id": new_id("price", 24),
            "object": "price",
            "active": p.boolean(params.get("active", "true"), "active"),
            "billing_scheme": "per_unit",
            "created": now,
            "currency": currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": lookup_key,
            "metadata": p.merge_metadata({}, p.mapping(params, "metadata")),
            "nickname": p.string(params, "nickname"),
            "product": product_id,
            "recurring": recurring,
            "tax_behavior": tax_behavior,
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time" if recurring is None else "recurring",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }
        state.prices.add(price)
        call.backend.emit("price.created", price, None, call.request, account=None)
        return expand.expanded(state, price, paths)


def retrieve_price(call: ApiCall) -> StripeObject:
    paths = expand.requested(call.params, "price")
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        return expand.expanded(state, state.prices.get(call.args["price"], param="price"), paths)


def update_price(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "price")
    p.check_known(params, PRICE_UPDATE)
    state = call.backend.state
    with state.lock:
        price = state.prices.get(call.args["price"], param="price")
        before = deepcopy(price)
        changes: StripeObject = {}
        if "active" in params:
            changes["active"] = p.boolean(params["active"], "active")
        if "nickname" in params:
            changes["nickname"] = p.string(params, "nickname")
        if "metadata" in params:
            changes["metadata"] = p.merge_metadata(price["metadata"], p.mapping(params, "metadata"))
        if "tax_behavior" in params:
            behavior = p.choice(params, "tax_behavior", TAX_BEHAVIORS)
            if price["tax_behavior"] != "unspecified" and behavior != price["tax_behavior"]:
                raise p.invalid_param(
                    "tax_behavior", "The tax_behavior of a price cannot be changed once it has been set."
                )
            changes["tax_behavior"] = behavior
        if "lookup_key" in params:
            key = p.string(params, "lookup_key")
            transfer = p.boolean(params.get("transfer_lookup_key", "false"), "transfer_lookup_key")
            if key != price["lookup_key"]:
                _take_lookup_key(call, key, transfer)
            changes["lookup_key"] = key
        price.update(changes)
        previous = previous_attributes(before, price)
        if previous:
            call.backend.emit("price.updated", price, previous, call.request, account=None)
        return expand.expanded(state, price, paths)


def list_prices(call: ApiCall) -> StripeObject:
    params = call.params
    paths = expand.requested(params, "price", is_list=True)
    p.check_known(
        params,
        (
            "limit",
            "starting_after",
            "ending_before",
            "created",
            "active",
            "currency",
            "lookup_keys",
            "product",
            "recurring",
            "type",
        ),
    )
    active = p.boolean(params["active"], "active") if "active" in params else None
    currency, product = p.string(params, "currency"), p.string(params, "product")
    kind = p.choice(params, "type", ("one_time", "recurring"))
    keys = params.get("lookup_keys")
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
        raise p.invalid_param("lookup_keys", "Invalid array")
    recurring = p.mapping(params, "recurring") or {}
    p.check_known(recurring, ("interval", "usage_type", "meter"), "recurring")
    interval = p.string(recurring, "interval", param="recurring[interval]")
    state = call.backend.state
    with state.lock:
        page = state.prices.page(
            params,
            where=lambda x: (
                (active is None or x["active"] == active)
                and (currency is None or x["currency"] == currency.lower())
                and (product is None or x["product"] == product)
                and (kind is None or x["type"] == kind)
                and (keys is None or x["lookup_key"] in keys)
                and (interval is None or (x["recurring"] or {}).get("interval") == interval)
            ),
        )
        return expand.expanded(state, page, paths)


def _unit_amount(params: p.Params) -> int:
    if params.get("unit_amount") not in (None, ""):
        if "unit_amount_decimal" in params:
            raise p.invalid_param(
                "unit_amount",
                "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
                code="parameters_exclusive",
            )
        amount = p.integer(params["unit_amount"], "unit_amount")
    elif params.get("unit_amount_decimal") not in (None, ""):
        decimal = str(params["unit_amount_decimal"])
        if not re.fullmatch(r"\d+(\.0+)?", decimal):
            raise _not_emulated("unit_amount_decimal", "Fractions of the smallest currency unit")
        amount = int(decimal.split(".")[0])
    else:
        raise p.missing_param("unit_amount")
    if amount < 0:
        raise p.invalid_param("unit_amount", "This value must be greater than or equal to 0.")
    return amount


def _recurring(params: p.Params) -> StripeObject | None:
    recurring = p.mapping(params, "recurring")
    if recurring is None:
        return None
    p.check_known(recurring, ("interval", "interval_count", "usage_type"), "recurring")
    interval = p.string(recurring, "interval", required=True, param="recurring[interval]")
    if interval not in INTERVALS:
        raise p.invalid_param(
            "recurring[interval]", f"Invalid recurring[interval]: must be one of {', '.join(INTERVALS)}"
        )
    count = p.integer(recurring.get("interval_count", "1"), "recurring[interval_count]")
    if not 1 <= count <= MAX_INTERVAL[interval]:
        raise p.invalid_param(
            "recurring[interval_count]", "The maximum billing interval is three years (3 years, 36 months)."
        )
    usage = p.string(recurring, "usage_type", param="recurring[usage_type]") or "licensed"
    if usage != "licensed":
        raise _not_emulated("recurring[usage_type]", "Metered prices")
    return {
        "interval": interval,
        "interval_count": count,
        "meter": None,
        "trial_period_days": None,
        "usage_type": usage,
    }


def _take_lookup_key(call: ApiCall, key: str | None, transfer: bool) -> None:
    if key is None:
        return
    for holder in call.backend.state.prices:
        if holder["lookup_key"] == key:
            if not transfer:
                raise p.invalid_param(
                    "lookup_key",
                    f"A price ({holder['id']}) already uses that lookup key.",
                )
            before = deepcopy(holder)
            holder["lookup_key"] = None
            previous = previous_attributes(before, holder)
            call.backend.emit("price.updated", holder, previous, call.request, account=None)


def _not_emulated(param: str, what: str) -> ApiError:
    return p.invalid_param(
        param, f"{what} are not emulated: the Stripe emulator has fixed per-unit prices only."
    )


ROUTES = [
    ApiRoute("POST", "/v1/products", create_product),
    ApiRoute("GET", "/v1/products", list_products),
    ApiRoute("GET", "/v1/products/<product>", retrieve_product),
    ApiRoute("POST", "/v1/products/<product>", update_product),
    ApiRoute("DELETE", "/v1/products/<product>", delete_product),
    ApiRoute("POST", "/v1/prices", create_price),
    ApiRoute("GET", "/v1/prices", list_prices),
    ApiRoute("GET", "/v1/prices/<price>", retrieve_price),
    ApiRoute("POST", "/v1/prices/<price>", update_price),
]
