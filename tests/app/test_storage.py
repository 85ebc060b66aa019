"""Uploaded files in an S3-compatible bucket (moto's server on 127.0.0.1) or in the local folders.

Through the app's own routes: a product photo uploaded in the back office lands in the bucket with its
year-long cache header, the product page links to it and it is served; a dispute's evidence goes to the
private prefix, never gets a public address and is refused to anyone but the dispute's shop;
``flask media migrate`` copies an install's folders into the bucket and a second run copies nothing; a
bad ``MEDIA_STORAGE_URL`` stops the app at start with a message saying what is wrong.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

import config
from app import create_app, images, storage
from app.catalog.models import Product
from app.extensions import db
from app.images import store_image
from app.storage.local import LocalStorage
from payouts.models import Dispute, DisputeFile, DisputePart, DisputeStatus
from tests.factories import PASSWORD, ProductFactory, ShopFactory, UserFactory, owner_of
from tests.plugins import application as app_plugin
from tests.plugins.application import Client
from tests.plugins.s3 import MediaBucket, create_bucket, s3_client
from tests.plugins.services import Services
from tests.reviews.support import place

YEAR = 60 * 60 * 24 * 365
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png(width: int = 640, height: int = 480) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def login(client: Client, email: str) -> None:
    assert client.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302


def logout(client: Client) -> None:
    client.submit("/deconnexion", {}, form_url="/compte")


def upload_photo(client: Client, slug: str, product_id: int) -> None:
    url = f"/vendeur/{slug}/produits/{product_id}"
    response = client.submit(f"{url}/photos", {"photo": (png(), "carnet.png"), "alt": "Carnet"}, form_url=url)
    assert response.status_code == 302


def product_photo(product_id: int) -> tuple[str, dict[str, str]]:
    db.session.expire_all()
    product = db.session.get(Product, product_id)
    assert product is not None
    [photo] = product.photos
    return photo.path, dict(photo.thumbnails)


# -- public photos -----------------------------------------------------------------------------------


def test_a_photo_uploaded_in_the_back_office_lands_in_the_bucket_and_the_app_serves_it(
    app: Flask, client: Client, media_bucket: MediaBucket
) -> None:
    member = owner_of(ShopFactory(slug="la-boussole"), email="owner@example.com")
    product_id = ProductFactory(shop=member.shop, title="Carnet").id
    login(client, "owner@example.com")
    upload_photo(client, "la-boussole", product_id)
    path, thumbnails = product_photo(product_id)

    keys = [path, *thumbnails.values()]
    assert media_bucket.keys() == sorted(f"media/{key}" for key in keys)
    for key in keys:
        head = media_bucket.head(f"media/{key}")
        assert head["CacheControl"] == "public, max-age=31536000, immutable"
        assert head["ContentType"] == "image/webp"
    assert not (Path(app.config["MEDIA_DIR"]) / path).exists(), "nothing on this server's disk"

    logout(client)
    page = client.get(f"/produits/{product_id}").get_data(as_text=True)
    assert f'src="/media/{path}"' in page
    stored = media_bucket.client.get_object(Bucket=media_bucket.bucket, Key=f"media/{path}")["Body"].read()
    with client.get(f"/media/{path}") as served:
        assert (served.status_code, served.mimetype, served.data) == (200, "image/webp", stored)
        assert (served.cache_control.public, served.cache_control.max_age) == (True, YEAR)
        assert served.cache_control.immutable
        assert "cookie" not in {value.lower() for value in served.vary}
        etag = served.headers["ETag"]
    with client.get(f"/media/{path}", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
    assert client.get(f"/media/{path.replace('.webp', '-nope.webp')}").status_code == 404
    assert client.get("/media/../secret.webp").status_code == 404


def test_a_photo_in_the_bucket_is_copied_and_deleted_with_its_variants(
    app: Flask, media_bucket: MediaBucket
) -> None:
    with app.app_context():
        kept = store_image(png(), folder="products", max_bytes=10**7, sizes={"thumb": (100, 100, "crop")})
        copy = images.copy_image(kept.path, kept.thumbnails)
        assert (copy.width, copy.height) == (640, 480)
        assert copy.path != kept.path
        assert media_bucket.keys() == sorted(
            f"media/{key}"
            for key in (kept.path, *kept.thumbnails.values(), copy.path, *copy.thumbnails.values())
        )
        images.delete_stored(copy.path)
    assert media_bucket.keys() == sorted(f"media/{key}" for key in (kept.path, *kept.thumbnails.values()))


def test_with_a_public_address_pages_link_the_bucket_which_serves_the_photo(
    app: Flask, client: Client, media_bucket: MediaBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    public_url = f"{media_bucket.endpoint_url}/{media_bucket.bucket}/media"
    monkeypatch.setitem(
        app.config,
        "MEDIA_STORAGE_URL",
        f"s3://{media_bucket.bucket}/media?endpoint_url={media_bucket.endpoint_url}&public_url={public_url}/",
    )
    member = owner_of(ShopFactory(slug="la-boussole"), email="owner@example.com")
    product_id = ProductFactory(shop=member.shop, title="Carnet").id
    login(client, "owner@example.com")
    upload_photo(client, "la-boussole", product_id)
    path, thumbnails = product_photo(product_id)
    logout(client)

    page = client.get(f"/produits/{product_id}").get_data(as_text=True)
    assert f'src="{public_url}/{path}"' in page
    assert "/media/products/" not in page.replace(public_url, "")
    # The browser fetches it from the bucket (readable by anyone under media/ only), with the header
    # every cache keeps it a year by.
    with pytest.raises(urllib.error.HTTPError, match="403"):
        urllib.request.urlopen(f"{public_url}/{path}", timeout=5)  # noqa: S310 - before the bucket policy
    media_bucket.open_to_the_public("media/")
    with urllib.request.urlopen(f"{public_url}/{thumbnails['thumb']}", timeout=5) as direct:  # noqa: S310
        assert direct.status == 200
        assert direct.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert Image.open(io.BytesIO(direct.read())).size == (400, 400)


def test_the_content_security_policy_allows_the_public_address(
    database_url: str, services: Services, tmp_path: Path
) -> None:
    url = "s3://photos/media?public_url=https://cdn.example.com/media&region=fr-par"
    application = create_app(app_plugin.test_config(database_url, services, tmp_path, MEDIA_STORAGE_URL=url))
    with application.test_client() as client, client.get("/favicon.ico") as response:
        policy = response.headers["Content-Security-Policy"]
    with application.app_context():
        db.engine.dispose()
    assert re.search(r"img-src 'self' data: https://cdn\.example\.com(;|$)", policy)


# -- private files -----------------------------------------------------------------------------------


def test_evidence_goes_to_the_private_prefix_and_only_the_disputes_shop_reads_it(
    app: Flask, client: Client, media_bucket: MediaBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    public_url = f"{media_bucket.endpoint_url}/{media_bucket.bucket}/media"
    monkeypatch.setitem(
        app.config,
        "MEDIA_STORAGE_URL",
        f"s3://{media_bucket.bucket}/media?endpoint_url={media_bucket.endpoint_url}&public_url={public_url}",
    )
    member = owner_of(ShopFactory(slug="librairie"), email="owner@example.com")
    owner_of(ShopFactory(slug="fromagerie"), email="other@example.com")
    part = place(UserFactory(), [ProductFactory(shop=member.shop)])
    dispute = Dispute(
        stripe_dispute_id="dp_storage",
        order_id=part.order_id,
        charge_id="ch_storage",
        amount_cents=part.total_cents,
        status=DisputeStatus.NEEDS_RESPONSE,
    )
    dispute.parts.append(
        DisputePart(vendor_order_id=part.id, shop_id=member.shop_id, amount_cents=part.total_cents)
    )
    db.session.add(dispute)
    db.session.commit()
    url = f"/vendeur/librairie/litiges/{dispute.id}"

    login(client, "owner@example.com")
    for field, upload in (
        ("receipt", (io.BytesIO(PDF), "recu.pdf")),
        ("customer_communication", (png(), "sms.png")),
    ):
        assert (
            client.submit(f"{url}/fichiers", {"field": field, "file": upload}, form_url=url).status_code
            == 302
        )
    files = {row.field: row for row in db.session.scalars(sa.select(DisputeFile))}
    receipt, photo = files["receipt"], files["customer_communication"]
    assert media_bucket.keys("media/") == [], "nothing under the public prefix"
    assert media_bucket.keys("private/") == sorted(f"private/media/{row.path}" for row in (receipt, photo))
    assert media_bucket.head(f"private/media/{receipt.path}")["CacheControl"] == "private, no-store"
    with app.test_request_context():
        assert storage.private_media_storage().public_url(receipt.path) is None
        assert storage.media_storage().public_url(receipt.path) is not None, "the public store has one"
    media_bucket.open_to_the_public("media/")
    private_address = f"{media_bucket.endpoint_url}/{media_bucket.bucket}/private/media/{receipt.path}"
    with pytest.raises(urllib.error.HTTPError, match="403"):
        urllib.request.urlopen(private_address, timeout=5)  # noqa: S310 - the bucket's own address
    page = client.get(url).get_data(as_text=True)
    assert public_url not in page
    assert media_bucket.endpoint_url not in page
    with client.get(f"{url}/fichiers/{receipt.id}") as served:
        assert (served.status_code, served.data) == (200, PDF)

    for row in (receipt, photo):
        assert client.get(f"/media/{row.path}").status_code == 404, "the public route never serves it"
    logout(client)
    assert client.get(f"{url}/fichiers/{receipt.id}").status_code == 302  # to the log-in page
    login(client, "other@example.com")
    assert client.get(f"/vendeur/fromagerie/litiges/{dispute.id}/fichiers/{receipt.id}").status_code == 404
    assert client.get(f"{url}/fichiers/{receipt.id}").status_code in (403, 404)


# -- migrating an install's folders ------------------------------------------------------------------


def run_migrate(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["media", "migrate", *args])
    assert result.exit_code == 0, result.output
    return str(result.output)


def test_migrate_copies_the_folders_into_the_bucket_and_a_second_run_copies_nothing(
    app: Flask, media_bucket: MediaBucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setitem(app.config, "PRIVATE_MEDIA_DIR", str(tmp_path / "private-media"))
    photo = store_image(
        png(),
        folder="products",
        max_bytes=10**7,
        sizes={"thumb": (100, 100, "crop")},
        media_dir=tmp_path / "media",
    )
    evidence = tmp_path / "private-media" / "disputes" / "ab" / f"{'ab' * 16}.pdf"
    evidence.parent.mkdir(parents=True)
    evidence.write_bytes(PDF)

    dry = run_migrate(app, "--dry-run")
    assert "public: would copy 2 files" in dry
    assert "private: would copy 1 files" in dry
    assert media_bucket.keys() == []

    first = run_migrate(app)
    assert "public: copied 2 files" in first
    assert "0 already there" in first
    assert "private: copied 1 files" in first
    assert media_bucket.keys() == sorted(
        [
            f"media/{photo.path}",
            f"media/{photo.thumbnails['thumb']}",
            f"private/media/disputes/ab/{'ab' * 16}.pdf",
        ]
    )
    local = (tmp_path / "media" / photo.path).read_bytes()
    copied = media_bucket.client.get_object(Bucket=media_bucket.bucket, Key=f"media/{photo.path}")
    assert copied["Body"].read() == local
    assert copied["CacheControl"] == "public, max-age=31536000, immutable"

    second = run_migrate(app)
    assert "public: copied 0 files (0 bytes), 2 already there" in second
    assert "private: copied 0 files (0 bytes), 1 already there" in second

    # A copy that differs (an interrupted run) is made again; the others are left alone.
    media_bucket.client.put_object(Bucket=media_bucket.bucket, Key=f"media/{photo.path}", Body=b"half")
    third = run_migrate(app)
    assert "public: copied 1 files" in third
    assert "1 already there" in third
    again = media_bucket.client.get_object(Bucket=media_bucket.bucket, Key=f"media/{photo.path}")
    assert again["Body"].read() == local


def test_migrate_without_a_bucket_says_so(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MEDIA_STORAGE_URL", None)
    monkeypatch.setitem(app.config, "PRIVATE_MEDIA_STORAGE_URL", None)
    result = app.test_cli_runner().invoke(args=["media", "migrate"])
    assert result.exit_code != 0
    assert "MEDIA_STORAGE_URL and PRIVATE_MEDIA_STORAGE_URL are not set" in result.output


# -- settings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"MEDIA_STORAGE_URL": "https://bucket.s3.amazonaws.com"},
            "MEDIA_STORAGE_URL must look like s3://bucket",
        ),
        ({"MEDIA_STORAGE_URL": "s3:///media"}, "MEDIA_STORAGE_URL must look like s3://bucket"),
        ({"MEDIA_STORAGE_URL": "s3://photos/media?endpoint=http://x"}, "unknown option(s) endpoint"),
        (
            {"MEDIA_STORAGE_URL": "s3://photos/media?public_url=cdn.example"},
            "public_url must be an http(s) address",
        ),
        ({"MEDIA_STORAGE_URL": "s3://photos/../media"}, "is not a plain path"),
        ({"MEDIA_STORAGE_URL": "s3://photos"}, "give the public media a prefix"),
        (
            {
                "MEDIA_STORAGE_URL": "s3://photos/media",
                "PRIVATE_MEDIA_STORAGE_URL": "s3://photos/media/private",
            },
            "give the public media a prefix",
        ),
        (
            {"PRIVATE_MEDIA_STORAGE_URL": "s3://evidence?public_url=https://cdn.example"},
            "PRIVATE_MEDIA_STORAGE_URL must not have a public_url",
        ),
        (
            {"PRIVATE_MEDIA_STORAGE_URL": "/srv/private"},
            "PRIVATE_MEDIA_STORAGE_URL must look like s3://bucket",
        ),
    ],
)
def test_a_bad_storage_setting_stops_the_app_at_start(
    database_url: str, services: Services, tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        create_app(app_plugin.test_config(database_url, services, tmp_path, **settings))


def test_the_private_files_default_to_the_private_prefix_of_the_same_bucket(app: Flask) -> None:
    settings = {
        "MEDIA_STORAGE_URL": "s3://photos/media?endpoint_url=https://s3.fr-par.scw.cloud&region=fr-par"
    }
    public, private = storage.settings({**app.config, **settings})
    assert (public.bucket, public.prefix, public.region) == ("photos", "media", "fr-par")
    assert (private.bucket, private.prefix, private.endpoint_url) == (
        "photos",
        "private/media",
        public.endpoint_url,
    )
    assert private.public_url is None
    public, private = storage.settings({**app.config, "MEDIA_STORAGE_URL": None})
    assert (public.folder, private.folder) == (app.config["MEDIA_DIR"], app.config["PRIVATE_MEDIA_DIR"])


# -- the stores themselves ---------------------------------------------------------------------------


def test_the_bucket_store_puts_reads_lists_and_deletes(s3_server: str) -> None:
    from app.storage.s3 import S3Storage

    bucket = create_bucket(s3_server)
    found = storage.parse_storage_url(
        f"s3://{bucket}/site/media?endpoint_url={s3_server}&public_url=https://cdn.example/m"
    )
    public, private = S3Storage(found, public=True), S3Storage(found, public=False)
    public.put("products/ab/photo one.webp", b"webp", content_type="image/webp")
    assert public.read("products/ab/photo one.webp") == b"webp"
    md5 = hashlib.md5(b"webp", usedforsecurity=False).hexdigest()
    assert public.info("products/ab/photo one.webp") == storage.ObjectInfo(4, md5)
    assert public.exists("products/ab/photo one.webp")
    assert list(public.list_keys("products/")) == ["products/ab/photo one.webp"]
    assert list(public.list_keys("reviews/")) == []
    assert (
        public.public_url("products/ab/photo one.webp")
        == "https://cdn.example/m/products/ab/photo%20one.webp"
    )
    assert private.public_url("products/ab/photo one.webp") is None
    assert public.read("products/ab/missing.webp") is None
    assert public.info("missing.webp") is None
    assert public.read("../etc/passwd") is None
    with pytest.raises(ValueError, match="not a storage key"):
        public.put("/etc/passwd", b"x", content_type="text/plain")
    [stored] = s3_client(s3_server).list_objects_v2(Bucket=bucket)["Contents"]
    assert stored["Key"] == "site/media/products/ab/photo one.webp"
    public.delete("products/ab/photo one.webp")
    public.delete("products/ab/photo one.webp")  # already gone: nothing to do
    assert not public.exists("products/ab/photo one.webp")


def test_the_folder_store_keeps_to_its_folder(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "media", public=True)
    store.put("shops/ab/logo.webp", b"logo", content_type="image/webp")
    assert (tmp_path / "media" / "shops" / "ab" / "logo.webp").read_bytes() == b"logo"
    with pytest.raises(FileExistsError):
        store.put("shops/ab/logo.webp", b"other", content_type="image/webp")  # written once
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.webp").write_bytes(b"secret")
    (tmp_path / "media" / "escape").symlink_to(tmp_path / "outside")
    assert store.read("escape/secret.webp") is None
    assert list(store.list_keys()) == ["shops/ab/logo.webp"], "a symlinked folder is not listed"
    with pytest.raises(ValueError, match="outside the storage folder"):
        store.put("escape/new.webp", b"x", content_type="image/webp")
    with pytest.raises(ValueError, match="outside the storage folder"):
        store.delete("escape/secret.webp")
    assert (tmp_path / "outside" / "secret.webp").exists()
    assert store.public_url("shops/ab/logo.webp") is None


def test_a_web_process_on_local_storage_never_loads_boto3(tmp_path: Path) -> None:
    """boto3 and botocore cost every worker tens of megabytes: only a bucket may bring them in."""
    script = f"""
