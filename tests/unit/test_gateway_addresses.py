"""The per-address connection cap groups IPv6 addresses by /64, as the
held-call caps do: one host commonly owns the whole /64. In process, with a
stand-in transport: a test cannot own two IPv6 addresses of one /64 without
changing the host's network."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from longreel.gateway import edge, refusals


class Transport(asyncio.Transport):
    def __init__(self, host: str) -> None:
        super().__init__()
        self.peer, self.written, self.closed = (host, 40000), b"", False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": self.peer, "sockname": ("::1", 4000)}.get(name, default)

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


async def _admitted(hosts: list[str]) -> list[bool]:
    kind = edge.protocol(refusals.Limits(max_connections_per_address=2))
    config = uvicorn.Config(app=lambda scope, receive, send: None, http=kind, log_config=None)
    config.load()
    state = ServerState()
    results = []
    for host in hosts:
        transport = Transport(host)
        connection = kind(config=config, server_state=state, app_state={})
        connection.connection_made(transport)
        results.append(not transport.closed)
        if transport.closed:
            assert b" 429 " in transport.written.split(b"\r\n")[0]
    return results


def test_ipv6_addresses_of_one_64_share_the_per_address_cap():
    hosts = ["2001:db8:1:2::1", "2001:db8:1:2::ffff", "2001:db8:1:2:abcd::9", "2001:db8:1:3::1"]
    assert asyncio.run(_admitted(hosts)) == [True, True, False, True]


def test_ipv4_addresses_are_each_their_own():
    assert asyncio.run(_admitted(["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.1"])) == [
        True,
        True,
        True,
        False,
    ]
