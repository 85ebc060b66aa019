"""The merchant's journey: new shop, every wizard step, submission; and bad input at each step."""

from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from app.audit.models import AuditEvent
from app.extensions import db
from tests.factories import (
    PASSWORD,
    SIRET,
    VAT_NUMBER,
    CategoryFactory,
    RelayPointFactory,
    ShopFactory,
    UserFactory,
)
from tests.plugins.application import Client, Mailbox
from vendors.models import MemberRole, Shop, ShopMember, ShopStatus


def _login(client: Client, email: str) -> None:
    response = client.submit("/connexion", {"email": email, "password": PASSWORD})
    assert response.status_code == 302


def _shop(slug: str) -> Shop:
    shop = db.session.scalar(sa.select(Shop).where(Shop.slug == slug))
    assert shop is not None
    return shop


def png(width: int = 400, height: int = 300) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def step_url(slug: str, step: str) -> str:
    return f"/vendeur/{slug}/reglages/{step}"


HOURS = {
    **{f"day_{day}_opens_1": "09:30" for day in range(1, 6)},
    **{f"day_{day}_closes_1": "12:30" for day in range(1, 6)},
    **{f"day_{day}_opens_2": "14:00" for day in range(1, 6)},
    **{f"day_{day}_closes_2": "19:00" for day in range(1, 6)},
    "day_5_opens_1": "09:00",
    "closures-0-starts_on": "2026-12-24",
    "closures-0-ends_on": "2026-12-26",
    "closures-0-label": "Noël",
}


def start_shop(client: Client, category_id: int, slug: str = "atelier-floral-martin") -> None:
    response = client.submit(
        "/vendeur/nouvelle-boutique",
        {"name": "L’Atelier floral", "slug": slug, "category_id": category_id, "story": "Fleurs de saison."},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(step_url(slug, "photos"))


def fill_every_step(client: Client, slug: str, relay_point_id: int) -> None:
    steps = [
        ("photos", {"logo": (png(300, 300), "logo.png"), "banner": (png(1200, 400), "vitrine.png")}),
        (
            "address",
            {
                "street": "38 quai du Port",
                "postcode": "37000",
                "city": "Bellerive-sur-Loire",
                "country": "FR",
                "phone": "02 47 00 00 00",
                "email": "Bonjour@Atelier-Floral.example.com",
            },
        ),
        ("hours", HOURS),
        (
            "delivery",
            {
                "click_collect": "y",
                "click_collect_prep_minutes": "90",
                "local_delivery": "y",
                "local_delivery_postcodes": "37000, 37100",
                "local_delivery_fee": "4,90",
                "local_delivery_free_over": "50",
                "relay": "y",
                "relay_point_ids": str(relay_point_id),
            },
        ),
        ("returns", {"return_days": "30", "return_policy": "Échange ou remboursement sous 30 jours."}),
        (
            "legal",
            {
                "legal_name": "ATELIER FLORAL MARTIN SARL",
                "registration_number": "972 281 866 20119",
                "vat_number": "fr 29 972281866",
                "vat_regime": "reel_normal",
                "trade_register": "RCS Tours 972 281 866",
            },
        ),
    ]
    for index, (step, data) in enumerate(steps):
        response = client.submit(step_url(slug, step), data, content_type="multipart/form-data")
        assert response.status_code == 302, (step, response.get_data(as_text=True)[-3000:])
        following = steps[index + 1][0] if index + 1 < len(steps) else None
        expected = step_url(slug, following) if following else f"/vendeur/{slug}/envoyer"
        assert response.headers["Location"].endswith(expected), step


def test_a_merchant_goes_from_nothing_to_submitted(client: Client, mailbox: Mailbox) -> None:
    category = CategoryFactory(slug="fleurs-plantes", name="Fleurs et plantes")
    relay = RelayPointFactory()
    category_id, relay_id = category.id, relay.id
    UserFactory(email="flore@example.com")
    UserFactory(email="gestion@example.com", manager=True)
    _login(client, "flore@example.com")
    assert "Ouvrez votre boutique en ligne" in client.get("/vendeur/").get_data(as_text=True)

    start_shop(client, category_id)
    fill_every_step(client, "atelier-floral-martin", relay_id)

    shop = _shop("atelier-floral-martin")
    assert shop.status == ShopStatus.DRAFT
    assert shop.logo_path
    assert shop.banner_path
    assert (shop.latitude, shop.longitude) == (47.393791, 0.672211), "placed by the street lookup"
    assert shop.email == "bonjour@atelier-floral.example.com"
    assert len(shop.opening_hours) == 10
    assert [(c.starts_on.isoformat(), c.label) for c in shop.closures] == [("2026-12-24", "Noël")]
    assert shop.local_delivery_postcodes == "37000 37100"
    assert (shop.local_delivery_fee_cents, shop.local_delivery_free_over_cents) == (490, 5000)
    assert [point.id for point in shop.relay_points] == [relay_id]
    assert (shop.registration_number, shop.vat_number) == (SIRET, VAT_NUMBER)

    public = client.get("/boutiques/atelier-floral-martin").get_data(as_text=True)
    assert "Aperçu : cette boutique n’est pas encore visible du public." in public

    refused = client.submit("/vendeur/atelier-floral-martin/envoyer", {})
    assert "Acceptez les conditions de la place de marché" in refused.get_data(as_text=True)
    response = client.submit("/vendeur/atelier-floral-martin/envoyer", {"accept_terms": "y"})
    assert response.status_code == 302
    shop = _shop("atelier-floral-martin")
    assert shop.status == ShopStatus.SUBMITTED
    assert shop.terms_accepted_at is not None
    assert shop.terms_version
    assert mailbox.last_to("flore@example.com").subject == "Votre boutique a été envoyée pour validation"
    to_manager = mailbox.last_to("gestion@example.com")
    assert to_manager.subject == "Une boutique attend votre validation : L’Atelier floral"
    assert f"/gestion/boutiques/{shop.id}" in to_manager.text
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.subject_type == "shop", AuditEvent.subject_id == shop.id
        )
    ).all()
    assert actions == ["created", "submitted"]


