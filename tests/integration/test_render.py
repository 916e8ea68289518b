"""Real rendering: the MP4 decodes to what was asked for, the title card shows
the title, odd text renders, cancellation leaves no file, and the files come
back byte for byte over gRPC (ReadVideoContent) and through the gateway
(Range, ETag)."""

from __future__ import annotations

import hashlib
import os
import time

import av
import grpc
import pytest
from google.longrunning import operations_pb2
from PIL import Image

from longreel.server.media import MediaFiles
from longreel.server.processor import Profile, RenderingProcessor
from longreel.server.processor.render import BACKGROUND, render
from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import metadata, until, video, wait

pytestmark = pytest.mark.any_store  # rendering does not depend on the store

TINY = Profile(width=96, height=64, fps=12, seconds=1.0)  # keeps make test quick
SLOW = Profile(width=640, height=360, fps=24, seconds=120.0)  # long enough to cancel mid-way


def decode(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_image() for f in container.decode(stream)]
        return stream.codec_context.name, stream.width, stream.height, container.duration, frames


@pytest.mark.parametrize(
    ("title", "plot"),
    [
        ("My movie", "Plot of the movie I'm about to render."),
        ("Ünïcödé — 映画 🎬", ""),  # glyphs the font lacks become boxes, not errors
        ("x" * 200, "word " * 2_000 + "y" * 500),  # more text than fits anywhere
        ("映画", "映画の物語" * 2_000),  # 10,000 characters and not one space to break at
    ],
)
def test_the_file_decodes_to_the_profile_asked_for(tmp_path, title, plot):
    profile = Profile(width=160, height=90, fps=12, seconds=2.0)
    made = render(title, plot, profile, tmp_path / "v.mp4", tmp_path / "v.png")
    codec, width, height, duration, frames = decode(tmp_path / "v.mp4")
    assert (codec, width, height) == ("h264", 160, 90)
    assert len(frames) == made.frames == 24
    assert abs(duration / 1e6 - 2.0) <= 1 / 12  # within a frame
    assert made.sha256 == hashlib.sha256((tmp_path / "v.mp4").read_bytes()).hexdigest()
    with Image.open(tmp_path / "v.png") as thumbnail:
        assert thumbnail.size == (160, 90)
    assert not list(tmp_path.glob("*.part"))


def test_the_title_card_shows_the_title(tmp_path):
    profile = Profile(width=320, height=180, fps=6, seconds=1.0)
    render("A TITLE", "", profile, tmp_path / "a.mp4", tmp_path / "a.png")
    render("", "", profile, tmp_path / "b.mp4", tmp_path / "b.png")
    titled, blank = decode(tmp_path / "a.mp4")[4][0], decode(tmp_path / "b.mp4")[4][0]
    band = (0, 60, 320, 120)  # the middle third, where the title is drawn
    ink = sum(
        1
        for pixel in titled.crop(band).get_flattened_data()
        if sum(abs(a - b) for a, b in zip(pixel, BACKGROUND, strict=True)) > 120
    )
    assert ink > 200  # the letters are there
    assert titled.crop(band).tobytes() != blank.crop(band).tobytes()


@pytest.fixture
def renders(start_server, make_backend, tmp_path):
    """A server on each store that really renders (a tiny profile)."""

    def start(profile: Profile = TINY):
        media = MediaFiles(tmp_path / "media")
        processor = RenderingProcessor(media, profile)
        return start_server(processor, backend=make_backend(), media_dir=media.folder), media

    return start


def read(api, name: str, **fields) -> bytes:
    request = pb.ReadVideoContentRequest(name=name, **fields)
    return b"".join(piece.data for piece in api.videos.ReadVideoContent(request, timeout=10))


def test_a_rendered_video_and_its_files_from_create_to_delete(renders):
    api, media = renders()
    op = api.videos.CreateVideo(
        pb.CreateVideoRequest(video=pb.Video(title="Rendered", plot="It moves.")), timeout=10
    )
    made = video(wait(api, op.name, 60))
    video_id = made.name.split("/")[1]
    data = media.video(video_id, made.sha256).read_bytes()
    assert made.uri == f"/videos/{video_id}/content"
    assert made.thumbnail_uri == f"/videos/{video_id}/thumbnail"
    assert (made.size_bytes, made.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert made.duration.ToMilliseconds() == 1000
    got = api.videos.GetVideo(pb.GetVideoRequest(name=made.name), timeout=10)
    assert (got.uri, got.sha256, got.size_bytes) == (made.uri, made.sha256, made.size_bytes)

    assert read(api, made.name) == data
    assert read(api, made.name, read_offset=10, read_limit=25) == data[10:35]
    assert read(api, made.name, read_offset=len(data)) == b""
    thumb = read(api, made.name, part=pb.ReadVideoContentRequest.THUMBNAIL)
    assert thumb.startswith(b"\x89PNG")
    assert thumb == media.thumbnail(video_id, made.sha256).read_bytes()
    with pytest.raises(grpc.RpcError) as err:
        read(api, made.name, read_offset=len(data) + 1)
    assert err.value.code() == grpc.StatusCode.OUT_OF_RANGE

    gone = api.videos.DeleteVideo(pb.DeleteVideoRequest(name=made.name), timeout=10)
    assert wait(api, gone.name, 30).done
    assert media.all_of(video_id) == []
    with pytest.raises(grpc.RpcError) as err:
        read(api, made.name)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_progress_comes_from_frames_and_a_cancelled_render_leaves_no_file(renders):
    api, media = renders(SLOW)
    op = api.videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title="Long")), timeout=10)

    def rendering() -> operations_pb2.Operation | None:
        now = api.operations.GetOperation(operations_pb2.GetOperationRequest(name=op.name))
        return now if 0 < metadata(now).progress_percent < 100 else None

    meta = metadata(until(rendering, timeout=30, what="progress from the renderer"))
    assert meta.status_message.startswith("rendering: frame ")
    api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=op.name))
    ended = wait(api, op.name, 30)
    assert ended.error.code == 1  # CANCELLED
    assert list(media.folder.iterdir()) == []  # no video, no thumbnail, no part file


