"""A stand-in for rendering: takes a set time and reports progress in steps.

It is the default until real rendering lands; it lets every other part (
progress, cancellation, restarts) be exercised against a known duration.
"""

from __future__ import annotations

import asyncio

from .base import Progress, VideoSpec

STEPS = 10


class SimulatedProcessor:
    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds

    async def create(self, video: VideoSpec, progress: Progress) -> None:
        await self._steps(progress, "rendering", self.seconds)

    async def delete(self, video_id: str, progress: Progress) -> None:
        await self._steps(progress, "removing files", self.seconds / 5)

    async def _steps(self, progress: Progress, what: str, seconds: float) -> None:
        for step in range(STEPS):
            progress.raise_if_cancelled()
            progress.report(step * 100 // STEPS, f"{what}: step {step + 1} of {STEPS}")
            await asyncio.sleep(seconds / STEPS)
        progress.raise_if_cancelled()
