"""Admission: past `--max-calls-in-flight` calls, a new call is refused at
once with RESOURCE_EXHAUSTED (reason SERVER_OVERLOADED) and RetryInfo, and
counted in longreel_calls_shed_total.

Without it, overload reached gRPC's own limits first, which end calls as
CANCELLED: no retry hint for clients, nothing in the metrics. grpc's
maximum_concurrent_rpcs is set a little above ours (see app.py), so ours
always answers first, while health and reflection keep some room.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter

from .errors import ApiError, retry_info
from .gate import Gate
from .holds import HELD_METHODS, Holds

RETRY_AFTER = 1.0  # seconds an overloaded server asks callers to wait
HEADROOM = 100  # calls above ours grpc admits: health, reflection, our refusals


class Admission:
    def __init__(self, limit: int, registry: CollectorRegistry) -> None:
        self.limit = limit
        self.in_flight = 0
        self.shed = Counter(
            "longreel_calls_shed_total",
            "Calls refused with RESOURCE_EXHAUSTED before any work, by reason.",
            ["reason"],
            registry=registry,
        )

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Count one call in flight while inside; ApiError past the limit."""
        if self.in_flight >= self.limit:
            raise self.refused(
                "SERVER_OVERLOADED",
                f"the server has {self.limit} calls in flight; retry in {RETRY_AFTER:g} s",
                RETRY_AFTER,
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    def refused(self, reason: str, message: str, retry_after: float) -> ApiError:
        """A refusal, counted."""
        self.shed.labels(reason).inc()
        return ApiError(
            grpc.StatusCode.RESOURCE_EXHAUSTED, message, reason, details=[retry_info(retry_after)]
        )


class Limits:
    """What a call passes before its handler: admission, the gate, and the
    cap on held calls, in that order."""

    def __init__(self, gate: Gate, admission: Admission, max_waits_per_caller: int) -> None:
        self.gate = gate
        self.admission = admission
        self.holds = Holds(max_waits_per_caller, admission.refused)

    def enter(
        self, context: grpc.aio.ServicerContext[Any, Any], path: str
    ) -> tuple[str, ExitStack]:
        """The caller's principal, and what to close when the call ends; ApiError if refused."""
        stack = ExitStack()
        try:
            stack.enter_context(self.admission.admitted())
            principal = self.gate.admit(context)
            if path in HELD_METHODS:
                stack.enter_context(self.holds.held(principal or self.gate.address(context)))
        except BaseException:
            stack.close()
            raise
        return principal, stack
