"""Wiring: store (and its signals), workers and the grpc.aio server with health and reflection."""

from __future__ import annotations

import asyncio
import logging
import resource
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import grpc
from google.longrunning import operations_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry.trace import TracerProvider

from longreel.common.metrics_http import Endpoint, MetricsUnavailable, serve
from longreel.video.v1 import video_service_pb2 as pb

from . import clock, orphans, reflection_v1, security, tracing
from .admission import HEADROOM, Admission, Limits
from .api.operations import Operations
from .api.registry import add_service
from .api.videos import VideoService
from .backend import Backend, open_backend
from .config import Config, ConfigError
from .media import MediaFiles, MediaStore, MediaUnavailable
from .media_s3 import S3Media
from .metrics import JobMetrics, StoreCounts, process_registry
from .notify import Signals
from .processor import Processor, RenderingProcessor, SimulatedProcessor
from .readiness import follow_store
from .rpc_metrics import RpcMetrics
from .store import Store, StoreError
from .store.pagination import PageTokens
from .workers import WorkerPool

log = logging.getLogger(__name__)

SWEEP_BATCH = 1_000  # expired operations forgotten per transaction
MAX_MESSAGE_BYTES = 1 << 20  # requests are small: a title and a plot
MAX_STREAMS = 1_000  # concurrent calls per connection, long polls included (HTTP/2 streams)
# Calls that arrived but that the server has not picked up yet. gRPC's own
# defaults (1,000, hard 3,000) shed a burst of a few thousand with CANCELLED;
# a service whose callers hold long polls meets such bursts (a fleet of
# clients reconnecting after a restart).
MAX_PENDING = 10_000
# The transport's own defaults let a caller connect and then say nothing: 120 s
# to finish a handshake, an idle connection kept for ever, no cap on their
# number but the descriptors the store and the renders need too.
HANDSHAKE_TIMEOUT = 10.0  # seconds from connect to a finished HTTP/2 (and TLS) handshake
MAX_IDLE = 300.0  # seconds a connection with no call in flight stays; clients reconnect
MAX_CONNECTIONS = 10_000  # open connections, and never past the descriptor limit's reach
FILES_IN_RESERVE = 256  # descriptors kept for the store, renders, metrics and logs

VIDEO_SERVICE = pb.DESCRIPTOR.services_by_name["VideoService"]
OPERATIONS_SERVICE = operations_pb2.DESCRIPTOR.services_by_name["Operations"]
SERVICE_NAMES = (VIDEO_SERVICE.full_name, OPERATIONS_SERVICE.full_name)


def media_store(config: Config) -> MediaStore:
    """The bucket of --media-url s3://..., else the folder (--media-url file:...,
    --media-dir, or media/ under the data directory). MediaUnavailable for
    settings that cannot work."""
    url = config.media_url
    if url and not url.startswith("file:"):
        scratch = config.data_dir / "scratch"  # part files, before their upload
        return S3Media(
            url, scratch, endpoint=config.s3_endpoint, region=config.s3_region,
            insecure=config.insecure,
        )  # fmt: skip
    if url:
        return MediaFiles(Path(url2pathname(urlsplit(url).path)))
    return MediaFiles(config.media_dir or config.data_dir / "media")


def make_processor(config: Config, media: MediaStore | None = None) -> Processor:
    if config.processor == "simulated":
        return SimulatedProcessor(config.work_seconds)
    media = media or media_store(config)
    rendering = RenderingProcessor(media, config.profile, config.render_memory_mb)
    rendering.sweep()  # part files a crash left behind long ago
    return rendering


def worker_pool(
    config: Config,
    backend: Backend,
    processor: Processor,
    tracer_provider: TracerProvider | None,
    metrics: JobMetrics,
) -> WorkerPool:
    """The workers of video-server and video-worker alike, as config says
    (concurrency, leases, attempts): one place, so that neither drops one."""
    return WorkerPool(
        backend.store,
        processor,
        concurrency=config.workers,
        lease_seconds=config.lease_seconds,
        max_attempts=config.max_attempts,
        tracer_provider=tracer_provider,
        metrics=metrics,
    )


class StartupError(Exception):
    """The server cannot start; the message says why, for a person."""


def transport_limits() -> list[tuple[str, int]]:
    """gRPC channel arguments that bound what a silent or idle caller holds."""
    files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    room = MAX_CONNECTIONS if files == resource.RLIM_INFINITY else files - FILES_IN_RESERVE
    return [
        ("grpc.server_handshake_timeout_ms", int(HANDSHAKE_TIMEOUT * 1000)),
        ("grpc.max_connection_idle_ms", int(MAX_IDLE * 1000)),
        ("grpc.max_allowed_incoming_connections", max(1, min(MAX_CONNECTIONS, room))),
    ]


def listen_host(listen: str) -> str:
    """The host of HOST:PORT (an IPv6 address without its brackets)."""
    return listen.rsplit(":", 1)[0].strip("[]")


