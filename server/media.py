"""Where rendered files live: one folder, files named by video id. The
renderer writes them, DeleteVideo removes them, ReadVideoContent reads them.

Servers and workers that share a database must share this folder too (a
network file system), since any worker may render a video that any server
is asked to send.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

CHUNK = 1 << 20  # bytes per streamed message, well under gRPC's 4 MiB default


class MediaFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def video(self, video_id: str) -> Path:
        return self.folder / f"{video_id}.mp4"

    def thumbnail(self, video_id: str) -> Path:
        return self.folder / f"{video_id}.png"


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
