"""The development mailbox lists what the app would have sent."""

from __future__ import annotations

from tests.factories import UserFactory
from tests.plugins.application import Client, Mailbox


def test_the_mailbox_lists_and_shows_messages_with_clickable_links(client: Client, mailbox: Mailbox) -> None:
    UserFactory(email="ana@example.com")
    client.submit("/mot-de-passe-oublie", {"email": "ana@example.com"})
    message = mailbox.last_to("ana@example.com")

    listing = client.get("/dev/mailbox").get_data(as_text=True)
    assert message.subject in listing
    page = client.get(f"/dev/mailbox/{message.id}").get_data(as_text=True)
    assert '<a href="http://localhost/mot-de-passe/' in page


def test_a_message_id_cannot_reach_outside_the_outbox(client: Client) -> None:
    for message_id in ("..%2Fsecret_key", "../secret_key", "nothing-here"):
        assert client.get(f"/dev/mailbox/{message_id}").status_code == 404


def test_message_bodies_are_escaped(client: Client, mailbox: Mailbox) -> None:
    UserFactory(email="ana@example.com", first_name="<script>alert(1)</script>")
    client.submit("/mot-de-passe-oublie", {"email": "ana@example.com"})
    message = mailbox.last_to("ana@example.com")
    page = client.get(f"/dev/mailbox/{message.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
