"""Schemathesis against the OpenAPI schema: no server error on any generated input, for each role.

Every operation of /api/v1 is called with data generated from its schema, valid (positive) and
invalid (negative), signed in as roles that reach different code paths; a 5xx answer fails the test
and names the operation and the request. (Schemathesis' pytest plugin does not run on pytest 9, so
the operations are driven directly with Hypothesis.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from .conftest import sign_in

EXAMPLES = 10


def _operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    ops = [result.ok() for result in schema.get_all_operations()]
    assert ops, "the schema has no operations"
    return ops


def _fuzz(app: Any, role: str, mode: GenerationMode) -> int:
    app.state.jobs_paused = True  # comparison jobs queue but do not run while fuzzing
    client = sign_in(app, role)
    headers = {"X-CSRF-Token": client.csrf}
    calls = 0
    for op in _operations(app):
        if op.method.upper() == "DELETE" and op.path == "/api/v1/session":
            continue  # signing out would only end this client's session
        inputs = len(op.body) + len(op.query) + len(op.path_parameters)
        if mode == GenerationMode.NEGATIVE and inputs == 0:
            continue  # nothing to make invalid

        @given(case=op.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            nonlocal calls
            response = case.call(headers=headers, cookies=dict(client.cookies))
            calls += 1
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except Exception as exc:  # name the operation and the input that broke it
                raise AssertionError(f"{case.method} {case.path} as {role}: {exc}") from None

        try:
            check()
        except Unsatisfiable:
            if mode != GenerationMode.NEGATIVE:
                raise
            # every input of this operation accepts any value of its type (e.g. a free-text path
            # parameter): there is no invalid request to generate
    return calls


@pytest.mark.parametrize("role", ["admin", "case_manager", "judge"])
def test_no_server_error_on_valid_input(app: Any, role: str) -> None:
    assert _fuzz(app, role, GenerationMode.POSITIVE) > 0


@pytest.mark.parametrize("role", ["admin", "case_manager"])
def test_no_server_error_on_invalid_input(app: Any, role: str) -> None:
    assert _fuzz(app, role, GenerationMode.NEGATIVE) > 0


def test_the_schema_documents_the_api(app: Any) -> None:
    client = sign_in(app, None)
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "divert"
    assert "/api/v1/session" in spec["paths"]
    assert all(p.startswith("/api/v1/") for p in spec["paths"])  # pages stay out of the API schema
