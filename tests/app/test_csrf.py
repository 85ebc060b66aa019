"""CSRF tokens masked afresh in each response (BREACH): never the same bytes twice, never the token
itself, yet accepted from forms and headers; a tampered or foreign token is still refused."""

from __future__ import annotations

import brotli
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from app import csrf_masking as csrf
from tests.plugins.application import CSRF_PATTERN, Client

FORM_PAGE = "/connexion"


def tokens(client: Client, url: str = FORM_PAGE, **kwargs: object) -> list[str]:
    return CSRF_PATTERN.findall(client.get(url, **kwargs).get_data(as_text=True))


@given(st.text(alphabet=st.characters(codec="ascii"), min_size=1, max_size=200))
def test_unmask_undoes_mask(token: str) -> None:
    masked = csrf.mask(token)
    assert csrf.unmask(masked) == token
    if len(token) >= 8:  # a pad as long as the token: two masks of a short one may meet by chance
        assert masked != csrf.mask(token), "a fresh pad each time"


def test_what_is_not_masked_passes_through_unchanged() -> None:
    for value in (None, "", "plain-token", "m.", "m.@@@", "m.YWJj"):
        assert csrf.unmask(value) == value


def test_each_answer_carries_a_different_token_that_is_never_the_secret(client: Client, app: Flask) -> None:
    first, second = tokens(client), tokens(client)
    assert first
    assert second
    assert first != second
    with client.session_transaction() as session:
        secret = session["csrf_token"]
    page = client.get(FORM_PAGE).get_data(as_text=True)
    assert secret not in page
    unmasked = {csrf.unmask(token) for token in first + second}
    assert len(unmasked) == 1, "one session, one token under different masks"
    assert unmasked.pop() not in page, "the signed token never travels as it is"


def test_compressed_pages_carry_masked_tokens_only(client: Client) -> None:
    response = client.get(FORM_PAGE, headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br"
    page = brotli.decompress(response.get_data()).decode()
    (token,) = CSRF_PATTERN.findall(page)
    assert token.startswith(csrf.PREFIX)
    assert csrf.unmask(token) not in page


def test_a_masked_token_is_accepted_from_the_form_and_from_the_header(client: Client) -> None:
    token = tokens(client)[0]
    assert client.post("/deconnexion", data={"csrf_token": token}).status_code == 302
    token = tokens(client)[0]
    assert client.post("/deconnexion", headers={"X-CSRFToken": token}).status_code == 302


def test_a_tampered_or_foreign_token_is_refused(client: Client, app: Flask) -> None:
    token = tokens(client)[0]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post("/deconnexion", data={"csrf_token": tampered}).status_code == 400
    stranger = app.test_client()
    foreign = CSRF_PATTERN.findall(stranger.get(FORM_PAGE).get_data(as_text=True))[0]
    assert client.post("/deconnexion", data={"csrf_token": foreign}).status_code == 400
