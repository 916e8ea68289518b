"""Property-based: generated requests, good and bad, against every documented
operation of the gateway. No 5xx, and every response matches /openapi.json."""

from __future__ import annotations

import os

import hypothesis
import schemathesis
from schemathesis import GenerationMode, checks

from longreel.gateway.openapi import DOCUMENT

from ..processors import GatedProcessor

SETTINGS = hypothesis.settings(
    max_examples=40,
    # CI replays the same examples every run, so a landing never hinges on luck;
    # local runs explore new ones.
    derandomize=bool(os.environ.get("CI")),
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)


def test_generated_requests_get_documented_answers_and_no_server_errors(
    start_server, start_gateway
):
    http = start_gateway(start_server(GatedProcessor(open_gate=True)))
    schema = schemathesis.openapi.from_url(f"{http.url}/openapi.json")
    # Both well-formed requests and ones that break the document on purpose.
    assert set(schema.config.generation.modes) == {GenerationMode.POSITIVE, GenerationMode.NEGATIVE}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 19  # 12, and HEAD beside each GET but the event stream
    for operation in operations:

        @SETTINGS
        @hypothesis.given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            # Only tokens the server issued are accepted; a made-up one is
            # rightly a 400, though any string fits the document.
            forged_token = "pageToken" in (case.query or {})
            case.call_and_validate(
                excluded_checks=[checks.positive_data_acceptance] if forged_token else []
            )

        check()


def test_every_operation_is_named_tagged_and_lists_the_errors_any_call_may_meet():
    """For generated clients: a stable method name, a group, and typed errors."""
    seen = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            seen.append(operation["operationId"])
            assert set(operation["tags"]) <= {t["name"] for t in DOCUMENT["tags"]}, path
            assert operation["tags"], (method, path)
            assert {"401", "429", "504"} <= set(operation["responses"]), (method, path)
            if method == "head":
                assert all("content" not in r for r in operation["responses"].values())
    assert len(seen) == len(set(seen))  # operationIds are unique
    assert "head" in DOCUMENT["paths"]["/videos/{video}/content"]
    assert "head" not in DOCUMENT["paths"]["/videos/tasks/{task}/events"]
