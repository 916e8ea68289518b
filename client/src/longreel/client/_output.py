"""What videoctl prints on stdout, as `--format` (or `-o`) says: tables for
people; for scripts, protobuf's JSON mapping as JSON or YAML (an object for
one resource, a list from a list command, even of one item), or gcloud's
`value(FIELD,...)`: the fields of each resource, tab-separated, a line each.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from google.longrunning import operations_pb2
from google.protobuf import json_format
from google.protobuf.message import Message

from longreel.video.v1 import video_service_pb2 as pb

from . import _rows

FORMATS = "table, json, yaml or value(FIELD[,FIELD...])"
_VALUE = re.compile(r"value\(\s*([\w.]+(?:\s*,\s*[\w.]+)*)\s*\)")


@dataclass(frozen=True)
class Format:
    kind: str  # table, json, yaml, value
    fields: tuple[str, ...] = ()


def format_flag(text: str) -> Format:
    """`--format`'s value; a bad one is a usage error naming the forms."""
    text = text.strip()
    if text in ("table", "json", "yaml"):
        return Format(text)
    match = _VALUE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r}: use {FORMATS}")
    return Format("value", tuple(f.strip() for f in match.group(1).split(",")))


def lookup(item: dict[str, Any], path: str) -> str:
    """A dotted field of a resource's JSON mapping, by its JSON (camelCase)
    or proto (snake_case) name; "" where absent, JSON for a message or list."""
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part, value.get(_camel(part), ""))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


class Output:
    """Resources on `stream` in the chosen format."""

    def __init__(self, form: Format, stream: TextIO) -> None:
        self.form = form
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
        if self.form.kind == "table":
            self._table([header, *rows])
            return 0
        items = [json_format.MessageToDict(m) for m in messages]
        if self.form.kind == "value":
            for item in items:
                self.stream.write("\t".join(lookup(item, f) for f in self.form.fields) + "\n")
        elif self.form.kind == "yaml":
            import yaml  # the `cli` extra; only this format needs it

            plain = json.loads(json.dumps(items))  # Any fields come as OrderedDicts
            yaml.safe_dump(plain[0] if single else plain, self.stream, sort_keys=False)
        else:
            json.dump(items[0] if single else items, self.stream, indent=2)
            self.stream.write("\n")
        return 0

    def _table(self, rows: list[list[str]]) -> None:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stream.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
            self.stream.write("\n")
