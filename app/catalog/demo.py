"""Demo town: the category tree."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from app.catalog.models import Category
from app.extensions import db

if TYPE_CHECKING:
    from app.demo import DemoContext


def load_categories(ctx: DemoContext) -> None:
    existing = {category.slug: category for category in db.session.scalars(sa.select(Category))}
    created = 0
    for position, row in enumerate(ctx.read_json("categories.json")):
        if row["slug"] in existing:
            continue
        parent = existing.get(row["parent"]) if row["parent"] else None
        category = Category(slug=row["slug"], name=row["name"], parent=parent, position=position)
        db.session.add(category)
        existing[row["slug"]] = category
        created += 1
    db.session.flush()
    ctx.counts["categories created"] = created
