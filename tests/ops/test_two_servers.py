"""Two app servers behind one address: whatever one of them learns, the other knows.

Two gunicorn instances of ``wsgi:app`` (one sync worker each) on two ports of 127.0.0.1 share what
docs/deploy.md ("Several app servers") says they must: one PostgreSQL database, Redis (rate-limit
counters, the page cache and its generation, the job queues), the media bucket (a local S3 API), the
secret key and the Stripe account (the local emulator). Each has its own, empty, local media folders,
so a photo served from a server's disk would be missed. (They share a search index folder too, but no
step here reads it: several servers search through Elasticsearch. No worker runs: the jobs the servers
queue are taken out of Redis at the end.)

A client keeping its cookies sends every request to the other server from the last one, with the
same ``Host`` header, as a round-robin proxy would, and follows redirects the same way. Through it a
shopper fills a cart as a guest, logs in, checks out and pays; the payment's webhook is applied once
whichever server it reaches; a shop owner sees the order, adds a photo and changes a price; log-in
attempts split between the servers add up to one limit; a page kept by one server is a hit on the
other, the price change shows on both at once, and so does a category the manager renames (the
header's menu, kept in each process, follows the shared generation).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import pyotp
import pytest
import requests
import sqlalchemy as sa
from PIL import Image
from redis import Redis
from rq import Queue

from app.catalog.models import Variant
from app.extensions import db
from app.orders.models import Order
from tests.factories import PASSWORD, UserFactory
from tests.orders.support import ADDRESS, Town, make_town
from tests.plugins.application import CSRF_PATTERN, own_database_app
from tests.plugins.s3 import DUMMY_CREDENTIALS, MediaBucket, create_bucket, s3_client
from tests.plugins.services import Services
from tests.plugins.stripe import StripeEmulator, free_ports

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
PUBLIC_HOST = "marketplace.test"  # the one address both servers stand behind
QUEUES = ("default", "mail", "search", "webhooks")
ORDER_NUMBER = re.compile(r"M-\d{4}-\d{6}")
ATTEMPT = re.compile(r'name="attempt" type="hidden" value="([^"]+)"')
CHECKOUT_TOKEN = re.compile(r'name="checkout_token" type="hidden" value="([^"]+)"')
MEDIA_URL = re.compile(r'src="(/media/[^"]+)"')


# -- the servers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    media_dir: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _server_env(shared: dict[str, str], own_dir: Path) -> dict[str, str]:
    """The process environment: the shared settings, and local folders of the server's own."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("STRIPE_", "FLASK_", "PAGE_CACHE", "RATELIMIT_", "MEDIA_", "PRIVATE_MEDIA_"))
        and name
        not in {"APP_ENV", "DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL", "PROMETHEUS_MULTIPROC_DIR"}
    }
    return {
        **inherited,
        **DUMMY_CREDENTIALS,
        **shared,
        "MEDIA_DIR": str(own_dir / "media"),
        "PRIVATE_MEDIA_DIR": str(own_dir / "private-media"),
        "PYTHONPATH": str(ROOT),
    }


def _start(name: str, port: int, env: dict[str, str], own_dir: Path) -> Server:
    own_dir.mkdir(parents=True, exist_ok=True)
    log = own_dir / "gunicorn.log"
    command = [
        str(GUNICORN),
        "-c",
        "gunicorn.conf.py",
        "--workers=1",
        "--worker-class=sync",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
        "wsgi:app",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own gunicorn and app
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output
        )
    return Server(name, port, process, log, own_dir / "media")


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"server {server.name} stopped at start:\n{server.log_tail()}")
        with contextlib.suppress(requests.RequestException):  # refused, or still booting
            if requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=10).status_code == 200:
                return
        if time.monotonic() > deadline:
            pytest.fail(f"server {server.name} did not answer on port {server.port}:\n{server.log_tail()}")
        time.sleep(0.2)


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@contextlib.contextmanager
def two_servers(shared: dict[str, str], ports: list[int], root: Path) -> Iterator[tuple[Server, Server]]:
    """Servers A and B, started together, stopped (whatever happens) together."""
    servers: list[Server] = []
    try:
        for name, port in zip("AB", ports, strict=True):
            servers.append(_start(name, port, _server_env(shared, root / name), root / name))
        for server in servers:
            _wait_until_up(server)
        yield servers[0], servers[1]
    finally:
        for server in servers:
            _stop(server)