def test_the_wizard_resumes_where_it_stopped(client: Client) -> None:
    category_id = CategoryFactory().id
    UserFactory(email="flore@example.com")
    _login(client, "flore@example.com")
    start_shop(client, category_id)
    dashboard = client.get("/vendeur/atelier-floral-martin/").get_data(as_text=True)
    assert "Reprendre l’inscription" in dashboard
    assert step_url("atelier-floral-martin", "address") in dashboard
    submit_page = client.get("/vendeur/atelier-floral-martin/envoyer").get_data(as_text=True)
    assert "Il reste à compléter" in submit_page


def test_a_slug_already_taken_is_refused_on_its_field(client: Client) -> None:
    ShopFactory(slug="le-fournil")
    category_id = CategoryFactory().id
    UserFactory(email="flore@example.com")
    _login(client, "flore@example.com")
    response = client.submit(
        "/vendeur/nouvelle-boutique", {"name": "Le Fournil", "slug": "le-fournil", "category_id": category_id}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="slug-error"' in page
    assert "Cette adresse est déjà prise" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopMember)) == 0
    reserved = client.submit(
        "/vendeur/nouvelle-boutique", {"name": "Vendeur", "slug": "vendeur", "category_id": category_id}
    )
    assert "Cette adresse est déjà prise" in reserved.get_data(as_text=True)


def _draft_for(client: Client, email: str = "flore@example.com") -> str:
    member = UserFactory(email=email)
    shop = ShopFactory(draft=True, slug="brouillon")
    db.session.add(ShopMember(shop=shop, user=member, role=MemberRole.OWNER))
    db.session.commit()
    _login(client, email)
    return "brouillon"


def _legal(**overrides: str) -> dict[str, str]:
    return {
        "legal_name": "BROUILLON SARL",
        "registration_number": SIRET,
        "vat_number": VAT_NUMBER,
        "vat_regime": "reel_normal",
        "trade_register": "",
        **overrides,
    }


