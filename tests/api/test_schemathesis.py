"""Schemathesis against the app's WSGI, every operation, with a key holding every scope of the shop (and
the town's key for the town's operations): no server error, every answer as the document says
(status, content type, headers, body). Examples are few and derandomized, so the run stays short and
the same from run to run."""

from __future__ import annotations

import time
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.extensions import db
from app.orders.models import ReturnRequest
from tests.api.support import World, make_return, make_review

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 12
MIN_SUCCEEDED = 18  # of 28 operations: the rest need bodies the generator seldom gets right


@pytest.mark.usefixtures("no_rate_limit")
def test_every_operation_conforms_to_its_document(app: Flask, world: World, db_session: Any) -> None:
    # Rows of the shop that generated ids stand for half of the time (an even generated id): made-up ids
    # alone would only ever meet 404s, and the answers about real rows would go unchecked.
    return_id = make_return(app, world)
    real = {
        "product_id": world.product_id,
        "review_id": make_review(app, world),
        "return_id": return_id,
        "vendor_order_id": db.session.get_one(ReturnRequest, return_id).vendor_order_id,
    }
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    started = time.monotonic()
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        key = world.keys["town" if operation.path.startswith("/api/v1/town") else "full"]
        run = _runner(operation, key, statuses.setdefault(operation.label, set()), real)
        try:
            run()
        except Exception as error:
            failures.append(f"{operation.label}: {str(error)[:1500]}")
    elapsed = time.monotonic() - started
    assert not failures, "\n\n".join(failures)
    assert elapsed < 60, f"the run took {elapsed:.0f} s"
    succeeded = [label for label, seen in statuses.items() if any(200 <= status < 300 for status in seen)]
    assert len(succeeded) >= MIN_SUCCEEDED, f"the generated requests mostly failed: {statuses}"


def _runner(operation: Any, token: str, statuses: set[int], real: dict[str, int]) -> Any:
    """A Hypothesis test of ``operation``: each generated case sent with ``token``, its answer checked;
    an even id in the path is replaced by the ``real`` row of that name."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        for name, value in list((case.path_parameters or {}).items()):
            if name in real and isinstance(value, int) and value % 2 == 0:
                case.path_parameters[name] = real[name]
        # identity: the WSGI transport hands the body over as sent, and does not undo compression
        response = case.call(headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"})
        statuses.add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    return run
