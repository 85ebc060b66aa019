"""Jobs of the catalogue: checking and applying a CSV import. Both take the import's id and are safe to
run twice (a check only runs on an uploaded import, an apply only on an import waiting to be applied).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DataError, IntegrityError

from app.accounts.models import User
from app.audit import services as audit
from app.catalog import imports
from app.catalog.models import CatalogImport, ImportStatus
from app.catalog.services import CatalogError
from app.database import utcnow
from app.extensions import db
from vendors.models import Shop, ShopMember

log = logging.getLogger(__name__)

# pg_advisory_xact_lock(namespace, id): one apply of an import at a time.
APPLY_LOCK_NAMESPACE = 0x43534956


def _load(import_id: int) -> CatalogImport | None:
    return db.session.get(CatalogImport, import_id, populate_existing=True)


def _locale(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id else None
    return user.locale if user is not None else str(current_app.config["BABEL_DEFAULT_LOCALE"])


def _fail(import_id: int, errors: list[dict[str, Any]]) -> None:
    """Mark the import failed with its errors, in a transaction of its own."""
    catalog_import = _load(import_id)
    if catalog_import is None:
        return
    catalog_import.status = ImportStatus.FAILED
    catalog_import.report = {
        **catalog_import.report,
        "errors": errors,
        "error_count": len(errors),
        "failed_at": utcnow().isoformat(),
    }
    db.session.commit()


def _file_error(error: CatalogError) -> dict[str, Any]:
    return {"line": 0, "column": "", "message": str(error.message)}


# -- the check (dry run) --------------------------------------------------------------------------


def check_import(import_id: int) -> None:
    """Validate every row and store the report; nothing is written to the catalogue."""
    catalog_import = _load(import_id)
    if catalog_import is None or catalog_import.status != ImportStatus.UPLOADED:
        return
    shop = db.session.get(Shop, catalog_import.shop_id)
    assert shop is not None

    def progress(done: int) -> None:
        # Committed as it goes, so that the status page, polling, sees the check move.
        db.session.execute(
            sa.update(CatalogImport)
            .where(CatalogImport.id == import_id, CatalogImport.status == ImportStatus.UPLOADED)
            .values(rows_done=done)
        )
        db.session.commit()

    with force_locale(_locale(catalog_import.user_id)):
        try:
            table = imports.read_table(imports.read_stored(catalog_import))
        except CatalogError as error:
            db.session.rollback()
            _fail(import_id, [_file_error(error)])
            return
        plan = imports.plan_import(shop, table, progress)
        report = plan.report()
    catalog_import = db.session.get(CatalogImport, import_id, populate_existing=True, with_for_update=True)
    if catalog_import is None or catalog_import.status != ImportStatus.UPLOADED:
        db.session.rollback()  # another run of this job got there first
        return
    catalog_import.rows_total = len(table.rows)
    catalog_import.rows_done = len(table.rows)
    catalog_import.report = {**report, "checked_at": utcnow().isoformat()}
    catalog_import.status = ImportStatus.CHECKED
    db.session.commit()


# -- the apply (one transaction) ------------------------------------------------------------------


def _progress_outside(import_id: int, done: int) -> None:
    """Progress of the apply, in a short transaction of its own (the apply's own commits only at the end).

    PostgreSQL only: SQLite would wait for the apply's write lock. The apply's transaction does not touch
    the import row until its very end, so this never waits for it.
    """
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(CatalogImport.__table__)
            .where(CatalogImport.__table__.c.id == import_id)
            .values(rows_done=done)
        )


def _lock(import_id: int) -> None:
    """Wait for any other run of this apply to finish (it holds the lock until it commits)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
            {"namespace": APPLY_LOCK_NAMESPACE, "key": import_id % 2**31},
        )


def apply_import(import_id: int) -> None:
    """Validate again and write every product in one transaction: all of it, or nothing and FAILED."""
    catalog_import = _load(import_id)
    if catalog_import is None or catalog_import.status != ImportStatus.APPLYING:
        return
    _lock(import_id)
    catalog_import = _load(import_id)
    if catalog_import is None or catalog_import.status != ImportStatus.APPLYING:
        db.session.rollback()
        return
    user_id = catalog_import.report.get("applied_by") or catalog_import.user_id
    member = db.session.scalar(
        sa.select(ShopMember).where(
            ShopMember.shop_id == catalog_import.shop_id, ShopMember.user_id == user_id
        )
    )
    with force_locale(_locale(user_id)):
        if member is None:
            db.session.rollback()
            _fail(
                import_id,
                [
                    {
                        "line": 0,
                        "column": "",
                        "message": str(_l("Vous ne faites plus partie de cette boutique.")),
                    }
                ],
            )
            return
        try:
            table = imports.read_table(imports.read_stored(catalog_import))
            plan = imports.plan_import(member.shop, table)
            if plan.errors:
                db.session.rollback()
                _fail(import_id, plan.report()["errors"])
                return
            imports.write_plan(member, plan, lambda done: _progress_outside(import_id, done))
        except CatalogError as error:
            db.session.rollback()
            _fail(import_id, [_file_error(error)])
            return
        except imports.ImportFailed as failure:
            db.session.rollback()
            _fail(import_id, [failure.as_error()])
            return
        except (IntegrityError, DataError):
            log.exception("catalogue import %s refused by the database", import_id)
            db.session.rollback()
            message = _l(
                "Le catalogue a changé pendant l’import : rien n’a été modifié. Importez de nouveau."
            )
            _fail(import_id, [{"line": 0, "column": "", "message": str(message)}])
            return
        except Exception:
            db.session.rollback()  # nothing written; still APPLYING, so a retry applies it
            raise
    counts = plan.counts
    catalog_import.status = ImportStatus.APPLIED
    catalog_import.applied_at = utcnow()
    catalog_import.rows_total = catalog_import.rows_done = len(table.rows)
    catalog_import.report = {**catalog_import.report, **plan.report(), "counts": counts}
    audit.record(member.user, "catalog_import", catalog_import.id, "applied", counts=counts)
    db.session.commit()
