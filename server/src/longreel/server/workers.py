"""Workers: claim a job under a lease, run the processor, finish the operation.

A lease is renewed by a heartbeat that also writes progress (at most every
PROGRESS_INTERVAL) and learns of cancellation. A job whose worker died is
claimed again once its lease expires. Transient failures are retried with
exponential backoff and jitter up to max_attempts; a PermanentError or
cancellation ends the operation at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from typing import TypeGuard

from google.protobuf import empty_pb2
from google.rpc import code_pb2, status_pb2
from opentelemetry import trace
from prometheus_client import CollectorRegistry

from longreel.common import logs

from . import clock, convert, names, notify, tracing
from .errors import cancelled, operation_error
from .media import Media
from .metrics import JobMetrics
from .processor import Cancelled, OutOfMemory, PermanentError, Processor, VideoSpec
from .store import ClaimedJob, LeaseLost, Outcome, Store, StoreUnavailable, VideoRow
from .store.base import CREATE, revocable

log = logging.getLogger(__name__)

IDLE_POLL = 1.0  # seconds between looks for jobs nobody announced (expired leases, retries)
PROGRESS_INTERVAL = 0.5  # seconds between progress writes of one job
STORE_RETRY = 1.0  # seconds to wait after the store (or anything else) failed a worker
MAX_BACKOFF = 60.0  # seconds
MAX_ERROR_MESSAGE = 300  # characters of an exception kept in an operation's error
FINISH_ATTEMPTS = 5  # tries to record an outcome, STORE_RETRY apart (well inside a lease)


class Tracker:
    """A running job's Progress: what the processor reports, what the heartbeat learns."""

    def __init__(self, cancelled: bool) -> None:
        self.cancelled = cancelled
        self.revocable = True  # False once a cancel could only leave things half done
        self.lease_lost = False
        self.percent = 0
        self.message = "started"

    def report(self, percent: int, message: str) -> None:
        self.percent = max(0, min(100, percent))
        self.message = message

    def raise_if_cancelled(self) -> None:
        if self.cancelled and self.revocable:
            raise Cancelled()


