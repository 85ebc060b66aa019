"""Fixtures live in plugin modules, one per concern (see tests/plugins)."""

pytest_plugins = [
    "tests.plugins.services",
    "tests.plugins.database",
    "tests.plugins.application",
    "tests.plugins.stripe",
    "tests.plugins.browser",
    "tests.plugins.search",
    "tests.plugins.counters",
    "tests.plugins.s3",
]
