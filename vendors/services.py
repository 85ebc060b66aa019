"""Shop use cases: onboarding, review by the manager, staff, Stripe Connect, the public directory.

Every function takes the acting person explicitly and never commits; views commit once.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import joinedload

from app import images, jobs, mail, pagecache
from app.accounts.models import Role, User
from app.audit import services as audit
from app.caching import Detached, TTLCache
from app.catalog.models import Category
from app.catalog.services import PublicCategory
from app.database import lock, utcnow
from app.errors import ServiceError
from app.extensions import db
from app.i18n import sort_key
from app.permissions import Permission
from app.urls import external_url
from payouts import gateway
from vendors import geo, hours, validators
from vendors.models import (
    Closure,
    MemberRole,
    OpeningHours,
    RelayPoint,
    SellerKind,
    Shop,
    ShopMember,
    ShopStatus,
    StaffInvitation,
    VatRegime,
    shop_relay_points,
)

# The wizard's steps, in order. The same pages are the shop's settings once it is open.
STEPS = ("identity", "photos", "address", "hours", "delivery", "returns", "legal")
OPTIONAL_STEPS = frozenset({"photos"})
# Who may open each step is the permission table's business: staff keep the opening hours.
STEP_PERMISSIONS = {
    "identity": Permission.SETTINGS,
    "photos": Permission.SETTINGS,
    "address": Permission.SETTINGS,
    "hours": Permission.HOURS,
    "delivery": Permission.SETTINGS,
    "returns": Permission.SETTINGS,
    "legal": Permission.LEGAL,
}
EDITABLE_STATUSES = frozenset(
    {ShopStatus.DRAFT, ShopStatus.REJECTED, ShopStatus.APPROVED, ShopStatus.SUSPENDED}
)
RESERVED_SLUGS = frozenset({"nouvelle", "carte", "recherche", "vendeur", "gestion", "admin", "api"})
INVITATION_DAYS = 7
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SUBJECT = "shop"


class ShopError(ServiceError):
    """A refused shop use case."""


# -- membership -----------------------------------------------------------------------------------


def memberships(user: User) -> list[ShopMember]:
    """The shops a person works for, by name."""
    rows = db.session.scalars(sa.select(ShopMember).join(Shop).where(ShopMember.user_id == user.id))
    return sorted(rows, key=lambda member: sort_key(member.shop.name))


def membership(user: User, slug: str, *, hold: bool = False) -> ShopMember | None:
    """The person's membership of the shop with this slug, or None: the key to every back-office page.

    ``hold`` (a request that changes something) keeps the row from being removed until the request's
    transaction ends (FOR KEY SHARE): the membership checked before the action still exists when the
    action commits, and a removal made meanwhile waits for it (``remove_member``)."""
    query = sa.select(ShopMember).join(Shop).where(ShopMember.user_id == user.id, Shop.slug == slug)
    if hold:
        query = query.with_for_update(read=True, key_share=True, of=ShopMember)
    return db.session.scalar(query)


def _require(member: ShopMember, permission: Permission) -> None:
    if not member.may(permission):
        raise ShopError(_l("Seul le propriétaire de la boutique peut faire cela."))


# -- identity and slugs ---------------------------------------------------------------------------


def slugify(text: str) -> str:
    """ "L’Atelier de Noé" -> "l-atelier-de-noe": accents dropped, apostrophes separate words."""
    text = re.sub(r"['’‘`]", " ", text)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:60].strip("-")


def suggest_slug(name: str) -> str:
    """A free slug from the shop's name: "Le Fournil" -> "le-fournil", or "le-fournil-2" if taken."""
    base = slugify(name) or "boutique"
    candidate, counter = base, 2
    while not slug_available(candidate):
        candidate = f"{base[:55]}-{counter}"
        counter += 1
    return candidate


def slug_available(slug: str, shop: Shop | None = None) -> bool:
    if slug in RESERVED_SLUGS:
        return False
    query = sa.select(Shop.id).where(Shop.slug == slug)
    if shop is not None:
        query = query.where(Shop.id != shop.id)
    return db.session.scalar(query) is None


def _check_slug(slug: str, shop: Shop | None) -> str:
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise ShopError(_l("Lettres minuscules, chiffres et tirets seulement."), field="slug")
    if not slug_available(slug, shop):
        raise ShopError(_l("Cette adresse est déjà prise : choisissez-en une autre."), field="slug")
    return slug


def _check_category(category_id: int | None) -> Category:
    category = db.session.get(Category, category_id) if category_id else None
    if category is None or category.archived_at is not None:
        raise ShopError(_l("Choisissez une catégorie."), field="category_id")
    return category


@dataclass(frozen=True)
class Identity:
    name: str
    slug: str
    category_id: int | None
    story: str


def create_shop(owner: User, identity: Identity) -> Shop:
    """Start a shop (a draft): the person who creates it is its owner."""
    shop = Shop(status=ShopStatus.DRAFT, country="FR")
    _apply_identity(shop, identity)
    db.session.add(shop)
    db.session.add(ShopMember(shop=shop, user=owner, role=MemberRole.OWNER))
    db.session.flush()
    audit.record(owner, SUBJECT, shop.id, "created")
    return shop


def update_identity(member: ShopMember, identity: Identity) -> None:
    """The shop's name, address on the site, category and story."""
    _require(member, Permission.SETTINGS)
    _apply_identity(member.shop, identity)


def _apply_identity(shop: Shop, identity: Identity) -> None:
    name = identity.name.strip()
    if not name:
        raise ShopError(_l("Indiquez le nom de la boutique."), field="name")
    shop.slug = _check_slug(identity.slug, shop if shop.id else None)
    shop.category = _check_category(identity.category_id)
    shop.name = name
    shop.story = identity.story.strip()


# -- photos ---------------------------------------------------------------------------------------

PHOTO_SPECS: dict[str, dict[str, Any]] = {
    "logo": {"main_size": (512, 512), "sizes": {"thumb": (160, 160, "crop")}, "min_size": (64, 64)},
    "banner": {"main_size": (1600, 600), "sizes": {"thumb": (640, 240, "crop")}, "min_size": (320, 120)},
}


