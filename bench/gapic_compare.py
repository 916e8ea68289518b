"""Our hand-written client against the one Google's gapic-generator makes
from protos/, on the same server in the same run.

    .venv/bin/python -m bench.gapic_compare --gapic-dir /tmp/gen [--rounds 10]

Generate the other client first (gapic-generator, pypandoc-binary and
proto-plus come with the dev extra that `make setup` installs):

    python -m grpc_tools.protoc --python_gapic_out=/tmp/gen \
        --python_gapic_opt=transport=grpc -I protos -I build/google-protos \
        -I $(python -c 'import grpc_tools,os;print(os.path.dirname(grpc_tools.__file__))')/_proto \
        protos/longreel/video/v1/video_service.proto

One process cannot hold both: the generated proto-plus types register the
same proto package as our _pb2 modules. So each client runs in a worker
process of its own, and this process (which serves, in process, work of a
random 0.1-3 s per video) hands them rounds in turn, interleaved:

- `get N`: N sequential GetVideo calls of one video; the figure is the
  median time per call, and a bare grpc stub (a third worker) is the floor;
- `create N`: N concurrent create-and-wait; the figure is the time from the
  worker's recorded end of the operation (metadata.end_time) to result()
  returning: our WaitOperation future against GAPIC's polling one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

KINDS = ("stub", "ours", "gapic")


def _client(kind: str, target: str) -> Any:
    """(get(name), create_and_wait(title) -> lag seconds) for one kind of client."""
    if kind == "gapic":
        import grpc

        from longreel import video_v1  # type: ignore[attr-defined]
        from longreel.video_v1.services.video_service import transports

        # GAPIC's own channel is TLS with Google credentials; over loopback
        # plaintext, it is handed a channel, as its docs allow.
        transport = transports.VideoServiceGrpcTransport(channel=grpc.insecure_channel(target))
        gapic = video_v1.VideoServiceClient(transport=transport)
        return (lambda name: gapic.get_video(name=name)), lambda title: gapic.create_video(
            video=video_v1.Video(title=title)
        )
    from longreel.client import VideoClient

    ours = VideoClient(target)
    if kind == "stub":
        import grpc

        from longreel.video.v1 import video_service_pb2 as pb
        from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

        stub = pb_grpc.VideoServiceStub(grpc.insecure_channel(target))
        return (lambda name: stub.GetVideo(pb.GetVideoRequest(name=name))), None
    return (lambda name: ours.get_video(name=name)), (
        lambda title: ours.create_video(video={"title": title})
    )


def worker(kind: str, target: str) -> None:
    """Answer the driver's rounds on stdin, one JSON line each on stdout."""
    get, create = _client(kind, target)
    name = ""
    for line in sys.stdin:
        verb, count = line.split()
        n = int(count)
        if verb == "get":
            if not name:
                name = sys.stdin.readline().strip()
            get(name)  # warm
            start = time.perf_counter()
            for _ in range(n):
                get(name)
            print(json.dumps({"per_call": (time.perf_counter() - start) / n}), flush=True)
        else:

            def lag(i: int) -> float:
                op = create(f"{kind} {i}")
                op.result(timeout=120)
                returned = time.time()
                end = op.metadata.end_time  # a Timestamp (ours), a datetime (proto-plus)
                ended = end.timestamp() if hasattr(end, "timestamp") else end.ToNanoseconds() / 1e9
                return returned - float(ended)

            with ThreadPoolExecutor(n) as pool:
                print(json.dumps({"lags": list(pool.map(lag, range(n)))}), flush=True)


def drive(gapic_dir: Path, rounds: int, calls: int, creates: int) -> dict[str, Any]:
    from longreel.client import VideoClient

    from .notice import serve

    with tempfile.TemporaryDirectory() as tmp:
        target, stop = serve(Path(tmp), workers=3 * creates)
        env = {**os.environ, "PYTHONPATH": f"{os.getcwd()}:{gapic_dir}"}
        procs = {
            kind: subprocess.Popen(
                [sys.executable, "-m", "bench.gapic_compare", "--worker", kind, "--target", target],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for kind in KINDS
        }
        try:
            with VideoClient(target) as client:
                name = client.create_video(video={"title": "read"}).result(timeout=60).name
            per_call: dict[str, list[float]] = {kind: [] for kind in KINDS}
            lags: dict[str, list[float]] = {"ours": [], "gapic": []}
            for round_ in range(rounds):
                order = KINDS if round_ % 2 == 0 else tuple(reversed(KINDS))
                for kind in order:
                    answer = _ask(
                        procs[kind], f"get {calls}\n" + (f"{name}\n" if round_ == 0 else "")
                    )
                    per_call[kind].append(answer["per_call"])
            for round_ in range(max(1, rounds // 5)):
                for kind in ("ours", "gapic") if round_ % 2 == 0 else ("gapic", "ours"):
                    lags[kind] += _ask(procs[kind], f"create {creates}\n")["lags"]
        finally:
            for proc in procs.values():
                proc.stdin.close()  # type: ignore[union-attr]
                proc.wait(timeout=30)
            stop()
    return {"per_call": per_call, "lags": lags}


def _ask(proc: subprocess.Popen[str], command: str) -> dict[str, Any]:
    proc.stdin.write(command)  # type: ignore[union-attr]
    proc.stdin.flush()  # type: ignore[union-attr]
    return json.loads(proc.stdout.readline())  # type: ignore[union-attr,no-any-return]


def report(figures: dict[str, Any]) -> None:
    us = {k: statistics.median(v) * 1e6 for k, v in figures["per_call"].items()}
    print("GetVideo, median per call over the rounds (sequential, loopback):")
    for kind in KINDS:
        over = us[kind] - us["stub"]
        print(f"  {kind:<6} {us[kind]:8.0f} µs   overhead over the bare stub {over:6.0f} µs")
    pairs = zip(figures["per_call"]["ours"], figures["per_call"]["gapic"], strict=True)
    ratios = sorted(ours / gapic for ours, gapic in pairs)
    print(
        f"  ours / gapic per call: median of the rounds {statistics.median(ratios):.2f}"
        f" (rounds {ratios[0]:.2f}-{ratios[-1]:.2f})"
    )
    print("create and wait: operation's end to result() returning:")
    for kind, lags in figures["lags"].items():
        ms = sorted(x * 1000 for x in lags)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        print(f"  {kind:<6} n={len(ms):<4} p50 {statistics.median(ms):8.1f} ms  p99 {p99:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gapic-dir", type=Path, default=Path("/tmp/gen"))
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=500, help="GetVideo calls per round")
    parser.add_argument("--creates", type=int, default=20, help="concurrent operations per round")
    parser.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.target)
        return
    report(drive(args.gapic_dir, args.rounds, args.calls, args.creates))


if __name__ == "__main__":
    main()
