"""The marketplace's icon: at /favicon.ico, where browsers look for it first, and linked from every page."""

from __future__ import annotations

from io import BytesIO

from PIL import Image

from tests.plugins.application import Client


def test_the_favicon_is_served_and_kept_for_a_month(client: Client) -> None:
    with client.get("/favicon.ico") as response:
        assert (response.status_code, response.mimetype) == (200, "image/vnd.microsoft.icon")
        assert response.cache_control.max_age == 60 * 60 * 24 * 30
        data = response.data
    with Image.open(BytesIO(data)) as icon:
        assert icon.format == "ICO"
        assert {(16, 16), (32, 32)} <= set(icon.info["sizes"])


def test_every_page_links_to_the_favicon(client: Client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/favicon.ico"' in page
