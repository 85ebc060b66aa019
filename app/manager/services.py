"""The console's use cases: reminding a shop about a follow-up list, announcements to every shop."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import jobs, mail
from app.accounts.models import User
from app.audit import services as audit
from app.database import lock, utcnow
from app.errors import ServiceError
from app.extensions import db
from app.manager import followup
from app.manager.models import Announcement, AnnouncementDelivery, AnnouncementDismissal, FollowUpReminder
from app.urls import external_url
from vendors.models import Shop, ShopMember, ShopStatus

SHOP_SUBJECT = "shop"  # as vendors.services records a shop's history
ANNOUNCEMENT_SUBJECT = "announcement"
TITLE_MAX = 120
BODY_MAX = 5000

REMINDER_SUBJECTS = {
    "paiements": _l("Ouvrez votre compte de paiement pour recevoir vos ventes"),
    "carte": _l("Ajoutez une carte pour démarrer votre forfait"),
    "commandes": _l("Des commandes attendent votre réponse"),
    "stock": _l("Certains de vos produits sont presque épuisés"),
    "catalogue": _l("Votre boutique n’a pas encore de produit en ligne"),
    "avis": _l("Des clients attendent votre réponse à leur avis"),
    "inactives": _l("Votre boutique vous attend"),
}
REMINDER_LINKS = {
    "paiements": ("vendors_backoffice.payouts", {}),
    "carte": ("payouts_backoffice.finances", {"_anchor": "forfait"}),
    "commandes": ("orders_backoffice.orders", {"etat": "a-traiter"}),
    "stock": ("catalog_backoffice.products", {"stock": "bas"}),
    "catalogue": ("catalog_backoffice.products", {}),
    "avis": ("reviews_backoffice.reviews", {"filtre": "sans-reponse"}),
    "inactives": ("vendors_backoffice.dashboard", {}),
}


class NotFound(ServiceError):
    """An id that names nothing the actor may act on: the views answer 404."""


# -- follow-up reminders --------------------------------------------------------------------------


def send_reminder(actor: User, list_name: str, shop_id: int, now: dt.datetime | None = None) -> Shop:
    """E-mail the shop's owners about the list it is in, at most once a day per shop and list; audited.

    The shop's row is locked first, so two clicks at once send one reminder.
    """
    now = now or utcnow()
    found = followup.find(list_name)
    shop = lock(Shop, shop_id)
    if found is None or shop is None:
        raise NotFound(_l("Cette boutique n’existe pas."))
    if not followup.contains(found, shop.id, now):
        raise ServiceError(_l("Cette boutique n’est plus dans cette liste."))
    last = followup.last_reminder(found, shop.id)
    if last is not None and last > now - followup.REMINDER_INTERVAL:
        raise ServiceError(_l("Déjà relancée aujourd’hui."))
    db.session.add(FollowUpReminder(shop_id=shop.id, list_name=found.name, sent_at=now, sent_by_id=actor.id))
    audit.record(actor, SHOP_SUBJECT, shop.id, "followup_reminder", list=found.name)
    endpoint, values = REMINDER_LINKS[found.name]
    link = external_url(endpoint, slug=shop.slug, **values)
    for member in shop.members:
        if member.is_owner:
            owner = member.user
            mail.send(
                owner.email,
                REMINDER_SUBJECTS[found.name],
                "manager/reminder",
                locale=owner.locale,
                shop=shop,
                person=owner,
                link=link,
                list_name=found.name,
                threshold=followup.low_stock_threshold(),
            )
    return shop


# -- announcements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnouncementData:
    title: str
    body: str
    starts_at: dt.datetime | None = None  # None: now
    ends_at: dt.datetime | None = None  # None: until the manager ends it


def publish(actor: User, data: AnnouncementData, now: dt.datetime | None = None) -> Announcement:
    """Create an announcement; its e-mail to every approved shop's owners leaves by a job once it starts
    (now, or by the scheduled job when it starts later)."""
    now = now or utcnow()
    title, body = data.title.strip(), data.body.strip()
    if not title:
        raise ServiceError(_l("Donnez un titre à l’annonce."), "title")
    if len(title) > TITLE_MAX:
        raise ServiceError(_l("Le titre est trop long."), "title")
    if not body:
        raise ServiceError(_l("Écrivez le texte de l’annonce."), "body")
    if len(body) > BODY_MAX:
        raise ServiceError(_l("Le texte est trop long."), "body")
    starts_at = data.starts_at or now
    if data.ends_at is not None and data.ends_at <= max(starts_at, now):
        raise ServiceError(_l("La fin doit venir après le début, et pas dans le passé."), "ends_at")
    announcement = Announcement(
        title=title, body=body, starts_at=starts_at, ends_at=data.ends_at, created_by_id=actor.id
    )
    db.session.add(announcement)
    db.session.flush()
    audit.record(
        actor,
        ANNOUNCEMENT_SUBJECT,
        announcement.id,
        "announcement_published",
        title=title,
        starts_at=starts_at.isoformat(),
        ends_at=data.ends_at.isoformat() if data.ends_at else None,
    )
    if starts_at <= now:
        from app.manager import tasks

        jobs.enqueue(tasks.mail_announcement, announcement.id, queue="mail")
    return announcement


def end_now(actor: User, announcement_id: int, now: dt.datetime | None = None) -> Announcement:
    """Take the banner down now (an announcement not started yet never shows); audited."""
    now = now or utcnow()
    announcement = lock(Announcement, announcement_id)
    if announcement is None:
        raise NotFound(_l("Cette annonce n’existe pas."))
    if announcement.ends_at is not None and announcement.ends_at <= now:
        raise ServiceError(_l("Cette annonce est déjà terminée."))
    if announcement.starts_at > now:
        announcement.starts_at = now
    announcement.ends_at = now
    audit.record(actor, ANNOUNCEMENT_SUBJECT, announcement.id, "announcement_ended")
    return announcement


def due_announcements(now: dt.datetime | None = None) -> list[int]:
    """Ids of the announcements that have started, are not over and whose mailing is not done."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(Announcement.id)
            .where(
                Announcement.sent_at.is_(None),
                Announcement.starts_at <= now,
                sa.or_(Announcement.ends_at.is_(None), Announcement.ends_at > now),
            )
            .order_by(Announcement.id)
        )
    )