# -- the client -------------------------------------------------------------------------------------


@dataclass
class Answer:
    server: str
    status: int
    headers: Any
    text: str
    content: bytes


@dataclass
class RoundRobin:
    """A browser behind a round-robin proxy: one cookie jar, each request to the next server."""

    servers: tuple[Server, Server]
    request_ids: str  # the X-Request-ID prefix of every request sent, to find the jobs they queued
    journal: list[str]  # every client's requests, in order, for a failure's message
    session: requests.Session = field(default_factory=requests.Session)
    counter: Iterator[int] = field(default_factory=itertools.count)
    turn: int = 0

    def __post_init__(self) -> None:
        self.session.trust_env = False  # no proxy from the environment between us and 127.0.0.1

    def next_not_on(self, name: str) -> None:
        """Let the proxy give the next request to the other server than ``name`` (another visitor's
        request took a turn meanwhile)."""
        if self.servers[self.turn % 2].name == name:
            self.turn += 1

    def send(self, method: str, path: str, **kwargs: Any) -> Answer:
        server = self.servers[self.turn % 2]
        self.turn += 1
        headers = {
            "Host": PUBLIC_HOST,
            "Accept-Language": "fr",
            "X-Request-ID": f"{self.request_ids}-{next(self.counter)}",
        }
        response = self.session.request(
            method,
            f"http://127.0.0.1:{server.port}{path}",
            headers={**headers, **kwargs.pop("headers", {})},
            allow_redirects=False,
            timeout=60,
            **kwargs,
        )
        self.journal.append(f"{self.request_ids}: {method} {path} -> {server.name} {response.status_code}")
        assert response.status_code < 500, f"{server.name} failed on {path}:\n{server.log_tail()}"
        return Answer(server.name, response.status_code, response.headers, response.text, response.content)

    def follow(self, answer: Answer) -> Answer:
        """Redirects followed as a browser does, each one through the proxy (so by the other server)."""
        while answer.status in (301, 302, 303, 307, 308):
            location = urlsplit(answer.headers["Location"])
            assert location.hostname in (None, PUBLIC_HOST), answer.headers["Location"]
            path = location.path + (f"?{location.query}" if location.query else "")
            answer = self.send("GET", path)
        return answer

    def get(self, path: str) -> Answer:
        return self.follow(self.send("GET", path))

    def submit(self, path: str, page: Answer, data: dict[str, Any], **kwargs: Any) -> Answer:
        """Post a form with the CSRF token of the page it was on (masked anew in every answer)."""
        token = CSRF_PATTERN.search(page.text)
        assert token, f"no CSRF token on the page before {path}"
        return self.send("POST", path, data={"csrf_token": token.group(1), **data}, **kwargs)


def _form_values(page: Answer, page_path: str, action: str) -> dict[str, str]:
    """What a browser would post from the page's form to ``action`` (a form without one posts to the
    page itself), as the page filled it."""
    for form in lxml.html.fromstring(page.text).forms:
        if urlsplit(form.get("action") or page_path).path == action:
            return dict(form.form_values())
    raise AssertionError(f"no form posting to {action}")


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


# -- what the servers share -------------------------------------------------------------------------


@dataclass(frozen=True)
class Shared:
    env: dict[str, str]
    bucket: MediaBucket
    redis_url: str
    unique: str