class VideoServer:
    """The whole server in one object: start(), then stop() (tests use it directly)."""

    def __init__(
        self,
        config: Config,
        *,
        processor: Processor | None = None,
        backend: Backend | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.config = config
        try:
            tracer_provider = tracer_provider or tracing.configured(config, "video-server")
        except ConfigError as exc:
            raise StartupError(str(exc)) from None
        try:
            self.media = media_store(config)
        except MediaUnavailable as exc:
            raise StartupError(str(exc)) from None
        self.backend = backend or open_backend(config)
        self.store: Store = self.backend.store
        self.notifier: Signals = self.backend.signals
        self.processor = processor or make_processor(config, self.media)
        self.registry = process_registry()
        self.workers = worker_pool(
            config, self.backend, self.processor, tracer_provider, JobMetrics(self.registry)
        )
        self.tracer_provider = tracer_provider
        try:  # before anything opens: bad settings fail fast
            self.gate = security.gate(config)
            self.credentials = security.server_credentials(config)
        except ConfigError as exc:
            raise StartupError(str(exc)) from None
        self.health = health.aio.HealthServicer()
        self.tokens = PageTokens()
        self.server: grpc.aio.Server | None = None
        self._background: list[asyncio.Task[None]] = []
        self.port = 0
        self.metrics: Endpoint | None = None  # serving, once started with a metrics port
        self.store_counts: StoreCounts | None = None

    async def start(self) -> int:
        """Listen, then open the store and serve; returns the bound port. A
        start that fails, or is cancelled (SIGTERM while a migration waits),
        closes whatever it had opened."""
        try:
            await self.media.check()
        except MediaUnavailable as exc:
            raise StartupError(str(exc)) from None
        try:
            await self.listen()
            await self.open()
        except BaseException:
            await self.stop()
            raise
        return self.port

    async def listen(self) -> None:
        """Bind and answer at once: health says NOT_SERVING, and every other
        call UNAVAILABLE, until open() has the store reachable and migrated
        (which may wait on another process's migration). A probe can tell a
        server that is starting (live, not ready) from one that is gone."""
        measured = self.config.metrics_port is not None
        admission = Admission(self.config.max_calls_in_flight, self.registry)
        limits = Limits(self.gate, admission, self.config.max_waits_per_caller)
        server = grpc.aio.server(
            # grpc refuses past its own limit without RetryInfo and uncounted:
            # set above ours, so that ours answers first.
            maximum_concurrent_rpcs=self.config.max_calls_in_flight + HEADROOM,
            interceptors=[
                *tracing.server_interceptors(self.tracer_provider),
                *([RpcMetrics(self.registry)] if measured else []),
            ],
            options=[
                # A taken port must be an error, not a silent share (SO_REUSEPORT).
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_concurrent_streams", MAX_STREAMS),
                ("grpc.server.max_pending_requests", MAX_PENDING),
                ("grpc.server.max_pending_requests_hard_limit", 2 * MAX_PENDING),
                *transport_limits(),
            ],
        )
        backlog = self.config.max_backlog
        videos = VideoService(self.store, self.tokens, self.media, max_backlog=backlog)
        add_service(server, videos, VIDEO_SERVICE, limits)
        operations = Operations(self.store, self.tokens)
        add_service(server, operations, OPERATIONS_SERVICE, limits)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        if self.config.reflection:
            reflection_v1.enable_server_reflection((*SERVICE_NAMES, health.SERVICE_NAME), server)
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        self.port = self._bind(server)
        if measured:
            self.metrics = self._serve_metrics()
        await server.start()
        self.server = server

    async def open(self) -> None:
        """Open (and migrate) the store, start the workers, and say SERVING."""
        await self.backend.open()
        self.tokens.secret = await self.store.secret()
        self.gate.open()
        self.workers.start()
        self._background = [
            asyncio.create_task(self._sweep(), name="retention sweeper"),
            asyncio.create_task(
                follow_store(self.store, self.health, SERVICE_NAMES), name="readiness"
            ),
        ]
        if self.config.workers:  # crashes of this process's renders leave orphans
            sweeper = orphans.keep_sweeping(self.store, self.media)
            self._background.append(asyncio.create_task(sweeper, name="orphans"))
        if self.config.metrics_port is not None:
            self.store_counts = counts = StoreCounts(self.store)
            self.registry.register(counts)
            self._background.append(asyncio.create_task(counts.run(), name="metrics counts"))
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def _bind(self, server: grpc.aio.Server) -> int:
        credentials = self.credentials
        try:
            if credentials is None:
                port = server.add_insecure_port(self.config.listen)
            else:
                port = server.add_secure_port(self.config.listen, credentials)
        except RuntimeError:
            port = 0
        if port == 0:
            raise StartupError(
                f"cannot listen on {self.config.listen}: the port is taken or the address"
                " is not this machine's (choose another with --listen HOST:PORT)"
            )
        return port

    def _serve_metrics(self) -> Endpoint:
        """On the API's host, and over HTTPS when the API speaks TLS: plaintext
        stays where the API's may be (loopback, or --insecure)."""
        config = self.config
        assert config.metrics_port is not None
        tls = None
        if config.tls_cert is not None and config.tls_key is not None:  # checked: both or neither
            tls = (config.tls_cert, config.tls_key)
        try:
            return serve(self.registry, listen_host(config.listen), config.metrics_port, tls)
        except MetricsUnavailable as exc:
            raise StartupError(str(exc)) from None

    async def _sweep(self) -> None:
        """Forget finished operations older than the retention, in small batches."""
        retention = int(self.config.retention_seconds * clock.SECOND)
        while True:
            try:
                while await self.store.expire_operations(self.store.now() - retention, SWEEP_BATCH):
                    pass
            except StoreError as exc:
                log.warning("could not expire old operations: %s", exc)
            await asyncio.sleep(self.config.sweep_interval)

    async def stop(self) -> None:
        """Drain calls, hand running jobs back, close the store."""
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.health.enter_graceful_shutdown()
        if self.server is not None:
            await self.server.stop(self.config.shutdown_grace)
        await self.workers.stop()
        await self.backend.close()
        if self.metrics is not None:
            await asyncio.to_thread(self.metrics.close)
        await asyncio.to_thread(tracing.flush, self.tracer_provider)

    async def wait(self) -> None:
        if self.server is not None:
            await self.server.wait_for_termination()
