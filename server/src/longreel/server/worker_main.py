"""`video-worker`: runs operations and nothing else, beside any number of
servers and other workers on the same store (PostgreSQL, or one SQLite file).

Workers claim jobs under leases, so a worker that dies loses nothing: its
jobs are taken over once their leases run out.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from opentelemetry.trace import TracerProvider

from longreel.common import exits, logs, numbers
from longreel.common.flags import add_flag
from longreel.common.metrics_http import Endpoint, MetricsUnavailable, serve
from longreel.common.net import is_loopback
from longreel.common.rlimits import raise_open_files_limit

from . import flags, orphans, tracing
from .app import make_processor, media_store, worker_pool
from .backend import Backend, describe_store, open_backend
from .config import Config, ConfigError
from .media import MediaUnavailable
from .metrics import JobMetrics, process_registry
from .processor import Processor
from .store import StoreError

log = logging.getLogger("longreel.worker")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="video-worker",
        description="Run video operations from a shared store, beside video-server processes.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    flags.add_store_flags(parser)
    add_flag(
        parser, "--concurrency", dest="workers", env="VIDEO_WORKERS", metavar="N",
        type=numbers.int_flag(1, 1000), default="2", help="operations run at once",
    )  # fmt: skip
    flags.add_work_flags(parser)
    add_flag(parser, "--metrics-host", env="VIDEO_METRICS_HOST", default="127.0.0.1",
             help="address to serve metrics on, in plaintext")  # fmt: skip
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="serve metrics on a --metrics-host other than loopback",
    )
    flags.add_program_flags(parser, "--metrics-host")
    args = parser.parse_args(argv)
    if not args.insecure and not is_loopback(f"{args.metrics_host}:0"):
        parser.error(
            f"refusing to serve plaintext metrics on {args.metrics_host}, which is not"
            " loopback: give --insecure if that is meant"
        )
    return args


class VideoWorker:
    """A pool of workers on a backend of their own: start(), then stop()
    (tests use it directly, with a processor of their choosing)."""

    def __init__(
        self,
        config: Config,
        *,
        processor: Processor | None = None,
        backend: Backend | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.config = config
        self.registry = process_registry()
        self.media = media_store(config)
        self.backend = backend or open_backend(config)
        self.tracer_provider = tracer_provider or tracing.configured(config, "video-worker")
        self.pool = worker_pool(
            config, self.backend, processor or make_processor(config, self.media),
            self.tracer_provider, JobMetrics(self.registry),
        )  # fmt: skip
        self.sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.media.check()
        await self.backend.open()
        self.pool.start()
        self.sweeper = asyncio.create_task(
            orphans.keep_sweeping(self.backend.store, self.media), name="orphans"
        )

    async def stop(self) -> None:
        """Hand running jobs back, close the store, send what traces are batched."""
        if self.sweeper is not None:
            self.sweeper.cancel()
            await asyncio.gather(self.sweeper, return_exceptions=True)
        await self.pool.stop()
        await self.backend.close()
        tracing.flush(self.tracer_provider)


async def work(config: Config, metrics_host: str) -> None:
    worker = VideoWorker(config)
    endpoint: Endpoint | None = None
    if config.metrics_port is not None:
        endpoint = serve(worker.registry, metrics_host, config.metrics_port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await worker.start()
    logs.announce(
        log,
        f"video-worker running {config.workers} at a time from {describe_store(config)};"
        f" files in {worker.media.describe()}"
        + (f"; metrics at {endpoint.url}" if endpoint else ""),
    )
    await stopping.wait()
    log.info("stopping: handing running jobs back")
    await worker.stop()
    if endpoint is not None:
        endpoint.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    raise_open_files_limit()
    try:
        asyncio.run(work(flags.to_config(args), args.metrics_host))
    except (StoreError, MetricsUnavailable, ConfigError, MediaUnavailable) as exc:
        exits.leave(1, f"video-worker: {exc}")
    exits.leave(0)


if __name__ == "__main__":
    main()
