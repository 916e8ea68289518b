"""Two machines (network namespaces, tests/netns.py), each with its own data
directory, a video-server and a video-worker, sharing nothing but PostgreSQL
and a SeaweedFS bucket, both reached over a bridge as other hosts: a machine
killed whole mid-render loses nothing, the other finishes its work, and every
video is served, whole and by ranges, alike by both servers.

What the test saw (who rendered what, the downloads, the kill) is printed:
run it with -s to read it."""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import psycopg
import pytest
from google.longrunning import operations_pb2

from longreel.client import VideoClient
from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from ..databases import fresh_schema
from ..helpers import until
from ..netns import Machine, Network, Relay, network
from ..s3 import Bucket, SeaweedFS

BIN = Path(sys.executable).parent
TINY = ["--render-size", "96x64", "--render-fps", "12", "--render-seconds", "1"]
ENDLESS = ["--render-size", "96x64", "--render-fps", "12", "--render-seconds", "3600"]
LEASE = ["--lease-seconds", "2"]  # a killed worker's jobs are free again 2 s on


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Network]:
    with network(tmp_path) as made:
        yield made


@pytest.fixture
def shared(net: Network, postgres_database: str, tmp_path: Path) -> Iterator[tuple[str, Bucket]]:
    """A fresh schema reached at the bridge's address through a relay, and
    a bucket on a SeaweedFS bound to the bridge's address."""
    local = psycopg.conninfo.conninfo_to_dict(postgres_database)
    port = int(local.get("port") or 5432)
    relay = Relay(net.host, port, (str(local.get("host") or "127.0.0.1"), port))
    folder = tmp_path / "seaweedfs"
    folder.mkdir()
    weed = None
    try:
        weed = SeaweedFS(folder, host=net.host)
        database = psycopg.conninfo.make_conninfo(fresh_schema(postgres_database), host=net.host)
        yield database, weed.bucket()
    finally:  # the machines' processes first, while what they talk to still answers
        for machine in net.machines:
            machine.kill_all()
        if weed is not None:
            weed.stop()
        relay.close()


def start(machine: Machine, shared: tuple[str, Bucket], tag: str, *args: str) -> Path:
    """A video-server (tag server-*) or video-worker on the machine; its log
    (a server's first line, where it listens, in machine.said)."""
    database, bucket = shared
    command = "video-server" if tag.startswith("server") else "video-worker"
    flags = ["--data-dir", str(machine.folder / "data"), "--database", database, *bucket.flags()]
    if command == "video-server":
        flags += ["--listen", f"{machine.address}:0", "--no-workers"]
    _, said, log = machine.spawn(
        tag, [str(BIN / command), *flags, "--insecure", "--log-level", "info", *args],
        bucket.environment(),
    )  # fmt: skip
    print(f"  {machine.name}: {said.strip()}")
    machine.said = said
    return log


def target(machine: Machine, log: Path) -> str:
    """Where the server whose log this is listens (from its first line)."""
    found = re.search(rf"listening on ({re.escape(machine.address)}:\d+)", machine.said)
    assert found, machine.said
    return found.group(1)


def claims(log: Path, video: str) -> list[str]:
    """The worker's log lines about taking VIDEO's job."""
    return [
        line
        for line in log.read_text().splitlines()
        if video in line and ("claimed" in line or "took over" in line)
    ]


def download(target: str, video: str) -> tuple[bytes, bytes, bytes]:
    """The video's bytes over gRPC from the root namespace: whole, a range in
    the middle, and the last 100 bytes."""
    with grpc.insecure_channel(target) as channel:
        videos = pb_grpc.VideoServiceStub(channel)

        def read(offset: int = 0, limit: int = 0) -> bytes:
            request = pb.ReadVideoContentRequest(name=video, read_offset=offset, read_limit=limit)
            return b"".join(p.data for p in videos.ReadVideoContent(request, timeout=30))

        whole = read()
        return whole, read(64, 1000), read(len(whole) - 100)


