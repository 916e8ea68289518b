"""Prometheus metrics of a server or worker process: the HTTP endpoint, what
the workers did, and the store's operations by state.

Each program makes its own CollectorRegistry and passes it in (nothing goes
to prometheus_client's global one), and serves it on a port of its own, off
unless asked for, so metrics never share a listener with the API.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

from google.rpc import code_pb2
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import clock
from .store import FinishedCounts, Outcome, QueueCounts, Store
from .store.base import CREATE, DELETE

log = logging.getLogger(__name__)

REFRESH = 5.0  # seconds between counts
# The count of finished operations reads all that are stored: it is put off
# so that counting takes at most this share of the time.
COUNTING_SHARE = 0.01
# Attempts last from a fraction of a second (the simulated processor) to
# minutes (long renders).
JOB_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
OUTCOMES = ("done", "failed", "cancelled")


def outcome_of(outcome: Outcome) -> str:
    """How a job ended, as the metrics label it."""
    if outcome.error is None:
        return "done"
    return "cancelled" if outcome.error_code == code_pb2.CANCELLED else "failed"


class JobMetrics:
    """What this process's workers did. Counted where it happens, so each
    process exports its own; Prometheus sums them across processes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            "longreel_job_duration_seconds",
            "Time from claiming a job to recording its end, of the attempt that ended it.",
            ["verb", "outcome"],
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "longreel_job_retries_total",
            "Failed attempts put back to run again after a backoff.",
            registry=registry,
        )
        self.takeovers = Counter(
            "longreel_lease_takeovers_total",
            "Jobs claimed from a worker whose lease ran out (it died or stalled).",
            registry=registry,
        )
        self.cancellations = Counter(
            "longreel_job_cancellations_total",
            "Jobs a worker ended because their cancellation was asked.",
            registry=registry,
        )
        for verb in (CREATE, DELETE):  # every series exists from the start, at zero
            for outcome in OUTCOMES:
                self.duration.labels(verb, outcome)

    def ended(self, verb: str, outcome: Outcome, seconds: float) -> None:
        label = outcome_of(outcome)
        self.duration.labels(verb, label).observe(seconds)
        if label == "cancelled":
            self.cancellations.inc()


class StoreCounts(Collector):
    """longreel_operations{state} and longreel_oldest_queued_job_age_seconds,
    counted in the store: the one honest source when several servers and
    video-workers share it.

    A count per scrape would let scrapers set the database's load, and a
    scrape runs on the endpoint's thread, where the store (which belongs to
    the event loop) cannot be called. So `run`, a task on the event loop,
    counts, one count at a time whatever the scrape rate: the unfinished
    operations every REFRESH seconds (a read of at most --max-backlog rows),
    the finished ones as often, unless that took more than COUNTING_SHARE
    of the time (it is an index-only count of all that are stored, tens of
    ms per million): then less often, in proportion. SQLite counts on a reader
    thread, PostgreSQL on a pooled connection under a statement timeout, so
    neither holds the event loop. A scrape reads the last snapshot from
    memory. A count that fails drops its metrics from scrapes until one
    succeeds, rather than passing stale numbers off as fresh.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: tuple[QueueCounts, int] | None = None  # with the time it was counted
        self._finished: FinishedCounts | None = None

    async def run(self) -> None:
        finished_due = 0.0
        while True:
            started = time.monotonic()
            due = started >= finished_due
            await self.refresh(finished=due)
            if due:
                took = time.monotonic() - started
                finished_due = started + max(REFRESH, took / COUNTING_SHARE)
            await asyncio.sleep(REFRESH)

    async def refresh(self, *, finished: bool = True) -> None:
        """Count now (the test suite calls it directly)."""
        try:
            now = self._store.now()
            self._queue = (await self._store.count_queue(now), now)
        except Exception as exc:  # the counting must outlive any one failure
            self._queue = None
            log.warning("metrics: could not count the queued operations: %s", exc)
        if not finished:
            return
        try:
            self._finished = await self._store.count_finished()
        except Exception as exc:
            self._finished = None
            log.warning("metrics: could not count the finished operations: %s", exc)

    def describe(self) -> Iterator[Metric]:
        yield _states()
        yield _queue_age()

    def collect(self) -> Iterator[Metric]:
        queue, finished = self._queue, self._finished  # the snapshot, whatever run does now
        states = _states()
        if queue is not None:
            counts, now = queue
            states.add_metric(["queued"], counts.queued)
            states.add_metric(["running"], counts.running)
            age = _queue_age()
            oldest = counts.oldest_queued
            age.add_metric([], 0.0 if oldest is None else max(0, now - oldest) / clock.SECOND)
            yield age
        if finished is not None:
            for state in OUTCOMES:
                states.add_metric([state], getattr(finished, state))
        yield states


def _states() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "longreel_operations",
        "Operations in the store by state: queued (waiting for a worker, a retry's backoff"
        " included), running (under a live lease), done, failed, cancelled (until retention"
        " forgets them).",
        labels=["state"],
    )


def _queue_age() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "longreel_oldest_queued_job_age_seconds",
        "Time since the oldest queued operation was created; 0 when none waits.",
    )


def process_registry() -> CollectorRegistry:
    """A new registry, holding this process's CPU, memory and open files."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    return registry
