"""Case 11: files from a bucket as fast as from the folder. A large video
(random bytes, so nothing compresses it on the way) downloaded whole through
the gateway, served from an S3 bucket (SeaweedFS on loopback, tests/s3.py)
against the same file served from the local folder; and a ranged read's
time to its first byte both ways (a seek in a player).

The server and the gateway run in this process, each on its own thread and
loop, since the file is made by a processor of the bench's own (no program
flag makes one of a given size); both sides of the ratio pay the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from longreel.gateway.__main__ import bind, server
from longreel.server.app import VideoServer, media_store
from longreel.server.config import Config
from longreel.server.media import Media, MediaStore
from longreel.server.processor import Progress, VideoSpec
from tests.s3 import SeaweedFS

from .harness import Result, ratio_at_least

DOWNLOADS = 5  # whole-file downloads per side; the median counts
SEEKS = 20  # ranged reads per side
RANGE = 64 << 10  # bytes of each ranged read


class BigFile:
    """Makes a video of `size` random bytes, published as a render's files are."""

    def __init__(self, media: MediaStore, size: int) -> None:
        self.media, self.size = media, size

    async def create(self, spec: VideoSpec, progress: Progress) -> Media:
        data = os.urandom(self.size)
        sha256 = hashlib.sha256(data).hexdigest()
        self.media.scratch.mkdir(parents=True, exist_ok=True)
        parts = self.media.parts(spec.video_id, "bench")
        parts[0].write_bytes(data)
        parts[1].write_bytes(b"\x89PNG")
        await self.media.publish(spec.video_id, sha256, parts)
        uri = f"/videos/{spec.video_id}"
        return Media(f"{uri}/content", 1_000_000, self.size, sha256, f"{uri}/thumbnail")

    async def delete(self, video_id: str, progress: Progress) -> None:
        await self.media.remove(await self.media.finals(video_id))


def _in_thread(coroutine_factory: Any) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(coroutine_factory(), loop).result(timeout=60)
    return loop, thread


def _side(config: Config, size: int) -> tuple[float, float]:
    """(seconds per whole download, ms to the first byte of a range) via the gateway."""
    videos = VideoServer(config, processor=BigFile(media_store(config), size))
    loop, thread = _in_thread(videos.start)
    sock = bind("127.0.0.1:0")
    gateway = server(sock, f"127.0.0.1:{videos.port}", "warning")
    serving = threading.Thread(target=lambda: asyncio.run(gateway.serve(sockets=[sock])))
    serving.start()
    try:
        while not gateway.started:
            time.sleep(0.01)
        return _measure(f"http://127.0.0.1:{sock.getsockname()[1]}", size)
    finally:
        gateway.should_exit = True
        serving.join(timeout=10)
        sock.close()
        asyncio.run_coroutine_threadsafe(videos.stop(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def _measure(url: str, size: int) -> tuple[float, float]:
    with httpx.Client(base_url=url, timeout=120) as http:
        task = http.post("/videos/tasks", json={"title": "Big"}).headers["Location"]
        done = http.get(task, params={"wait": "60s"})
        content = f"{done.headers['Location']}/content"
        whole = []
        for _ in range(DOWNLOADS):
            began, got = time.perf_counter(), 0
            with http.stream("GET", content) as answer:
                for piece in answer.iter_bytes(1 << 20):
                    got += len(piece)
            whole.append(time.perf_counter() - began)
            assert got == size, got
        seeks = []
        for n in range(SEEKS):
            first = (n + 1) * (size // (SEEKS + 2))
            began = time.perf_counter()
            wanted = {"Range": f"bytes={first}-{first + RANGE - 1}"}
            with http.stream("GET", content, headers=wanted) as answer:
                next(answer.iter_raw())
            seeks.append((time.perf_counter() - began) * 1000)
    return statistics.median(whole), statistics.median(seeks)


def run(megabytes: float) -> list[Result]:
    size = int(megabytes * (1 << 20))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "weed").mkdir()
        weed = SeaweedFS(folder / "weed")
        try:
            bucket = weed.bucket()
            os.environ.update(bucket.environment())
            local = _side(Config(data_dir=folder / "a", listen="127.0.0.1:0", workers=1), size)
            s3 = Config(data_dir=folder / "b", listen="127.0.0.1:0", workers=1, **bucket.config())
            remote = _side(s3, size)
        finally:
            weed.stop()
    rate = megabytes / remote[0], megabytes / local[0]
    label = f"{megabytes:g} MB"
    download = Result(
        "11 files from a bucket", f"{label} via the gateway from S3",
        rate[0], "MB/s", rate[1], "from the folder (MB/s)",
    )  # fmt: skip
    seek = Result(
        "11 files from a bucket", "a 64 KiB range's first byte via the gateway from S3",
        remote[1], "ms", local[1], "from the folder (ms)",
    )  # fmt: skip
    return [ratio_at_least(download, 0.8), seek]