def test_two_machines_share_only_the_database_and_the_bucket_and_lose_nothing_to_a_kill(
    net, shared
):
    a, b = net.machines
    print(f"\nmachines: {a.name} at {a.address}, {b.name} at {b.address};"
          f" PostgreSQL and S3 at {net.host}")  # fmt: skip
    server_a = target(a, start(a, shared, "server-1"))
    server_b = target(b, start(b, shared, "server-1"))

    # The kill: B's worker alone, on renders it will not finish, claims two
    # of three videos; then every process of B is killed and A's worker starts.
    worker_b = start(b, shared, "worker-1", "--concurrency", "2", *ENDLESS, *LEASE)
    with VideoClient(server_a) as client:
        ops = [client.create_video(video={"title": f"Killed film {i}"}) for i in range(3)]
        names = [op.name for op in ops]
        videos = [_video_of(client.get_operation(name=n)) for n in names]
    until(lambda: sum(bool(claims(worker_b, v)) for v in videos) == 2, timeout=60,
          what="B's worker claiming two renders")  # fmt: skip
    in_hand = [v for v in videos if claims(worker_b, v)]
    killed = b.kill_all()
    print(f"  killed with SIGKILL every process of {b.name} (pids {killed}) while its worker"
          f" was rendering {in_hand}")  # fmt: skip
    assert b.pids() == []

    worker_a = start(a, shared, "worker-1", "--concurrency", "2", *TINY, *LEASE)
    with VideoClient(server_a) as client:
        made = [client.operation(name=n).result(timeout=120) for n in names]
    for video, result in zip(videos, made, strict=True):
        assert result.name == video
        taken = claims(worker_a, video)
        assert taken, f"A's worker never claimed {video}"
        if video in in_hand:
            assert "took over" in taken[0], taken
        said = re.search(r"(claimed|took over) .*", taken[0])
        print(f"  {video}: rendered by A's worker, which {said.group(0) if said else taken[0]}")
    for result in made:  # every one downloadable through A
        whole, middle, tail = download(server_a, result.name)
        assert hashlib.sha256(whole).hexdigest() == result.sha256
        assert middle == whole[64:1064] and tail == whole[-100:]
        print(f"  {result.name}: {len(whole)} bytes through A, sha256 matches")

    # Machine B back up (same data directory): both workers take what comes.
    server_b = target(b, start(b, shared, "server-2"))
    worker_b = start(b, shared, "worker-2", "--concurrency", "1", *TINY, *LEASE)
    more: list[pb.Video] = []
    renderers: set[str] = set()
    for _ in range(5):  # batches of six until each machine rendered some (B: 2 of the first 6)
        with VideoClient(server_a) as client:
            ops = [client.create_video(video={"title": f"Film {len(more) + i}"}) for i in range(6)]
            with ThreadPoolExecutor(6) as pool:
                batch = list(pool.map(lambda op: op.result(timeout=120), ops))
        for result in batch:
            by = [m for m, log in (("A", worker_a), ("B", worker_b)) if claims(log, result.name)]
            assert len(by) == 1, (result.name, by)
            renderers.add(by[0])
            print(f"  {result.name}: rendered by {by[0]}'s worker")
        more += batch
        if renderers == {"A", "B"}:
            break
    assert renderers == {"A", "B"}, f"in {len(more)} videos, only {renderers} rendered"

    for result in made + more:  # served alike by both servers, whole and by ranges
        from_a, from_b = download(server_a, result.name), download(server_b, result.name)
        assert from_a == from_b
        whole, middle, tail = from_a
        assert hashlib.sha256(whole).hexdigest() == result.sha256
        assert middle == whole[64:1064] and tail == whole[-100:]
        print(f"  {result.name}: {len(whole)} bytes, [64:1064] and the last 100 equal"
              f" through A and B; sha256 {result.sha256[:12]} matches")  # fmt: skip
    for machine in (a, b):  # nothing rendered landed on either machine's disk
        assert not list((machine.folder / "data").rglob("*.mp4"))


def _video_of(op: operations_pb2.Operation) -> str:
    meta = pb.OperationMetadata()
    assert op.metadata.Unpack(meta)
    return meta.target
