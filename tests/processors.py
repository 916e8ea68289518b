"""Processors for tests: real implementations of the processor interface whose
timing the test controls, in place of the slow default."""

from __future__ import annotations

import asyncio
import threading

from longreel.server.processor import Progress, SimulatedProcessor, VideoSpec

TICK = 0.01  # seconds between cancellation checks


class GatedProcessor:
    """Work that runs until the test opens the gate (or forever, until cancelled)."""

    def __init__(self, open_gate: bool = False) -> None:
        self.gate = threading.Event()
        if open_gate:
            self.gate.set()
        self.started = threading.Event()
        self.attempts = 0
        self.fail_with: BaseException | None = None
        self.failures_left = 0  # how many attempts fail with fail_with

    async def create(self, video: VideoSpec, progress: Progress) -> None:
        await self._work(progress, "rendering")

    async def delete(self, video_id: str, progress: Progress) -> None:
        await self._work(progress, "removing")

    async def _work(self, progress: Progress, what: str) -> None:
        self.attempts += 1
        self.started.set()
        progress.report(50, f"{what}: half way")
        while not self.gate.is_set():
            progress.raise_if_cancelled()
            await asyncio.sleep(TICK)
        progress.raise_if_cancelled()
        if self.fail_with is not None and self.failures_left > 0:
            self.failures_left -= 1
            raise self.fail_with


class HoldingProcessor(SimulatedProcessor):
    """The simulated processor, but a video whose title starts with HOLD runs
    until it is cancelled: a long job next to ones whose progress is watched."""

    HOLD = "Hold:"

    async def create(self, video: VideoSpec, progress: Progress) -> None:
        if video.title.startswith(self.HOLD):
            progress.report(10, "held until cancelled")
            while True:
                progress.raise_if_cancelled()
                await asyncio.sleep(TICK)
        await super().create(video, progress)
