"""Prometheus metrics of the gateway: HTTP requests by method, route and status.

A route is labelled by its template (`/videos/tasks/{task}`), never by the
path it was called with: ids in labels would make a series per task. Paths
no route knows share one label, `unmatched`, and methods outside HTTP's
usual few share `other`, so no caller can grow the label sets. Served on a
port of its own (--metrics-port, off by default), as every program here does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
# Long polls (?wait=, up to 60 s) and video downloads (at the reader's pace)
# take the upper buckets.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class GatewayMetrics:
    """The gateway's series, in a registry of the caller's."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "longreel_gateway_requests_total",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "code"],
            registry=registry,
        )
        self.seconds = Histogram(
            "longreel_gateway_request_duration_seconds",
            "Time from a request's arrival to the end of its answer's body.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        )
        ProcessCollector(registry=registry)
        # Series bound once per label set: a request costs no label lookups.
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self.requests.labels(method, route, str(status))
            self._counters[method, route, status] = counter
        counter.inc()
        timer = self._timers.get((method, route))
        if timer is None:
            timer = self._timers[method, route] = self.seconds.labels(method, route)
        timer.observe(seconds)


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The template of the route that serves scope, chosen as Starlette's
    router chooses (the first full match, else the first that differs only
    by method: a 405)."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", UNMATCHED))
        if match is Match.PARTIAL and partial is None:
            partial = route
    return UNMATCHED if partial is None else str(getattr(partial, "path", UNMATCHED))


class RequestMetrics:
    """ASGI middleware, outside all but tracing's: what it records is what the caller got."""

    def __init__(
        self, app: ASGIApp, *, metrics: GatewayMetrics, routes: Sequence[BaseRoute]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        route = route_template(self.routes, scope)  # before routing rewrites the scope
        status = 500  # if nothing answers, the server says 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.metrics.record(method, route, status, time.perf_counter() - start)
