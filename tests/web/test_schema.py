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
from .test_court import seed

EXAMPLES = 10
PACKS = ["usa", "portugal", "iran"]


def _operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    ops = [result.ok() for result in schema.get_all_operations()]
    assert ops, "the schema has no operations"
    return ops


def _real_values(app: Any) -> dict[tuple[str, str], list[Any]]:
    """Path parameters that name things that exist (a seeded registry, shipped packs): half the
    generated requests use them, so the fuzzing reaches past 404s into the handlers."""
    seeded = seed(app.state.registry.url)
    return {
        ("/api/v1/registry/", "code"): seeded["codes"],
        ("/api/v1/registry/", "test_id"): seeded["tests"],
        ("/api/v1/registry/", "hearing_id"): seeded["hearings"],
        ("/api/v1/packs/", "code"): PACKS,
        ("/api/v1/packs/", "measure"): ["fine", "drug_court", "administrative_referral"],
        ("/api/v1/instruments/", "name"): ["assist", "audit", "dast10", "psa"],
    }


def _fuzz(app: Any, role: str, mode: GenerationMode) -> set[str]:
    app.state.jobs_paused = True  # comparison jobs queue but do not run while fuzzing
    real = _real_values(app)
    client = sign_in(app, role)
    headers = {"X-CSRF-Token": client.csrf}
    answered: set[str] = set()  # operations that answered 2xx at least once
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
            for (prefix, name), values in real.items():
                given_value = (case.path_parameters or {}).get(name)
                if case.path.startswith(prefix) and given_value is not None:
                    pick = hash(str(given_value))
                    if pick % 2 == 0:
                        case.path_parameters[name] = values[pick // 2 % len(values)]
            for part in (case.body, case.query):
                for key in ("jurisdiction", "left", "right"):
                    if isinstance(part, dict) and isinstance(part.get(key), str):
                        pick = hash(part[key])
                        if pick % 2 == 0:
                            part[key] = PACKS[pick // 2 % len(PACKS)]
            response = case.call(headers=headers, cookies=dict(client.cookies))
            if response.status_code < 300:
                answered.add(f"{case.method} {case.operation.path}")
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
    return answered


@pytest.mark.parametrize("role", ["admin", "case_manager", "judge"])
def test_no_server_error_on_valid_input(app: Any, role: str) -> None:
    answered = _fuzz(app, role, GenerationMode.POSITIVE)
    assert "GET /api/v1/packs/{code}" in answered  # real names reach the handlers, not only 404s
    if role == "case_manager":
        assert "GET /api/v1/registry/participants/{code}/timeline" in answered


@pytest.mark.parametrize("role", ["admin", "case_manager"])
def test_no_server_error_on_invalid_input(app: Any, role: str) -> None:
    _fuzz(app, role, GenerationMode.NEGATIVE)


def test_the_schema_documents_the_api(app: Any) -> None:
    client = sign_in(app, None)
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "divert"
    assert "/api/v1/session" in spec["paths"]
    assert all(p.startswith("/api/v1/") for p in spec["paths"])  # pages stay out of the API schema