def mail_announcement(announcement_id: int, now: dt.datetime | None = None) -> int:
    """E-mail the announcement to the owners of every approved shop not mailed it yet; the number of
    shops mailed. Safe to run twice: each shop's delivery row is written with its mail, under the
    announcement's lock, so a second run (or a concurrent one) finds it and mails no one again."""
    now = now or utcnow()
    announcement = lock(Announcement, announcement_id)
    if announcement is None or announcement.starts_at > now:
        return 0
    if announcement.ends_at is not None and announcement.ends_at <= now:
        return 0
    delivered = sa.select(AnnouncementDelivery.shop_id).where(
        AnnouncementDelivery.announcement_id == announcement.id
    )
    shops = db.session.scalars(
        sa.select(Shop)
        .where(Shop.status == ShopStatus.APPROVED, Shop.id.not_in(delivered))
        .options(selectinload(Shop.members).selectinload(ShopMember.user))
        .order_by(Shop.id)
    ).all()
    for shop in shops:
        db.session.add(AnnouncementDelivery(announcement_id=announcement.id, shop_id=shop.id, sent_at=now))
        link = external_url("vendors_backoffice.dashboard", slug=shop.slug)
        for member in shop.members:
            if member.is_owner:
                mail.send(
                    member.user.email,
                    _l("Message de la gestion : %(title)s", title=announcement.title),
                    "manager/announcement",
                    locale=member.user.locale,
                    shop=shop,
                    person=member.user,
                    announcement=announcement,
                    link=link,
                )
    announcement.sent_at = announcement.sent_at or now
    return len(shops)


def current_for(member: ShopMember, now: dt.datetime | None = None) -> list[Announcement]:
    """The announcements showing now in this member's back office: current, and not dismissed."""
    now = now or utcnow()
    dismissed = sa.select(AnnouncementDismissal.announcement_id).where(
        AnnouncementDismissal.member_id == member.id
    )
    return list(
        db.session.scalars(
            sa.select(Announcement)
            .where(
                Announcement.starts_at <= now,
                sa.or_(Announcement.ends_at.is_(None), Announcement.ends_at > now),
                Announcement.id.not_in(dismissed),
            )
            .order_by(Announcement.starts_at.desc(), Announcement.id.desc())
            .limit(3)
        )
    )


def dismiss(member: ShopMember, announcement_id: int) -> None:
    """The member closes the banner; closing it twice is the same as once."""
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None:
        raise NotFound(_l("Cette annonce n’existe pas."))
    exists = db.session.scalar(
        sa.select(
            sa.exists().where(
                AnnouncementDismissal.announcement_id == announcement.id,
                AnnouncementDismissal.member_id == member.id,
            )
        )
    )
    if exists:
        return
    try:
        with db.session.begin_nested():
            db.session.add(AnnouncementDismissal(announcement_id=announcement.id, member_id=member.id))
    except IntegrityError:
        pass  # closed at the same moment from another tab


def announcements() -> list[Announcement]:
    """Every announcement, newest first (the manager's list)."""
    return list(
        db.session.scalars(
            sa.select(Announcement)
            .options(selectinload(Announcement.created_by))
            .order_by(Announcement.starts_at.desc(), Announcement.id.desc())
            .limit(200)
        )
    )
