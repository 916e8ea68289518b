"""How videoctl words a failure, and which failures it retries before the
server has ever answered (client/_cli_errors.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from google.api_core import exceptions
from google.rpc import error_details_pb2

from longreel.client import _cli_errors

REFUSED = (
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: "
    "Failed to connect to remote host: Connection refused"
)


def _bad_request(*fields: str) -> exceptions.InvalidArgument:
    violations = [
        error_details_pb2.BadRequest.FieldViolation(field=f, description="is wrong") for f in fields
    ]
    detail = error_details_pb2.BadRequest(field_violations=violations)
    return exceptions.InvalidArgument("; ".join(f"{f}: is wrong" for f in fields), details=[detail])


def test_field_violations_name_the_flags_that_set_the_fields():
    error = _bad_request("video.title", "video_id", "request_id")
    said = _cli_errors.failure(error)
    assert said == "INVALID_ARGUMENT: --title: is wrong; --id: is wrong; --request-id: is wrong"


def test_a_field_no_flag_sets_keeps_its_name_and_name_is_the_positional():
    assert _cli_errors.failure(_bad_request("video.other")).endswith("video.other: is wrong")
    named = _cli_errors.failure(_bad_request("name"), {"name": "VIDEO"})
    assert named == "INVALID_ARGUMENT: VIDEO: is wrong"


def test_without_violations_the_message_is_said():
    assert _cli_errors.failure(exceptions.NotFound("videos/x does not exist")) == (
        "NOT_FOUND: videos/x does not exist"
    )


def test_an_unreachable_target_is_said_with_grpcs_reason():
    error = exceptions.ServiceUnavailable(REFUSED)
    assert _cli_errors.unreachable("127.0.0.1:1", error) == (
        "UNAVAILABLE: cannot reach 127.0.0.1:1: connection refused"
    )
    dns = exceptions.ServiceUnavailable(
        "errors resolving nowhere.invalid:1: [field:hostname lookup error:address lookup"
        " failed for nowhere.invalid:1: Domain name not found]"
    )
    assert _cli_errors.unreachable("nowhere.invalid:1", dns).endswith(": domain name not found")


def _flaky(failures: int) -> tuple[list[int], Callable[[], str]]:
    """A call that fails with UNAVAILABLE `failures` times, then answers."""
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise exceptions.ServiceUnavailable(REFUSED)
        return "answer"

    return calls, call


def test_unavailable_before_any_answer_is_not_retried():
    contact = _cli_errors.Contact()
    calls, call = _flaky(1)
    with pytest.raises(exceptions.ServiceUnavailable):
        _cli_errors.fail_fast_retry(contact, 30.0)(call)()
    assert len(calls) == 1 and not contact.answered


def test_once_the_server_answered_unavailable_is_retried_by_every_copy():
    contact = _cli_errors.Contact()
    retry = _cli_errors.fail_fast_retry(contact, 30.0)
    assert retry(lambda: "first")() == "first"
    assert contact.answered
    calls, call = _flaky(2)
    assert retry.with_timeout(30.0)(call)() == "answer"  # the client copies its retry per call
    assert len(calls) == 3


def test_an_error_from_the_server_counts_as_an_answer():
    contact = _cli_errors.Contact()
    assert not contact.retryable(exceptions.ServiceUnavailable(REFUSED))
    assert not contact.retryable(exceptions.PermissionDenied("no"))  # not retried, but heard
    assert contact.answered
    assert contact.retryable(exceptions.ServiceUnavailable("Socket closed"))
