"""bench/web.py runs end to end: the demo town served by gunicorn, one page loaded, a table printed."""

from __future__ import annotations

import os

import pytest

from bench import web
from tests.plugins.services import Services


@pytest.mark.skipif(
    os.environ.get("CI", "").lower() in {"1", "true", "yes"},
    reason="about a minute: servers and the demo town",
)
def test_quick_run_prints_a_table(services: Services, capsys: pytest.CaptureFixture[str]) -> None:
    if not services.postgres_url:
        pytest.skip("needs PostgreSQL")
    assert web.main(["--quick", "--seconds", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "hello" in out
    assert "req/s" in out
    assert "\nhome" in out
    assert "worker memory after the run: RSS" in out
