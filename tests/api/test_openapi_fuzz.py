"""The API against its own OpenAPI document: schemathesis generates requests for every
operation (valid ones, and ones that break the document) and sends them, with a token, to a real
uvicorn. No answer may be a 5xx, have a status the document does not list, or a body, content
type or header the document does not describe. (Whether a request that breaks the document is
refused is not checked: schemathesis counts a repeated query parameter's single value as such a
request, and the routes' free-form JSON bodies are checked by the service, not the document.)

Deterministic (``derandomize``, no example database), with a bounded number of examples per
operation so that it fits CI's 2 cores; ``SCORECAST_FUZZ_EXAMPLES`` raises it for a longer run
(``docs/reference/limits-and-errors.md``).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from live_api import LiveServer

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("SCORECAST_FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _fuzz(operation: Any, mode: schemathesis.GenerationMode, headers: dict[str, str]) -> None:
    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers=headers, timeout=60)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_every_operation_answers_as_its_document_says(live_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json", timeout=60)
    headers = live_server.headers()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        for mode in schemathesis.GenerationMode:
            try:
                _fuzz(operation, mode, headers)
            except Unsatisfiable:
                assert mode.is_negative  # only string path parameters: nothing can break them
            except (Exception, ExceptionGroup) as exc:  # every operation is tried, all reported
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
