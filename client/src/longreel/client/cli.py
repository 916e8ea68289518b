"""`videoctl`: the video service from a terminal, a thin layer over VideoClient.

Exit codes: 0 ok; 1 the call (or the operation waited for) failed, with one
line on stderr naming the status; 2 bad usage; 130 interrupted (but a watch
ends with Ctrl-C: 0).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TextIO, TypeVar

from google.api_core import exceptions
from google.longrunning import operations_pb2
from google.protobuf import json_format
from google.protobuf.message import Message

from longreel.common import numbers
from longreel.common.flags import add_flag
from longreel.video.v1 import video_service_pb2 as pb

from . import _core, _retry, _rows
from .sync import VideoClient

PROGRESS_SLICE = 0.5  # seconds per WaitOperation while showing progress
WATCH_LIMIT = 20  # operations a watch shows when not told
CLI_TIMEOUT = 10.0  # seconds; a person at a terminal should not wait a minute to learn of a typo
MAX_TIMEOUT = 86400.0  # seconds; past a day is a typo
T = TypeVar("T")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="videoctl", description="Create, watch and manage videos and their operations."
    )
    add_flag(
        top, "--target", env="VIDEO_TARGET", type=numbers.host_port,
        default=_core.DEFAULT_TARGET, help="HOST:PORT of the video-server (default: %(default)s)",
    )  # fmt: skip
    add_flag(top, "--token", env="VIDEO_TOKEN",
             help="bearer token for a server that authenticates callers")  # fmt: skip
    top.add_argument("--tls", action="store_true", help="speak TLS, trusting the system's CAs")
    add_flag(top, "--tls-ca", env="VIDEO_TLS_CA", type=Path, metavar="FILE",
             help="speak TLS, trusting the PEM CAs in FILE")  # fmt: skip
    top.add_argument(
        "--tls-cert", type=Path, metavar="FILE", help="client certificate (mutual TLS)"
    )
    top.add_argument("--tls-key", type=Path, metavar="FILE", help="its private key")
    top.add_argument("--output", "-o", choices=["table", "json"], default="table")
    top.add_argument(
        "--timeout",
        type=numbers.float_flag(0, MAX_TIMEOUT, above=True),
        default=CLI_TIMEOUT,
        help="seconds a call may take, retries of an unreachable server included "
        "(default: %(default)s)",
    )
    verbs = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = verbs.add_parser("create", help="start creating a video")
    create.add_argument("--title", required=True)
    create.add_argument("--plot", default="")
    create.add_argument("--id", dest="video_id", help="the video's id (the server picks one)")
    create.add_argument("--request-id", help="idempotency key (default: a fresh UUID)")
    _wait_flags(create)

    verbs.add_parser("get", help="show a video").add_argument("video")
    verbs.add_parser("list", help="list videos")
    delete = verbs.add_parser("delete", help="start deleting a video")
    delete.add_argument("video")
    delete.add_argument("--request-id", help="idempotency key (default: a fresh UUID)")
    _wait_flags(delete)

    ops = verbs.add_parser("operations", aliases=["ops"], help="list and steer operations")
    op_verbs = ops.add_subparsers(dest="op_command", required=True, metavar="OP_COMMAND")
    _list_flags(op_verbs.add_parser("list", help="list operations, or watch them live"))
    for name in ("get", "cancel", "delete"):
        op_verbs.add_parser(name, help=f"{name} an operation").add_argument("operation")
    wait = op_verbs.add_parser("wait", help="wait for an operation, showing progress")
    wait.add_argument("operation")
    wait.add_argument("--cancel-on-interrupt", action="store_true")
    return top


def _list_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument("--filter", default="", help='AIP-160, e.g. "done = false"')
    command.add_argument(
        "--limit",
        type=numbers.int_flag(1, 2**31 - 1),
        metavar="N",
        help=f"at most N operations (default: all; with --watch, {WATCH_LIMIT})",
    )
    command.add_argument(
        "--watch",
        "-w",
        action="store_true",
        help="keep watching until Ctrl-C: unfinished operations and new ones, newest first. "
        "Each unfinished one is long-polled (WaitOperation) a second at a time, so a finish "
        "shows at once and progress about once a second; new operations show within "
        "seconds. A live table on a terminal; otherwise (or with -o json) a line, "
        "or a JSON object, per change",
    )


def _wait_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument("--wait", action="store_true", help="wait, showing progress")
    command.add_argument(
        "--cancel-on-interrupt",
        action="store_true",
        help="with --wait: cancel the operation on Ctrl-C without asking",
    )


def main(argv: Sequence[str] | None = None) -> int:
    command = parser()
    args = command.parse_args(argv)
    credentials = None
    if args.tls or args.tls_ca or args.tls_cert or args.tls_key:
        try:
            credentials = _core.tls_credentials(args.tls_ca, args.tls_cert, args.tls_key)
        except (OSError, ValueError) as exc:
            command.error(f"TLS: {getattr(exc, 'strerror', None) or exc}")
    try:
        _core.refuse_plaintext_token(args.target, args.token, credentials is not None)
    except ValueError as exc:
        command.error(f"{exc} (--tls or --tls-ca)")
    out = Output(args.output, sys.stdout)
    try:
        retry = _core.default_retry(_retry.Retry).with_timeout(args.timeout)
        with VideoClient(
            args.target,
            credentials=credentials,
            token=args.token,
            timeout=args.timeout,
            retry=retry,
        ) as client:
            return run(client, args, out)
    except exceptions.GoogleAPICallError as error:
        print(f"videoctl: {failure(error)}", file=sys.stderr)
        return 1
    except exceptions.RetryError as error:
        cause = getattr(error.cause, "message", None) or error.cause
        print(
            f"videoctl: UNAVAILABLE: cannot reach {args.target} within {args.timeout:g} s: {cause}",
            file=sys.stderr,
        )
        return 1


def failure(error: exceptions.GoogleAPICallError) -> str:
    """One line naming the status; an answer past our receive limit is not
    the server's RESOURCE_EXHAUSTED (no retry helps), so it says so."""
    code = error.grpc_status_code.name if error.grpc_status_code else "ERROR"
    if code == "RESOURCE_EXHAUSTED" and "message larger than max" in str(error.message):
        return f"RESPONSE_TOO_LARGE: the answer was too large for videoctl ({error.message})"
    return f"{code}: {error.message}"