def test_an_invalid_siret_or_vat_number_is_refused_and_nothing_is_saved(client: Client) -> None:
    slug = _draft_for(client)
    bad_siret = client.submit(step_url(slug, "legal"), _legal(registration_number="97228186620118"))
    assert "Ce numéro SIRET n’est pas valide" in bad_siret.get_data(as_text=True)
    assert 'id="registration_number-error"' in bad_siret.get_data(as_text=True)
    bad_vat = client.submit(step_url(slug, "legal"), _legal(vat_number="FR30972281866"))
    assert "Ce numéro de TVA n’est pas valide." in bad_vat.get_data(as_text=True)
    other_company = client.submit(step_url(slug, "legal"), _legal(vat_number="FR40303265045"))
    assert "ne correspond pas au numéro d’immatriculation" in other_company.get_data(as_text=True)
    missing_vat = client.submit(step_url(slug, "legal"), _legal(vat_number=""))
    assert "Indiquez le numéro de TVA intracommunautaire." in missing_vat.get_data(as_text=True)
    shop = _shop(slug)
    assert (shop.legal_name, shop.vat_number) != ("BROUILLON SARL", "FR30972281866")
    franchise = client.submit(step_url(slug, "legal"), _legal(vat_number="", vat_regime="franchise"))
    assert franchise.status_code == 302, "a shop under the VAT franchise may have no VAT number"


def test_a_belgian_shop_gives_its_enterprise_number(client: Client) -> None:
    slug = _draft_for(client)
    client.submit(
        step_url(slug, "address"),
        {
            "street": "Grand-Place 1",
            "postcode": "1000",
            "city": "Bruxelles",
            "country": "BE",
            "latitude": "50.8467",
            "longitude": "4.3525",
            "phone": "+32 2 279 22 11",
            "email": "contact@example.com",
        },
    )
    page = client.get(step_url(slug, "legal")).get_data(as_text=True)
    assert "Numéro d’entreprise (BCE)" in page
    refused = client.submit(
        step_url(slug, "legal"), _legal(registration_number="0403.170.702", vat_number="")
    )
    assert "Ce numéro d’entreprise n’est pas valide" in refused.get_data(as_text=True)
    accepted = client.submit(
        step_url(slug, "legal"), _legal(registration_number="0403.170.701", vat_number="BE0403170701")
    )
    assert accepted.status_code == 302, accepted.get_data(as_text=True)[-2000:]
    shop = _shop(slug)
    assert (shop.country, shop.registration_number, shop.vat_number) == ("BE", "0403170701", "BE0403170701")


def test_a_photo_that_is_not_an_image_or_too_large_is_refused(client: Client) -> None:
    slug = _draft_for(client)
    not_image = client.submit(
        step_url(slug, "photos"),
        {"logo": (io.BytesIO(b"%PDF-1.4 not an image at all"), "logo.jpg")},
        content_type="multipart/form-data",
    )
    assert "Ce fichier n’est pas une image." in not_image.get_data(as_text=True)
    huge = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * (5 * 1024 * 1024 + 10))
    too_large = client.submit(
        step_url(slug, "photos"), {"banner": (huge, "banner.png")}, content_type="multipart/form-data"
    )
    assert "Cette photo dépasse 5 Mo." in too_large.get_data(as_text=True)
    # The test client spooled the 5 MB body to a temporary file it closes only when following redirects.
    too_large.request.input_stream.close()
    shop = _shop(slug)
    assert shop.logo_path is None
    assert shop.banner_path is None


