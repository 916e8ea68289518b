"""The gateway's open connections, capped in all and per address.

Every open connection holds a file descriptor and some memory, so their
number is bounded below the process's descriptor limit. When the table is
full, the connection idle longest between keep-alive requests is closed to
make room (its client reconnects as after any keep-alive timeout); only when
none is idle is the newcomer refused. A cap per address keeps one caller
from taking the whole table.

A refused connection closed at once is an invitation to reconnect at once:
a flood of refusals then costs the event loop more than the connections
did, and honest connections wait behind it in the accept queue. So refused
connections are held, unread, for a while before their answer (a tarpit),
as many as the descriptors left beside the table's allow (MAX_HELD at
most); past that they are refused at once.
"""

from __future__ import annotations

import logging
import resource
from collections import OrderedDict
from typing import Protocol

log = logging.getLogger(__name__)

RESERVED_FDS = 256  # descriptors kept for the gRPC channel, logs, files and the listener
RETRY_AFTER = 1  # seconds a refused caller is told to wait
MAX_HELD = 16_384  # refused connections held at most (a few KiB of memory each)


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

    def __init__(self, max_total: int, max_per_address: int, max_held: int = 0) -> None:
        self.max_total = max_total
        self.max_held = max_held
        self.max_per_address = max_per_address
        self._open: dict[Connection, str] = {}
        self._by_address: dict[str, int] = {}
        self._idle: OrderedDict[Connection, None] = OrderedDict()  # oldest idle first
        self._held: set[Connection] = set()  # refused, waiting unread for their answer

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

    def hold(self, connection: Connection) -> bool:
        """Whether a refused connection may be held before its answer (the
        tarpit has room); released by release()."""
        if len(self._held) >= self.max_held:
            return False
        self._held.add(connection)
        return True

    @property
    def held(self) -> int:
        return len(self._held)

    def idle(self, connection: Connection) -> None:
        """It waits for its next keep-alive request: the first to go when room is needed."""
        if connection in self._open:
            self._idle[connection] = None

    def busy(self, connection: Connection) -> None:
        self._idle.pop(connection, None)

    def release(self, connection: Connection) -> None:
        self._idle.pop(connection, None)
        self._held.discard(connection)
        address = self._open.pop(connection, None)
        if address is None:
            return
        left = self._by_address[address] - 1
        if left:
            self._by_address[address] = left
        else:
            del self._by_address[address]


def held_room(connections: int) -> int:
    """How many refused connections the tarpit may hold: the descriptors left
    beside the table's, up to MAX_HELD."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_HELD
    return max(0, min(MAX_HELD, soft - RESERVED_FDS - connections))


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
