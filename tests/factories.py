"""factory_boy factories: rows as the app would have written them, committed to the test transaction."""

from __future__ import annotations

import secrets
from functools import cache

import factory
import pyotp
from argon2 import PasswordHasher, profiles

from app.accounts.models import Role, User
from app.database import utcnow
from app.extensions import db

PASSWORD = "correct horse battery"


@cache
def password_hash(password: str = PASSWORD) -> str:
    return PasswordHasher.from_parameters(profiles.CHEAPEST).hash(password)


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - the session of the running test
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    locale = "fr"
    role = Role.SHOPPER
    is_active = True
    email_confirmed_at = factory.LazyFunction(utcnow)
    session_token = factory.LazyFunction(lambda: secrets.token_hex(16))
    password_hash = factory.LazyFunction(password_hash)

    class Params:
        unconfirmed = factory.Trait(email_confirmed_at=None)
        manager = factory.Trait(role=Role.MANAGER)
        two_factor = factory.Trait(
            totp_secret=factory.LazyFunction(pyotp.random_base32),
            totp_enabled_at=factory.LazyFunction(utcnow),
        )
