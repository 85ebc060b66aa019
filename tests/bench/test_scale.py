"""bench/scale.py runs end to end: two catalogues loaded, every public page asked of both, a table."""

from __future__ import annotations

import os

import pytest

from bench import scale
from tests.plugins.services import Services


@pytest.mark.skipif(
    os.environ.get("CI", "").lower() in {"1", "true", "yes"},
    reason="about a minute: two catalogues loaded and indexed",
)
def test_a_short_run_prints_every_public_page(services: Services, capsys: pytest.CaptureFixture[str]) -> None:
    if not services.postgres_url:
        pytest.skip("needs PostgreSQL")
    assert scale.main(["--scale", "2", "--rounds", "1", "--requests", "1"]) == 0
    out = capsys.readouterr().out
    assert "catalogue ×2: 1100 products" in out
    for page in ("home", "category", "product", "storefront", "directory", "search"):
        assert f"\n{page} " in out
