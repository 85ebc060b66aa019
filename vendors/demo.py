"""Demo town: relay points and the 34 shops, approved, each with an owner who can log in."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.catalog.models import Category
from app.database import utcnow
from app.extensions import db
from vendors import validators
from vendors.models import (
    MemberRole,
    OpeningHours,
    RelayPoint,
    SellerKind,
    Shop,
    ShopMember,
    ShopStatus,
    VatRegime,
)

if TYPE_CHECKING:
    from app.demo import DemoContext

DEMO_RELAY_POINTS = [
    ("Tabac-presse de la Victoire", "4 place de la Victoire", 47.394600, 0.688100, "Lun-sam 7h-19h30"),
    ("Épicerie du Port", "12 quai du Port", 47.393700, 0.672400, "Mar-dim 8h-20h"),
    ("Bar des Halles", "2 rue des Halles", 47.402000, 0.698500, "Tous les jours 7h-22h"),
]
VAT_REGIMES = {
    "réel normal": VatRegime.NORMAL,
    "réel simplifié": VatRegime.SIMPLIFIED,
    "franchise en base": VatRegime.FRANCHISE,
}
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FIRST_NAMES = ("Marie", "Julien", "Sophie", "Thomas", "Claire", "Nicolas", "Léa", "Antoine", "Emma", "Hugo")
RETURN_POLICY = (
    "Retours acceptés dans les délais, articles non utilisés et dans leur emballage d’origine. "
    "Les denrées périssables et les articles personnalisés ne sont ni repris ni échangés. "
    "Retour gratuit en boutique ; par envoi, les frais de retour restent à votre charge."
)


def load_relay_points(ctx: DemoContext) -> None:
    existing = set(db.session.scalars(sa.select(RelayPoint.name)))
    created = 0
    for name, street, latitude, longitude, notes in DEMO_RELAY_POINTS:
        if name in existing:
            continue
        db.session.add(
            RelayPoint(
                name=name,
                street=street,
                postcode="37000",
                city="Bellerive-sur-Loire",
                latitude=latitude,
                longitude=longitude,
                opening_notes=notes,
            )
        )
        created += 1
    db.session.flush()
    ctx.counts["relay points created"] = created


def _interval(text: str) -> tuple[dt.time, dt.time]:
    opens, closes = text.split("-")
    return dt.time.fromisoformat(opens), dt.time.fromisoformat(closes)


def _owner(row: dict[str, Any], index: int, password_hash: str) -> User:
    email = row["email"].lower()
    user = accounts.find_by_email(email)
    if user is None:
        user = User(
            email=email,
            first_name=FIRST_NAMES[index % len(FIRST_NAMES)],
            last_name=row["name"][:80],
            locale="fr",
            role=Role.SHOPPER,
            email_confirmed_at=utcnow(),
            session_token=secrets.token_hex(16),
            password_hash=password_hash,
        )
        db.session.add(user)
    return user


def load_shops(ctx: DemoContext) -> None:
    categories = {category.slug: category for category in db.session.scalars(sa.select(Category))}
    relay_points = list(db.session.scalars(sa.select(RelayPoint).where(RelayPoint.archived_at.is_(None))))
    existing = set(db.session.scalars(sa.select(Shop.slug)))
    password_hash = ""
    created = 0
    for index, row in enumerate(ctx.read_json("vendors.json")):
        if row["slug"] in existing:
            continue
        password_hash = password_hash or accounts.hash_password(ctx.password)
        legal, address, methods = row["legal"], row["address"], set(row["delivery_methods"])
        now = utcnow()
        shop = Shop(
            slug=row["slug"],
            name=row["name"],
            status=ShopStatus.APPROVED,
            category=categories[row["category"]],
            story=row["story"],
            street=address["street"],
            postcode=address["postcode"],
            city=address["city"],
            country=address["country"],
            latitude=row["geo"]["lat"],
            longitude=row["geo"]["lon"],
            phone=row["phone"],
            email=row["email"].lower(),
            click_collect="click_collect" in methods,
            click_collect_prep_minutes=120,
            local_delivery="local_delivery" in methods,
            local_delivery_postcodes="37000 37100 37200" if "local_delivery" in methods else "",
            local_delivery_fee_cents=490,
            local_delivery_free_over_cents=5000,
            home_delivery="home_delivery" in methods,
            home_delivery_fee_cents=690,
            relay="relay" in methods,
            relay_points=relay_points if "relay" in methods else [],
            return_days=14,
            return_policy=RETURN_POLICY,
            legal_name=legal["legal_name"],
            registration_number=validators.normalize_siret(legal["siret"]),
            vat_number=validators.normalize_vat_number(legal["vat_number"], "FR"),
            vat_regime=VAT_REGIMES[legal["vat_regime"]],
            trade_register=legal["rcs"],
            # DAC7: the demo shops are companies reported under their SIREN (the head of the SIRET).
            seller_kind=SellerKind.COMPANY,
            tax_number=validators.normalize_siret(legal["siret"])[:9],
            terms_accepted_at=now,
            terms_version="demo",
            submitted_at=now,
            approved_at=now,
            opening_hours=[
                OpeningHours(weekday=weekday, opens_at=opens, closes_at=closes)
                for weekday, key in enumerate(WEEKDAY_KEYS)
                if row["opening_hours"][key]
                for opens, closes in [_interval(row["opening_hours"][key])]
            ],
        )
        db.session.add(shop)
        db.session.add(ShopMember(shop=shop, user=_owner(row, index, password_hash), role=MemberRole.OWNER))
        created += 1
    db.session.flush()
    ctx.counts["shops created"] = created
    ctx.logins.append(
        ("shop owner", "contact@<shop>.example", "one per shop, e.g. contact@fournil-saint-martin.example")
    )
