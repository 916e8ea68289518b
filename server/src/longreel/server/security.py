"""The server's security settings turned into working parts: TLS credentials,
the authenticator, and the rule that plaintext stays on loopback.

Every mistake in the settings is a ConfigError with a message for a person,
raised before the server opens anything.
"""

from __future__ import annotations

import math
import ssl
from pathlib import Path

import grpc

from longreel.common.net import is_loopback

from .auth import ApiKeys, Authenticator, Jwts
from .config import Config, ConfigError
from .gate import Gate, RateLimit, trusted_proxies

AUTH_MODES = ("none", "api-keys", "jwt")


def server_credentials(config: Config) -> grpc.ServerCredentials | None:
    """TLS credentials from the configured files; None for plaintext (loopback
    only, unless the operator said --insecure)."""
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ConfigError("--tls-cert and --tls-key go together")
    if config.tls_cert is None or config.tls_key is None:
        if config.tls_client_ca is not None:
            raise ConfigError("--tls-client-ca needs --tls-cert and --tls-key")
        if not config.insecure and not is_loopback(config.listen):
            raise ConfigError(
                f"refusing to serve plaintext on {config.listen}, which is not loopback:"
                " give --tls-cert and --tls-key, or --insecure if something in front"
                " terminates TLS"
            )
        return None
    key, cert = _read(config.tls_key, "--tls-key"), _read(config.tls_cert, "--tls-cert")
    client_ca = (
        None if config.tls_client_ca is None else _read(config.tls_client_ca, "--tls-client-ca")
    )
    # gRPC would only say that the port could not be bound: check the files here.
    check = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        check.load_cert_chain(config.tls_cert, config.tls_key)
    except ssl.SSLError as exc:
        raise ConfigError(f"--tls-cert/--tls-key: not a certificate and its key: {exc}") from None
    if config.tls_client_ca is not None:
        try:
            check.load_verify_locations(cafile=config.tls_client_ca)
        except ssl.SSLError as exc:
            raise ConfigError(f"--tls-client-ca: not PEM certificates: {exc}") from None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def describe(config: Config) -> str:
    """How callers reach this server, for the line it prints on start."""
    wire = "plaintext" if config.tls_cert is None else "TLS"
    if config.tls_client_ca is not None:
        wire = "mutual TLS"
    auth = "no authentication" if config.auth == "none" else f"auth {config.auth}"
    return f"gRPC, {wire}, {auth}"


def gate(config: Config) -> Gate:
    authenticator: Authenticator | None = None
    if config.auth not in AUTH_MODES:
        raise ConfigError(f"--auth must be one of {', '.join(AUTH_MODES)}")
    if config.auth == "api-keys":
        if config.api_keys_file is None:
            raise ConfigError("--auth api-keys needs --api-keys-file FILE")
        authenticator = ApiKeys.load(config.api_keys_file)
    elif config.auth == "jwt":
        if config.jwt_key is None:
            raise ConfigError("--auth jwt needs --jwt-key FILE")
        authenticator = Jwts.load(config.jwt_key, config.jwt_issuer, config.jwt_audience)
    if not 0 <= config.rate_limit < math.inf:
        raise ConfigError("--rate-limit must be a number of calls a second, 0 or more")
    limit = RateLimit(config.rate_limit) if config.rate_limit > 0 else None
    per_minute = config.failed_login_limit
    if not 0 <= per_minute < math.inf:
        raise ConfigError("--failed-login-limit must be a number of logins a minute, 0 or more")
    if 0 < per_minute < 1:
        raise ConfigError("--failed-login-limit must be 0 (no limit) or 1 or more a minute")
    failures = RateLimit(per_minute / 60, burst=max(1.0, per_minute)) if per_minute > 0 else None
    try:
        trusted = trusted_proxies(config.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(f"--trusted-proxies: {exc}") from None
    return Gate(authenticator, limit, failures, trusted)


def _read(path: Path, flag: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{flag}: cannot read {path}: {exc.strerror}") from None
    if b"-----BEGIN" not in data:
        raise ConfigError(f"{flag}: {path} is not a PEM file")
    return data
