"""Opaque page tokens (AIP-158) that say nothing to the caller and that the
server can tell were tampered with.

A token carries the keyset position (the last `seq` returned) and a digest of
the query it belongs to, encrypted and authenticated with AES-GCM under a key
derived from the store's secret, so any server sharing the database accepts
it, nobody can forge or reuse one for a different filter, and no caller can
read the global sequence number out of it (which would tell one tenant how
busy the others are).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = 2
_LAYOUT = struct.Struct(">BQ16s")  # version, last seq, query digest
_NONCE_BYTES = 12
_TAG_BYTES = 16


class InvalidPageToken(ValueError):
    pass


class PageTokens:
    def __init__(self, secret: bytes = b"") -> None:
        self.secret = secret  # the store's; a server sets it once the store is open

    @property
    def secret(self) -> bytes:
        return self._secret

    @secret.setter
    def secret(self, value: bytes) -> None:
        self._secret = value
        key = HKDF(hashes.SHA256(), 32, salt=None, info=b"longreel page tokens").derive(value)
        self._aead = AESGCM(key)

    def encode(self, last_seq: int, query: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, _LAYOUT.pack(_VERSION, last_seq, _digest(query)), None)
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def decode(self, token: str, query: str) -> int:
        """The last seq of the previous page; 0 for an empty token."""
        if not token:
            return 0
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            if len(raw) != _NONCE_BYTES + _LAYOUT.size + _TAG_BYTES:
                raise ValueError(len(raw))
            body = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
        except (binascii.Error, ValueError, InvalidTag):
            raise InvalidPageToken("the page token is not one this server issued") from None
        version, last_seq, digest = _LAYOUT.unpack(body)
        if version != _VERSION or digest != _digest(query):
            raise InvalidPageToken("the page token belongs to a request with other parameters")
        return int(last_seq)


def _digest(query: str) -> bytes:
    return hashlib.sha256(query.encode()).digest()[:16]
