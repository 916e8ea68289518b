"""How videoctl reports a failed call, in the words the user typed, and
which failures it retries before the server has ever answered.

A person at a terminal who mistyped `--target` should learn so at once, as
grpcurl tells them, not after the client's retries of UNAVAILABLE have run
out. But a server that answered once and then went away (a restart) is
retried as before: by then UNAVAILABLE means "back soon", not "wrong place".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, cast

from google.api_core import exceptions
from google.rpc import error_details_pb2

from . import _core, _retry

# The request fields a command sets, as the flags that set them; a field
# violation on one of them names the flag (`video.title` is `--title`).
FLAGS: Mapping[str, str] = {
    "video.title": "--title",
    "video.plot": "--plot",
    "video_id": "--id",
    "request_id": "--request-id",
    "filter": "--filter",
    "page_size": "--limit",
}


def failure(error: exceptions.GoogleAPICallError, names: Mapping[str, str] = FLAGS) -> str:
    """One line naming the status. Field violations name the flags (or the
    positional argument) that set the fields; an answer past our receive
    limit is not the server's RESOURCE_EXHAUSTED (no retry helps), so it says so."""
    code = error.grpc_status_code.name if error.grpc_status_code else "ERROR"
    if code == "RESOURCE_EXHAUSTED" and "message larger than max" in str(error.message):
        return f"RESPONSE_TOO_LARGE: the answer was too large for videoctl ({error.message})"
    violations = [
        f"{names.get(v.field, v.field)}: {v.description}"
        for detail in error.details or ()
        if isinstance(detail, error_details_pb2.BadRequest)
        for v in detail.field_violations
    ]
    return f"{code}: {'; '.join(violations) if violations else error.message}"


def unreachable(target: str, error: exceptions.GoogleAPICallError | Exception) -> str:
    """`UNAVAILABLE: cannot reach HOST:PORT: connection refused`: gRPC's last
    words (`...: Failed to connect to remote host: Connection refused`) cut
    to the reason."""
    message = str(getattr(error, "message", None) or error)
    reason = message.rsplit(": ", 1)[-1].strip(" []") or "unavailable"
    return f"UNAVAILABLE: cannot reach {target}: {reason[:1].lower()}{reason[1:]}"


class Contact:
    """Whether the server has answered this process yet."""

    def __init__(self) -> None:
        self._answered = threading.Event()

    @property
    def answered(self) -> bool:
        return self._answered.is_set()

    def saw_answer(self) -> None:
        self._answered.set()

    def retryable(self, exc: Exception) -> bool:
        """The client's predicate, except UNAVAILABLE before any answer."""
        if not isinstance(exc, exceptions.ServiceUnavailable):
            self.saw_answer()  # the server spoke, if only to refuse
            return _core.RETRYABLE(exc)
        return self.answered and _core.RETRYABLE(exc)


def fail_fast_retry(contact: Contact, timeout: float) -> _retry.Retry:
    """The client's default retry (bounded by `timeout`) that gives up on
    the first UNAVAILABLE until the server has answered once, and learns
    that it has from any call that returns. api-core copies a retry with
    `type(self)(...)` (with_timeout, with_predicate), so the class itself
    carries `contact`, and every copy the client makes reports to it."""

    class FailFastRetry(_retry.Retry):
        def __call__(self, func: Callable[..., Any], on_error: Any = None) -> Callable[..., Any]:
            wrapped = super().__call__(func, on_error)

            def call(*args: Any, **kwargs: Any) -> Any:
                answer = wrapped(*args, **kwargs)
                contact.saw_answer()
                return answer

            return call

    base = _core.default_retry(FailFastRetry)
    return cast(FailFastRetry, base.with_predicate(contact.retryable).with_timeout(timeout))