@pytest.fixture
def shared(
    services: Services, s3_server: str, stripe_emulator: StripeEmulator, tmp_path: Path
) -> Iterator[Shared]:
    """The settings of both servers; the bucket and this test's Redis keys are removed afterwards."""
    if not (services.postgres_url and services.redis_url):
        pytest.skip("two app servers share PostgreSQL and Redis")
    unique = f"two-servers-{uuid.uuid4().hex[:8]}"
    bucket = create_bucket(s3_server)
    env = {
        "APP_ENV": "development",
        "SECRET_KEY": f"{unique}-secret",
        "PUBLIC_URL": f"http://{PUBLIC_HOST}",
        "ALLOWED_HOSTS": PUBLIC_HOST,
        "REDIS_URL": services.redis_url,
        "PAGE_CACHE": "1",
        "PAGE_CACHE_KEY_PREFIX": f"{unique}:pages",
        "RATELIMIT_KEY_PREFIX": unique,
        "LOGIN_RATE_LIMIT": "3 per minute",
        "MEDIA_STORAGE_URL": f"s3://{bucket}/media?endpoint_url={s3_server}&addressing_style=path",
        "SEARCH_INDEX_DIR": str(tmp_path / "search-index"),
        "STRIPE_API_BASE": stripe_emulator.url,
        "DEMO_HISTORY_DAYS": "0",
        "LOG_LEVEL": "WARNING",
    }
    media = MediaBucket(endpoint_url=s3_server, bucket=bucket, client=s3_client(s3_server))
    try:
        yield Shared(env, media, services.redis_url, unique)
    finally:
        _forget_redis_keys(services.redis_url, unique)
        for key in media.keys(prefix=""):
            media.client.delete_object(Bucket=bucket, Key=key)
        media.client.delete_bucket(Bucket=bucket)


def _forget_redis_keys(redis_url: str, unique: str) -> None:
    """This test's rate-limit counters, kept pages and queued jobs (its request ids name them): RQ has
    no key prefix, and no worker runs here, so the jobs the servers queued are taken out by hand."""
    connection = Redis.from_url(redis_url)
    try:
        for key in connection.scan_iter(match=f"*{unique}*"):
            connection.delete(key)
        for name in QUEUES:
            queue = Queue(name, connection=connection)
            for job in queue.get_jobs():
                if str(job.meta.get("request_id") or "").startswith(unique):
                    queue.remove(job)
                    job.delete()
    finally:
        connection.close()


@dataclass(frozen=True)
class Setting:
    town: Town
    novel_product_id: int
    category_id: int
    category_name: str
    manager_totp: str


def _small_town() -> Setting:
    """make_town's two shops and shopper (all with tests.factories.PASSWORD), someone whose log-in
    attempts are counted and the town's manager (with a second factor, as managers must), committed."""
    town = make_town()
    UserFactory(email="oublieux@example.com")
    manager = UserFactory(email="manager@example.com", manager=True, two_factor=True)
    db.session.commit()
    variant = db.session.get(Variant, town.novel)
    assert variant is not None
    category = variant.product.category
    return Setting(town, variant.product_id, category.id, category.name, str(manager.totp_secret))


def _intent_of(number: str) -> str:
    db.session.expire_all()
    intent = db.session.scalar(sa.select(Order.payment_intent_id).where(Order.number == number))
    assert intent
    return intent


# -- the test ---------------------------------------------------------------------------------------


def test_two_servers_share_sessions_carts_orders_media_limits_and_cached_pages(
    services: Services, shared: Shared, stripe_emulator: StripeEmulator, tmp_path: Path
) -> None:
    with own_database_app(services, tmp_path, "two_servers") as application:
        with application.test_request_context("/"):
            setting = _small_town()
        db.session.remove()
        env = {**shared.env, "DATABASE_URL": application.config["SQLALCHEMY_DATABASE_URI"]}
        with two_servers(env, free_ports(2), tmp_path / "servers") as servers:
            journal: list[str] = []
            people: list[RoundRobin] = []

            def person(name: str) -> RoundRobin:
                people.append(RoundRobin(servers, f"{shared.unique}-{name}", journal))
                return people[-1]

            try:
                number = _shopper_logs_in_fills_a_cart_and_pays(person("shopper"), setting)
                _the_payment_webhook_is_applied_once(servers, stripe_emulator, _intent_of(number), shared)
                owner = person("owner")
                _owner_sees_the_order_and_adds_a_photo(owner, setting, number, shared.bucket, servers)
                _log_in_attempts_add_up(person("forgetful"))
                visitor = person("visitor")
                _a_page_kept_by_one_is_a_hit_on_the_other(owner, visitor, setting)
                _a_category_renamed_on_one_is_in_the_menu_of_the_other(person("manager"), visitor, setting)
            except AssertionError as error:
                sent = "\n".join(journal[-25:])
                raise AssertionError(f"{error}\nthe last requests:\n{sent}") from error
            finally:
                for someone in people:
                    someone.session.close()


