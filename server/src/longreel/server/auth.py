"""Who is calling: a bearer token in `authorization`, checked against static
API keys (a file) or as a signed JWT (PyJWT), becomes the caller's principal.

Every operation and video belongs to the principal that created it; the
handlers read it with caller(), from PRINCIPAL, which the registry sets
before each call.
Without authentication every caller is the same principal, ''. No token,
nor any part of one, is ever logged or echoed back.
"""

from __future__ import annotations

import hashlib
import hmac
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .config import ConfigError

# No default: a handler that somehow ran without passing the gate must fail,
# not act as '' (the principal of every caller when auth is off).
PRINCIPAL: ContextVar[str] = ContextVar("principal")
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
MAX_TOKEN = 8_192  # characters; a header longer than this is not a token of ours
MIN_API_KEY = 20  # characters
MIN_HMAC_KEY = 32  # bytes: RFC 7518 asks for at least the hash's size for HS256


def caller() -> str:
    """The principal of the call being served (set by the gate)."""
    try:
        return PRINCIPAL.get()
    except LookupError:
        raise RuntimeError("a handler ran without passing the gate") from None


class Unauthenticated(Exception):
    """Credentials missing or refused; `reason` is for ErrorInfo, str() for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Authenticator(Protocol):
    def principal(self, token: str) -> str:
        """The caller the token names; raises Unauthenticated."""
        ...


def bearer(header: str | None) -> str:
    """The token in an `authorization: Bearer <token>` value."""
    if not header:
        raise Unauthenticated("CREDENTIALS_MISSING", "this call needs a bearer token")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN:
        raise Unauthenticated(
            "CREDENTIALS_MALFORMED", "the authorization value must be 'Bearer <token>'"
        )
    return token


class ApiKeys:
    """Static keys from a file of `token principal` lines (# starts a comment).

    Tokens are kept as SHA-256 digests and compared in constant time."""

    def __init__(self, keys: dict[bytes, str]) -> None:
        self._keys = keys

    @classmethod
    def load(cls, path: Path) -> ApiKeys:
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read the API keys file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8 text") from None
        keys: dict[bytes, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ConfigError(f"{path}:{number}: expected 'token principal'")
            if len(parts[0]) < MIN_API_KEY:
                raise ConfigError(
                    f"{path}:{number}: a token must be at least {MIN_API_KEY} characters"
                    " (e.g. `openssl rand -hex 16`), or it can be guessed"
                )
            keys[_digest(parts[0])] = parts[1]
        if not keys:
            raise ConfigError(f"{path} holds no API keys")
        return cls(keys)

    def principal(self, token: str) -> str:
        digest = _digest(token)
        found = ""
        for known, principal in self._keys.items():  # every key, so time does not tell
            if hmac.compare_digest(known, digest):
                found = principal
        if not found:
            raise Unauthenticated("TOKEN_INVALID", "the API key is not valid")
        return found


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Jwts:
    """JWTs signed with a configured key; the principal is the `sub` claim.

    A PEM public key allows the asymmetric algorithms, anything else is an
    HMAC secret for HS256. `exp` is required; issuer and audience are checked
    when configured."""

    key: Any  # a public key object, or an HMAC secret
    algorithms: tuple[str, ...]
    issuer: str | None = None
    audience: str | None = None
    leeway: float = 30.0  # seconds of clock skew forgiven

    @classmethod
    def load(cls, path: Path, issuer: str | None, audience: str | None) -> Jwts:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the JWT key file {path}: {exc.strerror}") from None
        if b"-----BEGIN" in raw:
            if b"PRIVATE KEY" in raw:
                raise ConfigError(f"{path} holds a private key; give the server the public key")
            key = _public_key(path, raw)
            return cls(key, _algorithms(path, key), issuer, audience)
        secret = raw.strip()
        if len(secret) < MIN_HMAC_KEY:
            raise ConfigError(f"{path}: an HMAC secret must be at least {MIN_HMAC_KEY} bytes")
        return cls(secret, ("HS256",), issuer, audience)

    def principal(self, token: str) -> str:
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=list(self.algorithms),
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("TOKEN_EXPIRED", "the token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated("TOKEN_INVALID", f"the token is not valid: {exc}") from None
        except (jwt.PyJWTError, ValueError, TypeError):  # e.g. an algorithm the key cannot do
            raise Unauthenticated("TOKEN_INVALID", "the token is not valid") from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("TOKEN_INVALID", "the token's subject is empty")
        return subject


def _public_key(path: Path, raw: bytes) -> PublicKey:
    """The public key in a PEM file: a bare key, or the one in a certificate."""
    key: Any
    try:
        if b"CERTIFICATE" in raw:
            key = x509.load_pem_x509_certificate(raw).public_key()
        else:
            key = serialization.load_pem_public_key(raw)
    except ValueError as exc:
        raise ConfigError(f"{path} is not a PEM public key or certificate: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise ConfigError(f"{path}: JWTs are checked with RSA, EC or Ed25519 keys only")
    return key


def _algorithms(path: Path, key: PublicKey) -> tuple[str, ...]:
    """Only what this kind of key signs with: a token naming another algorithm
    is refused before any verification."""
    if isinstance(key, rsa.RSAPublicKey):
        return ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
    if isinstance(key, ec.EllipticCurvePublicKey):
        by_curve = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
        if key.curve.name not in by_curve:
            raise ConfigError(f"{path}: the EC curve {key.curve.name} has no JWT algorithm")
        return (by_curve[key.curve.name],)
    return ("EdDSA",)
