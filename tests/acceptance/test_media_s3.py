"""Our programs with rendered files in a bucket (a real SeaweedFS, tests/s3.py):
a server and a worker that share nothing but PostgreSQL and the bucket (no
folder) serve what the other rendered; a bucket that cannot be used is one
line and exit 1 at start; an upload killed mid-way leaves nothing visible."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import grpc
import obstore
import pytest

from longreel.client import VideoClient
from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from ..databases import fresh_schema
from ..s3 import REGION

BIN = Path(sys.executable).parent
TINY = ["--render-size", "96x64", "--render-fps", "12", "--render-seconds", "1"]


def spawn(processes, command: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    """A program, once it said it runs; and that first line."""
    process = subprocess.Popen(
        [str(BIN / command), *args, "--log-level", "warning"], stdout=subprocess.PIPE, text=True
    )
    processes.append(process)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"{command} did not start"
    return process, line


def test_a_server_sends_what_a_worker_rendered_sharing_only_the_database_and_the_bucket(
    postgres_database, bucket, processes, tmp_path, start_gateway
):
    database = fresh_schema(postgres_database)
    shared = ["--database", database, *bucket.flags()]
    _, said = spawn(
        processes, "video-server", "--listen", "127.0.0.1:0", "--no-workers",
        "--data-dir", str(tmp_path / "machine-a"), *shared,
    )  # fmt: skip
    assert f"files in {bucket.url} at {bucket.endpoint}" in said
    target = said.split("listening on ")[1].split()[0]
    spawn(processes, "video-worker", "--data-dir", str(tmp_path / "machine-b"), *shared, *TINY)

    with VideoClient(target) as client:
        made = client.create_video(video={"title": "Rendered on B"}).result(timeout=60)
    video_id = made.name.split("/")[1]
    stored = obstore.get(bucket.store(), f"{video_id}.{made.sha256[:16]}.mp4").bytes()
    assert hashlib.sha256(bytes(stored)).hexdigest() == made.sha256

    with grpc.insecure_channel(target) as channel:
        videos = pb_grpc.VideoServiceStub(channel)
        request = pb.ReadVideoContentRequest(name=made.name)
        data = b"".join(p.data for p in videos.ReadVideoContent(request, timeout=10))
        ranged = pb.ReadVideoContentRequest(name=made.name, read_offset=64, read_limit=100)
        assert b"".join(p.data for p in videos.ReadVideoContent(ranged, timeout=10)) == data[64:164]
    assert hashlib.sha256(data).hexdigest() == made.sha256
    http = start_gateway(target).client
    part = http.get(made.uri, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    for machine in ("machine-a", "machine-b"):  # nothing of the video on either disk
        assert not (tmp_path / machine / "media").exists()
        assert not list((tmp_path / machine).rglob(f"{video_id}.*"))


@pytest.mark.parametrize("command", ["video-server", "video-worker"])
@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"bucket": "no-such-bucket-here"}, "the bucket does not exist"),
        ({"AWS_SECRET_ACCESS_KEY": "wrong"}, "the secret key is wrong"),
        ({"AWS_ACCESS_KEY_ID": "nobody"}, "the access key is not known"),
        ({"endpoint": "http://192.0.2.1:9000"}, "refusing the plaintext S3 endpoint"),
    ],
)
def test_a_bucket_that_cannot_be_used_is_one_line_and_exit_1(
    bucket, tmp_path, command, change, said
):
    environment = {**os.environ, **{k: v for k, v in change.items() if k.startswith("AWS")}}
    url = f"s3://{change.get('bucket', bucket.name)}/media"
    endpoint = change.get("endpoint", bucket.endpoint)
    args = ["--data-dir", str(tmp_path), "--media-url", url, "--s3-endpoint", endpoint]
    if command == "video-server":
        args += ["--listen", "127.0.0.1:0"]
    done = subprocess.run(
        [str(BIN / command), *args, "--s3-region", REGION],
        env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0] and lines[0].startswith(f"{command}: "), lines


UPLOAD = textwrap.dedent(
    """
    import asyncio, sys
    import obstore
    from obstore.store import S3Store

    async def slowly():
        for n in range(1000):  # 5 GB, at 5 MB a piece: never finished
            yield b"x" * (5 << 20)
            print("sent", n, flush=True)
            await asyncio.sleep(0.05)

    store = S3Store(sys.argv[1], prefix="media", endpoint=sys.argv[2], region="us-east-1",
                    client_options={"allow_http": True})
    asyncio.run(obstore.put_async(store, "killed.0123456789abcdef.mp4", slowly()))
    """
)


def test_an_upload_killed_midway_leaves_no_visible_object(bucket):
    upload = subprocess.Popen(
        [sys.executable, "-c", UPLOAD, bucket.name, bucket.endpoint],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert upload.stdout is not None
    for line in upload.stdout:
        if line.startswith("sent 4"):  # a multipart upload under way: 25 MB sent
            break
    upload.send_signal(signal.SIGKILL)
    upload.wait(timeout=10)
    upload.stdout.close()
    assert bucket.keys() == []