def _shopper_logs_in_fills_a_cart_and_pays(client: RoundRobin, setting: Setting) -> str:
    town = setting.town
    # A guest's cart (in the signed session cookie) is added to on one server and shown by the other.
    product = client.get(f"/produits/{setting.novel_product_id}")
    assert product.status == 200
    assert "La Loire à vélo" in product.text
    added = client.submit("/panier/ajouter", product, {"variant_id": town.novel, "quantity": 2})
    assert added.status == 302
    cart = client.get("/panier")
    assert "La Loire à vélo" in cart.text, "the cart made on one server is unknown to the other"
    assert added.server != cart.server

    # Logged in on one server, known to the other; the guest's cart follows into the account.
    login_page = client.get("/connexion")
    done = client.submit("/connexion", login_page, {"email": "camille@example.com", "password": PASSWORD})
    assert done.status == 302, done.text[:2000]
    account = client.get("/compte")
    assert account.status == 200
    assert "camille@example.com" in account.text
    assert done.server != account.server
    cart = client.get("/panier")
    assert "La Loire à vélo" in cart.text

    # Delivery, address, terms, payment: each step on the other server from the one before.
    chosen = client.submit(f"/panier/livraison/{town.books_id}", cart, {"method": "home_delivery"})
    cart = client.follow(chosen)
    page = client.get("/commande")
    token = CHECKOUT_TOKEN.search(page.text)
    assert page.status == 200
    assert token, page.text[:2000]
    placed = client.submit("/commande", page, {**ADDRESS, "checkout_token": token.group(1)})
    assert placed.status == 302, placed.text[:3000]
    payment = client.follow(placed)
    found = ORDER_NUMBER.search(payment.text)
    attempt = ATTEMPT.search(payment.text)
    assert found, payment.text[:3000]
    assert attempt, payment.text[:3000]
    number = found.group(0)
    paid = client.submit(
        f"/commandes/{number}/paiement",
        payment,
        {"payment_method": "pm_card_visa", "attempt": attempt.group(1)},
    )
    thanks = client.follow(paid)
    assert paid.server != thanks.server
    assert "Merci, votre commande est payée" in _plain(thanks.text)
    history = client.get("/compte/commandes")
    assert number in history.text
    return number


def _the_payment_webhook_is_applied_once(
    servers: tuple[Server, Server], emulator: StripeEmulator, intent_id: str, shared: Shared
) -> None:
    """Stripe may deliver an event to either server, and again: the second delivery changes nothing."""
    succeeded = emulator.webhooks.wait_for(
        lambda event: (
            event["type"] == "payment_intent.succeeded" and event["data"]["object"]["id"] == intent_id
        )
    )
    answers = []
    for index, server in enumerate(servers):
        response = requests.post(
            f"http://127.0.0.1:{server.port}/webhooks/stripe",
            data=succeeded.payload,
            headers={
                "Host": PUBLIC_HOST,
                "Stripe-Signature": succeeded.headers["Stripe-Signature"],
                "Content-Type": "application/json",
                "X-Request-ID": f"{shared.unique}-webhook-{index}",
            },
            timeout=30,
        )
        assert response.status_code == 200, server.log_tail()
        answers.append(response.json())
    assert answers[0]["received"] is True
    assert answers[1] == {"received": True, "applied": False}


