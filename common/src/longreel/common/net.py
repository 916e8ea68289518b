"""Addresses: plaintext and tokens are allowed on loopback only."""

from __future__ import annotations

import ipaddress


def is_loopback(address: str) -> bool:
    """Whether HOST:PORT (a name or an address, IPv6 in brackets) is this
    machine's loopback interface, and so not reachable from elsewhere."""
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