def set_photo(member: ShopMember, kind: str, stream: IO[bytes]) -> None:
    """Store a logo or banner (checked by content, re-encoded without metadata) and drop the old one."""
    _require(member, Permission.SETTINGS)
    spec = PHOTO_SPECS[kind]
    try:
        stored = images.store_image(
            stream,
            folder="shops",
            max_bytes=current_app.config["MAX_IMAGE_BYTES"],
            sizes=spec["sizes"],
            main_size=spec["main_size"],
            min_size=spec["min_size"],
        )
    except images.ImageRejected as rejected:
        raise ShopError(images.rejection_message(rejected), field=kind) from rejected
    shop = member.shop
    old = getattr(shop, f"{kind}_path")
    setattr(shop, f"{kind}_path", stored.path)
    if old:
        # Only once the new path is committed: a rollback must leave the old photo in place.
        jobs.enqueue(images.delete_stored, old)


def remove_photo(member: ShopMember, kind: str) -> None:
    """Take the logo or banner down (the file goes once the change is committed)."""
    _require(member, Permission.SETTINGS)
    shop = member.shop
    old = getattr(shop, f"{kind}_path")
    setattr(shop, f"{kind}_path", None)
    if old:
        jobs.enqueue(images.delete_stored, old)


# -- address and contact --------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    street: str
    postcode: str
    city: str
    country: str
    latitude: float | None
    longitude: float | None
    phone: str
    email: str


def update_address(member: ShopMember, address: Address) -> None:
    """Address and contact. Without coordinates, the town's street list places the shop."""
    _require(member, Permission.SETTINGS)
    shop = member.shop
    if address.country not in {"FR", "BE"}:
        raise ShopError(
            _l("La place de marché accueille les commerces de France et de Belgique."), field="country"
        )
    postcode_ok = re.fullmatch(r"\d{5}" if address.country == "FR" else r"\d{4}", address.postcode.strip())
    if not postcode_ok:
        raise ShopError(_l("Ce code postal n’est pas valide."), field="postcode")
    latitude, longitude = address.latitude, address.longitude
    if (latitude is None) != (longitude is None):
        raise ShopError(_l("Indiquez la latitude et la longitude, ou aucune des deux."), field="latitude")
    if latitude is None:
        point = geo.locate(address.street)
        if point is None:
            raise ShopError(
                _l(
                    "Nous ne connaissons pas cette rue : indiquez la latitude et la longitude de la boutique."
                ),
                field="latitude",
            )
        latitude, longitude = point
    if (
        shop.country != address.country
        and shop.registration_number
        and not _registration_fits(shop.registration_number, address.country)
    ):
        # A French SIRET cannot stay on a Belgian shop: the legal step must be done again.
        shop.registration_number = ""
        shop.vat_number = ""
    shop.street = address.street.strip()
    shop.postcode = address.postcode.strip()
    shop.city = address.city.strip()
    shop.country = address.country
    shop.latitude, shop.longitude = latitude, longitude
    shop.phone = address.phone.strip()
    shop.email = address.email.strip().lower()


def _registration_fits(number: str, country: str) -> bool:
    return len(number) == (14 if country == "FR" else 10)


# -- opening hours --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosureDates:
    starts_on: dt.date
    ends_on: dt.date
    label: str


def update_hours(
    member: ShopMember,
    week: dict[int, list[hours.Interval]],
    closures: Sequence[ClosureDates],
) -> None:
    """Replace the weekly hours and the closures. Overlapping intervals of one day are refused."""
    _require(member, Permission.HOURS)
    for weekday, intervals in week.items():
        if any(interval.opens_at >= interval.closes_at for interval in intervals):
            raise ShopError(
                _l("L’heure d’ouverture doit précéder l’heure de fermeture."), field=f"day_{weekday}"
            )
        if hours.overlapping(intervals):
            raise ShopError(_l("Ces horaires se chevauchent."), field=f"day_{weekday}")
    for closure in closures:
        if closure.starts_on > closure.ends_on:
            raise ShopError(_l("La fin d’une fermeture doit suivre son début."), field="closures")
    if not any(week.values()):
        raise ShopError(_l("Indiquez au moins une plage d’ouverture."), field="day_0")
    shop = member.shop
    shop.opening_hours = [
        OpeningHours(weekday=weekday, opens_at=interval.opens_at, closes_at=interval.closes_at)
        for weekday, intervals in sorted(week.items())
        for interval in intervals
    ]
    shop.closures = [
        Closure(starts_on=closure.starts_on, ends_on=closure.ends_on, label=closure.label.strip())
        for closure in sorted(closures, key=lambda closure: closure.starts_on)
    ]


# -- delivery -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOptions:
    click_collect: bool
    click_collect_prep_minutes: int
    local_delivery: bool
    local_delivery_postcodes: list[str]
    local_delivery_fee_cents: int
    local_delivery_free_over_cents: int | None
    home_delivery: bool
    home_delivery_fee_cents: int
    relay: bool
    relay_point_ids: list[int]


def active_relay_points() -> list[RelayPoint]:
    points = db.session.scalars(sa.select(RelayPoint).where(RelayPoint.archived_at.is_(None)))
    return sorted(points, key=lambda point: sort_key(point.name))


