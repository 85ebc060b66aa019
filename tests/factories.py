"""factory_boy factories: rows as the app would have written them, committed to the test transaction."""

from __future__ import annotations

import datetime as dt
import secrets
from functools import cache

import factory
import pyotp
from argon2 import PasswordHasher, profiles

from app.accounts.models import Role, User
from app.catalog.models import Category
from app.database import utcnow
from app.extensions import db
from vendors.models import MemberRole, OpeningHours, RelayPoint, Shop, ShopMember, ShopStatus, VatRegime

PASSWORD = "correct horse battery"


@cache
def password_hash(password: str = PASSWORD) -> str:
    return PasswordHasher.from_parameters(profiles.CHEAPEST).hash(password)


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - the session of the running test
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    locale = "fr"
    role = Role.SHOPPER
    is_active = True
    email_confirmed_at = factory.LazyFunction(utcnow)
    session_token = factory.LazyFunction(lambda: secrets.token_hex(16))
    password_hash = factory.LazyFunction(password_hash)

    class Params:
        unconfirmed = factory.Trait(email_confirmed_at=None)
        manager = factory.Trait(role=Role.MANAGER)
        two_factor = factory.Trait(
            totp_secret=factory.LazyFunction(pyotp.random_base32),
            totp_enabled_at=factory.LazyFunction(utcnow),
        )


class CategoryFactory(BaseFactory):
    class Meta:
        model = Category

    slug = factory.Sequence(lambda n: f"categorie-{n}")
    name = factory.Sequence(lambda n: f"Catégorie {n}")
    position = factory.Sequence(int)


class RelayPointFactory(BaseFactory):
    class Meta:
        model = RelayPoint

    name = factory.Sequence(lambda n: f"Relais {n}")
    street = "4 place de la Victoire"
    postcode = "37000"
    city = "Bellerive-sur-Loire"
    latitude = 47.3946
    longitude = 0.6881


# A valid SIRET (Luhn) and the French VAT number of its SIREN, from the demo town.
SIRET = "97228186620119"
VAT_NUMBER = "FR29972281866"


class ShopFactory(BaseFactory):
    """A shop with every onboarding step done, approved unless told otherwise."""

    class Meta:
        model = Shop

    slug = factory.Sequence(lambda n: f"boutique-{n}")
    name = factory.Sequence(lambda n: f"Boutique {n}")
    status = ShopStatus.APPROVED
    category = factory.SubFactory(CategoryFactory)
    story = "Une boutique du centre-ville."
    street = "15 rue de la Paix"
    postcode = "37000"
    city = "Bellerive-sur-Loire"
    country = "FR"
    latitude = 47.392288
    longitude = 0.67658
    phone = "02 47 16 46 53"
    email = factory.LazyAttribute(lambda shop: f"contact@{shop.slug}.example.com")
    click_collect = True
    click_collect_prep_minutes = 60
    local_delivery = True
    local_delivery_postcodes = "37000 37100"
    local_delivery_fee_cents = 490
    local_delivery_free_over_cents = 5000
    return_days = 14
    return_policy = "Retours sous 14 jours."
    legal_name = factory.LazyAttribute(lambda shop: f"{shop.name.upper()} SARL")
    registration_number = SIRET
    vat_number = VAT_NUMBER
    vat_regime = VatRegime.NORMAL
    trade_register = "RCS Tours 972 281 866"
    terms_accepted_at = factory.LazyFunction(utcnow)
    submitted_at = factory.LazyFunction(utcnow)
    approved_at = factory.LazyFunction(utcnow)
    opening_hours = factory.LazyFunction(
        lambda: [
            OpeningHours(weekday=day, opens_at=dt.time(9, 30), closes_at=dt.time(19, 0))
            for day in range(1, 7)
        ]
    )

    class Params:
        draft = factory.Trait(
            status=ShopStatus.DRAFT, submitted_at=None, approved_at=None, terms_accepted_at=None
        )
        submitted = factory.Trait(status=ShopStatus.SUBMITTED, approved_at=None)


class ShopMemberFactory(BaseFactory):
    class Meta:
        model = ShopMember

    shop = factory.SubFactory(ShopFactory)
    user = factory.SubFactory(UserFactory)
    role = MemberRole.OWNER


def owner_of(shop: Shop | None = None, **user: object) -> ShopMember:
    """A shop (approved by default) and its owner, committed."""
    return ShopMemberFactory(shop=shop or ShopFactory(), user=UserFactory(**user), role=MemberRole.OWNER)


# -- catalogue ------------------------------------------------------------------------------------

from app.catalog.models import Product, ProductStatus, Variant  # noqa: E402 - appended with the factories


class ProductFactory(BaseFactory):
    """An active product of an approved shop with one variant; ``variants=[{...}, ...]`` for others.

    ``variants=[]`` makes a product without any variant; each dict overrides VariantFactory's fields.
    """

    class Meta:
        model = Product

    shop = factory.SubFactory(ShopFactory)
    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"Produit {n}")
    description = "Fabriqué en ville."
    vat_bps = 2000
    status = ProductStatus.ACTIVE

    class Params:
        draft = factory.Trait(status=ProductStatus.DRAFT)
        archived = factory.Trait(status=ProductStatus.ARCHIVED)

    @factory.post_generation
    def variants(
        product: Product, create: bool, extracted: list[dict[str, object]] | None, **kwargs: object
    ) -> None:
        if not create:
            return
        for position, row in enumerate([{}] if extracted is None else extracted):
            VariantFactory(product=product, position=position, **{**kwargs, **row})


class VariantFactory(BaseFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory, variants=[])
    shop_id = factory.LazyAttribute(lambda variant: variant.product.shop_id)
    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    options = factory.LazyFunction(dict)
    price_cents = 1250
    stock = 10
    position = 0