def run(client: VideoClient, args: argparse.Namespace, out: Output) -> int:
    if args.command == "create":
        video = {"title": args.title, "plot": args.plot}
        request = {
            "video": video,
            "video_id": args.video_id or "",
            "request_id": args.request_id or "",
        }
        op = client.create_video(request=request).operation
        return follow(client, op, args, out) if args.wait else out.operations([op], single=True)
    if args.command == "get":
        return out.videos([client.get_video(name=args.video)], single=True)
    if args.command == "list":
        return out.videos(client.list_videos())
    if args.command == "delete":
        request = {"name": _core.video_name(args.video), "request_id": args.request_id or ""}
        op = client.delete_video(request=request).operation
        return follow(client, op, args, out) if args.wait else out.operations([op], single=True)
    name = getattr(args, "operation", "")
    if args.op_command == "list":
        return list_operations(client, args, out)
    if args.op_command == "get":
        return out.operations([client.get_operation(name=name)], single=True)
    if args.op_command == "cancel":
        client.cancel_operation(name=name)
        print(f"videoctl: asked {_core.operation_name(name)} to cancel", file=sys.stderr)
        return out.operations([client.get_operation(name=name)], single=True)
    if args.op_command == "delete":
        client.delete_operation(name=name)
        return 0
    return follow(client, client.get_operation(name=name), args, out)


def list_operations(client: VideoClient, args: argparse.Namespace, out: Output) -> int:
    if args.watch:
        from . import watch  # rich takes ~80 ms to import, and only the watch draws with it

        view = watch.view_for(args.output, sys.stdout)
        return watch.watch(client, args.filter, args.limit or WATCH_LIMIT, view)
    found = client.list_operations(request={"filter": args.filter, "page_size": args.limit or 0})
    return out.operations(itertools.islice(found, args.limit))


