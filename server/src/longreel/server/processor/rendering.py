"""The default processor: renders each video in a process of its own (see
render.py) and publishes the files to the media store (media.py: a folder
or a bucket), named by video id and content.

A separate process per render keeps the event loop and its GIL free for
RPCs, and makes cancellation simple and total: the process is killed and its
partial files removed. Files are published only when complete, so a
crash leaves at most `*.part` files in the scratch folder. A live render
touches its parts every TOUCH_EVERY seconds; parts untouched for
ABANDONED_PART are a crashed attempt's, and every start and every create
removes them, so a loop of crashing renders cannot fill the disk.

Each attempt first removes the video's published files: an earlier attempt
that published them can no longer record them (only the lease holder
records), so they are orphans. A later attempt's own files never are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..media import Media, MediaStore
from .base import OutOfMemory, Progress, VideoSpec
from .render import OUT_OF_MEMORY, Profile

log = logging.getLogger(__name__)

CHECK_EVERY = 0.1  # seconds between looks for cancellation while a render runs
STALLED = 60.0  # seconds without a word from the renderer before it counts as stuck
TOUCH_EVERY = 2.0  # seconds between touches of a live render's part files
ABANDONED_PART = 30.0  # seconds untouched before a part file counts as a crashed attempt's
MEMORY_MB = 2048  # address space a render may use (RLIMIT_AS); 0: no limit
STDERR_KEPT = 4_000  # characters of a failed render's stderr put in the log


class RenderFailed(Exception):
    """The render process failed; transient as far as anyone knows, so retried."""


class RenderingProcessor:
    def __init__(
        self, files: MediaStore, profile: Profile | None = None, memory_mb: int = MEMORY_MB
    ) -> None:
        self.files = files
        self.profile = profile or Profile()
        self.memory_mb = memory_mb
        self.swept = -ABANDONED_PART  # monotonic time of the last sweep: none yet

    def sweep(self) -> None:
        """Remove part files that nothing can still be writing: no live render
        (of this process or another sharing the folder) left them untouched."""
        self.files.scratch.mkdir(parents=True, exist_ok=True)
        self._remove_parts("*.part", ABANDONED_PART)
        self.swept = time.monotonic()

    async def create(self, video: VideoSpec, progress: Progress) -> Media:
        # Crashed attempts' parts, of any video; a live attempt (another worker
        # that lost its lease and has not noticed yet) touches its own, and is
        # left alone. Once in a while: it lists the whole folder.
        if time.monotonic() - self.swept >= ABANDONED_PART:
            self.sweep()
        self.files.scratch.mkdir(parents=True, exist_ok=True)
        await self.files.remove(await self.files.finals(video.video_id))
        parts = self.files.parts(video.video_id, secrets.token_hex(4))
        job = {
            "title": video.title,
            "plot": video.plot,
            "profile": asdict(self.profile),
            "memory_mb": self.memory_mb,
            "video": str(parts[0]),
            "thumbnail": str(parts[1]),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "longreel.server.processor.render",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdin and process.stdout and process.stderr
        errors = asyncio.create_task(process.stderr.read())
        try:
            process.stdin.write(json.dumps(job).encode())
            await process.stdin.drain()
            process.stdin.close()
            said = await self._follow(process.stdout, progress, parts)
            code = await process.wait()
            if code != 0 or said is None:
                message = (await errors).decode(errors="replace")[-STDERR_KEPT:]
                log.warning("render of %s failed (exit %s): %s", video.video_id, code, message)
                if code == OUT_OF_MEMORY:
                    raise OutOfMemory(self._out_of_memory())
                raise RenderFailed(f"the renderer exited with status {code}")
            result: dict[str, Any] = said
            sha256 = str(result["sha256"])
            progress.raise_if_cancelled()  # the last moment to leave nothing behind
            progress.report(99, "publishing the files")
            await self.files.publish(video.video_id, sha256, parts)
        except BaseException:
            if process.returncode is None:
                process.kill()
                await process.wait()
            for part in parts:
                part.unlink(missing_ok=True)
            raise
        finally:
            errors.cancel()
        return Media(
            uri=f"/videos/{video.video_id}/content",
            duration_us=int(result["duration_us"]),
            size_bytes=int(result["size_bytes"]),
            sha256=sha256,
            thumbnail_uri=f"/videos/{video.video_id}/thumbnail",
        )

    def _out_of_memory(self) -> str:
        if self.memory_mb == 0:
            return "the render ran out of memory"
        return f"the render needed more than its {self.memory_mb} MB of memory (--render-memory-mb)"

    async def _follow(
        self, lines: asyncio.StreamReader, progress: Progress, parts: tuple[Path, ...]
    ) -> dict[str, Any] | None:
        """Read the renderer's progress lines until it ends; its result, if it
        said one. A renderer silent for STALLED seconds is stuck: RenderFailed."""
        heard = touched = time.monotonic()
        while True:
            progress.raise_if_cancelled()
            if time.monotonic() - touched >= TOUCH_EVERY:
                touched = time.monotonic()
                _touch(parts)
            try:
                async with asyncio.timeout(CHECK_EVERY):
                    line = (await lines.readline()).decode().strip()
            except TimeoutError:
                if time.monotonic() - heard > STALLED:
                    raise RenderFailed(f"the renderer said nothing for {STALLED:g} s") from None
                continue
            heard = time.monotonic()
            if not line:
                return None
            word, _, rest = line.partition(" ")
            if word == "progress":
                done, total = (int(n) for n in rest.split())
                # 100 is for done; the last percent is the file being published.
                progress.report(min(99, done * 100 // total), f"rendering: frame {done} of {total}")
            elif word == "done":
                result: dict[str, Any] = json.loads(rest)
                return result

    async def delete(self, video_id: str, progress: Progress) -> None:
        progress.report(50, "removing files")
        await self.files.remove(await self.files.finals(video_id))

    def _remove_parts(self, pattern: str, unwritten_for: float) -> None:
        """Part files matching pattern that nothing has written to for
        `unwritten_for` seconds."""
        for part in self.files.scratch.glob(pattern):
            with contextlib.suppress(OSError):
                if time.time() - part.stat().st_mtime > unwritten_for:
                    part.unlink()


def _touch(parts: tuple[Path, ...]) -> None:
    """Mark parts as being written, for sweeps: the encoder may write nothing
    for a while (a still card compresses to almost nothing)."""
    for part in parts:
        with contextlib.suppress(OSError):
            os.utime(part)
