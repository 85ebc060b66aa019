"""Demo town: the category tree."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from app.catalog.models import Category, WithdrawalExclusion
from app.catalog.services import clean_attributes
from app.extensions import db

if TYPE_CHECKING:
    from app.demo import DemoContext


def load_categories(ctx: DemoContext) -> None:
    existing = {category.slug: category for category in db.session.scalars(sa.select(Category))}
    created = 0
    for position, row in enumerate(ctx.read_json("categories.json")):
        if row["slug"] in existing:
            continue
        parent = existing.get(row["parent"]) if row["parent"] else None
        exclusion = row.get("withdrawal_exclusion")
        category = Category(
            slug=row["slug"],
            name=row["name"],
            name_en=row.get("name_en"),
            parent=parent,
            position=position,
            withdrawal_exclusion=WithdrawalExclusion(exclusion) if exclusion else None,
        )
        db.session.add(category)
        existing[row["slug"]] = category
        created += 1
    db.session.flush()
    ctx.counts["categories created"] = created


# Placeholder photos: a colour per category and the product's initials, drawn with Pillow.
PALETTE = [
    (196, 224, 212),
    (238, 214, 196),
    (214, 222, 240),
    (240, 226, 190),
    (226, 208, 230),
    (206, 230, 190),
]


def _placeholder_png(title: str, colour_index: int) -> io.BytesIO:
    from PIL import Image, ImageDraw, ImageFont

    background = PALETTE[colour_index % len(PALETTE)]
    image = Image.new("RGB", (320, 320), background)
    draw = ImageDraw.Draw(image)
    initials = "".join(word[0] for word in title.split()[:2]).upper()
    font: Any
    try:
        font = ImageFont.truetype("DejaVuSans-Bold.ttf", 110)
    except OSError:
        font = ImageFont.load_default(size=110)
    draw.text(
        (160, 160),
        initials,
        fill=tuple(max(0, channel - 110) for channel in background),
        font=font,
        anchor="mm",
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def load_products(ctx: DemoContext) -> None:
    """The 550 products of the demo town, active, each with a placeholder photo."""
    from app import images
    from app.catalog.models import Product, ProductPhoto, ProductStatus, StockMovement, StockReason, Variant
    from vendors.models import Shop, VatRegime

    shops = {shop.slug: shop for shop in db.session.scalars(sa.select(Shop))}
    categories = {category.slug: category for category in db.session.scalars(sa.select(Category))}
    existing_skus = {
        (shop_id, sku) for shop_id, sku in db.session.execute(sa.select(Variant.shop_id, Variant.sku))
    }
    created = 0
    with (ctx.data_dir / "products.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            shop = shops[row["vendor"]]
            if all((shop.id, variant["sku"]) in existing_skus for variant in row["variants"]):
                continue
            category = categories[row["category"]]
            product = Product(
                shop_id=shop.id,
                category_id=category.id,
                title=row["title"],
                description=row["description"],
                attributes=clean_attributes(row["attributes"]),
                gtin=row["gtin"],
                # A shop under the VAT franchise charges none, whatever rate the goods would carry.
                vat_bps=0 if shop.vat_regime == VatRegime.FRANCHISE else row["vat_bps"],
                status=ProductStatus.ACTIVE,
            )
            for position, data in enumerate(row["variants"]):
                variant = Variant(
                    shop_id=shop.id,
                    sku=data["sku"],
                    options={str(key): str(value) for key, value in data["options"].items()},
                    price_cents=data["price_cents"],
                    stock=data["stock"],
                    position=position,
                )
                product.variants.append(variant)
            db.session.add(product)
            db.session.flush()
            for variant in product.variants:
                if variant.stock:
                    db.session.add(
                        StockMovement(
                            variant_id=variant.id,
                            delta=variant.stock,
                            stock_after=variant.stock,
                            reason=StockReason.IMPORT,
                            note="demo",
                        )
                    )
            if ctx.with_photos:
                stored = images.store_image(
                    _placeholder_png(row["title"], category.id),
                    folder="products",
                    max_bytes=5 * 1024 * 1024,
                    # Small on purpose: 550 of them are drawn at every fresh demo load.
                    sizes={"thumb": (200, 200, "crop"), "card": (320, 320, "crop")},
                    main_size=(320, 320),
                )
                product.photos.append(
                    ProductPhoto(
                        path=stored.path,
                        thumbnails=stored.thumbnails,
                        width=stored.width,
                        height=stored.height,
                        alt=row["title"],
                    )
                )
            created += 1
    db.session.flush()
    ctx.counts["products created"] = created
