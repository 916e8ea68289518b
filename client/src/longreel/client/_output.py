"""What videoctl prints on stdout: tables for people; JSON (protobuf's
mapping) for scripts: an object for one resource, an array from a list
command, even of one item."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from google.longrunning import operations_pb2
from google.protobuf import json_format
from google.protobuf.message import Message

from longreel.video.v1 import video_service_pb2 as pb

from . import _rows


class Output:
    """A table or JSON, as `--output` says, on `stream`."""

    def __init__(self, form: str, stream: TextIO) -> None:
        self.json = form == "json"
        self.stream = stream

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