def update_delivery(member: ShopMember, options: DeliveryOptions) -> None:
    """The ways the shop hands its goods over, and their fees."""
    _require(member, Permission.SETTINGS)
    if not (options.click_collect or options.local_delivery or options.home_delivery or options.relay):
        raise ShopError(_l("Proposez au moins un mode de livraison ou de retrait."), field="click_collect")
    if options.click_collect_prep_minutes < 0:
        raise ShopError(
            _l("Le délai de préparation ne peut pas être négatif."), field="click_collect_prep_minutes"
        )
    postcodes = sorted(set(options.local_delivery_postcodes))
    if options.local_delivery:
        if not postcodes:
            raise ShopError(_l("Indiquez les codes postaux livrés."), field="local_delivery_postcodes")
        if any(not re.fullmatch(r"\d{4,5}", code) for code in postcodes):
            raise ShopError(_l("Un code postal n’est pas valide."), field="local_delivery_postcodes")
    for field, amount in (
        ("local_delivery_fee_cents", options.local_delivery_fee_cents),
        ("home_delivery_fee_cents", options.home_delivery_fee_cents),
    ):
        if amount < 0:
            raise ShopError(_l("Un montant ne peut pas être négatif."), field=field)
    if options.local_delivery_free_over_cents is not None and options.local_delivery_free_over_cents <= 0:
        raise ShopError(_l("Le seuil de gratuité doit être positif."), field="local_delivery_free_over_cents")
    relay_points: list[RelayPoint] = []
    if options.relay:
        wanted = set(options.relay_point_ids)
        relay_points = [point for point in active_relay_points() if point.id in wanted]
        if len(relay_points) != len(wanted):
            raise ShopError(
                _l("Un point relais choisi n’existe plus : vérifiez votre sélection."),
                field="relay_point_ids",
            )
        if not relay_points:
            raise ShopError(_l("Choisissez au moins un point relais."), field="relay_point_ids")
    shop = member.shop
    shop.click_collect = options.click_collect
    shop.click_collect_prep_minutes = options.click_collect_prep_minutes
    shop.local_delivery = options.local_delivery
    shop.local_delivery_postcodes = " ".join(postcodes)
    shop.local_delivery_fee_cents = options.local_delivery_fee_cents
    shop.local_delivery_free_over_cents = options.local_delivery_free_over_cents
    shop.home_delivery = options.home_delivery
    shop.home_delivery_fee_cents = options.home_delivery_fee_cents
    shop.relay = options.relay
    shop.relay_points = relay_points


# -- returns --------------------------------------------------------------------------------------


def update_returns(member: ShopMember, return_days: int, policy: str) -> None:
    """The shop's return window (the legal 14 days at least) and its policy."""
    _require(member, Permission.SETTINGS)
    if return_days < 14:
        raise ShopError(_l("Le délai légal de rétractation est de 14 jours au moins."), field="return_days")
    if return_days > 365:
        raise ShopError(_l("365 jours au plus."), field="return_days")
    member.shop.return_days = return_days
    member.shop.return_policy = policy.strip()


# -- legal details --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegalDetails:
    legal_name: str
    registration_number: str
    vat_number: str
    vat_regime: VatRegime
    trade_register: str


def update_legal(member: ShopMember, details: LegalDetails) -> None:
    """Legal mentions and identifiers, checked by their check digits. The owner's business only."""
    _require(member, Permission.LEGAL)
    shop = member.shop
    if not details.legal_name.strip():
        raise ShopError(_l("Indiquez la raison sociale."), field="legal_name")
    try:
        registration = (
            validators.normalize_siret(details.registration_number)
            if shop.country == "FR"
            else validators.normalize_be_enterprise_number(details.registration_number)
        )
    except validators.InvalidIdentifier as error:
        message = (
            _l("Ce numéro SIRET n’est pas valide (14 chiffres, clé de contrôle).")
            if shop.country == "FR"
            else _l("Ce numéro d’entreprise n’est pas valide (10 chiffres, clé de contrôle).")
        )
        raise ShopError(message, field="registration_number") from error
    vat_number = ""
    country = cast(validators.Country, shop.country)
    if details.vat_number.strip():
        try:
            vat_number = validators.normalize_vat_number(details.vat_number, country)
        except validators.InvalidIdentifier as error:
            raise ShopError(_l("Ce numéro de TVA n’est pas valide."), field="vat_number") from error
        if not validators.vat_matches_registration(vat_number, registration, country):
            raise ShopError(
                _l("Ce numéro de TVA ne correspond pas au numéro d’immatriculation."), field="vat_number"
            )
    elif details.vat_regime != VatRegime.FRANCHISE:
        raise ShopError(_l("Indiquez le numéro de TVA intracommunautaire."), field="vat_number")
    previous = {"registration_number": shop.registration_number, "vat_number": shop.vat_number}
    shop.legal_name = details.legal_name.strip()
    shop.registration_number = registration
    shop.vat_number = vat_number
    shop.vat_regime = details.vat_regime
    shop.trade_register = details.trade_register.strip()
    if (
        shop.status in {ShopStatus.APPROVED, ShopStatus.SUSPENDED}
        and previous["registration_number"] != registration
    ):
        audit.record(member.user, SUBJECT, shop.id, "legal_details_changed", **previous)


# -- what DAC7 requires of each seller (CGI art. 1649 ter A) ---------------------------------------


@dataclass(frozen=True)
class TaxDetails:
    kind: SellerKind
    tax_number: str
    first_name: str = ""
    last_name: str = ""
    birth_date: dt.date | None = None
    birth_city: str = ""
    birth_country: str = ""


# The data a seller must give, by kind, with the label the reminders and the report show.
DAC7_FIELDS = {
    "seller_kind": _l("forme (société ou personne physique)"),
    "legal_name": _l("raison sociale"),
    "address": _l("adresse"),
    "tax_number": _l("numéro d’identification fiscale"),
    "vat_number": _l("numéro de TVA"),
    "seller_first_name": _l("prénom"),
    "seller_last_name": _l("nom"),
    "seller_birth_date": _l("date de naissance"),
    "seller_birth_place": _l("lieu de naissance"),
}


def dac7_missing(shop: Shop) -> list[str]:
    """The keys of ``DAC7_FIELDS`` the seller has not given yet (empty: the platform knows enough)."""
    missing = []
    if shop.seller_kind is None:
        missing.append("seller_kind")
    if not (shop.street and shop.postcode and shop.city):
        missing.append("address")
    if not shop.tax_number:
        missing.append("tax_number")
    if shop.seller_kind == SellerKind.COMPANY:
        if not shop.legal_name:
            missing.append("legal_name")
        if not shop.vat_number and shop.vat_regime != VatRegime.FRANCHISE:
            missing.append("vat_number")
    elif shop.seller_kind == SellerKind.INDIVIDUAL:
        for field in ("seller_first_name", "seller_last_name", "seller_birth_date"):
            if not getattr(shop, field):
                missing.append(field)
        if not (shop.seller_birth_city and shop.seller_birth_country):
            missing.append("seller_birth_place")
    return missing


