"""Owners invite staff by e-mail; a person can belong to several shops and switch between them."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db
from tests.factories import PASSWORD, ShopFactory, UserFactory, owner_of
from tests.plugins.application import Client, Mailbox, own_database_app
from tests.plugins.services import Services
from vendors import services as vendor_services
from vendors.models import MemberRole, ShopMember


def _login(client: Client, email: str) -> None:
    assert client.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302


def _logout(client: Client) -> None:
    client.submit("/deconnexion", {}, form_url="/compte")


def _roles(shop_id: int) -> dict[str, MemberRole]:
    rows = db.session.scalars(sa.select(ShopMember).where(ShopMember.shop_id == shop_id))
    return {member.user.email: member.role for member in rows}


def test_an_invited_person_joins_as_staff(client: Client, mailbox: Mailbox) -> None:
    shop_id = owner_of(ShopFactory(slug="la-cave", name="La Cave"), email="owner@example.com").shop_id
    UserFactory(email="vendeuse@example.com")
    _login(client, "owner@example.com")
    response = client.submit("/vendeur/la-cave/equipe", {"email": "Vendeuse@Example.com", "role": "staff"})
    assert response.status_code == 302
    message = mailbox.last_to("vendeuse@example.com")
    assert message.subject == "Invitation à rejoindre La Cave"
    link = mailbox.link(message, "/invitation/")
    _logout(client)

    assert "Connectez-vous" in client.get(link).get_data(as_text=True)
    _login(client, "vendeuse@example.com")
    joined = client.submit(link, {})
    assert joined.headers["Location"].endswith("/vendeur/la-cave/")
    assert _roles(shop_id) == {
        "owner@example.com": MemberRole.OWNER,
        "vendeuse@example.com": MemberRole.STAFF,
    }
    assert client.submit(link, {}, form_url="/vendeur/la-cave/").status_code == 400, (
        "an invitation works once"
    )


def test_an_invitation_is_for_its_address_only(client: Client, mailbox: Mailbox) -> None:
    shop_id = owner_of(ShopFactory(slug="la-cave"), email="owner@example.com").shop_id
    UserFactory(email="someone-else@example.com")
    _login(client, "owner@example.com")
    client.submit("/vendeur/la-cave/equipe", {"email": "vendeuse@example.com", "role": "staff"})
    link = mailbox.link(mailbox.last_to("vendeuse@example.com"), "/invitation/")
    _logout(client)
    _login(client, "someone-else@example.com")
    response = client.submit(link, {}, follow_redirects=True)
    assert "Cette invitation a été envoyée à vendeuse@example.com" in response.get_data(as_text=True)
    assert "someone-else@example.com" not in _roles(shop_id)


def test_forged_or_revoked_invitations_get_a_clear_page(client: Client, mailbox: Mailbox) -> None:
    owner_of(ShopFactory(slug="la-cave"), email="owner@example.com")
    assert client.get("/invitation/forged-token").status_code == 400
    _login(client, "owner@example.com")
    client.submit("/vendeur/la-cave/equipe", {"email": "vendeuse@example.com", "role": "staff"})
    link = mailbox.link(mailbox.last_to("vendeuse@example.com"), "/invitation/")
    page = client.get("/vendeur/la-cave/equipe").get_data(as_text=True)
    assert "vendeuse@example.com" in page
    from vendors.models import StaffInvitation

    invitation_id = db.session.scalar(sa.select(StaffInvitation.id))
    client.submit(
        f"/vendeur/la-cave/equipe/invitations/{invitation_id}/annuler", {}, form_url="/vendeur/la-cave/equipe"
    )
    response = client.get(link)
    assert response.status_code == 400
    assert "Cette invitation n’est pas valide ou a expiré." in response.get_data(as_text=True)


def test_inviting_a_current_member_or_a_bad_address_is_refused(client: Client) -> None:
    owner_of(ShopFactory(slug="la-cave"), email="owner@example.com")
    _login(client, "owner@example.com")
    again = client.submit("/vendeur/la-cave/equipe", {"email": "owner@example.com", "role": "staff"})
    assert "Cette personne fait déjà partie de la boutique." in again.get_data(as_text=True)
    bad = client.submit("/vendeur/la-cave/equipe", {"email": "pas-une-adresse", "role": "staff"})
    assert "Cette adresse e-mail n’est pas valide." in bad.get_data(as_text=True)


def test_the_last_owner_cannot_be_removed_but_staff_can(client: Client) -> None:
    owner = owner_of(ShopFactory(slug="la-cave"), email="owner@example.com")
    staff = ShopMember(
        shop_id=owner.shop_id, user=UserFactory(email="staff@example.com"), role=MemberRole.STAFF
    )
    db.session.add(staff)
    db.session.commit()
    owner_id, staff_id, shop_id = owner.id, staff.id, owner.shop_id
    _login(client, "owner@example.com")
    client.submit(f"/vendeur/la-cave/equipe/{staff_id}/retirer", {}, form_url="/vendeur/la-cave/equipe")
    assert set(_roles(shop_id)) == {"owner@example.com"}
    response = client.submit(
        f"/vendeur/la-cave/equipe/{owner_id}/retirer",
        {},
        form_url="/vendeur/la-cave/equipe",
        follow_redirects=True,
    )
    assert "La boutique doit garder au moins un propriétaire." in response.get_data(as_text=True)
    assert set(_roles(shop_id)) == {"owner@example.com"}


def test_a_person_in_several_shops_switches_between_them(client: Client) -> None:
    first = owner_of(ShopFactory(slug="boutique-a", name="Boutique A"), email="multi@example.com")
    db.session.add(
        ShopMember(
            shop=ShopFactory(slug="boutique-b", name="Boutique B"),
            user_id=first.user_id,
            role=MemberRole.STAFF,
        )
    )
    db.session.commit()
    _login(client, "multi@example.com")
    chooser = client.get("/vendeur/")
    assert chooser.status_code == 200
    page = chooser.get_data(as_text=True)
    assert "Boutique A" in page
    assert "Boutique B" in page
    client.get("/vendeur/boutique-b/")
    assert client.get("/vendeur/").headers["Location"].endswith("/vendeur/boutique-b/"), (
        "remembers the last shop"
    )


def test_a_member_acting_cannot_be_removed_until_the_action_commits(
    services: Services, tmp_path: Path
) -> None:
    """A request that changes something holds its membership (FOR KEY SHARE) until it commits: a
    removal made meanwhile is refused with a message rather than deleting the row under the action (the
    action then ran for someone no longer a member, and read its membership again after the commit: a
    500). Once the action is over, the removal goes through. Two real connections, so PostgreSQL only."""
    if not services.postgres_url:
        pytest.skip("row locks are PostgreSQL's")
    with own_database_app(services, tmp_path, "staff_race") as application:
        with application.test_request_context("/"):
            owner = owner_of(ShopFactory(slug="la-cave"), email="owner@example.com")
            staff_user = UserFactory(email="staff@example.com")
            staff = ShopMember(shop_id=owner.shop_id, user=staff_user, role=MemberRole.STAFF)
            db.session.add(staff)
            db.session.commit()
            staff_id, owner_id, staff_user_id = staff.id, owner.id, staff_user.id
        holding, done = threading.Event(), threading.Event()

        def staff_request() -> None:  # the staff member's request: membership held, not yet committed
            with application.app_context():
                user = db.session.get(User, staff_user_id)
                assert user is not None
                assert vendor_services.membership(user, "la-cave", hold=True) is not None
                holding.set()
                done.wait(30)
                db.session.rollback()

        acting = threading.Thread(target=staff_request)
        acting.start()
        try:
            assert holding.wait(30)
            with application.test_request_context("/"):
                remover = db.session.get(ShopMember, owner_id)
                assert remover is not None
                with pytest.raises(vendor_services.ShopError, match="agit dans la boutique"):
                    vendor_services.remove_member(remover, staff_id)
                db.session.rollback()
                assert db.session.get(ShopMember, staff_id) is not None
        finally:
            done.set()
            acting.join(30)
        with application.test_request_context("/"):
            remover = db.session.get(ShopMember, owner_id)
            assert remover is not None
            vendor_services.remove_member(remover, staff_id)
            db.session.commit()
            assert db.session.get(ShopMember, staff_id) is None