class WorkerPool:
    def __init__(
        self,
        store: Store,
        processor: Processor,
        *,
        concurrency: int,
        lease_seconds: float = 30.0,
        max_attempts: int = 5,
        tracer_provider: trace.TracerProvider | None = None,
        metrics: JobMetrics | None = None,
    ) -> None:
        self.store = store
        self.tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self.processor = processor
        self.concurrency = concurrency
        self.lease = int(lease_seconds * clock.SECOND)
        self.max_attempts = max_attempts
        self.metrics = metrics or JobMetrics(CollectorRegistry())  # counted, not exported
        self.identity = f"{socket.gethostname()}/{os.getpid()}/{names.new_id()[:8]}"
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[tuple[Outcome, int]]] = set()  # processors at work
        self._stopping = False

    def start(self) -> None:
        for slot in range(self.concurrency):
            owner = f"{self.identity}/{slot}"
            self._tasks.append(asyncio.create_task(self._loop(owner), name=f"worker {owner}"))

    async def stop(self) -> None:
        """Stop at once; jobs in hand are released for the next start to run."""
        self._stopping = True
        for task in [*self._tasks, *self._running]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _loop(self, owner: str) -> None:
        while not self._stopping:
            try:
                await self._next_job(owner)
            except asyncio.CancelledError:
                raise
            except Exception:  # a worker slot must outlive any one job's surprise
                log.exception("worker %s: unexpected error; carrying on", owner)
                await asyncio.sleep(STORE_RETRY)

    async def _next_job(self, owner: str) -> None:
        with self.store.signals.subscribe(notify.JOBS_QUEUED) as queued:
            try:
                job = await self._claim(owner)
            except StoreUnavailable as exc:
                log.warning("worker %s cannot claim jobs: %s", owner, exc)
                await asyncio.sleep(STORE_RETRY)
                return
            if job is None:
                await queued.wait(IDLE_POLL)
                return
        with logs.context(operation=names.operation_name(job.operation_id)):
            await self._take(job, owner)

    async def _take(self, job: ClaimedJob, owner: str) -> None:
        """Run a claimed job, or end one whose workers kept dying, in a span
        that is the child of the request that made the job."""
        attributes = {
            "longreel.operation": names.operation_name(job.operation_id),
            "longreel.attempt": job.attempts,
        }
        # A name of few values, as span names should be; the operation is an attribute.
        name = f"job {job.verb}"
        with tracing.job_span(self.tracer, name, job.trace_parent, **attributes) as span:
            started = time.monotonic()
            _log_claim(job)
            if job.taken_over:
                self.metrics.takeovers.inc()
            outcome: Outcome | None
            if job.attempts > self.max_attempts:
                # Each earlier attempt ended with its worker gone (crash, lost lease).
                message = f"gave up after {self.max_attempts} attempts whose workers stopped"
                error = operation_error(code_pb2.INTERNAL, message, "WORKER_LOST")
                outcome = _failure(message, error)
                await self._finish(job, owner, self.store.now(), outcome, started)
            else:
                outcome = await self._run(job, owner, started)
            if _failed(outcome):
                tracing.mark_failed(span, outcome.message)

    async def _claim(self, owner: str) -> ClaimedJob | None:
        """Claim a job; one claimed while we are being stopped is handed back."""
        claim = asyncio.ensure_future(self.store.claim_job(owner, self.store.now(), self.lease))
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                if (job := await claim) is not None:
                    await self._release(job, owner)
            raise

    async def _run(self, job: ClaimedJob, owner: str, started: float) -> Outcome | None:
        """Run the job once; returns how it ended (None: it ends elsewhere or later)."""
        tracker = Tracker(job.cancel_requested)
        work = asyncio.create_task(self._process(job, tracker))
        self._running.add(work)
        work.add_done_callback(self._running.discard)
        beat = asyncio.create_task(self._heartbeat(job, owner, tracker, work))
        outcome: Outcome | None
        try:
            outcome, finish_time = await work
        except asyncio.CancelledError:
            if tracker.lease_lost and not _being_cancelled():
                log.warning("%s: lease lost to another worker; leaving it", job.operation_id)
                return None
            work.cancel()
            await self._release(job, owner)
            raise
        except Exception as exc:
            outcome, finish_time = await self._after_failure(job, owner, exc), self.store.now()
        finally:
            beat.cancel()
        if outcome is not None:
            await self._finish(job, owner, finish_time, outcome, started)
        return outcome

    async def _process(self, job: ClaimedJob, tracker: Tracker) -> tuple[Outcome, int]:
        """How the job ended, and when (the finish time the store records)."""
        with self.store.signals.subscribe(notify.cancel_requested(job.operation_id)) as cancel:
            watcher = asyncio.create_task(_watch_cancel(self.store, job, cancel, tracker))
            try:
                # A cancel committed between the claim and the subscription
                # sent its signal to nobody: look once more.
                row = await self.store.get_operation(job.operation_id)
                tracker.cancelled = tracker.cancelled or (row is not None and row.cancel_requested)
                tracker.revocable = revocable(job.verb, job.attempts - 1)  # counts this claim
                tracker.raise_if_cancelled()
                if job.verb == CREATE:
                    spec = VideoSpec(job.video_id, job.title, job.plot)
                    media = await self.processor.create(spec, tracker)
                    return _created(job, self.store.now(), media)
                await self.processor.delete(job.video_id, tracker)
                return Outcome(
                    "deleted", response=convert.pack(empty_pb2.Empty())
                ), self.store.now()
            except Cancelled:
                return _failure("cancelled", cancelled()), self.store.now()
            except OutOfMemory as exc:
                message = _short(exc)
                error = operation_error(code_pb2.INTERNAL, message, "RENDER_OUT_OF_MEMORY")
                return _failure(f"failed: {message}", error), self.store.now()
            except PermanentError as exc:
                message = _short(exc)
                error = operation_error(code_pb2.FAILED_PRECONDITION, message, "PROCESSING_FAILED")
                return _failure(f"failed: {message}", error), self.store.now()
            finally:
                watcher.cancel()

    async def _after_failure(self, job: ClaimedJob, owner: str, exc: Exception) -> Outcome | None:
        log.warning("%s: attempt %d failed: %r", job.operation_id, job.attempts, exc)
        trace.get_current_span().record_exception(exc)
        if job.attempts >= self.max_attempts:
            message = f"failed after {job.attempts} attempts: {_short(exc)}"
            error = operation_error(code_pb2.INTERNAL, message, "PROCESSING_FAILED")
            return _failure(message, error)
        delay = min(MAX_BACKOFF, 2.0 ** (job.attempts - 1)) * random.uniform(0.5, 1.0)
        now = self.store.now()
        message = f"attempt {job.attempts} failed; retrying in {delay:.1f} s"
        with contextlib.suppress(LeaseLost, StoreUnavailable):
            await self.store.retry_later(
                job.operation_id, owner, now, now + int(delay * clock.SECOND), message
            )
            self.metrics.retries.inc()
            log.info("retrying in %.1f s", delay, extra={"attempt": job.attempts + 1})
        return None

    async def _finish(
        self, job: ClaimedJob, owner: str, now: int, outcome: Outcome, started: float
    ) -> None:
        """Record the outcome; a store that is briefly away is tried again while
        the lease still holds, so finished work is not redone for a blip."""
        for attempt in range(FINISH_ATTEMPTS):
            try:
                await self.store.finish(job.operation_id, owner, now, outcome)
            except LeaseLost:
                log.warning("%s: finished, but its lease was lost; dropped", job.operation_id)
                return
            except StoreUnavailable as exc:
                if attempt == FINISH_ATTEMPTS - 1:
                    # The lease runs out and another attempt redoes the job.
                    log.error("%s: could not record the result: %s", job.operation_id, exc)
                    return
                await asyncio.sleep(STORE_RETRY)
            else:
                self.metrics.ended(job.verb, outcome, time.monotonic() - started)
                _log_finish(outcome, time.monotonic() - started)
                return

    async def _heartbeat(
        self,
        job: ClaimedJob,
        owner: str,
        tracker: Tracker,
        work: asyncio.Task[tuple[Outcome, int]],
    ) -> None:
        """Renew the lease every third of it, and write progress when it moved."""
        renew_every = self.lease / clock.SECOND / 3
        tick = min(PROGRESS_INTERVAL, renew_every)
        last_written = (0, "started")
        renewed = time.monotonic()  # real time: a stalled loop must not stretch the lease
        while True:
            await asyncio.sleep(tick)
            current = (tracker.percent, tracker.message)
            if current == last_written and time.monotonic() - renewed < renew_every * 0.9:
                continue
            try:
                cancel = await self.store.heartbeat(
                    job.operation_id, owner, self.store.now(), self.lease, *current
                )
            except LeaseLost:
                tracker.lease_lost = True
                work.cancel()
                return
            except Exception as exc:  # the lease still runs; try again next tick
                log.warning("%s: heartbeat failed: %s", job.operation_id, exc)
                continue
            tracker.cancelled = tracker.cancelled or cancel
            last_written, renewed = current, time.monotonic()

    async def _release(self, job: ClaimedJob, owner: str) -> None:
        with contextlib.suppress(LeaseLost, StoreUnavailable):
            await asyncio.shield(self.store.release(job.operation_id, owner))


