"""The town manager's console (``/gestion``): its home and navigation. Each domain adds its pages
in its own ``admin.py`` under the same prefix."""
