"""The progress bar a waiting videoctl draws (client/_follow.py, live_bar.py)."""

from __future__ import annotations

import io

from google.longrunning import operations_pb2

from longreel.client import _follow
from longreel.client.live_bar import LiveBar
from longreel.video.v1 import video_service_pb2 as pb


def _op(percent: int, message: str) -> operations_pb2.Operation:
    op = operations_pb2.Operation(name="operations/x")
    op.metadata.Pack(pb.OperationMetadata(verb="create", progress_percent=percent,
                                          status_message=message))  # fmt: skip
    return op


def test_the_live_bar_ends_showing_the_last_progress_and_message():
    stream = io.StringIO()
    bar = LiveBar(stream)
    bar.show(_op(10, "rendering: step 2 of 10"))
    bar.show(_op(70, "rendering: step 8 of 10"))
    bar.end()
    last = stream.getvalue().strip().splitlines()[-1]
    assert last.startswith("create") and "70%" in last and "rendering: step 8 of 10" in last


def test_off_a_terminal_the_bar_is_a_line_per_change():
    stream = io.StringIO()
    bar = _follow.bar_for(stream)
    for percent, message in [(0, "queued"), (0, "queued"), (50, "half way")]:
        bar.show(_op(percent, message))
    bar.end()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].endswith(" 50%  half way")
