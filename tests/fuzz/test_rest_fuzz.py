"""schemathesis fuzzing of the REST endpoints against a real server, using the served /openapi.json:
schema-conforming and schema-violating requests alike must get an answer listed in the description
(no 5xx, every rejection a documented 4xx, bodies in the documented shape).

Bounded and deterministic for CI: a fixed number of examples per operation and mode, derandomized.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ProjectCreds, Server, create_project, free_port
from videoinsights.settings import Settings
from videoinsights.web.openapi import openapi_document

EXAMPLES = 25  # per operation and mode: ~500 requests in all
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SCHEMA = schemathesis.openapi.from_dict(openapi_document(Settings()))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
# schema-violating requests exist only for operations that take parameters or a body
CASES = [(op, GenerationMode.POSITIVE) for op in OPERATIONS] + [
    (op, GenerationMode.NEGATIVE) for op in OPERATIONS
    if op.definition.raw.get("parameters") or op.definition.raw.get("requestBody")]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, ProjectCreds]]:
    db = tmp_path_factory.mktemp("fuzz") / "vi.duckdb"
    creds = create_project(db, "fuzz")
    server = Server(db, free_port())
    server.start()
    yield server, creds
    server.stop()


def test_the_served_description_is_the_fuzzed_one(site: Any) -> None:
    server, _ = site
    served = httpx.get(f"{server.url}/openapi.json")
    assert served.status_code == 200 and served.json() == openapi_document(Settings())
    assert {op.label for op in OPERATIONS} >= {"POST /v1/events", "POST /v1/projects/{project_id}/callbacks/vonage",
                                               "GET /health", "GET /metrics", "POST /login", "POST /graphql"}


@pytest.mark.parametrize(("operation", "mode"), CASES, ids=[f"{op.label} {mode}" for op, mode in CASES])
def test_fuzz(site: Any, operation: Any, mode: GenerationMode) -> None:
    server, creds = site

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        headers = {}
        if operation.path in ("/v1/events", "/graphql"):
            headers["X-OPENTOK-AUTH"] = creds.token()
        if operation.path.endswith("/callbacks/vonage") and len(repr(case.body)) % 2 == 0:
            # half the callbacks (chosen deterministically) carry the real project and token
            case.path_parameters["project_id"] = creds.project_id
            case.query = {**(case.query or {}), "token": creds.callback_token}
        response = case.call(base_url=server.url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)

    run()
    assert httpx.get(f"{server.url}/health").status_code == 200