import io, sys
from PIL import Image
from app import create_app
from app.images import store_image
app = create_app({{
    "APP_ENV": "testing", "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
    "MEDIA_DIR": {str(tmp_path / "media")!r}, "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://",
}})
picture = io.BytesIO()
Image.new("RGB", (200, 200)).save(picture, "PNG")
picture.seek(0)
with app.app_context():
    stored = store_image(picture, folder="products", max_bytes=10**6)
response = app.test_client().get("/media/" + stored.path)
assert response.status_code == 200, response.status_code
print(sorted(name for name in sys.modules if name.split(".")[0] in ("boto3", "botocore")))
"""
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    environment.pop("MEDIA_STORAGE_URL", None)
    environment.pop("PRIVATE_MEDIA_STORAGE_URL", None)
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_store_follows_the_settings_of_the_app(app: Flask, media_bucket: MediaBucket) -> None:
    with app.test_request_context():
        assert (
            storage.media_storage().describe()
            == f"s3://{media_bucket.bucket}/media at {media_bucket.endpoint_url}"
        )
        assert (
            storage.private_media_storage().describe().startswith(f"s3://{media_bucket.bucket}/private/media")
        )
        assert storage.media_url("products/ab/x.webp") == "/media/products/ab/x.webp"
        assert storage.media_url("products/ab/x.webp", external=True).endswith("/media/products/ab/x.webp")
