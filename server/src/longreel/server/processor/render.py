"""Render a video: a title card, then the plot in pages of text, encoded as
H.264 in MP4 with PyAV (FFmpeg ships in its wheel); frames drawn by Pillow.

This module runs in a process of its own (`python -m
longreel.server.processor.render`), so rendering never holds the server's
event loop or GIL. It reads the job as JSON on stdin, writes `progress N M`
lines as frames are encoded, and ends with one `done {json}` line once both
files are written and fsynced; the parent then gives them their final names.
It holds itself to the job's `memory_mb` of address space (RLIMIT_AS) and
exits with status OUT_OF_MEMORY past it. What it costs is bounded by the
profile, not the text: see layout.py.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import resource
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageDraw, ImageFont

from . import layout

BACKGROUND = (16, 18, 32)
INK = (236, 236, 240)
ACCENT = (250, 196, 64)
TITLE_SHARE = 0.3  # of the length shows the title card (all of it when there is no plot)
MARGIN = 0.08  # of the width, on each side
NICENESS = 10
TITLE_LINES = 4  # the most a title card shows
ENCODER_THREADS = 4  # x264's default is 1.5 a core: memory would grow with the machine
OUT_OF_MEMORY = 3  # exit status of a render that hit its memory limit
HEADROOM_MB = 64  # a failure this close to the memory limit counts as hitting it
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf")


@dataclass(frozen=True)
class Profile:
    width: int = 640
    height: int = 360
    fps: int = 24
    seconds: float = 10.0

    @property
    def frames(self) -> int:
        return max(1, round(self.fps * self.seconds))


@dataclass(frozen=True)
class Rendered:
    frames: int
    duration_us: int
    size_bytes: int
    sha256: str


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans where installed (make setup installs it), else Pillow's own
    font; glyphs neither has (CJK, emoji) come out as boxes, not errors."""
    for path in FONTS:
        with contextlib.suppress(OSError):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _card(
    profile: Profile, lines: list[str], size: int, color: tuple[int, int, int]
) -> Image.Image:
    image = Image.new("RGB", (profile.width, profile.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = _font(size)
    step = int(size * 1.3)
    top = max(0, (profile.height - step * len(lines)) // 2)
    for number, line in enumerate(lines):
        width = font.getlength(line)
        draw.text(((profile.width - width) / 2, top + number * step), line, font=font, fill=color)
    return image


@dataclass(frozen=True)
class Card:
    """What one card shows; drawn only when its first frame is encoded."""

    lines: list[str]
    size: int
    color: tuple[int, int, int]

    def draw(self, profile: Profile) -> Image.Image:
        return _card(profile, self.lines, self.size, self.color)


def cards(title: str, plot: str, profile: Profile) -> list[Card]:
    """The title card, then as many pages of the plot as the frames can show
    (one frame a page at least): the rest of the plot is cut, with an ellipsis."""
    usable = profile.width * (1 - 2 * MARGIN)
    title_size = max(8, profile.height // 8)
    heading = layout.pages(title, _font(title_size), usable, TITLE_LINES, 1)
    shown = [Card(heading[0] if heading else [], title_size, ACCENT)]
    text_size = max(6, profile.height // 16)
    per_page = max(1, int(profile.height * (1 - 2 * MARGIN) // (text_size * 1.3)))
    room = profile.frames - _title_frames(profile.frames)
    for page in layout.pages(plot, _font(text_size), usable, per_page, room):
        shown.append(Card(page, text_size, INK))
    return shown


def _title_frames(total: int) -> int:
    return max(1, int(total * TITLE_SHARE))


def card_at(frame: int, total: int, count: int) -> int:
    """Which card frame `frame` shows: the title for TITLE_SHARE, the pages evenly after."""
    if count == 1:
        return 0
    title_frames = _title_frames(total)
    if frame < title_frames:
        return 0
    per_page = max(1, (total - title_frames) / (count - 1))
    return min(count - 1, 1 + int((frame - title_frames) / per_page))


def render(
    title: str,
    plot: str,
    profile: Profile,
    video: Path,
    thumbnail: Path,
    on_frame: Callable[[int, int], None] = lambda done, total: None,
) -> Rendered:
    """Write the video and thumbnail to the given paths, durably (fsync);
    giving them their final names is the caller's step."""
    shown = cards(title, plot, profile)
    total = profile.frames
    with av.open(str(video), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=profile.fps)
        stream.width, stream.height, stream.pix_fmt = profile.width, profile.height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23", "threads": str(ENCODER_THREADS)}
        drawn, frame = -1, None
        for number in range(total):
            showing = card_at(number, total, len(shown))
            if showing != drawn or frame is None:  # one card in memory at a time
                image = shown[showing].draw(profile)
                drawn, frame = showing, av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            frame.pts = number
            for packet in stream.encode(frame):
                container.mux(packet)
            on_frame(number + 1, total)
        for packet in stream.encode():
            container.mux(packet)
    shown[0].draw(profile).save(thumbnail, format="PNG")
    for written in (video, thumbnail):
        with written.open("rb") as data:
            os.fsync(data.fileno())
    digest = hashlib.sha256()
    with video.open("rb") as data:
        while chunk := data.read(1 << 20):
            digest.update(chunk)
    return Rendered(
        frames=total,
        duration_us=round(total * 1_000_000 / profile.fps),
        size_bytes=video.stat().st_size,
        sha256=digest.hexdigest(),
    )


def limit_memory(megabytes: int) -> None:
    """Hold this process to megabytes of address space (0: no limit), so that a
    render that grows past it fails with MemoryError, alone, and not the machine."""
    if megabytes > 0:
        size = megabytes << 20
        resource.setrlimit(resource.RLIMIT_AS, (size, size))


def main() -> None:
    # Rendering is batch work: on a busy machine the scheduler serves the
    # server's RPCs first (NICENESS on the usual -20..19 scale).
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    job = json.load(sys.stdin)
    megabytes = int(job.get("memory_mb", 0))
    limit_memory(megabytes)
    try:
        _render_job(job)
    except Exception as exc:
        if not out_of_memory(exc, megabytes):
            raise
        # Memory may be too short to format a traceback: say it in preset bytes.
        os.write(2, b"render: out of memory\n")
        os._exit(OUT_OF_MEMORY)


def out_of_memory(exc: BaseException, megabytes: int) -> bool:
    """Whether exc comes of the memory limit. Past it, Python raises MemoryError
    but C libraries fail in their own words (x264: "generic error"; the loader:
    "failed to map segment"), so a failure near the limit counts too."""
    if isinstance(exc, MemoryError) or getattr(exc, "errno", None) == errno.ENOMEM:
        return True
    return megabytes > 0 and _peak_megabytes() > megabytes - HEADROOM_MB


def _peak_megabytes() -> int:
    """This process's largest address space so far (VmPeak), in MiB."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) >> 10
    return 0


def _render_job(job: dict[str, Any]) -> None:
    profile = Profile(**job["profile"])
    every = max(1, profile.frames // 50)  # about 50 progress lines, whatever the length

    def report(done: int, total: int) -> None:
        if done % every == 0 or done == total:
            print(f"progress {done} {total}", flush=True)

    result = render(
        job["title"], job["plot"], profile, Path(job["video"]), Path(job["thumbnail"]), report
    )
    print(f"done {json.dumps(asdict(result))}", flush=True)


if __name__ == "__main__":
    main()
