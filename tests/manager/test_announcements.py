"""Announcements from the manager: mailed once to each approved shop's owners (even if the job runs
twice), shown as a banner in every back office while current, closed per member, ended by the manager."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from app.audit.models import AuditEvent
from app.extensions import db
from app.manager import tasks
from app.manager.models import Announcement, AnnouncementDelivery
from tests.factories import PASSWORD, ShopFactory, UserFactory, owner_of
from tests.plugins.application import Client, Mailbox, jobs
from tests.reviews.support import login_manager
from vendors.models import MemberRole, ShopMember

BODY = "Le **marché de Noël** ouvre samedi.\n\n<script>alert(1)</script>"


def _town(app: Flask) -> None:
    with app.test_request_context("/"):
        owner_of(ShopFactory(slug="la-cave", name="La Cave"), email="owner@la-cave.example.com")
        owner_of(ShopFactory(slug="le-fournil", name="Le Fournil"), email="owner@le-fournil.example.com")
        owner_of(ShopFactory(slug="brouillon", draft=True), email="owner@brouillon.example.com")
        staff = UserFactory(email="staff@la-cave.example.com")
        shop_id = db.session.scalar(sa.select(ShopMember.shop_id).where(ShopMember.role == MemberRole.OWNER))
        db.session.add(ShopMember(shop_id=shop_id, user_id=staff.id, role=MemberRole.STAFF))
        db.session.commit()


def _login(app: Flask, email: str) -> Client:
    person: Client = app.test_client()  # type: ignore[assignment]
    assert person.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302
    return person


def _publish(client: Client, **fields: str) -> str:
    data = {"title": "Marché de Noël", "body": BODY, "starts_at": "", "ends_at": "", **fields}
    return client.submit("/gestion/annonces", data, follow_redirects=True).get_data(as_text=True)


def test_an_announcement_is_mailed_once_to_each_approved_shop(
    client: Client, app: Flask, mailbox: Mailbox
) -> None:
    _town(app)
    login_manager(client)
    assert "Annonce publiée" in _publish(client)
    assert [job.path for job in jobs(app).jobs if job.queue == "mail"] == [
        "app.manager.tasks.mail_announcement"
    ]
    messages = mailbox.messages()
    assert sorted(message.to for message in messages) == [
        "owner@la-cave.example.com",
        "owner@le-fournil.example.com",
    ]
    assert "marché de Noël" in messages[0].text
    with app.app_context():
        announcement_id = db.session.scalar(sa.select(Announcement.id))
        assert announcement_id is not None
        assert tasks.mail_announcement(announcement_id) == 0  # the job again: no one twice
        assert tasks.send_due_announcements() == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AnnouncementDelivery)) == 2
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.subject_type == "announcement")
        )
        assert list(actions) == ["announcement_published"]
    assert len(mailbox.messages()) == 2


def test_the_banner_shows_until_the_member_closes_it(client: Client, app: Flask) -> None:
    _town(app)
    login_manager(client)
    _publish(client)
    owner = _login(app, "owner@la-cave.example.com")
    page = owner.get("/vendeur/la-cave/").get_data(as_text=True)
    assert 'data-testid="announcement-banner"' in page
    assert "<strong>marché de Noël</strong>" in page
    assert "<script>alert" not in page
    with app.app_context():
        announcement_id = db.session.scalar(sa.select(Announcement.id))
    closed = owner.submit(
        "/vendeur/la-cave/annonces/masquer",
        {"announcement_id": str(announcement_id), "next": "/vendeur/la-cave/commandes"},
        form_url="/vendeur/la-cave/",
    )
    assert closed.status_code == 302
    assert closed.headers["Location"] == "/vendeur/la-cave/commandes"
    assert 'data-testid="announcement-banner"' not in owner.get("/vendeur/la-cave/").get_data(as_text=True)
    # Closed for that member only: the staff still see it.
    staff = _login(app, "staff@la-cave.example.com")
    assert 'data-testid="announcement-banner"' in staff.get("/vendeur/la-cave/").get_data(as_text=True)
    # Not through another shop's address; an announcement that does not exist is said so.
    other = _login(app, "owner@le-fournil.example.com")
    token_page = "/vendeur/le-fournil/"
    mine = {"announcement_id": str(announcement_id)}
    assert other.submit("/vendeur/la-cave/annonces/masquer", mine, form_url=token_page).status_code == 404
    for odd in (str(2**62), "abc", ""):
        answer = other.submit(
            "/vendeur/le-fournil/annonces/masquer",
            {"announcement_id": odd},
            form_url=token_page,
            follow_redirects=True,
        )
        assert answer.status_code == 200
        assert "Cette annonce n’existe pas." in answer.get_data(as_text=True)
    assert 'data-testid="announcement-banner"' in staff.get("/vendeur/la-cave/").get_data(as_text=True)


def test_the_manager_ends_an_announcement_now(client: Client, app: Flask) -> None:
    _town(app)
    login_manager(client)
    _publish(client)
    with app.app_context():
        announcement_id = db.session.scalar(sa.select(Announcement.id))
    owner = _login(app, "owner@la-cave.example.com")
    assert 'data-testid="announcement-banner"' in owner.get("/vendeur/la-cave/").get_data(as_text=True)
    url = f"/gestion/annonces/{announcement_id}/terminer"
    ended = client.submit(url, {}, form_url="/gestion/annonces", follow_redirects=True).get_data(as_text=True)
    assert "Annonce terminée" in ended
    assert 'data-testid="announcement-banner"' not in owner.get("/vendeur/la-cave/").get_data(as_text=True)
    again = client.submit(url, {}, form_url="/gestion/annonces", follow_redirects=True).get_data(as_text=True)
    assert "Cette annonce est déjà terminée." in again
    assert (
        client.submit(f"/gestion/annonces/{2**62}/terminer", {}, form_url="/gestion/annonces").status_code
        == 404
    )
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.subject_type == "announcement")
            .order_by(AuditEvent.id)
        )
        assert list(actions) == ["announcement_published", "announcement_ended"]


def test_a_later_announcement_waits_for_its_start(client: Client, app: Flask, mailbox: Mailbox) -> None:
    _town(app)
    login_manager(client)
    assert "Annonce publiée" in _publish(client, starts_at="2099-01-01T09:00")
    assert [job for job in jobs(app).jobs if job.queue == "mail"] == []
    assert mailbox.messages() == []
    owner = _login(app, "owner@la-cave.example.com")
    assert 'data-testid="announcement-banner"' not in owner.get("/vendeur/la-cave/").get_data(as_text=True)
    with app.app_context():
        assert tasks.send_due_announcements() == 0


def test_bad_dates_are_refused_with_a_message(client: Client, app: Flask) -> None:
    _town(app)
    login_manager(client)
    page = _publish(client, starts_at="2030-05-02T10:00", ends_at="2030-05-01T10:00")
    assert "La fin doit venir après le début" in page
    page = _publish(client, starts_at="9999-05-02T10:00")
    assert "Choisissez une date entre 2000 et 2099." in page
    page = _publish(client, title="", body="")
    assert "Corrigez les champs signalés" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == 0


def test_only_the_manager_reaches_the_announcements(app: Flask, client: Client) -> None:
    _town(app)
    owner = _login(app, "owner@la-cave.example.com")
    assert owner.get("/gestion/annonces").status_code == 404
