"""Flask extensions, created once here and bound to the app in ``create_app()``."""

from __future__ import annotations

import importlib
from functools import cached_property
from typing import Any

import click
from flask import Flask
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from sqlalchemy import MetaData

from app.csrf_masking import MaskedCSRFProtect

# Constraint names are fixed so that Alembic migrations are stable across databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class LazyGroup(click.Group):
    """A command group whose module is imported when the group runs or is listed (``flask --help``): its
    imports stay out of the web workers, which never run it."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name)
        self.target = target  # "module:attribute"

    def real(self) -> click.Group:
        module, attribute = self.target.split(":")
        group = getattr(importlib.import_module(module), attribute)
        assert isinstance(group, click.Group)
        assert group.name == self.name, self.target
        return group

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.real().get_short_help_str(limit)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self.real().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.real().get_command(ctx, cmd_name)


class MigrateConfig:
    """What Flask-Migrate keeps in ``app.extensions["migrate"]`` and reads back (its functions, and
    migrations/env.py): the db, the scripts' directory, Alembic's arguments; Flask-Migrate's own object
    (``migrate``, and Alembic with it) is made on first use."""

    def __init__(self, db: SQLAlchemy, directory: str, configure_args: dict[str, Any]) -> None:
        self.db = db
        self.directory = directory
        self.configure_args = configure_args

    @property
    def metadata(self) -> MetaData:
        return self.db.metadata

    @cached_property
    def migrate(self) -> Any:
        from flask_migrate import Migrate

        migrate = Migrate(db=self.db, directory=self.directory)
        migrate.alembic_ctx_kwargs = self.configure_args
        return migrate


class Migrations:
    """Flask-Migrate bound to the app without importing it: Alembic, with Mako and Pygments, is imported
    by ``flask db``, a migration run or the readiness check, not by every web worker at start-up."""

    def init_app(
        self, app: Flask, db: SQLAlchemy, directory: str = "migrations", **configure_args: Any
    ) -> None:
        app.extensions["migrate"] = MigrateConfig(db, directory, configure_args)
        app.cli.add_command(LazyGroup("db", "flask_migrate.cli:db"))


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrations()
login_manager = LoginManager()
csrf = MaskedCSRFProtect()  # reads the tokens masked afresh in each page (app/csrf_masking.py)
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
talisman = Talisman()
compress = Compress()