def _owner_sees_the_order_and_adds_a_photo(
    client: RoundRobin, setting: Setting, number: str, bucket: MediaBucket, servers: tuple[Server, Server]
) -> None:
    login_page = client.get("/connexion")
    done = client.submit("/connexion", login_page, {"email": "libraire@example.com", "password": PASSWORD})
    assert done.status == 302, done.text[:2000]
    orders = client.get("/vendeur/librairie-du-pont/commandes")
    assert orders.status == 200
    assert number in orders.text

    edit_path = f"/vendeur/librairie-du-pont/produits/{setting.novel_product_id}"
    edit = client.get(edit_path)
    assert edit.status == 200
    uploaded = client.submit(
        f"{edit_path}/photos",
        edit,
        {"alt": "La couverture"},
        files={"photo": ("couverture.jpg", _photo(), "image/jpeg")},
    )
    assert uploaded.status == 302
    edit = client.follow(uploaded)
    assert uploaded.server != edit.server
    photo_urls = MEDIA_URL.findall(edit.text)
    assert photo_urls, "the photo uploaded on one server is not shown by the other"
    photo = client.get(photo_urls[0])
    assert photo.status == 200
    assert photo.headers["Content-Type"].startswith("image/")
    with Image.open(io.BytesIO(photo.content)) as served:  # a whole image, the one sent (resized)
        assert served.width > 0
        assert served.getpixel((served.width // 2, served.height // 2))[:3] == pytest.approx(
            (200, 120, 40), abs=12
        )
    assert [key for key in bucket.keys("media/") if key.rsplit("/", 1)[-1] in photo_urls[0]]
    for server in servers:  # nothing on a server's own disk: the bucket serves both
        assert not [path for path in server.media_dir.rglob("*") if path.is_file()]


def _log_in_attempts_add_up(client: RoundRobin) -> None:
    """LOGIN_RATE_LIMIT is 3 a minute: two failed attempts on one server and one on the other use it
    up; counted in each server's memory, the fourth would pass."""
    page = client.get("/connexion")
    wrong = {"email": "oublieux@example.com", "password": "pas le bon"}
    tried = [client.submit("/connexion", page, wrong) for _ in range(3)]
    assert [answer.status for answer in tried] == [200, 200, 200]
    assert {answer.server for answer in tried} == {"A", "B"}
    refused = client.submit("/connexion", page, wrong)
    assert refused.status == 429, refused.text[:1000]


def _a_page_kept_by_one_is_a_hit_on_the_other(
    owner: RoundRobin, visitor: RoundRobin, setting: Setting
) -> None:
    path = f"/produits/{setting.novel_product_id}"
    first = visitor.get(path)
    again = visitor.get(path)
    assert (first.headers.get("X-Cache"), again.headers.get("X-Cache")) == ("miss", "hit")
    assert first.server != again.server
    assert "24,00" in _plain(again.text)

    # The owner changes the price through one server...
    edit_path = f"/vendeur/librairie-du-pont/produits/{setting.novel_product_id}"
    edit = owner.get(edit_path)
    values = _form_values(edit, edit_path, edit_path)
    price_field = next(name for name in values if name.endswith("price"))
    saved = owner.send("POST", edit_path, data={**values, price_field: "19,00"})
    assert saved.status == 302, saved.text[:3000]
    # ...and the next visitor, on the other, sees it at once (the generation moved on in Redis).
    visitor.next_not_on(saved.server)
    fresh = visitor.get(path)
    assert fresh.server != saved.server
    assert fresh.headers.get("X-Cache") == "miss"
    assert "19,00" in _plain(fresh.text)
    assert "24,00" not in _plain(fresh.text)


def _a_category_renamed_on_one_is_in_the_menu_of_the_other(
    manager: RoundRobin, visitor: RoundRobin, setting: Setting
) -> None:
    """The header's category menu is kept in each process; a rename through one server must not leave
    the other (nor the pages it keeps for everyone) with the old name."""
    for _ in range(2):  # both servers have drawn their menu, and hold it
        assert setting.category_name in visitor.get("/panier").text
    login_page = manager.get("/connexion")
    asked = manager.submit("/connexion", login_page, {"email": "manager@example.com", "password": PASSWORD})
    assert asked.status == 302
    verification = manager.follow(asked)
    code = pyotp.TOTP(setting.manager_totp).now()
    verified = manager.submit("/connexion/verification", verification, {"code": code})
    assert verified.status == 302, verified.text[:2000]

    path = f"/gestion/categories/{setting.category_id}"
    edit = manager.get(path)
    assert edit.status == 200
    saved = manager.send("POST", path, data={**_form_values(edit, path, path), "name": "Livres de la Loire"})
    assert saved.status == 302, saved.text[:3000]
    visitor.next_not_on(saved.server)
    for _ in range(2):
        cart = visitor.get("/panier")
        assert "Livres de la Loire" in cart.text, f"server {cart.server} still shows the old menu"
        assert setting.category_name not in cart.text