def update_tax_details(member: ShopMember, details: TaxDetails, today: dt.date | None = None) -> None:
    """The seller's DAC7 identity, its TIN checked by its check digits. Once nothing is missing any
    more, payouts withheld for it are released (the next transfer run pays what waited)."""
    _require(member, Permission.LEGAL)
    # Locked: the daily reminder job may be withholding this shop's payouts at the same moment.
    shop = lock(Shop, member.shop_id)
    assert shop is not None
    company = details.kind == SellerKind.COMPANY
    country = cast(validators.Country, shop.country)
    try:
        tax_number = validators.normalize_tax_number(details.tax_number, country, company=company)
    except (validators.InvalidIdentifier, TypeError) as error:
        raise ShopError(_tax_number_error(country, company), field="tax_number") from error
    if not company:
        _check_person(details, today or hours.today())
    shop.seller_kind = details.kind
    shop.tax_number = tax_number
    shop.seller_first_name = details.first_name.strip() if not company else ""
    shop.seller_last_name = details.last_name.strip() if not company else ""
    shop.seller_birth_date = details.birth_date if not company else None
    shop.seller_birth_city = details.birth_city.strip() if not company else ""
    shop.seller_birth_country = details.birth_country.strip().upper() if not company else ""
    audit.record(member.user, SUBJECT, shop.id, "tax_details_changed", kind=details.kind.value)
    if not dac7_missing(shop):
        shop.dac7_reminders = 0
        shop.dac7_reminded_at = None
        if shop.payouts_withheld_at is not None:
            shop.payouts_withheld_at = None
            audit.record(member.user, SUBJECT, shop.id, "payouts_released")


def _tax_number_error(country: str, company: bool) -> Any:
    if country == "FR":
        if company:
            return _l("Ce numéro SIREN n’est pas valide (9 chiffres, clé de contrôle).")
        return _l("Ce numéro fiscal n’est pas valide (13 chiffres, clé de contrôle).")
    if company:
        return _l("Ce numéro d’entreprise n’est pas valide (10 chiffres, clé de contrôle).")
    return _l("Ce numéro de registre national n’est pas valide (11 chiffres, clé de contrôle).")


def _check_person(details: TaxDetails, today: dt.date) -> None:
    for field, message in (
        ("first_name", _l("Indiquez le prénom.")),
        ("last_name", _l("Indiquez le nom.")),
        ("birth_city", _l("Indiquez la ville de naissance.")),
    ):
        if not getattr(details, field).strip():
            raise ShopError(message, field=field)
    if details.birth_date is None:
        raise ShopError(_l("Indiquez la date de naissance."), field="birth_date")
    if details.birth_date > today:
        raise ShopError(_l("La date de naissance ne peut pas être dans le futur."), field="birth_date")
    if not re.fullmatch(r"[A-Za-z]{2}", details.birth_country.strip()):
        raise ShopError(
            _l("Indiquez le pays de naissance (code à 2 lettres, FR par exemple)."), field="birth_country"
        )


# -- progress and submission ----------------------------------------------------------------------


def step_done(shop: Shop, step: str) -> bool:
    checks = {
        "identity": bool(shop.name and shop.category_id),
        "photos": bool(shop.logo_path or shop.banner_path),
        "address": bool(shop.street and shop.latitude is not None and shop.email and shop.phone),
        "hours": bool(shop.opening_hours),
        "delivery": bool(shop.delivery_methods),
        "returns": bool(shop.return_policy),
        "legal": bool(shop.legal_name and shop.registration_number and shop.vat_regime),
    }
    return checks[step]


def missing_steps(shop: Shop) -> list[str]:
    return [step for step in STEPS if step not in OPTIONAL_STEPS and not step_done(shop, step)]


def next_step(shop: Shop, after: str | None = None) -> str | None:
    """The step to show next: the first one not done after ``after``, else None (ready to submit)."""
    start = STEPS.index(after) + 1 if after else 0
    for step in STEPS[start:]:
        if not step_done(shop, step):
            return step
    return None


def submit(member: ShopMember, accept_terms: bool) -> None:
    """Send the shop to the town manager for review, with the platform terms accepted now."""
    _require(member, Permission.SUBMIT)
    shop = member.shop
    if shop.status not in {ShopStatus.DRAFT, ShopStatus.REJECTED}:
        raise ShopError(_l("Cette boutique a déjà été envoyée."))
    if missing_steps(shop):
        raise ShopError(_l("Il reste des étapes à compléter avant l’envoi."))
    if not accept_terms:
        raise ShopError(
            _l("Acceptez les conditions de la place de marché pour continuer."), field="accept_terms"
        )
    shop.terms_accepted_at = utcnow()
    shop.terms_version = current_app.config["TERMS_VERSION"]
    shop.submitted_at = shop.terms_accepted_at
    _transition(member.user, shop, ShopStatus.SUBMITTED, reason=None, action="submitted")
    for manager in db.session.scalars(
        sa.select(User).where(User.role == Role.MANAGER, User.is_active.is_(True))
    ):
        mail.send(
            manager.email,
            _l("Une boutique attend votre validation : %(shop)s", shop=shop.name),
            "vendors/review_requested",
            locale=manager.locale,
            shop=shop,
            person=manager,
            review_url=external_url("vendors_admin.shop", shop_id=shop.id),
        )


# -- review by the manager ------------------------------------------------------------------------

TRANSITIONS: dict[str, tuple[frozenset[ShopStatus], ShopStatus, bool]] = {
    # action: (allowed from, to, reason required)
    "approved": (frozenset({ShopStatus.SUBMITTED}), ShopStatus.APPROVED, False),
    "rejected": (frozenset({ShopStatus.SUBMITTED}), ShopStatus.REJECTED, True),
    "suspended": (frozenset({ShopStatus.APPROVED}), ShopStatus.SUSPENDED, True),
    "reinstated": (frozenset({ShopStatus.SUSPENDED}), ShopStatus.APPROVED, False),
}


def review(manager: User, shop: Shop, action: str, reason: str | None) -> None:
    """Approve, reject, suspend or reinstate a shop; the transition is logged and the shop told."""
    if not manager.is_manager:
        raise ShopError(_l("Réservé à la gestion de la place de marché."))
    allowed_from, target, reason_required = TRANSITIONS[action]
    if shop.status not in allowed_from:
        raise ShopError(_l("Cette action n’est pas possible dans l’état actuel de la boutique."))
    reason = (reason or "").strip() or None
    if reason_required and not reason:
        raise ShopError(_l("Indiquez la raison : elle sera envoyée à la boutique."), field="reason")
    if target == ShopStatus.APPROVED and shop.approved_at is None:
        shop.approved_at = utcnow()
    _transition(manager, shop, target, reason=reason, action=action)


