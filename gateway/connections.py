"""The gateway's open connections, capped in all and per address.

Every open connection holds a file descriptor and some memory, so their
number is bounded below the process's descriptor limit. When the table is
full, the connection idle longest between keep-alive requests is closed to
make room (its client reconnects as after any keep-alive timeout); only when
none is idle is the newcomer refused. A cap per address keeps one caller
from taking the whole table.
"""

from __future__ import annotations

import logging
import resource
from collections import OrderedDict
from typing import Protocol

log = logging.getLogger(__name__)

RESERVED_FDS = 256  # descriptors kept for the gRPC channel, logs, files and the listener
RETRY_AFTER = 1  # seconds a refused caller is told to wait


class Connection(Protocol):
    def evict(self) -> None:
        """Close now: it is idle and its place is needed."""


class TooMany(Exception):
    """A new connection is refused: the table is full, or its address has its share."""

    def __init__(self, per_address: bool) -> None:
        super().__init__("per address" if per_address else "in all")
        self.per_address = per_address


class Connections:
    """Admission, idleness and release of the connections of one server."""

    def __init__(self, max_total: int, max_per_address: int) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self._open: dict[Connection, str] = {}
        self._by_address: dict[str, int] = {}
        self._idle: OrderedDict[Connection, None] = OrderedDict()  # oldest idle first

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, connection: Connection, address: str) -> None:
        """Count a new connection in, evicting an idle one if the table is full;
        or raise TooMany."""
        if self._by_address.get(address, 0) >= self.max_per_address:
            raise TooMany(per_address=True)
        if len(self._open) >= self.max_total:
            if not self._idle:
                raise TooMany(per_address=False)
            oldest, _ = self._idle.popitem(last=False)
            self.release(oldest)
            oldest.evict()
        self._open[connection] = address
        self._by_address[address] = self._by_address.get(address, 0) + 1

    def idle(self, connection: Connection) -> None:
        """It waits for its next keep-alive request: the first to go when room is needed."""
        if connection in self._open:
            self._idle[connection] = None

    def busy(self, connection: Connection) -> None:
        self._idle.pop(connection, None)

    def release(self, connection: Connection) -> None:
        self._idle.pop(connection, None)
        address = self._open.pop(connection, None)
        if address is None:
            return
        left = self._by_address[address] - 1
        if left:
            self._by_address[address] = left
        else:
            del self._by_address[address]


def fit_to_fd_limit(wanted: int) -> int:
    """wanted, or fewer if the descriptor limit cannot hold that many connections."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    room = max(1, soft - RESERVED_FDS)
    if wanted > room:
        log.warning(
            "--max-connections %d lowered to %d: the open-files limit is %d", wanted, room, soft
        )
    return min(wanted, room)
