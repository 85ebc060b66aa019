"""Catalogue: the category tree, products, variants, stock and photos, CSV import and export."""
