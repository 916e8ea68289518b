"""Rendered files in an S3 bucket (a real SeaweedFS, tests/s3.py): a render
uploads and only then records, content comes back from the bucket in whole
and by ranged GETs (over gRPC and through the gateway), DeleteVideo removes
the objects, and what crashed attempts left behind is swept."""

from __future__ import annotations

import hashlib
from typing import Any

import grpc
import httpx
import obstore
import pytest
from google.longrunning import operations_pb2

from longreel.gateway.redirect import CACHED_FOR, Redirects
from longreel.server import orphans
from longreel.server.media_s3 import S3Media
from longreel.server.processor import Profile, RenderingProcessor
from longreel.server.processor.base import Progress, VideoSpec
from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import create, until, video, wait
from ..s3 import REGION

pytestmark = pytest.mark.any_store  # where files live does not depend on the store

TINY = Profile(width=96, height=64, fps=12, seconds=1.0)


@pytest.fixture
def s3_server(start_server, make_backend, bucket, tmp_path):
    """A server that renders (a tiny profile) into the test's bucket, wired as
    video-server --media-url s3://... wires it."""

    def start(processor: Any = None, **config: Any) -> Any:
        config.setdefault("profile", TINY)
        return start_server(processor, backend=make_backend(), **bucket.config(), **config)

    return start


def read(api, name: str, **fields) -> bytes:
    request = pb.ReadVideoContentRequest(name=name, **fields)
    return b"".join(piece.data for piece in api.videos.ReadVideoContent(request, timeout=10))


def rendered(api, title: str = "In the bucket") -> tuple[pb.Video, str]:
    made = video(wait(api, create(api, title).name, 60))
    return made, made.name.split("/")[1]


def test_a_video_lives_in_the_bucket_from_create_to_delete(s3_server, bucket, tmp_path):
    api = s3_server()
    made, video_id = rendered(api)
    sha16 = made.sha256[:16]
    assert bucket.keys() == [f"{video_id}.{sha16}.mp4", f"{video_id}.{sha16}.png"]
    data = bytes(obstore.get(bucket.store(), f"{video_id}.{sha16}.mp4").bytes())
    assert (len(data), hashlib.sha256(data).hexdigest()) == (made.size_bytes, made.sha256)
    assert not (tmp_path / "data" / "media").exists()  # nothing in a local folder
    assert list((tmp_path / "data" / "scratch").iterdir()) == []  # parts gone once uploaded

    assert read(api, made.name) == data
    assert read(api, made.name, read_offset=10, read_limit=25) == data[10:35]
    assert read(api, made.name, read_offset=len(data) - 5, read_limit=100) == data[-5:]
    assert read(api, made.name, read_offset=len(data)) == b""
    assert read(api, made.name, part=pb.ReadVideoContentRequest.THUMBNAIL).startswith(b"\x89PNG")
    with pytest.raises(grpc.RpcError) as err:
        read(api, made.name, read_offset=len(data) + 1)
    assert err.value.code() == grpc.StatusCode.OUT_OF_RANGE

    gone = api.videos.DeleteVideo(pb.DeleteVideoRequest(name=made.name), timeout=10)
    assert wait(api, gone.name, 30).done
    assert bucket.keys() == []
    media = api.server.server.media
    api.server.call(media.remove(api.server.call(media.finals(video_id))))  # nothing: no error
    api.server.call(api.server.server.processor.delete(video_id, NoProgress()))  # twice: harmless
    with pytest.raises(grpc.RpcError) as err:
        read(api, made.name)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_range_is_a_ranged_get_never_the_whole_object(s3_server, monkeypatch):
    api = s3_server()
    made, _ = rendered(api)
    whole = read(api, made.name)
    asked: list[dict[str, Any]] = []
    real = obstore.get_async

    async def spy(store: Any, key: str, *, options: Any = None) -> Any:
        asked.append(dict(options or {}))
        result = await real(store, key, options=options)
        asked[-1]["got"] = result.range
        return result

    monkeypatch.setattr(obstore, "get_async", spy)
    assert read(api, made.name, read_offset=100, read_limit=50) == whole[100:150]
    assert read(api, made.name, read_offset=200) == whole[200:]
    assert asked == [
        {"range": (100, 150), "got": (100, 150)},
        {"range": {"offset": 200}, "got": (200, len(whole))},
    ]