def follow(
    client: VideoClient, op: operations_pb2.Operation, args: argparse.Namespace, out: Output
) -> int:
    """Wait for op with a progress line; Ctrl-C offers to cancel it."""
    bar = ProgressLine(sys.stderr)
    try:
        while not op.done:
            bar.show(op)
            op = _in_background(client.wait_operation, name=op.name, timeout=PROGRESS_SLICE)
    except KeyboardInterrupt:
        bar.end()
        if args.cancel_on_interrupt or ask(f"Cancel {op.name}? [y/N] "):
            client.cancel_operation(name=op.name)
            print(f"videoctl: asked {op.name} to cancel", file=sys.stderr)
        else:
            print(f"videoctl: {op.name} goes on; `videoctl operations wait {op.name}`",
                  file=sys.stderr)  # fmt: skip
        return 130
    bar.show(op)
    bar.end()
    if op.HasField("error"):
        out.operations([op], single=True)
        code = _rows.code_name(op.error.code)
        print(f"videoctl: {op.name} failed: {code}: {op.error.message}", file=sys.stderr)
        return 1
    video = pb.Video()
    if op.response.Unpack(video):  # a creation ends with the video it made
        return out.videos([video], single=True)
    return out.operations([op], single=True)


def _in_background(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """call(...) on a daemon thread while this one waits for it: Ctrl-C then
    lands here, never inside a blocking gRPC call, where a signal can leave
    the channel unusable for the cancel that follows (grpc/grpc#19973), and
    an abandoned call does not hold the process open at exit."""
    result: Future[T] = Future()

    def run() -> None:
        try:
            result.set_result(call(*args, **kwargs))
        except BaseException as exc:  # handed to the caller, whatever it is
            result.set_exception(exc)

    threading.Thread(target=run, name="videoctl-call", daemon=True).start()
    return result.result()


def ask(question: str) -> bool:
    """A yes/no question on stderr (stdout may be a file of JSON)."""
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(question)
    sys.stderr.flush()
    try:
        return sys.stdin.readline().strip().lower() in ("y", "yes")
    except KeyboardInterrupt:
        return False


class ProgressLine:
    """`[#####.....]  50%  rendering: step 5 of 10` — redrawn in place on a
    terminal, a new line per change otherwise (logs, pipes)."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = ""

    def show(self, op: operations_pb2.Operation) -> None:
        meta = _rows.metadata(op)
        filled = self.WIDTH * meta.progress_percent // 100
        bar = "#" * filled + "." * (self.WIDTH - filled)
        line = f"[{bar}] {meta.progress_percent:3d}%  {meta.status_message}"
        if line == self.last:
            return
        self.last = line
        self.stream.write(f"\r\033[K{line}" if self.tty else f"{line}\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self.last:
            self.stream.write("\n")
            self.stream.flush()


class Output:
    def __init__(self, form: str, stream: TextIO) -> None:
        self.json = form == "json"
        self.stream = stream

    """Tables for people; JSON (protobuf's mapping) for scripts: an object for
    one resource, an array from a list command, even of one item."""

    def videos(self, videos: Iterable[pb.Video], *, single: bool = False) -> int:
        videos = list(videos)
        rows = [[v.name, v.title, _rows.time(v.create_time)] for v in videos]
        return self._emit(videos, ["NAME", "TITLE", "CREATED"], rows, single)

    def operations(self, ops: Iterable[operations_pb2.Operation], *, single: bool = False) -> int:
        ops = list(ops)
        rows = [_rows.operation_row(op) for op in ops]
        header = ["NAME", "VERB", "TARGET", "STATE", "PROGRESS", "MESSAGE"]
        return self._emit(ops, header, rows, single)

    def _emit(
        self, messages: Iterable[Message], header: list[str], rows: list[list[str]], single: bool
    ) -> int:
        if self.json:
            items = [json_format.MessageToDict(m) for m in messages]
            json.dump(items[0] if single else items, self.stream, indent=2)
            self.stream.write("\n")
            return 0
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stream.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
            self.stream.write("\n")
        return 0


if __name__ == "__main__":
    from ._launch import main as launch

    launch()
