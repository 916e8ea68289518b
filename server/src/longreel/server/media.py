"""Where rendered files live, behind one small interface with two homes: a
local folder (MediaFiles, the default) and an S3 bucket (media_s3.py). The
renderer writes part files to a local scratch folder and publishes them,
DeleteVideo removes a video's files, ReadVideoContent reads byte ranges.

Final names carry the video id and the content's SHA-256
(`{id}.{sha256[:16]}.mp4` and `.png`), so the sha256 the store records names
exactly the file it describes, and an attempt that lost its lease but
published anyway cannot replace the file another attempt recorded. A file
appears whole or not at all: a rename in the folder, a single PUT or a
completed multipart upload in a bucket.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from longreel.common.s3 import KINDS, final_name

CHUNK = 1 << 20  # bytes per streamed message, well under gRPC's 4 MiB default


@dataclass(frozen=True, slots=True)
class Media:
    """What rendering made of a video; the URIs are the gateway's paths."""

    uri: str
    duration_us: int
    size_bytes: int
    sha256: str
    thumbnail_uri: str


@dataclass(frozen=True, slots=True)
class Final:
    """A published file: whose it is, which content, and when it was written."""

    video_id: str
    sha16: str  # the first 16 hex digits of its SHA-256, as in its name
    name: str  # its name in the folder, or its key under the bucket's prefix
    modified: float  # seconds since the epoch


class MediaMissing(Exception):
    """The file is not there (deleted as we looked, or never published)."""


class MediaFailed(Exception):
    """A request to the storage failed (after its own retries); transient as
    far as anyone knows, so a render that meets it is retried."""


class MediaUnavailable(Exception):
    """The media storage cannot be used; the message says why, in one line."""


def parse_final(name: str, modified: float) -> Final | None:
    """The Final a name denotes, or None for anything else (parts, strangers)."""
    video_id, _, rest = name.partition(".")
    sha16, _, kind = rest.partition(".")
    if not video_id or len(sha16) != 16 or kind not in KINDS:
        return None
    return Final(video_id, sha16, name, modified)


class MediaStore(Protocol):
    """Rendered files, wherever they are kept."""

    scratch: Path  # the local folder renders write their part files in

    def describe(self) -> str:
        """Where the files are, for the start-up line."""
        ...

    async def check(self) -> None:
        """Raise MediaUnavailable, saying why in one line, if the storage cannot be used."""
        ...

    def parts(self, video_id: str, token: str) -> tuple[Path, Path]:
        """The part files of one attempt (video, thumbnail) in scratch."""
        ...

    async def publish(self, video_id: str, sha256: str, parts: tuple[Path, Path]) -> None:
        """Make fsynced parts the final files, each whole or not at all."""
        ...

    async def size(self, video_id: str, sha256: str, thumbnail: bool) -> int:
        """The size of a final file; MediaMissing if it is not there."""
        ...

    async def read(
        self, video_id: str, sha256: str, thumbnail: bool, offset: int, limit: int
    ) -> AsyncIterator[bytes]:
        """Up to `limit` bytes (0: all) from offset (at most the size), in pieces
        of CHUNK at most. The file is opened before this returns, so a missing
        one raises MediaMissing before anything is sent."""
        ...

    async def finals(self, video_id: str | None = None) -> list[Final]:
        """Published files: of one video, or of all."""
        ...

    async def remove(self, finals: list[Final]) -> None:
        """Remove files; one already gone is no error."""
        ...


class MediaFiles:
    """The local folder: finals and parts side by side (a rename publishes).
    Part files carry their attempt's token (`{id}.{token}.mp4.part`): each
    attempt touches only its own. Servers and workers that share a database
    must share this folder too (a network file system), or use a bucket."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.scratch = folder

    def describe(self) -> str:
        return str(self.folder)

    async def check(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MediaUnavailable(f"cannot use {self.folder}: {exc.strerror}") from None

    def video(self, video_id: str, sha256: str) -> Path:
        return self.folder / final_name(video_id, sha256)

    def thumbnail(self, video_id: str, sha256: str) -> Path:
        return self.folder / final_name(video_id, sha256, thumbnail=True)

    def parts(self, video_id: str, token: str) -> tuple[Path, Path]:
        return (
            self.folder / f"{video_id}.{token}.mp4.part",
            self.folder / f"{video_id}.{token}.png.part",
        )

    def all_of(self, video_id: str) -> list[Path]:
        """Every file of a video: finals of any attempt, and parts."""
        return [p for p in self.folder.glob(f"{video_id}.*") if p.name.split(".")[0] == video_id]

    async def publish(self, video_id: str, sha256: str, parts: tuple[Path, Path]) -> None:
        publish(parts[0], self.video(video_id, sha256))
        publish(parts[1], self.thumbnail(video_id, sha256))

    async def size(self, video_id: str, sha256: str, thumbnail: bool) -> int:
        path = self.folder / final_name(video_id, sha256, thumbnail)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise MediaMissing(path.name) from None

    async def read(
        self, video_id: str, sha256: str, thumbnail: bool, offset: int, limit: int
    ) -> AsyncIterator[bytes]:
        path = self.folder / final_name(video_id, sha256, thumbnail)
        try:
            data = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise MediaMissing(path.name) from None
        return _pieces(data, offset, limit)

    async def finals(self, video_id: str | None = None) -> list[Final]:
        pattern = f"{video_id}.*" if video_id else "*"
        found = []
        for path in self.folder.glob(pattern):
            try:
                final = parse_final(path.name, path.stat().st_mtime)
            except FileNotFoundError:
                continue
            if final is not None and video_id in (None, final.video_id):
                found.append(final)
        return found

    async def remove(self, finals: list[Final]) -> None:
        for final in finals:
            (self.folder / final.name).unlink(missing_ok=True)


def publish(part: Path, final: Path) -> None:
    """Give an fsynced part file its final name, durably."""
    os.replace(part, final)
    folder = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


async def _pieces(data: BinaryIO, offset: int, limit: int) -> AsyncIterator[bytes]:
    """An open file's bytes from offset, read off the event loop."""
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