def test_the_gateway_serves_the_bucket_with_ranges_and_the_recorded_etag(
    s3_server, start_gateway, bucket
):
    api = s3_server()
    made, video_id = rendered(api)
    data = bytes(obstore.get(bucket.store(), f"{video_id}.{made.sha256[:16]}.mp4").bytes())
    http = start_gateway(api).client
    whole = http.get(made.uri)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["ETag"] == f'"{made.sha256}"'
    part = http.get(made.uri, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    tail = http.get(made.uri, headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    assert http.get(made.uri, headers={"If-None-Match": f'"{made.sha256}"'}).status_code == 304
    thumb = http.get(made.thumbnail_uri)
    assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")


def test_the_gateway_can_send_callers_to_the_bucket_with_a_presigned_url(
    s3_server, start_gateway, bucket
):
    api = s3_server()
    made, video_id = rendered(api)
    redirects = Redirects(bucket.url, endpoint=bucket.endpoint, region=REGION, insecure=False)
    http = start_gateway(api, redirects=redirects).client
    sent = http.get(made.uri)
    assert sent.status_code == 307
    assert sent.headers["Cache-Control"] == f"private, max-age={CACHED_FOR}"
    location = sent.headers["Location"]
    assert location.startswith(f"{bucket.endpoint}/{bucket.name}/media/{video_id}.")
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
    data = httpx.get(location).content  # no credentials but the link's
    assert hashlib.sha256(data).hexdigest() == made.sha256
    ranged = http.get(made.uri, headers={"Range": "bytes=100-199"}, follow_redirects=True)
    assert ranged.status_code == 206 and ranged.content == data[100:200]
    thumb = http.get(made.thumbnail_uri, follow_redirects=True)
    assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")
    # Still the gateway's: the caller's right to the video, the ETag, and HEAD.
    assert http.get(made.uri, headers={"If-None-Match": f'"{made.sha256}"'}).status_code == 304
    head = http.head(made.uri)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))
    assert http.get("/videos/nope/content").status_code == 404
    assert httpx.get(location.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status_code == 403
    policy = http.get("/ui").headers["Content-Security-Policy"]
    assert f"connect-src 'self' {bucket.endpoint};" in policy  # the page may follow the links


class NoProgress:
    def report(self, percent: int, message: str) -> None:
        pass

    def raise_if_cancelled(self) -> None:
        pass


class CrashesAfterUpload(RenderingProcessor):
    """Its first attempt uploads, as a render does, and then dies before the
    record: its files (here under another content's name, as a render that
    differs would leave) are visible and nobody's."""

    crashed = False

    async def create(self, video: VideoSpec, progress: Progress) -> Any:
        media = await super().create(video, progress)
        if not self.crashed:
            self.crashed = True
            store = self.files.store  # type: ignore[attr-defined]
            for kind in ("mp4", "png"):
                await obstore.put_async(store, f"{video.video_id}.{'f' * 16}.{kind}", b"x")
            raise RuntimeError("the worker died between the upload and the record")
        return media


def test_a_crash_between_upload_and_record_leaves_files_the_next_attempt_removes(
    s3_server, bucket, tmp_path
):
    media = S3Media(bucket.url, tmp_path / "scratch", endpoint=bucket.endpoint, region=REGION)
    crashing = CrashesAfterUpload(media, TINY)
    api = s3_server(crashing)
    made, video_id = rendered(api, "Again")
    assert crashing.crashed
    sha16 = made.sha256[:16]
    assert bucket.keys() == [f"{video_id}.{sha16}.mp4", f"{video_id}.{sha16}.png"]


def test_the_sweep_removes_orphans_old_enough_and_never_a_recorded_file(s3_server, bucket):
    api = s3_server()
    made, video_id = rendered(api)
    store = bucket.store()
    orphaned = [f"{video_id}.{'0' * 16}.mp4", f"{video_id}.{'0' * 16}.png", f"gone.{'1' * 16}.mp4"]
    for key in orphaned:
        obstore.put(store, key, b"uploaded, never recorded")
    obstore.put(store, "not-ours.txt", b"left alone: not a file of ours")
    server = api.server.server
    assert api.server.call(orphans.sweep(server.store, server.media)) == 0  # too fresh: live?
    assert set(orphaned) <= set(bucket.keys())
    assert api.server.call(orphans.sweep(server.store, server.media, older_than=0)) == 3
    sha16 = made.sha256[:16]
    kept = [f"{video_id}.{sha16}.mp4", f"{video_id}.{sha16}.png", "not-ours.txt"]
    assert bucket.keys() == sorted(kept)
    assert read(api, made.name) == bytes(obstore.get(store, f"{video_id}.{sha16}.mp4").bytes())


def test_a_cancelled_render_leaves_nothing_in_the_bucket(s3_server, bucket, tmp_path):
    api = s3_server(profile=Profile(width=640, height=360, fps=24, seconds=120.0))
    op = create(api, "Long")
    until(lambda: list((tmp_path / "data" / "scratch").glob("*.part")), 30, "the render's parts")
    api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=op.name))
    assert wait(api, op.name, 30).error.code == grpc.StatusCode.CANCELLED.value[0]
    assert bucket.keys() == []
    assert list((tmp_path / "data" / "scratch").iterdir()) == []
