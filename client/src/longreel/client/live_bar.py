"""The progress bar of a waiting `videoctl create`/`delete`/`operations
wait` on a terminal: rich, which comes with the client's `cli` extra
(_follow.py falls back to a plain line without it)."""

from __future__ import annotations

from typing import TextIO

from google.longrunning import operations_pb2
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column

from ._rows import metadata


class LiveBar:
    """One bar, redrawn in place: verb, bar, percent, time so far, the
    operation's status message."""

    def __init__(self, stream: TextIO) -> None:
        # The status message comes last, and is the one cut on a narrow terminal.
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn(
                "{task.fields[message]}",
                table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
            ),
            console=Console(file=stream),
        )
        self.task: TaskID | None = None

    def show(self, op: operations_pb2.Operation) -> None:
        meta = metadata(op)
        if self.task is None:
            self.progress.start()
            label = meta.verb or "waiting"  # the name was printed above it
            self.task = self.progress.add_task(label, total=100, message="")
        self.progress.update(
            self.task, completed=meta.progress_percent, message=meta.status_message
        )

    def end(self) -> None:
        if self.task is not None:
            self.progress.stop()
