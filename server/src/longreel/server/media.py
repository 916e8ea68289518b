"""Where rendered files live: one folder, files named by video id. The
renderer writes them, DeleteVideo removes them, ReadVideoContent reads them.

Servers and workers that share a database must share this folder too (a
network file system), since any worker may render a video that any server
is asked to send.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20  # bytes per streamed message, well under gRPC's 4 MiB default


@dataclass(frozen=True, slots=True)
class Media:
    """What rendering made of a video; the URIs are the gateway's paths."""

    uri: str
    duration_us: int
    size_bytes: int
    sha256: str
    thumbnail_uri: str


class MediaFiles:
    """Final files are named by video id and content (`{id}.{sha256[:16]}.mp4`
    and `.png`), so the store's sha256 names exactly the file it describes,
    and an attempt that lost its lease but published anyway cannot replace
    the file another attempt recorded. Part files carry their attempt's
    token (`{id}.{token}.mp4.part`): each attempt touches only its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def video(self, video_id: str, sha256: str) -> Path:
        return self.folder / f"{video_id}.{sha256[:16]}.mp4"

    def thumbnail(self, video_id: str, sha256: str) -> Path:
        return self.folder / f"{video_id}.{sha256[:16]}.png"

    def parts(self, video_id: str, token: str) -> tuple[Path, Path]:
        return (
            self.folder / f"{video_id}.{token}.mp4.part",
            self.folder / f"{video_id}.{token}.png.part",
        )

    def all_of(self, video_id: str) -> list[Path]:
        """Every file of a video: finals of any attempt, and parts."""
        return [p for p in self.folder.glob(f"{video_id}.*") if p.name.split(".")[0] == video_id]


def publish(part: Path, final: Path) -> None:
    """Give an fsynced part file its final name, durably."""
    os.replace(part, final)
    folder = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


async def read_range(path: Path, offset: int, limit: int) -> AsyncIterator[bytes]:
    """Up to `limit` bytes (0: all) of path from offset, in CHUNK pieces, read
    off the event loop. The file is opened before the first piece, so a
    missing file fails before anything is sent."""
    data = await asyncio.to_thread(path.open, "rb")
    try:
        await asyncio.to_thread(data.seek, offset)
        left = limit or -1
        while left:
            piece = await asyncio.to_thread(data.read, CHUNK if left < 0 else min(CHUNK, left))
            if not piece:
                return
            left = left - len(piece) if left > 0 else left
            yield piece
    finally:
        await asyncio.to_thread(data.close)
