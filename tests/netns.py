"""Machines for the tests out of network namespaces: a bridge in the root
namespace, and per machine a namespace joined to it by a veth pair, its own
loopback and nothing else. Services of the root namespace are reached at the
bridge's address, as another host's would be; PostgreSQL, which listens on
loopback only, through a relay the test process runs there.

Where namespaces cannot be made (not root, no `ip`) the tests skip with one
line, except on CI (CI=true), where they fail (as databases.py does).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

IP = shutil.which("ip")
HOW = "two-machine tests need root and `ip` (iproute2) to make network namespaces"


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{HOW} ({reason})")
    pytest.skip(f"{HOW} ({reason})")


def ip(*args: str) -> str:
    assert IP is not None
    done = subprocess.run([IP, *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _free_subnet() -> str:
    """A 10.x.0 /24 on no interface or route of the root namespace."""
    used = ip("-4", "addr") + ip("-4", "route")
    for second in range(77, 100):
        prefix = f"10.{second}.0"
        if f" {prefix}." not in used:
            return prefix
    raise RuntimeError("no free 10.x.0.0/24 for the test bridge")


@dataclass
class Machine:
    """A network namespace standing in for a host, with its own data directory."""

    name: str  # the namespace
    address: str  # its veth's address on the bridge
    folder: Path
    interface: str  # its end of the veth pair
    said: str = ""  # the first line of the last program started
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def spawn(
        self, tag: str, command: list[str], env: dict[str, str]
    ) -> tuple[subprocess.Popen[str], str, Path]:
        """A command run in this namespace, once it said its first line on
        stdout; that line; its log (stderr)."""
        log = self.folder / f"{tag}.log"
        assert IP is not None
        with log.open("w") as err:
            process = subprocess.Popen(
                [IP, "netns", "exec", self.name, *command],
                stdout=subprocess.PIPE, stderr=err, text=True, env={**os.environ, **env},
            )  # fmt: skip
        self.processes.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, f"{tag} on {self.name} did not start: {log.read_text()[-2000:]}"
        return process, line, log

    def pids(self) -> list[int]:
        """Every process in the namespace (ip netns pids)."""
        return [int(pid) for pid in ip("netns", "pids", self.name).split()]

    def kill_all(self) -> list[int]:
        """SIGKILL every process of the machine; the pids killed."""
        killed = self.pids()
        for pid in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            if process.stdout:
                process.stdout.close()
        self.processes.clear()
        return killed


class Relay:
    """TCP from LISTEN to TARGET, on an event loop in a thread of the test
    process: how the namespaces reach a service bound to loopback."""

    def __init__(self, host: str, port: int, target: tuple[str, int]) -> None:
        self.target = target
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.connections = 0
        start = asyncio.start_server(self._serve, host, port)
        self.server = asyncio.run_coroutine_threadsafe(start, self.loop).result(timeout=10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:  # one side gone: close both, as a dropped connection would
                writer.close()
                up_writer.close()

        with contextlib.suppress(asyncio.CancelledError):  # the relay closing
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def close(self) -> None:
        async def close() -> None:
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class Network:
    """The bridge and its machines."""

    host: str  # the root namespace's address on the bridge
    machines: list[Machine]


@contextlib.contextmanager
def network(folder: Path, count: int = 2) -> Iterator[Network]:
    """COUNT machines on a fresh bridge; all of it (and every process in the
    namespaces) gone afterwards, however the test ended."""
    if IP is None:
        _missing("ip not found")
    if os.geteuid() != 0:
        _missing("not root")
    tag = f"{os.getpid() % 100000}"
    bridge = f"lrbr{tag}"
    machines: list[Machine] = []
    try:
        try:
            prefix = _free_subnet()
            ip("link", "add", bridge, "type", "bridge")
        except RuntimeError as exc:
            _missing(str(exc))
        ip("addr", "add", f"{prefix}.1/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        for n in range(count):
            letter = "abcdefgh"[n]
            name = f"lr-{tag}-{letter}"
            outside, inside = f"lr{tag}{letter}0", f"lr{tag}{letter}1"
            ip("netns", "add", name)
            machine = Machine(name, f"{prefix}.{n + 2}", folder / f"machine-{letter}", inside)
            machine.folder.mkdir(parents=True)
            machines.append(machine)
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", inside, "netns", name)
            ip("link", "set", outside, "master", bridge, "up")
            ip("-n", name, "addr", "add", f"{machine.address}/24", "dev", inside)
            ip("-n", name, "link", "set", inside, "up")
            ip("-n", name, "link", "set", "lo", "up")
        yield Network(f"{prefix}.1", machines)
    finally:
        for machine in machines:
            with contextlib.suppress(RuntimeError):
                machine.kill_all()
            # The pair first: a namespace outlives its deletion while a socket
            # of a killed process (an orphan still closing) holds it.
            with contextlib.suppress(RuntimeError):
                ip("-n", machine.name, "link", "del", machine.interface)
            with contextlib.suppress(RuntimeError):
                ip("netns", "del", machine.name)
        with contextlib.suppress(RuntimeError):
            ip("link", "del", bridge)
