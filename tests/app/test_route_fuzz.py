"""Every route, every method, every role, odd values in paths, query strings and forms: never a 5xx.

The routes come from the app's url_map, the query arguments from the views' source and the forms from
the pages themselves (every ``<form method="post">`` a role is shown), so a new route, argument or
field is covered without touching this file. Values are sampled per route, deterministically, so the
walk stays short: each route gets every value as the roles it is meant for, and one value as the others.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from wtforms.fields.core import UnboundField

from app.accounts.models import Address
from app.catalog.models import Category, Variant
from app.extensions import db, limiter
from app.orders.models import Order
from tests.factories import PASSWORD, UserFactory
from tests.orders.support import checkout, fill_cart, login, make_town, only_order, part_of, pay
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator
from vendors.models import MemberRole, ShopMember
from vendors.services import STEPS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("app", "vendors", "payouts", "search", "api")

# Odd values by kind; each route, argument or field gets one of each kind (which one is fixed by its
# name), so every kind reaches every route without a cartesian product.
OVER = [str(2**63), str(2**64), "9" * 40, "-" + str(2**63 + 1)]  # beyond BIGINT
BIG = [str(2**31), str(2**63 - 1), "99999999999999999999,99", "1" + "0" * 4400]  # beyond INTEGER, int()
SMALL = ["0", "-1", "1.5", "-0,01", "1e400", "NaN"]
TEXTS = ["x" * 5000, "é漢字🙂", "..", "%", " ", "[]", "//evil.example/"]
NUL = ["\x00"]  # a kind of its own: no text column stores it, and every route must refuse it
DATES = ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
PATH_KINDS = (OVER, BIG, SMALL, TEXTS, NUL)
VALUE_KINDS = (OVER, BIG, SMALL, TEXTS, DATES, NUL)

ROLES = ("anonymous", "shopper", "staff", "owner", "manager")  # the manager last: it may close the shop
# Query arguments every list page might read, on top of those found in the source.
COMMON_ARGS = ("page", "q", "next", "sort", "tri")
DOCUMENTS = {"application/pdf", "text/csv", "image/svg+xml"}
# Routes whose success would end the role's session for the rest of the walk.
SESSION_ENDING = {"accounts.logout"}


def audience(rule: Rule) -> set[str]:
    """The roles a page is meant for: they get every odd value, the other roles a sample."""
    if rule.rule.startswith("/vendeur"):
        return {"staff", "owner"}
    if rule.rule.startswith("/gestion"):
        return {"manager"}
    return {"anonymous", "shopper"}


def pick(key: str, kinds: Sequence[Sequence[str]]) -> list[str]:
    """One value of each kind, chosen by ``key``: the same on every run, different from key to key."""
    start = zlib.crc32(key.encode())
    return [kind[(start + i) % len(kind)] for i, kind in enumerate(kinds)]


def query_arg_names() -> list[str]:
    """Every query argument a view reads, from the source: ``args.get("x")``, ``int_arg("x")`` and the like,
    plus the fields of the forms read from the query string."""
    pattern = re.compile(
        r"""(?:args\.get|args\.getlist|args\[|_arg\(|value\(|values\(|_price\(args\.get)\(?\s*["']([a-z_]+)["']"""
    )
    names = set(COMMON_ARGS)
    for package in SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            names.update(pattern.findall(path.read_text(encoding="utf-8")))
    from payouts.forms import StatementForm

    names.update(name for name, value in vars(StatementForm).items() if isinstance(value, UnboundField))
    return sorted(names)


class Forms(HTMLParser):
    """The POST forms of a page: their action and the values a browser would send unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._form: dict[str, str] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            if attr.get("method", "get").lower() == "post":
                self._form = {}
                self.forms.append((attr.get("action", ""), self._form))
            return
        if self._form is None or not attr.get("name"):
            return
        name = attr["name"]
        if tag == "input":
            kind = attr.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in attr or name not in self._form:
                    self._form[name] = attr.get("value", "on")
            elif kind not in {"submit", "button", "file", "image", "reset"}:
                self._form[name] = attr.get("value", "")
        elif tag == "select":
            self._select = name
            self._form.setdefault(name, "")
        elif tag == "option" and self._select:
            if "selected" in attr or not self._form.get(self._select):
                self._form[self._select] = attr.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            self._form[name] = ""
        elif tag == "button" and attr.get("value"):
            self._form.setdefault(name, attr["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form[self._textarea] += data


@dataclass
class Walk:
    """The requests made and the ones that answered 5xx (or raised)."""

    app: Flask
    clients: dict[str, FlaskClient]
    failures: list[str] = field(default_factory=list)
    count: int = 0
    last_mimetype: str = ""

    def hit(self, role: str, method: str, url: str, data: dict[str, str] | None = None, odd: str = "") -> str:
        """Send one request as ``role``; the page's HTML when it answered 200, else ""."""
        self.count += 1
        try:
            response = self.clients[role].open(url, method=method, data=data)
        except Exception as error:
            db.session.rollback()
            self._fail(role, method, url, odd, f"500 {type(error).__name__}: {str(error)[:160]}")
            return ""
        with response:
            self.last_mimetype = response.mimetype or ""
            if response.status_code >= 500:
                self._fail(role, method, url, odd, str(response.status_code))
            if response.mimetype == "text/html" and response.status_code == 200:
                return response.get_data(as_text=True)
        return ""

    def _fail(self, role: str, method: str, url: str, odd: str, status: str) -> None:
        shown = url if len(url) < 160 else url[:150] + f"…({len(url)} chars)"
        self.failures.append(f"{method} {shown} as {role}{f' with {odd!r}' if odd else ''}: {status}")


@dataclass
class World:
    """Real path values (the shops, the order, the product of a small town), by argument name."""

    values: dict[str, str]
    logins: dict[str, str]
    second_factors: dict[str, str]


@pytest.fixture
def world(app: Flask, client: Client, stripe_api: StripeEmulator) -> World:
    # Set up in a context of its own: a context left open would make every request of the walk share
    # one ``g``, and so one logged-in user.
    with app.test_request_context("/"):
        return _world(client)


def _world(client: Client) -> World:
    town = make_town()
    fill_cart(town, (town.bread, 2), (town.novel, 1))
    login(client, "camille@example.com")
    checkout(client)
    order: Order = only_order(town.shopper_id)
    pay(client, order.number)
    staff = UserFactory(email="vendeuse@example.com")
    db.session.add(ShopMember(shop_id=town.baker_id, user_id=staff.id, role=MemberRole.STAFF))
    manager = UserFactory(email="manager@example.com", manager=True, two_factor=True)
    db.session.commit()
    variant = db.session.get(Variant, town.bread)
    assert variant is not None
    address = db.session.scalars(db.select(Address)).first()
    category = db.session.scalars(db.select(Category)).first()
    assert category is not None
    values = {
        "slug": "le-fournil",
        "number": order.number,
        "vendor_order_id": str(part_of(order, town.baker_id).id),
        "product_id": str(variant.product_id),
        "shop_id": str(town.baker_id),
        "category_id": str(category.id),
        "address_id": str(address.id if address else 1),
        "step": STEPS[0],
        "code": "fr",
        "page": "conditions",
        "token": "jeton",
        "path": "photo.jpg",
        "filename": "css/site.css",
        "action": "approuver",
    }
    logins = {
        "shopper": "camille@example.com",
        "staff": "vendeuse@example.com",
        "owner": town.baker_owner_email,
        "manager": "manager@example.com",
    }
    return World(values, logins, {"manager": manager.totp_secret})


@pytest.fixture
def walk(app: Flask, world: World, monkeypatch: pytest.MonkeyPatch) -> Walk:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setattr(limiter, "enabled", False)
    clients: dict[str, FlaskClient] = {}
    for role in ROLES:
        clients[role] = app.test_client()
        if role in world.logins:
            clients[role].post("/connexion", data={"email": world.logins[role], "password": PASSWORD})
            if role in world.second_factors:
                code = pyotp.TOTP(world.second_factors[role]).now()
                clients[role].post("/connexion/verification", data={"code": code})
            assert clients[role].get("/compte").status_code == 200, f"{role} could not log in"
    return Walk(app, clients)


def routes(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def build(rule: Rule, values: dict[str, str], odd: tuple[str, str] | None = None) -> str:
    """The rule's path with real values, one argument replaced by ``odd`` (name, raw value)."""
    path = rule.rule
    for name in rule.arguments:
        raw = odd[1] if odd and odd[0] == name else values.get(name, "1")
        path = re.sub(
            rf"<(?:[^<>:]+:)?{name}>", quote(raw, safe="/" if raw == values.get(name) else ""), path
        )
    return path


def roles_for(rule: Rule, key: str, kinds: Sequence[Sequence[str]]) -> Iterator[tuple[str, list[str]]]:
    """Each role with the odd values it sends to ``rule``: one value of each kind, dealt out among the
    roles the page is meant for; a single one for each other role (turned away before reading any)."""
    values = pick(key, kinds)
    meant = [role for role in ROLES if role in audience(rule)]
    for role in ROLES:
        if role in meant:
            yield role, values[meant.index(role) :: len(meant)]
        else:
            yield role, [values[zlib.crc32(f"{key}:{role}".encode()) % len(values)]]


def walk_paths(walk: Walk, world: World) -> None:
    for rule in routes(walk.app):
        for method in methods(rule):
            for role, values in roles_for(rule, f"{method}{rule.rule}", PATH_KINDS):
                if role != "anonymous" and rule.endpoint in SESSION_ENDING:
                    continue
                for name in sorted(rule.arguments):
                    for value in values:
                        walk.hit(role, method, build(rule, world.values, (name, value)))


def walk_queries(walk: Walk, world: World) -> dict[tuple[str, str], str]:
    """Odd values in every query argument of every GET page; returns the pages each role saw."""
    names = query_arg_names()
    pages: dict[tuple[str, str], str] = {}
    for rule in routes(walk.app):
        if "GET" not in methods(rule) or rule.endpoint == "static":
            continue
        url = build(rule, world.values)
        for role, values in roles_for(rule, rule.rule, VALUE_KINDS):
            if role != "anonymous" and rule.endpoint in SESSION_ENDING:
                continue
            if role in audience(rule):
                pages[role, url] = walk.hit(role, "GET", url)
                if walk.last_mimetype in DOCUMENTS:
                    values = values[:1]  # a PDF or a CSV takes long to make and reads no argument
            for value in values:
                walk.hit(role, "GET", f"{url}?{urlencode(dict.fromkeys(names, value))}")
    return pages


def post_endpoint(app: Flask, path: str) -> str | None:
    """The endpoint a form posts to, or None when it posts nowhere the map knows (another site)."""
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method="POST")
    except HTTPException:
        return None
    return str(endpoint)


def walk_forms(walk: Walk, world: World, pages: dict[tuple[str, str], str]) -> int:
    """Every form a role is shown, each field in turn given the odd values, the others left as shown.
    POST routes whose form no page showed get the odd values in every field any form has."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    posted: set[str] = set()
    all_fields: set[str] = set()
    for (role, page_url), page in sorted(pages.items(), key=lambda item: ROLES.index(item[0][0])):
        parser = Forms()
        parser.feed(page)
        for action, fields in parser.forms:
            target = urlsplit(action).path or page_url
            if not target.startswith("/"):
                continue
            endpoint = post_endpoint(walk.app, target)
            if endpoint is None:
                continue
            if role != "anonymous" and endpoint in SESSION_ENDING:
                continue
            names = tuple(sorted(name for name in fields if name != "csrf_token"))
            all_fields.update(names)
            if (target, names) in seen:
                continue  # the same form shown to another role, or on another page
            seen.add((target, names))
            posted.add(endpoint)
            for name in names:
                for value in pick(f"{target}:{name}", VALUE_KINDS):
                    odd = f"{name}={value[:40]}"
                    walk.hit(role, "POST", action or page_url, {**fields, name: value}, odd)
    for rule in routes(walk.app):
        if "POST" not in methods(rule) or rule.endpoint in posted:
            continue
        url = build(rule, world.values)
        for role, values in roles_for(rule, f"form{rule.rule}", VALUE_KINDS):
            if role != "anonymous" and rule.endpoint in SESSION_ENDING:
                continue
            for value in values:
                walk.hit(role, "POST", url, dict.fromkeys(all_fields, value), f"every field={value[:40]}")
    return len(seen)


def test_no_route_answers_5xx_to_odd_values_as_any_role(walk: Walk, world: World) -> None:
    started = time.monotonic()
    walk_paths(walk, world)
    pages = walk_queries(walk, world)
    forms = walk_forms(walk, world, pages)
    elapsed = time.monotonic() - started
    assert forms >= 20, f"only {forms} forms found: the pages did not render for their roles"
    assert walk.count > 1000
    assert not walk.failures, (
        f"{len(walk.failures)} of {walk.count} requests answered 5xx ({elapsed:.0f} s):\n"
        + "\n".join(sorted(set(walk.failures)))
    )


def test_a_new_route_is_walked(app: Flask) -> None:
    """The walk reads the url_map: a route added later is in it without any list to update."""
    rules = {rule.endpoint for rule in routes(app)}
    assert {"catalog.product", "payouts_backoffice.statement", "stripe_webhooks.receive"} <= rules
    assert {"page", "q", "next", "avis", "categorie", "start", "end"} <= set(query_arg_names())


def test_the_walk_logs_every_role_in(walk: Walk) -> None:
    for role in ROLES[1:]:
        page = walk.clients[role].get("/compte")
        assert page.status_code == 200, role
    assert walk.clients["anonymous"].get("/compte").status_code == 302
