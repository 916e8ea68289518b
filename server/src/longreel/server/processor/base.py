"""The processor interface: a request in, progress out, a check for cancellation.

A processor knows nothing of gRPC, the store or leases. It raises Cancelled
when it notices cancellation, PermanentError for a failure that retrying will
not fix; any other exception counts as transient and the job is retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..media import Media


class Cancelled(Exception):
    """The work stopped because cancellation was asked for."""


class PermanentError(Exception):
    """The work cannot succeed (bad input found late): fail without retrying."""


class OutOfMemory(PermanentError):
    """The work needed more memory than it is allowed: it would again, so no retry."""


@dataclass(frozen=True, slots=True)
class VideoSpec:
    video_id: str
    title: str
    plot: str


class Progress(Protocol):
    def report(self, percent: int, message: str) -> None:
        """Record progress; cheap, so call it as often as is natural."""
        ...

    def raise_if_cancelled(self) -> None:
        """Raise Cancelled if cancellation was asked for; call it between steps."""
        ...


class Processor(Protocol):
    async def create(self, video: VideoSpec, progress: Progress) -> Media | None:
        """Make the video; what it made (files), or None if nothing to record."""
        ...

    async def delete(self, video_id: str, progress: Progress) -> None: ...