STATUS_MAIL_SUBJECTS = {
    "submitted": _l("Votre boutique a été envoyée pour validation"),
    "approved": _l("Votre boutique est ouverte sur la place de marché"),
    "rejected": _l("Votre boutique n’a pas été validée"),
    "suspended": _l("Votre boutique est suspendue"),
    "reinstated": _l("Votre boutique est de nouveau ouverte"),
}


def _transition(actor: User, shop: Shop, target: ShopStatus, reason: str | None, action: str) -> None:
    previous = shop.status
    shop.status = target
    shop.status_reason = reason
    audit.record(actor, SUBJECT, shop.id, action, reason, from_status=previous.value, to_status=target.value)
    for owner in owners(shop):
        mail.send(
            owner.email,
            STATUS_MAIL_SUBJECTS[action],
            f"vendors/status_{action}",
            locale=owner.locale,
            shop=shop,
            reason=reason,
            person=owner,
            dashboard_url=external_url("vendors_backoffice.dashboard", slug=shop.slug),
            storefront_url=external_url("vendors.storefront", slug=shop.slug),
        )


def owners(shop: Shop) -> list[User]:
    return [member.user for member in shop.members if member.is_owner]


def review_queue() -> list[Shop]:
    """Shops waiting for the manager, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Shop).where(Shop.status == ShopStatus.SUBMITTED).order_by(Shop.submitted_at, Shop.id)
        )
    )


def search_shops(
    status: ShopStatus | None = None, text: str = "", category_id: int | None = None
) -> list[Shop]:
    """The manager's list of shops, filtered."""
    query = sa.select(Shop)
    if status is not None:
        query = query.where(Shop.status == status)
    if category_id:
        query = query.where(Shop.category_id == category_id)
    if text.strip():
        pattern = f"%{text.strip().lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(Shop.name).like(pattern),
                sa.func.lower(Shop.legal_name).like(pattern),
                Shop.registration_number.like(pattern),
                sa.func.lower(Shop.email).like(pattern),
            )
        )
    return sorted(db.session.scalars(query), key=lambda shop: sort_key(shop.name))


def status_counts() -> dict[ShopStatus, int]:
    rows = db.session.execute(sa.select(Shop.status, sa.func.count()).group_by(Shop.status))
    counts = dict.fromkeys(ShopStatus, 0)
    counts.update(dict(rows.all()))
    return counts


# -- staff ----------------------------------------------------------------------------------------


def _invitation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="vendors.invitation")


