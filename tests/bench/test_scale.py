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
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split()}
    for page in ("home", "category", "product", "storefront", "directory", "search"):
        small_ms, large_ms, _ratio, small_calls, large_calls, _calls_ratio = rows[page]
        assert min(float(small_ms), float(large_ms)) > 0
        # A page's request runs thousands of Python calls (Flask, SQLAlchemy, Jinja), on both catalogues.
        assert min(int(small_calls.replace(",", "")), int(large_calls.replace(",", ""))) > 1000
