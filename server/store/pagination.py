"""Opaque page tokens (AIP-158) that the server can tell were tampered with.

A token carries the keyset position (the last `seq` returned) and a digest of
the query it belongs to, signed with HMAC-SHA256 under the store's secret, so
any server sharing the database accepts it and nobody can forge or reuse one
for a different filter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

_VERSION = 1
_LAYOUT = struct.Struct(">BQ16s")  # version, last seq, query digest
_MAC_BYTES = 16


class InvalidPageToken(ValueError):
    pass


class PageTokens:
    def __init__(self, secret: bytes = b"") -> None:
        self.secret = secret  # the store's; a server sets it once the store is open

    def encode(self, last_seq: int, query: str) -> str:
        body = _LAYOUT.pack(_VERSION, last_seq, _digest(query))
        raw = body + self._mac(body)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, token: str, query: str) -> int:
        """The last seq of the previous page; 0 for an empty token."""
        if not token:
            return 0
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise InvalidPageToken("the page token is not one this server issued") from None
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if len(body) != _LAYOUT.size or not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidPageToken("the page token is not one this server issued")
        version, last_seq, digest = _LAYOUT.unpack(body)
        if version != _VERSION or digest != _digest(query):
            raise InvalidPageToken("the page token belongs to a request with other parameters")
        return int(last_seq)

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self.secret, body, hashlib.sha256).digest()[:_MAC_BYTES]


def _digest(query: str) -> bytes:
    return hashlib.sha256(query.encode()).digest()[:16]
