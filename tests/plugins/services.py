"""The real services the tests run against: PostgreSQL and Redis on 127.0.0.1.

Whenever they are reachable the suite uses them; in CI (``CI=true``) they are required and the run
stops at once, loudly, if one is missing. Elsewhere a missing PostgreSQL falls back to SQLite and a
missing Redis to in-process stand-ins, and the tests that need the real thing are skipped.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import pytest

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Services:
    postgres_url: str | None
    redis_url: str | None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


_detected: Services | None = None


def detect() -> Services:
    global _detected
    if _detected is None:
        postgres = _reachable("127.0.0.1", 5432)
        redis = _reachable("127.0.0.1", 6379)
        if in_ci() and not (postgres and redis):
            missing = [name for name, up in (("PostgreSQL", postgres), ("Redis", redis)) if not up]
            pytest.exit(f"CI needs {' and '.join(missing)} on 127.0.0.1; none found", returncode=3)
        _detected = Services(POSTGRES_URL if postgres else None, REDIS_URL if redis else None)
    return _detected


def pytest_report_header(config: pytest.Config) -> list[str]:
    services = detect()
    return [
        f"database: {'PostgreSQL' if services.postgres_url else 'SQLite (PostgreSQL not reachable)'}",
        f"redis: {'yes' if services.redis_url else 'no (tests needing it are skipped)'}",
    ]


@pytest.fixture(scope="session")
def services() -> Services:
    return detect()


@pytest.fixture
def redis_url(services: Services) -> str:
    if not services.redis_url:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    return services.redis_url


@pytest.fixture
def postgres_only(services: Services) -> None:
    if not services.postgres_url:
        pytest.skip("needs PostgreSQL")
