"""The search backends under test: the embedded tantivy index and Elasticsearch (noida-db).

``elasticsearch_url`` starts one local server per test process on 127.0.0.1 (devtools.elasticsearch);
in CI a server that does not start fails the run. ``search_backend`` gives a clean, empty index of
either kind (the contract suite runs against both); ``search_index`` installs a clean tantivy index
as the app's backend for the tests that go through the app.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from devtools import elasticsearch as local_elasticsearch
from search.backends import SearchBackend
from search.backends.elastic import ElasticsearchBackend
from search.backends.embedded import TantivyBackend
from tests.plugins.services import in_ci

BACKENDS = ("tantivy", "elasticsearch")


@pytest.fixture(scope="session")
def elasticsearch_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        server = local_elasticsearch.start(tmp_path_factory.mktemp("elasticsearch"))
    except RuntimeError as error:
        if in_ci():
            pytest.fail(f"CI needs the local Elasticsearch (noida-db): {error}")
        pytest.skip(f"no local Elasticsearch: {error}")
    try:
        yield server.url
    finally:
        local_elasticsearch.stop(server)


def make_backend(kind: str, request: pytest.FixtureRequest, directory: Path) -> SearchBackend:
    if kind == "elasticsearch":
        url = request.getfixturevalue("elasticsearch_url")
        return ElasticsearchBackend(url, alias=f"test-{uuid.uuid4().hex[:10]}")
    return TantivyBackend(directory)


def drop(backend: SearchBackend) -> None:
    backend.drop()  # type: ignore[attr-defined]


@pytest.fixture(params=BACKENDS)
def search_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    backend = make_backend(request.param, request, tmp_path / "index")
    try:
        yield backend
    finally:
        drop(backend)


@pytest.fixture
def search_index(app: Flask, tmp_path: Path) -> Iterator[SearchBackend]:
    """A clean embedded index as the app's search backend, for this test only."""
    previous = app.extensions.get("search")
    backend = TantivyBackend(tmp_path / "search-index")
    app.extensions["search"] = backend
    try:
        yield backend
    finally:
        if previous is None:
            app.extensions.pop("search", None)
        else:
            app.extensions["search"] = previous
        drop(backend)
