"""Fixtures the three tiers share (unit/, integration/, acceptance/): a real
server on an ephemeral loopback port, real stores (SQLite under tmp_path, a
PostgreSQL schema per test: databases.py), an S3 bucket per test (s3.py), the
gateway, our programs as processes.

The server runs in a thread with its own event loop, exactly as in production
but for the processor, which tests choose (see processors.py).

A test that takes a store (make_store, make_backend, api, http, store_flags)
runs once per store; in a module marked any_store, on SQLite alone
(pytest_generate_tests).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.longrunning import operations_pb2_grpc

from longreel.server.app import VideoServer
from longreel.server.backend import Backend, open_backend
from longreel.server.config import Config
from longreel.server.processor import Processor
from longreel.server.store.postgres import PostgresStore
from longreel.server.store.sqlite import SQLiteStore
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from .databases import fresh_database, fresh_schema
from .processors import GatedProcessor
from .programs import Program
from .s3 import Bucket, SeaweedFS


class ServerThread:
    """A VideoServer running on its own loop in a background thread."""

    def __init__(
        self,
        config: Config,
        processor: Processor | None,
        backend: Backend | None = None,
        **server: Any,
    ) -> None:
        self.config = config
        self.processor = processor
        self.backend = backend
        self.options = server  # more keywords for VideoServer
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: VideoServer | None = None

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def start(self) -> int:
        self.thread.start()

        async def start() -> int:
            self.server = VideoServer(
                self.config, processor=self.processor, backend=self.backend, **self.options
            )
            return await self.server.start()

        return int(self.call(start()))

    def stop(self) -> None:
        """Stop the server; stopping twice is stopping once."""
        if self.loop.is_closed():
            return
        if self.server is not None:
            self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class Api:
    """Stubs on one channel to a running server."""

    target: str
    channel: grpc.Channel
    videos: pb_grpc.VideoServiceStub
    operations: operations_pb2_grpc.OperationsStub
    processor: Any
    server: ServerThread


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database for this test run (see databases.py)."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS S3 server for this test run, started by the first test
    that asks for a bucket (see s3.py)."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def bucket(seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """A fresh bucket, with its credentials in the environment, where
    obstore (and so in-process servers) reads them."""
    made = seaweedfs.bucket()
    for name, value in made.environment().items():
        monkeypatch.setenv(name, value)
    return made


STORES = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give `store_kind` (so `make_store`, `make_backend`, `api`, `http`) its stores: every
    store by default, SQLite alone in a module or test marked `any_store`, where
    the store does not change what is tested. PostgreSQL runs carry the
    `postgres` marker: `-m "not postgres"` deselects them."""
    if "store_kind" in metafunc.fixturenames:
        any_store = metafunc.definition.get_closest_marker("any_store") is not None
        metafunc.parametrize("store_kind", STORES[:1] if any_store else STORES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the PostgreSQL database itself is a `postgres` test too."""
    for item in items:
        if "postgres_database" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def make_store(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """Makes (unopened) stores on one fresh database of the kind under test."""
    if store_kind == "sqlite":
        return lambda: SQLiteStore(tmp_path / "videos.db")
    url = fresh_schema(request.getfixturevalue("postgres_database"))
    return lambda: PostgresStore(url)


@pytest.fixture
def make_backend(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """Makes (unopened) backends, each a store and its signals, on one fresh
    database of the kind under test."""
    if store_kind == "sqlite":
        config = Config(data_dir=tmp_path)
    else:
        config = Config(database=fresh_schema(request.getfixturevalue("postgres_database")))
    return lambda: open_backend(config)


@pytest.fixture
def store_flags(store_kind: str, request: pytest.FixtureRequest) -> list[str]:
    """Our programs' flags for a fresh store of the kind under test: none for
    SQLite (it lives in the data directory), --database for PostgreSQL."""
    if store_kind == "sqlite":
        return []
    return ["--database", fresh_schema(request.getfixturevalue("postgres_database"))]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Any]:
    """Start servers; each is stopped at the end of the test."""
    running: list[tuple[ServerThread, grpc.Channel]] = []

    def start(
        processor: Processor | None = None,
        *,
        data_dir: Path | None = None,
        backend: Backend | None = None,
        tracer_provider: Any = None,
        **config: Any,
    ) -> Api:
        config.setdefault("workers", 2)
        config.setdefault("listen", "127.0.0.1:0")
        conf = Config(data_dir=data_dir or tmp_path / "data", **config)
        thread = ServerThread(conf, processor, backend, tracer_provider=tracer_provider)
        port = thread.start()
        target = f"127.0.0.1:{port}"
        channel = grpc.insecure_channel(target)
        running.append((thread, channel))
        return Api(
            target,
            channel,
            pb_grpc.VideoServiceStub(channel),
            operations_pb2_grpc.OperationsStub(channel),
            processor,
            thread,
        )

    yield start
    for thread, channel in reversed(running):
        channel.close()
        thread.stop()


@pytest.fixture
def api(
    make_backend: Any, start_server: Any
) -> Api:  # in this order: the database outlives the server
    """A server whose renders finish only when the test opens their gate, on
    each store the test runs on (see pytest_generate_tests)."""
    result: Api = start_server(GatedProcessor(), backend=make_backend())
    return result


class GatewayThread:
    """The REST gateway served by uvicorn on its own loop in a background thread."""

    def __init__(
        self,
        target: str,
        metrics: Any = None,
        tracer_provider: Any = None,
        holds: Any = None,
        redirects: Any = None,
    ) -> None:
        from longreel.gateway.__main__ import bind, server

        self.sock = bind("127.0.0.1:0")
        self.port = self.sock.getsockname()[1]
        self.server = server(
            self.sock,
            target,
            "warning",
            metrics=metrics,
            tracer_provider=tracer_provider,
            holds=holds,
            redirects=redirects,
        )
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), daemon=True
        )

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@dataclass
class Http:
    """A gateway in front of a server, and an HTTP client pointed at it."""

    url: str
    client: httpx.Client
    api: Api


@pytest.fixture
def start_gateway() -> Iterator[Any]:
    started: list[tuple[GatewayThread, httpx.Client]] = []

    def start(
        api_or_target: Api | str,
        metrics: Any = None,
        tracer_provider: Any = None,
        holds: Any = None,
        redirects: Any = None,
    ) -> Http:
        target = api_or_target if isinstance(api_or_target, str) else api_or_target.target
        gateway = GatewayThread(target, metrics, tracer_provider, holds, redirects)
        url = gateway.start()
        client = httpx.Client(base_url=url, timeout=30)
        started.append((gateway, client))
        return Http(url, client, api_or_target)  # type: ignore[arg-type]

    yield start
    for gateway, client in reversed(started):
        client.close()
        gateway.stop()


@pytest.fixture
def http(api: Api, start_gateway: Any) -> Http:
    """A gateway in front of a server whose renders wait for the test's gate."""
    result: Http = start_gateway(api)
    return result


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started (and put here); each is killed at the end."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    """Start our programs as processes (tests/programs.py); each is stopped at the end."""
    started: list[Program] = []

    def start(command: str, *args: str) -> Program:
        program = Program(tmp_path / f"{command}-{len(started)}.log", command, *args)
        started.append(program)
        return program

    yield start
    for program in started:
        if program.process.poll() is None:
            program.process.kill()
        program.stop()