def test_a_crashed_attempts_part_file_is_replaced_by_the_next(renders):
    api, media = renders()
    media.folder.mkdir(parents=True, exist_ok=True)
    crashed, _ = media.parts("phoenix", "crashed")
    crashed.write_bytes(b"half a file from a render that crashed a minute ago")
    os.utime(crashed, (time.time() - 60, time.time() - 60))
    live, _ = media.parts("phoenix", "live")  # another attempt, still writing
    live.write_bytes(b"being written")
    op = api.videos.CreateVideo(
        pb.CreateVideoRequest(video=pb.Video(title="Again"), video_id="phoenix"), timeout=10
    )
    sha = video(wait(api, op.name, 60)).sha256
    assert sorted(p.name for p in media.folder.iterdir()) == sorted(
        [live.name, media.video("phoenix", sha).name, media.thumbnail("phoenix", sha).name]
    )


def test_the_gateway_serves_ranges_with_an_etag(renders, start_gateway):
    api, media = renders()
    http = start_gateway(api).client
    made = http.post("/videos/tasks", json={"title": "Seekable"})
    task = made.headers["Content-Location"]
    answer = until(lambda: (got := http.get(task)).status_code == 303 and got, what="the task done")
    video_url = answer.headers["Location"]
    meta = http.get(video_url).json()
    data = media.video(meta["name"].split("/")[1], meta["sha256"]).read_bytes()

    whole = http.get(meta["uri"])
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["Content-Type"] == "video/mp4"
    assert whole.headers["Accept-Ranges"] == "bytes"
    tag = whole.headers["ETag"]
    assert tag == f'"{meta["sha256"]}"'

    part = http.get(meta["uri"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    tail = http.get(meta["uri"], headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    for listed in (tag, f'"other", {tag}', f"W/{tag}", "*"):
        assert http.get(meta["uri"], headers={"If-None-Match": listed}).status_code == 304
    assert http.get(meta["uri"], headers={"If-None-Match": '"other"'}).status_code == 200
    backwards = http.get(meta["uri"], headers={"Range": "bytes=5-2"})  # invalid: ignored
    assert backwards.status_code == 200 and backwards.content == data
    stale = http.get(meta["uri"], headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.content == data
    beyond = http.get(meta["uri"], headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(data)}"
    head = http.head(meta["uri"])
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))

    thumb = http.get(meta["thumbnailUri"])
    assert thumb.headers["Content-Type"] == "image/png" and thumb.content.startswith(b"\x89PNG")
    head = http.head(meta["thumbnailUri"])
    assert head.headers["Content-Length"] == str(len(thumb.content))
    assert http.get("/videos/nope/content").status_code == 404


def test_the_gateway_reads_files_with_the_callers_own_token(start_server, start_gateway, tmp_path):
    keys = tmp_path / "api-keys"
    keys.write_text("alice-key-0123456789abcdef alice\nbob-key-9876543210fedcba bob\n")
    media = MediaFiles(tmp_path / "media")
    api = start_server(
        RenderingProcessor(media, TINY), media_dir=media.folder, auth="api-keys", api_keys_file=keys
    )
    http = start_gateway(api).client
    alice = {"Authorization": "Bearer alice-key-0123456789abcdef"}
    bob = {"Authorization": "Bearer bob-key-9876543210fedcba"}
    task = http.post("/videos/tasks", json={"title": "Hers"}, headers=alice)
    done = http.get(task.headers["Location"], params={"wait": "60s"}, headers=alice)
    assert done.status_code == 303
    for part in ("content", "thumbnail"):
        url = f"{done.headers['Location']}/{part}"
        assert http.get(url, headers=alice).status_code == 200
        assert http.get(url).status_code == 401
        assert http.get(url, headers=bob).status_code == 404


def test_a_start_sweeps_old_files_no_video_records(renders, tmp_path):
    media = MediaFiles(tmp_path / "media")
    media.folder.mkdir(parents=True)
    old = time.time() - 3_600
    orphan = media.video("ghost", "ab" * 32)
    orphan.write_bytes(b"published by an attempt that never recorded it")
    os.utime(orphan, (old, old))
    fresh = media.video("live", "cd" * 32)  # an attempt may yet record it
    fresh.write_bytes(b"just uploaded")
    renders()
    until(lambda: not orphan.exists(), what="the orphan swept at start")
    assert fresh.exists()
