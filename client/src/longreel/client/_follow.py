"""How videoctl waits for an operation: its name first, then a progress
bar until it is done, and Ctrl-C leaves the user with the name to come back
to (`videoctl operations wait NAME`) or, if they say so, cancels it.

The name is printed before the first wait, so that whatever happens next
(Ctrl-C, a lost network, a closed laptop) the user holds what they need to
find the work again, as gcloud's "Waiting for operation [...]" does.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, TextIO, TypeVar

from google.longrunning import operations_pb2

from longreel.video.v1 import video_service_pb2 as pb

from . import _rows
from ._output import Output
from .sync import VideoClient

PROGRESS_SLICE = 0.5  # seconds per WaitOperation while showing progress
T = TypeVar("T")


class Bar(Protocol):
    def show(self, op: operations_pb2.Operation) -> None: ...
    def end(self) -> None: ...


def follow(
    client: VideoClient, op: operations_pb2.Operation, out: Output, *, cancel_on_interrupt: bool
) -> int:
    """Wait for op with a progress bar; end with what it made (the video),
    or the operation and its error (exit 1); Ctrl-C offers to cancel it."""
    print(f"Waiting for operation [{op.name}] to complete...", file=sys.stderr, flush=True)
    bar = bar_for(sys.stderr)
    try:
        while not op.done:
            bar.show(op)
            op = _in_background(client.wait_operation, name=op.name, timeout=PROGRESS_SLICE)
    except KeyboardInterrupt:
        bar.end()
        if cancel_on_interrupt or ask(f"Cancel {op.name}? [y/N] "):
            client.cancel_operation(name=op.name)
            print(f"videoctl: asked {op.name} to cancel", file=sys.stderr)
        else:
            print(f"videoctl: {op.name} goes on; `videoctl operations wait {op.name}`",
                  file=sys.stderr)  # fmt: skip
        return 130
    bar.show(op)
    bar.end()
    return finished(op, out)


def finished(op: operations_pb2.Operation, out: Output) -> int:
    """What a done operation made: the video it created, a confirmation of
    a deletion, or its error on stderr (exit 1)."""
    if op.HasField("error"):
        out.operations([op], single=True)
        code = _rows.code_name(op.error.code)
        print(f"videoctl: {op.name} failed: {code}: {op.error.message}", file=sys.stderr)
        return 1
    video = pb.Video()
    if op.response.Unpack(video):  # a creation ends with the video it made
        return out.videos([video], single=True)
    meta = _rows.metadata(op)
    if meta.verb == "delete":
        print(f"Deleted video [{meta.target}].", file=sys.stderr)
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


def bar_for(stream: TextIO) -> Bar:
    """A live bar (rich, the `cli` extra) on a terminal; a line per change
    for logs, pipes and terminals without rich."""
    if not stream.isatty():
        return ProgressLine(stream)
    try:
        from .live_bar import LiveBar  # rich takes ~80 ms to import: only when drawn
    except ImportError:
        return ProgressLine(stream)
    return LiveBar(stream)


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