async def _watch_cancel(
    store: Store, job: ClaimedJob, subscription: notify.Subscription, tracker: Tracker
) -> None:
    """Mark the job cancelled once the store says so. A wake-up alone is not
    enough: a notifier that lost its listener wakes everyone to re-read."""
    while True:
        await subscription.wait(None)
        try:
            row = await store.get_operation(job.operation_id)
        except Exception as exc:  # the heartbeat learns of a cancellation too
            log.warning("%s: could not re-read the operation: %r", job.operation_id, exc)
            continue
        if row is None or row.cancel_requested:
            tracker.cancelled = True
            return


def _log_claim(job: ClaimedJob) -> None:
    """A job taken from a worker whose lease ran out is a warning: that one
    stopped, or stalled."""
    what = f"{job.verb} of {names.video_name(job.video_id)}"
    fields = {"verb": job.verb, "attempt": job.attempts}
    if job.previous_owner is None:
        log.info("claimed %s (attempt %d)", what, job.attempts, extra=fields)
        return
    log.warning(
        "took over %s from %s, whose lease ran out (attempt %d)",
        what, job.previous_owner, job.attempts, extra=fields,
    )  # fmt: skip


def _log_finish(outcome: Outcome, seconds: float) -> None:
    """done and cancelled are the ends asked for; a failure is a warning."""
    if outcome.error is None:
        ended, level = "done", logging.INFO
    elif outcome.error_code == code_pb2.CANCELLED:
        ended, level = "cancelled", logging.INFO
    else:
        ended, level = "failed", logging.WARNING
    detail = "" if outcome.message == ended else f" ({outcome.message})"
    log.log(
        level, "finished: %s in %.2f s%s", ended, seconds, detail,
        extra={"outcome": ended, "duration_ms": round(seconds * 1000, 1)},
    )  # fmt: skip


def _created(job: ClaimedJob, now: int, media: Media | None) -> tuple[Outcome, int]:
    # The video comes into existence as the operation finishes, at the time
    # this response records; the store stamps the row with the same time.
    video = convert.video(VideoRow(job.video_id, 0, job.title, job.plot, now, now, media))
    return Outcome("done", response=convert.pack(video), media=media), now


def _failure(message: str, error: status_pb2.Status) -> Outcome:
    return Outcome(message, error=error.SerializeToString(), error_code=error.code)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= MAX_ERROR_MESSAGE else text[: MAX_ERROR_MESSAGE - 1] + "…"


def _failed(outcome: Outcome | None) -> TypeGuard[Outcome]:
    """Ended in an error other than a cancellation, which the caller asked for."""
    return (
        outcome is not None
        and outcome.error is not None
        and outcome.error_code != code_pb2.CANCELLED
    )
