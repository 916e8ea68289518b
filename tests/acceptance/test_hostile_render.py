"""Render bombs: whatever the text, a render costs what the video's length and
size allow, a render past its memory limit fails alone, and the size asked of
the renderer is bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from google.rpc import code_pb2, error_details_pb2

from longreel.server import __main__ as server_main
from longreel.server import flags, worker_main
from longreel.server.app import make_processor
from longreel.server.media import MediaFiles
from longreel.server.processor import Profile, RenderingProcessor
from longreel.server.processor.layout import ELLIPSIS
from longreel.server.processor.render import MARGIN, OUT_OF_MEMORY, card_at, cards, render
from longreel.server.processor.rendering import MEMORY_MB
from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import video, wait

pytestmark = pytest.mark.any_store  # render limits do not depend on the store

BIN = Path(sys.executable).parent
SMALL = Profile(width=160, height=90, fps=12, seconds=2.0)  # 24 frames: 7 title, 17 pages
FULL = Profile()  # the default 640x360, 10 s
PEAK_MB = 300  # an ordinary render peaks near 85 MB; these took 1,629, 856 and 1,322 MB

HOSTILE = {
    "blank lines only": "\n" * 10_000,
    "blank lines then a letter": "\n" * 9_999 + "x",  # the issue's: 1.63 GB
    "short lines": ".\n" * 5_000,
    "blank lines between words": "\n\n\n\nx" * 2_000,
    "one long word": "w" * 10_000,
    "combining marks": ("a" + "\u0301" * 500 + " ") * 19,
    "emoji": "🎬👩‍👩‍👧" * 1_600,
    "right to left": "שלום עולם مرحبا بالعالم " * 400,
    "control characters": "\x00\x07\x1b[31m\t\r\x7f" * 1_400,
    "zero width": "\u200b\u200d\u2060\ufeff\u202e" * 2_000,
    "lone surrogates": "\ud800 \udfff" * 3_000,  # the API refuses them; the renderer too
}


@pytest.mark.parametrize("plot", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_plot_is_laid_out_in_no_more_pages_than_frames_show(tmp_path, plot):
    shown = cards("T", plot, SMALL)
    title_frames = sum(1 for n in range(SMALL.frames) if card_at(n, SMALL.frames, 2) == 0)
    assert len(shown) <= 1 + SMALL.frames - title_frames
    pixels = SMALL.width * (1 - 2 * MARGIN)
    assert all(len(line) <= pixels for card in shown for line in card.lines)
    assert {card_at(n, SMALL.frames, len(shown)) for n in range(SMALL.frames)} == set(
        range(len(shown))
    )  # every page is on screen for a frame at least
    made = render("T", plot, SMALL, tmp_path / "v.mp4", tmp_path / "v.png")
    assert made.frames == SMALL.frames


def test_a_text_cut_for_lack_of_frames_ends_with_an_ellipsis():
    shown = cards("T", "word " * 2_000, SMALL)
    assert shown[-1].lines[-1].endswith(ELLIPSIS)
    assert not cards("T", "A short plot.", SMALL)[-1].lines[-1].endswith(ELLIPSIS)
    assert cards("x" * 200, "", SMALL)[0].lines[-1].endswith(ELLIPSIS)  # the title too


def peak_rss_mb(plot: str, tmp_path: Path, memory_mb: int = 0) -> tuple[int, int]:
    """The render process's exit status and peak resident memory (MiB), for one
    render of plot at the default size, run as the server runs it."""
    job = {
        "title": "Bomb",
        "plot": plot,
        "profile": {"width": FULL.width, "height": FULL.height, "fps": FULL.fps,
                    "seconds": FULL.seconds},
        "memory_mb": memory_mb,
        "video": str(tmp_path / "v.mp4.part"),
        "thumbnail": str(tmp_path / "v.png.part"),
    }  # fmt: skip
    probe = (
        "import runpy, sys\n"
        "try:\n"
        "    runpy.run_module('longreel.server.processor.render', run_name='__main__')\n"
        "finally:\n"
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
        "    print('peak', hwm[0].split()[1], file=sys.stderr)\n"
    )  # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent (pytest)
    ran = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe],
        input=json.dumps(job), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    peak = [line for line in ran.stderr.splitlines() if line.startswith("peak ")]
    return ran.returncode, int(peak[-1].split()[1]) >> 10 if peak else 0


@pytest.mark.parametrize(
    "name", ["blank lines then a letter", "short lines", "blank lines between words"]
)
def test_a_render_bombs_peak_memory_is_that_of_an_ordinary_render(tmp_path, name):
    code, peak = peak_rss_mb(HOSTILE[name], tmp_path)
    assert code == 0
    assert 0 < peak < PEAK_MB, f"{name}: {peak} MB"


@pytest.fixture
def renders(start_server, make_backend, tmp_path):
    def start(memory_mb: int):
        media = MediaFiles(tmp_path / "media")
        processor = RenderingProcessor(media, SMALL, memory_mb=memory_mb)
        return start_server(processor, backend=make_backend(), media_dir=media.folder), processor

    return start


def test_a_render_past_its_memory_limit_fails_alone_as_render_out_of_memory(renders):
    api, processor = renders(memory_mb=1)  # less than the interpreter itself
    op = api.videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title="Fat")), timeout=10)
    failed = wait(api, op.name, 60)
    assert failed.error.code == code_pb2.INTERNAL
    info = error_details_pb2.ErrorInfo()
    assert failed.error.details[0].Unpack(info)
    assert info.reason == "RENDER_OUT_OF_MEMORY"
    assert "memory" in failed.error.message and "--render-memory-mb" in failed.error.message
    assert "attempt" not in failed.error.message  # failed at once: it would fail again

    processor.memory_mb = 0  # the same server, its workers and its renderer still serve
    op = api.videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title="Slim")), timeout=10)
    assert video(wait(api, op.name, 60)).title == "Slim"


def test_the_memory_limit_holds_the_render_process_itself(tmp_path):
    code, _ = peak_rss_mb("A plot.", tmp_path, memory_mb=200)  # an ordinary one maps ~260 MB
    assert code == OUT_OF_MEMORY  # told apart from a crash


@pytest.mark.parametrize("command", ["video-server", "video-worker"])
@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--render-size", "100000x100000"),
        ("--render-size", "7680x4320"),
        ("--render-size", "1" + "0" * 5_000 + "x2"),
        ("--render-memory-mb", "-1"),
        ("--render-memory-mb", "300"),
    ],
)
def test_a_render_size_or_memory_limit_out_of_bounds_is_a_usage_error(
    tmp_path, command, flag, value
):
    result = subprocess.run(
        [str(BIN / command), "--data-dir", str(tmp_path), flag, value],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("VIDEO_")},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith((f"{command}: error: {flag}", f"{command}: error: argument {flag}")), (
        last
    )


def test_a_crashed_renders_part_files_are_swept_by_the_next_create_of_any_video(renders, tmp_path):
    api, processor = renders(memory_mb=0)
    folder = processor.files.folder
    folder.mkdir(parents=True, exist_ok=True)
    crashed = processor.files.parts("crashed", "0000")
    live = processor.files.parts("live", "1111")  # touched a moment ago
    for part in (*crashed, *live):
        part.write_bytes(b"half a file")
    for part in crashed:
        os.utime(part, (time.time() - 3_600, time.time() - 3_600))
    op = api.videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title="Next")), timeout=10)
    made = video(wait(api, op.name, 60))
    assert not any(part.exists() for part in crashed)
    assert all(part.exists() for part in live)
    assert not [p for p in folder.glob("*.part") if p.name.split(".")[0] == made.name[7:]]


def test_a_start_sweeps_part_files_untouched_for_a_minute(tmp_path):
    media = MediaFiles(tmp_path / "media")
    media.folder.mkdir(parents=True)
    old, fresh = media.parts("old", "0000")[0], media.parts("fresh", "1111")[0]
    for part in (old, fresh):
        part.write_bytes(b"half a file")
    os.utime(old, (time.time() - 60, time.time() - 60))
    RenderingProcessor(media).sweep()
    assert (old.exists(), fresh.exists()) == (False, True)


@pytest.mark.parametrize("main", [server_main, worker_main])
def test_the_render_memory_limit_and_size_reach_the_renderer(main, monkeypatch, tmp_path):
    for name in [n for n in os.environ if n.startswith("VIDEO_")]:
        monkeypatch.delenv(name)
    args = main.parse_args(["--data-dir", str(tmp_path), "--render-size", "3840x2160"])
    assert (
        (args.render_memory_mb, args.render_size)
        == (MEMORY_MB, (3840, 2160))
        == (2048, (3840, 2160))
    )
    args = main.parse_args(["--data-dir", str(tmp_path), "--render-memory-mb", "600"])
    assert make_processor(flags.to_config(args)).memory_mb == 600
    monkeypatch.setenv("VIDEO_RENDER_MEMORY_MB", "0")
    assert main.parse_args(["--data-dir", str(tmp_path)]).render_memory_mb == 0