def invite(member: ShopMember, email: str, role: MemberRole) -> StaffInvitation:
    """Invite someone by e-mail; they join by following the link, with an account of their own."""
    _require(member, Permission.TEAM_MANAGE)
    email = email.strip().lower()
    shop = member.shop
    if any(existing.user.email == email for existing in shop.members):
        raise ShopError(_l("Cette personne fait déjà partie de la boutique."), field="email")
    invitation = StaffInvitation(
        shop=shop,
        email=email,
        role=role,
        invited_by=member.user,
        expires_at=utcnow() + dt.timedelta(days=INVITATION_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()
    token = _invitation_serializer().dumps({"i": invitation.id, "e": email})
    mail.send(
        email,
        _l("Invitation à rejoindre %(shop)s", shop=shop.name),
        "vendors/invitation",
        locale=member.user.locale,
        shop=shop,
        inviter=member.user,
        role=role,
        link=external_url("vendors.accept_invitation", token=token),
        days=INVITATION_DAYS,
    )
    audit.record(member.user, SUBJECT, shop.id, "staff_invited", email=email, role=role.value)
    return invitation


def invitation_from_token(token: str) -> StaffInvitation:
    try:
        data = _invitation_serializer().loads(token, max_age=INVITATION_DAYS * 24 * 3600)
    except (BadSignature, SignatureExpired) as error:
        raise ShopError(_l("Cette invitation n’est pas valide ou a expiré.")) from error
    invitation = db.session.get(StaffInvitation, data.get("i")) if isinstance(data, dict) else None
    if (
        invitation is None
        or invitation.email != data.get("e")
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at < utcnow()
    ):
        raise ShopError(_l("Cette invitation n’est pas valide ou a expiré."))
    return invitation


def accept_invitation(user: User, token: str) -> ShopMember:
    """Join the shop. The invitation was sent to an address: only its owner may use it."""
    invitation = invitation_from_token(token)
    if user.email != invitation.email:
        raise ShopError(
            _l(
                "Cette invitation a été envoyée à %(email)s : connectez-vous avec ce compte.",
                email=invitation.email,
            )
        )
    existing = membership(user, invitation.shop.slug)
    invitation.accepted_at = utcnow()
    if existing is not None:
        return existing
    member = ShopMember(shop=invitation.shop, user=user, role=invitation.role)
    db.session.add(member)
    audit.record(user, SUBJECT, invitation.shop_id, "staff_joined", role=invitation.role.value)
    return member


def pending_invitations(shop: Shop) -> list[StaffInvitation]:
    return list(
        db.session.scalars(
            sa.select(StaffInvitation)
            .where(
                StaffInvitation.shop_id == shop.id,
                StaffInvitation.accepted_at.is_(None),
                StaffInvitation.revoked_at.is_(None),
                StaffInvitation.expires_at > utcnow(),
            )
            .order_by(StaffInvitation.created_at)
        )
    )


def revoke_invitation(member: ShopMember, invitation_id: int) -> None:
    _require(member, Permission.TEAM_MANAGE)
    invitation = db.session.get(StaffInvitation, invitation_id)
    if invitation is None or invitation.shop_id != member.shop_id:
        raise ShopError(_l("Invitation introuvable."))
    invitation.revoked_at = utcnow()


def _taken_now(target: ShopMember) -> bool:
    """Lock ``target``'s row for its removal, or say it is held by a request of theirs in progress
    (``membership(hold=True)``). Not waiting for it: two owners removing each other at once would each
    wait for the other."""
    try:
        with db.session.begin_nested():
            db.session.execute(
                sa.select(ShopMember.id).where(ShopMember.id == target.id).with_for_update(nowait=True)
            )
    except sa.exc.OperationalError:  # the lock is not available: the savepoint is rolled back
        return False
    return True


def remove_member(member: ShopMember, member_id: int) -> None:
    """Remove someone from the shop. The last owner cannot leave: a shop always has an owner."""
    _require(member, Permission.TEAM_MANAGE)
    target = db.session.get(ShopMember, member_id)
    if target is None or target.shop_id != member.shop_id:
        raise ShopError(_l("Cette personne ne fait pas partie de la boutique."))
    if target.is_owner and sum(1 for m in member.shop.members if m.is_owner) == 1:
        raise ShopError(_l("La boutique doit garder au moins un propriétaire."))
    if not _taken_now(target):
        raise ShopError(_l("Cette personne agit dans la boutique en ce moment : réessayez dans un instant."))
    db.session.delete(target)
    audit.record(member.user, SUBJECT, member.shop_id, "staff_removed", email=target.user.email)


# -- Stripe Connect -------------------------------------------------------------------------------


def start_payouts_onboarding(member: ShopMember, refresh_url: str, return_url: str) -> str:
    """The link to Stripe's hosted onboarding; the Express account is created the first time."""
    _require(member, Permission.PAYMENTS)
    shop = member.shop
    if shop.stripe_account_id is None:
        account = gateway.create_express_account(
            shop_id=shop.id,
            email=shop.email or member.user.email,
            country=shop.country,
            business_name=shop.name,
        )
        shop.stripe_account_id = account.id
        _apply_account(shop, account)
        audit.record(member.user, SUBJECT, shop.id, "stripe_account_created", account=account.id)
    return gateway.onboarding_link(shop.stripe_account_id, refresh_url=refresh_url, return_url=return_url)


def refresh_payouts_status(member: ShopMember) -> None:
    """Ask Stripe for the account's state (on return from onboarding, before the webhook arrives)."""
    _require(member, Permission.PAYMENTS)
    shop = member.shop
    if shop.stripe_account_id:
        _apply_account(shop, gateway.retrieve_account(shop.stripe_account_id))


def payouts_dashboard_url(member: ShopMember) -> str:
    _require(member, Permission.PAYMENTS)
    if not member.shop.stripe_account_id or not member.shop.stripe_details_submitted:
        raise ShopError(_l("Terminez d’abord l’inscription auprès de Stripe."))
    return gateway.dashboard_link(member.shop.stripe_account_id)


def _apply_account(shop: Shop, account: gateway.ConnectedAccount, at: dt.datetime | None = None) -> None:
    shop.stripe_charges_enabled = account.charges_enabled
    shop.stripe_payouts_enabled = account.payouts_enabled
    shop.stripe_details_submitted = account.details_submitted
    shop.stripe_requirements = account.requirements
    shop.stripe_disabled_reason = account.disabled_reason
    shop.stripe_synced_at = at or utcnow()
    if account.payout_account is not None:
        shop.payout_account_masked = account.payout_account


def sync_connected_account(account: gateway.ConnectedAccount, event_created: dt.datetime) -> Shop | None:
    """Apply an ``account.updated`` event; an event older than the last sync changes nothing."""
    shop = db.session.scalar(sa.select(Shop).where(Shop.stripe_account_id == account.id))
    if shop is None:
        return None
    # Stripe's timestamps are whole seconds: only an event from an earlier second is known to be older.
    if shop.stripe_synced_at is not None and event_created < shop.stripe_synced_at.replace(microsecond=0):
        return shop
    was_enabled = shop.stripe_payouts_enabled
    _apply_account(shop, account, at=event_created)
    if was_enabled != account.payouts_enabled:
        audit.record(
            None,
            SUBJECT,
            shop.id,
            "payouts_enabled" if account.payouts_enabled else "payouts_disabled",
            requirements=account.requirements,
        )
    return shop


# -- the public directory -------------------------------------------------------------------------


def shop_by_slug(slug: str) -> Shop | None:
    return db.session.scalar(sa.select(Shop).where(Shop.slug == slug))


# Shops' hours and coming closures as plain rows, kept a minute in this process for the pages that only
# show them (the cart's pickup slots, whether a shop is open); they follow the pages' generation, so a
# change made here shows at once, and with Redis a change made anywhere.
schedule_cache = TTLCache(ttl=60.0, follows=pagecache.current_generation)
Schedule = tuple[list[Any], list[Any]]  # a shop's opening hours and its closures to come


@dataclass
class Timetable:
    """Every public shop with its hours and coming closures, as plain rows rather than models: the
    home page's open-now block asks them of every shop of the town and shows a handful."""

    shops: Sequence[Any]  # rows of (id, name, latitude, longitude)
    schedules: dict[int, Schedule]

    def states(self, now: dt.datetime) -> dict[int, hours.OpenState]:
        return _open_states(self.schedules, now)


def _open_states(kept: dict[int, Schedule], now: dt.datetime) -> dict[int, hours.OpenState]:
    today = now.astimezone(hours.TOWN_TZ).date()
    states: dict[int, hours.OpenState] = {}
    for shop_id, schedule in kept.items():
        known = _known_states.get(shop_id)
        if known is not None and known.holds(schedule, today, now):
            states[shop_id] = known.state
            continue
        states[shop_id] = hours.open_state(schedule[0], schedule[1], now)
        _known_states[shop_id] = _KnownState(schedule, today, now, states[shop_id])
    return states


@dataclass(frozen=True)
class _KnownState:
    """A shop's open state as worked out last, from which schedule, on which day and at what time."""

    schedule: Schedule
    day: dt.date
    at: dt.datetime
    state: hours.OpenState

    def holds(self, schedule: Schedule, today: dt.date, now: dt.datetime) -> bool:
        """Whether the state is still the shop's: worked out from this very schedule (the copy this
        process keeps, replaced when the shop changes it), on the same day (it counts days ahead),
        not after ``now``, and ``now`` before the state changes (the shop opens or closes)."""
        change = self.state.change_at
        return (
            self.schedule is schedule
            and self.day == today
            and self.at <= now
            and (change is None or now < change)
        )


# Each shop's open state, kept until it changes: lists of shops (the home page's, the directory, a
# category's shops) work out again the few that opened or closed, not every shop on every page. One
# entry per shop; an entry keeps its schedule, so that no other one can take its place in memory.
_known_states: dict[int, _KnownState] = {}


def schedules(now: dt.datetime, shop_ids: Sequence[int]) -> tuple[dict[int, list[Any]], dict[int, list[Any]]]:
    """The opening hours and the closures to come (first first, with their labels: a storefront lists
    them all; ``hours.open_state`` looks two weeks ahead) of the shops ``shop_ids``, as plain rows by
    shop."""
    opening: dict[int, list[Any]] = {}
    closed: dict[int, list[Any]] = {}
    if not shop_ids:
        return opening, closed
    today = now.astimezone(hours.TOWN_TZ).date()
    for row in db.session.execute(
        sa.select(
            OpeningHours.shop_id, OpeningHours.weekday, OpeningHours.opens_at, OpeningHours.closes_at
        ).where(OpeningHours.shop_id.in_(shop_ids))
    ):
        opening.setdefault(row.shop_id, []).append(row)
    for closure in db.session.execute(
        sa.select(Closure.shop_id, Closure.starts_on, Closure.ends_on, Closure.label)
        .where(Closure.shop_id.in_(shop_ids), Closure.ends_on >= today)
        .order_by(Closure.starts_on, Closure.id)
    ):
        closed.setdefault(closure.shop_id, []).append(closure)
    return opening, closed


# Every public shop, for the timetable: built once.
TIMETABLE_SHOPS = sa.select(Shop.id, Shop.name, Shop.latitude, Shop.longitude).where(Shop.is_public)


def timetable(now: dt.datetime) -> Timetable:
    """Every public shop with its hours and coming closures, these as this process keeps them
    (``shop_schedules``): the home page shows which are open, never a slot to choose."""
    shops = db.session.execute(TIMETABLE_SHOPS).all()
    return Timetable(shops, shop_schedules([shop.id for shop in shops], now, fresh=False))


def shop_schedules(shop_ids: Sequence[int], now: dt.datetime, fresh: bool = True) -> dict[int, Schedule]:
    """Each shop's opening hours and closures to come (plain rows). ``fresh``: read
    now, as a change of the cart or an order must; else the copy this process keeps when there is one."""
    today = now.astimezone(hours.TOWN_TZ).date()
    # By shop: the day it was read for, the schedule.
    kept: dict[int, tuple[dt.date, Schedule]] = {} if fresh else schedule_cache.found_all(shop_ids)
    found = {shop_id: schedule for shop_id, (day, schedule) in kept.items() if day == today}
    missing = [shop_id for shop_id in shop_ids if shop_id not in found]
    opening, closed = schedules(now, missing)
    for shop_id in missing:
        found[shop_id] = (opening.get(shop_id, []), closed.get(shop_id, []))
        schedule_cache.put(shop_id, (today, found[shop_id]))
    return found


def open_states(shop_ids: Sequence[int], now: dt.datetime) -> dict[int, hours.OpenState]:
    """Whether each shop is open at ``now``, from the hours and closures this process keeps (read
    again after a change, as ``shop_schedules`` says): lists of shops only show it."""
    return _open_states(shop_schedules(shop_ids, now, fresh=False), now)


@dataclass(frozen=True)
class DirectoryEntry:
    shop: Shop | ShopCard
    distance_km: float | None
    state: hours.OpenState  # open or closed, at the time the directory was asked for


# What a storefront reads of its shop, the slug bound: built once, as loader options cost to build.
PUBLIC_SHOP = (
    sa.select(Shop)
    .where(Shop.slug == sa.bindparam("slug"), Shop.is_public)
    .options(
        # The category's parent too: the page's structured data names the most precise business type.
        joinedload(Shop.category).joinedload(Category.parent),
        joinedload(Shop.relay_points),  # a few rows at most: a shop serves a handful of relay points
    )
)


# The storefronts' shops as last read, by slug, detached: kept a minute per process and following
# the pages' generation, which any change to a shop, its category or its relay points moves on.
storefront_shops = TTLCache(ttl=60.0, maxsize=1000, follows=pagecache.current_generation)


def public_shop(slug: str) -> Shop | None:
    """An open shop with what its storefront shows, in one statement (its hours and closures come from
    ``shop_schedules``); then, until a change, from the copy this process keeps, put into the session
    without a statement (``app.caching.Detached``: 0.24 ms where the statement took 0.6). A shop this
    session already holds (or its category, or one of its relay points) is read afresh, never
    overwritten by the copy."""
    kept: Detached[Shop] | None = storefront_shops.found(slug)
    if kept is not None and (merged := kept.into_session()) is not None:
        return merged
    shop = db.session.scalars(PUBLIC_SHOP, {"slug": slug}).unique().one_or_none()
    if shop is not None:
        # What was read: the shop, its category and parent, its relay points.
        storefront_shops.put(slug, Detached.of(shop))
    return shop


# The directory's shops, all or those of the categories bound: built once.
DIRECTORY = sa.select(Shop).where(Shop.is_public).options(joinedload(Shop.category))
DIRECTORY_OF_CATEGORIES = DIRECTORY.where(Shop.category_id.in_(sa.bindparam("category_ids", expanding=True)))


def directory(
    category: Category | None = None, near: tuple[float, float] | None = None, now: dt.datetime | None = None
) -> list[DirectoryEntry]:
    """Approved shops, in a category (or one of its children), by name or by distance from a point, each
    open or closed at ``now`` (by default, now)."""
    now = now or utcnow()
    if category is None:
        shops = db.session.scalars(DIRECTORY)
    else:
        ids = [category.id, *(child.id for child in category.children)]
        shops = db.session.scalars(DIRECTORY_OF_CATEGORIES, {"category_ids": ids})
    return _entries(shops, near, now)


def _entries(
    shops: Iterable[Shop | ShopCard],
    near: tuple[float, float] | None,
    now: dt.datetime,
    limit: int | None = None,
) -> list[DirectoryEntry]:
    """Shops as the directory orders them (by name, or nearest first from ``near``), the first ``limit``
    of them, each with its distance and whether it is open at ``now``."""
    ordered = sorted(shops, key=lambda shop: sort_key(shop.name))
    distances = {shop.id: geo.distance_from(near, shop.latitude, shop.longitude) for shop in ordered}
    if near is not None:
        ordered.sort(key=lambda shop: (distances[shop.id] is None, distances[shop.id] or 0.0))
    ordered = ordered[:limit]
    states = open_states([shop.id for shop in ordered], now)
    return [DirectoryEntry(shop, distances[shop.id], states[shop.id]) for shop in ordered]


@dataclass(frozen=True)
class ShopCard:
    """What a shop's card on a category page shows, read as a plain row."""

    id: int
    slug: str
    name: str
    banner_path: str | None
    latitude: float | None
    longitude: float | None


# A category page's shops as cards, the categories bound: built once.
CATEGORY_SHOPS = sa.select(
    Shop.id, Shop.slug, Shop.name, Shop.banner_path, Shop.latitude, Shop.longitude
).where(Shop.is_public, Shop.category_id.in_(sa.bindparam("category_ids", expanding=True)))


# Each category page's shops as cards, by the categories' ids: kept a minute per process and following
# the pages' generation (a shop approved, renamed or moved to another category shows at once).
category_cards = TTLCache(ttl=60.0, maxsize=500, follows=pagecache.current_generation)


def category_shops(
    category_ids: Sequence[int], near: tuple[float, float] | None, now: dt.datetime, limit: int
) -> list[DirectoryEntry]:
    """The first ``limit`` open shops of categories (a category and its children) as the directory
    orders them (by name, or by distance from ``near``), as cards: a category page shows a dozen. The
    cards are read once until a change; whether each shop is open is worked out for ``now``."""
    cards: tuple[ShopCard, ...] = category_cards.get(
        tuple(category_ids),
        lambda: tuple(
            ShopCard(*row) for row in db.session.execute(CATEGORY_SHOPS, {"category_ids": list(category_ids)})
        ),
    )
    return _entries(cards, near, now, limit)


# The directory's category filters, kept a minute per process and following the pages' generation (a
# shop approved or a category renamed shows at once; with Redis, from any process).
directory_cache = TTLCache(ttl=60.0, follows=pagecache.current_generation)


def directory_categories() -> list[tuple[PublicCategory, int]]:
    """Top-level categories with their number of open shops (children included, archived ones too, as
    the category's list shows them), for the filters."""
    found: list[tuple[PublicCategory, int]] = directory_cache.get("categories", _directory_categories)
    return found


def _directory_categories() -> list[tuple[PublicCategory, int]]:
    """One statement: each category with the count of its own open shops."""
    public = sa.select(sa.func.count()).where(Shop.category_id == Category.id, Shop.is_public)
    rows = db.session.execute(
        sa.select(
            Category.id,
            Category.parent_id,
            Category.slug,
            Category.name,
            Category.name_en,
            Category.archived_at,
            public.scalar_subquery().label("shops"),
        ).order_by(Category.position, Category.name, Category.id)
    ).all()
    totals: dict[int, int] = {}
    children: dict[int, list[int]] = {}
    for row in rows:
        top = row.parent_id if row.parent_id is not None else row.id
        totals[top] = totals.get(top, 0) + row.shops
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row.id)
    return [
        (
            PublicCategory(row.id, row.slug, row.name, row.name_en, None, tuple(children.get(row.id, ()))),
            totals[row.id],
        )
        for row in rows
        if row.parent_id is None and row.archived_at is None and totals[row.id]
    ]


def active_categories() -> list[Category]:
    """Categories a shop can choose, parents before their children."""
    categories = list(
        db.session.scalars(
            sa.select(Category)
            .where(Category.archived_at.is_(None))
            .order_by(Category.position, Category.name)
        )
    )
    roots = [category for category in categories if category.parent_id is None]
    ordered: list[Category] = []
    for root in roots:
        ordered.append(root)
        ordered.extend(child for child in categories if child.parent_id == root.id)
    return ordered


def category_by_slug(slug: str) -> Category | None:
    return db.session.scalar(sa.select(Category).where(Category.slug == slug, Category.archived_at.is_(None)))


# -- relay points (kept by the manager) -----------------------------------------------------------


@dataclass(frozen=True)
class RelayPointData:
    name: str
    street: str
    postcode: str
    city: str
    latitude: float | None
    longitude: float | None
    opening_notes: str


def save_relay_point(manager: User, point: RelayPoint | None, data: RelayPointData) -> RelayPoint:
    if not manager.is_manager:
        raise ShopError(_l("Réservé à la gestion de la place de marché."))
    latitude, longitude = data.latitude, data.longitude
    if latitude is None or longitude is None:
        located = geo.locate(data.street)
        latitude, longitude = located if located else (None, None)
    if point is None:
        point = RelayPoint()
        db.session.add(point)
    point.name = data.name.strip()
    point.street = data.street.strip()
    point.postcode = data.postcode.strip()
    point.city = data.city.strip()
    point.latitude, point.longitude = latitude, longitude
    point.opening_notes = data.opening_notes.strip()
    db.session.flush()
    audit.record(manager, "relay_point", point.id, "saved")
    return point


def archive_relay_point(manager: User, point: RelayPoint) -> None:
    """Stop offering a relay point: shops no longer list it (a shop left with none stops offering
    relay delivery); the point itself and past orders' references stay."""
    if not manager.is_manager:
        raise ShopError(_l("Réservé à la gestion de la place de marché."))
    point.archived_at = utcnow()
    affected = list(
        db.session.scalars(sa.select(Shop).where(Shop.relay_points.any(RelayPoint.id == point.id)))
    )
    for shop in affected:
        shop.relay_points = [other for other in shop.relay_points if other.id != point.id]
        if not shop.relay_points:
            shop.relay = False
    audit.record(manager, "relay_point", point.id, "archived", shops=[shop.id for shop in affected])


def all_relay_points() -> list[RelayPoint]:
    points = db.session.scalars(sa.select(RelayPoint))
    return sorted(points, key=lambda point: (point.archived_at is not None, sort_key(point.name)))


def shops_using(point: RelayPoint) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(shop_relay_points)
            .where(shop_relay_points.c.relay_point_id == point.id)
        )
        or 0
    )