def test_overlapping_or_inverted_hours_are_refused_on_their_day(client: Client) -> None:
    slug = _draft_for(client)
    before = len(_shop(slug).opening_hours)
    overlapping = client.submit(
        step_url(slug, "hours"),
        {
            "day_2_opens_1": "09:00",
            "day_2_closes_1": "13:00",
            "day_2_opens_2": "12:00",
            "day_2_closes_2": "18:00",
        },
    )
    page = overlapping.get_data(as_text=True)
    assert overlapping.status_code == 200
    assert "Ces horaires se chevauchent." in page
    assert 'id="day_2_opens_1-error"' in page
    inverted = client.submit(step_url(slug, "hours"), {"day_0_opens_1": "18:00", "day_0_closes_1": "09:00"})
    assert "L’heure d’ouverture doit précéder l’heure de fermeture." in inverted.get_data(as_text=True)
    half = client.submit(step_url(slug, "hours"), {"day_3_opens_1": "09:00"})
    assert "Indiquez l’ouverture et la fermeture." in half.get_data(as_text=True)
    closure = client.submit(
        step_url(slug, "hours"),
        {
            "day_1_opens_1": "09:00",
            "day_1_closes_1": "18:00",
            "closures-0-starts_on": "2026-08-20",
            "closures-0-ends_on": "2026-08-01",
        },
    )
    assert "La fin d’une fermeture doit suivre son début." in closure.get_data(as_text=True)
    assert len(_shop(slug).opening_hours) == before, "nothing saved"


def test_a_relay_point_that_no_longer_exists_is_refused(client: Client) -> None:
    slug = _draft_for(client)
    gone = RelayPointFactory(archived_at=__import__("app.database", fromlist=["utcnow"]).utcnow())
    gone_id = gone.id
    response = client.submit(step_url(slug, "delivery"), {"relay": "y", "relay_point_ids": str(gone_id)})
    assert "Un point relais choisi n’existe plus" in response.get_data(as_text=True)
    unknown = client.submit(step_url(slug, "delivery"), {"relay": "y", "relay_point_ids": "999999"})
    assert "Un point relais choisi n’existe plus" in unknown.get_data(as_text=True)
    assert _shop(slug).relay is False


def test_delivery_needs_one_method_and_sensible_amounts(client: Client) -> None:
    slug = _draft_for(client)
    none = client.submit(step_url(slug, "delivery"), {})
    assert "Proposez au moins un mode de livraison ou de retrait." in none.get_data(as_text=True)
    negative = client.submit(step_url(slug, "delivery"), {"home_delivery": "y", "home_delivery_fee": "-3"})
    assert "Le montant ne peut pas être négatif." in negative.get_data(as_text=True)
    words = client.submit(step_url(slug, "delivery"), {"home_delivery": "y", "home_delivery_fee": "cinq"})
    assert "Indiquez un montant en euros" in words.get_data(as_text=True)
    zone = client.submit(
        step_url(slug, "delivery"),
        {"local_delivery": "y", "local_delivery_postcodes": "", "local_delivery_fee": "2"},
    )
    assert "Indiquez les codes postaux livrés." in zone.get_data(as_text=True)


def test_an_unknown_street_needs_coordinates(client: Client) -> None:
    slug = _draft_for(client)
    data = {
        "street": "3 impasse Inconnue",
        "postcode": "37000",
        "city": "Bellerive-sur-Loire",
        "country": "FR",
        "phone": "02 47 00 00 00",
        "email": "contact@example.com",
    }
    refused = client.submit(step_url(slug, "address"), data)
    assert "Nous ne connaissons pas cette rue" in refused.get_data(as_text=True)
    accepted = client.submit(step_url(slug, "address"), {**data, "latitude": "47,40", "longitude": "0.70"})
    assert accepted.status_code == 302
    assert (_shop(slug).latitude, _shop(slug).longitude) == (47.40, 0.70)


def test_a_replaced_photo_is_deleted_only_after_the_commit(app, client: Client) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from tests.plugins.application import jobs

    slug = _draft_for(client)
    client.submit(
        step_url(slug, "photos"), {"logo": (png(300, 300), "a.png")}, content_type="multipart/form-data"
    )
    first = _shop(slug).logo_path
    assert first is not None
    media = Path(app.config["MEDIA_DIR"])
    assert (media / first).is_file()
    client.submit(
        step_url(slug, "photos"), {"logo": (png(320, 320), "b.png")}, content_type="multipart/form-data"
    )
    second = _shop(slug).logo_path
    assert second not in (None, first)
    assert (media / first).is_file(), "still there until the job runs"
    assert [job.path for job in jobs(app).jobs if job.queue == "default"] == ["app.images.delete_stored"]
    with app.app_context():
        jobs(app).run_all(queues=("default",))
    assert not (media / first).exists()
    assert (media / second).is_file()
