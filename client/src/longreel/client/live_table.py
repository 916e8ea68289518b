"""The live table of `videoctl operations list --watch` on a terminal: rich,
which comes with the client's `cli` extra (watch.py falls back to lines)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from google.longrunning import operations_pb2
from google.protobuf import timestamp_pb2
from rich import box
from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ._rows import metadata, state
from .watch import Board

COLUMNS = [  # header, and whether it keeps its width when the table is too wide
    ("OPERATION", False),
    ("VERB", True),
    ("TARGET", False),
    ("STATE", True),
    ("PROGRESS", True),
    ("MESSAGE", False),
    ("CREATED", True),
    ("ENDED", True),
]
COLOURS = {"RUNNING": "cyan", "DONE": "green", "CANCELLED": "yellow"}  # else failed: red


class LiveTable:
    """The board as a table, redrawn in place whenever it changes."""

    def __init__(self, stream: TextIO) -> None:
        self.live = Live(table([]), console=Console(file=stream), auto_refresh=False)
        self.drawn = -1

    def __enter__(self) -> LiveTable:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def show(self, board: Board, changed: list[operations_pb2.Operation]) -> None:
        if board.version != self.drawn:
            self.drawn = board.version
            self.live.update(table(board.rows()), refresh=True)


def table(ops: Iterable[operations_pb2.Operation]) -> Table:
    """Operations with a progress bar each, the state in its colour."""
    grid = Table(box=box.SIMPLE_HEAD, caption="Ctrl-C to stop", caption_justify="left")
    # The long columns give way (cut with …) before the short ones do.
    for header, short in COLUMNS:
        grid.add_column(header, no_wrap=short)
    for op in ops:
        meta, shown = metadata(op), state(op)
        colour = COLOURS.get(shown, "red")
        grid.add_row(
            _cut(op.name.removeprefix("operations/")),
            meta.verb,
            _cut(meta.target),
            Text(shown, style=colour),
            _bar(meta.progress_percent, colour),
            _cut(meta.status_message),
            _clock(meta.create_time),
            _clock(meta.end_time),
        )
    return grid


def _cut(text: str) -> Text:
    return Text(text, no_wrap=True, overflow="ellipsis")


def _bar(percent: int, colour: str) -> Table:
    cell = Table.grid(padding=(0, 1))
    cell.add_row(
        ProgressBar(
            total=100, completed=percent, width=12, complete_style=colour, finished_style=colour
        ),
        f"{percent:3d}%",
    )
    return cell


def _clock(stamp: timestamp_pb2.Timestamp) -> str:
    """Local time of day, with the date when it is not today."""
    if not stamp.seconds:
        return ""
    moment = stamp.ToDatetime(tzinfo=UTC).astimezone()
    today = datetime.now().astimezone().date()
    return moment.strftime("%H:%M:%S" if moment.date() == today else "%Y-%m-%d %H:%M")
