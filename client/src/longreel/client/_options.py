"""Where a client connects and how it proves who it is, from the arguments
google-cloud-* clients take (`client_options=`, `credentials=`) as well as
our own (`target`, grpc channel credentials).

- `target` or `ClientOptions(api_endpoint=...)` (or a dict of its fields):
  the server; giving both, differently, is an error rather than a guess.
- `credentials=`: grpc.ChannelCredentials (TLS, as `tls_credentials()`
  makes), or a google.auth credentials object, sent as call credentials on
  TLS (as GAPIC's transports do, through google.auth.transport.grpc); to a
  loopback target, on gRPC's local credentials instead, since a local
  server has no certificate a system would trust, and a token sent there
  does not leave the machine.
- `ClientOptions(client_cert_source=...)`: a callable answering (cert, key)
  in PEM, presented for mutual TLS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.api_core import client_options as client_options_lib

from longreel.common.net import is_loopback

DEFAULT_TARGET = "localhost:50051"


@dataclass(frozen=True, slots=True)
class Where:
    """A resolved endpoint: the target, and the channel credentials (None = plaintext)."""

    target: str
    credentials: grpc.ChannelCredentials | None


def resolve(target: str | None, options: Any, credentials: Any) -> Where:
    """The target and channel credentials the arguments mean."""
    opts = _client_options(options)
    endpoint = opts.api_endpoint
    if target and endpoint and target != endpoint:
        raise ValueError(f"target {target!r} and api_endpoint {endpoint!r} disagree: give one")
    where = target or endpoint or DEFAULT_TARGET
    return Where(where, _channel_credentials(credentials, opts.client_cert_source, where))


def _client_options(options: Any) -> client_options_lib.ClientOptions:
    if options is None:
        return client_options_lib.ClientOptions()
    if isinstance(options, Mapping):
        return client_options_lib.from_dict(dict(options))
    if isinstance(options, client_options_lib.ClientOptions):
        return options
    raise TypeError(f"client_options must be a ClientOptions or a dict, not {options!r}")


def _channel_credentials(
    credentials: Any, cert_source: Any, target: str
) -> grpc.ChannelCredentials | None:
    if isinstance(credentials, grpc.ChannelCredentials):
        if cert_source is not None:
            raise ValueError(
                "give the client certificate in credentials or client_cert_source, not both"
            )
        return credentials
    if credentials is None and cert_source is None:
        return None
    tls = _tls(cert_source)
    if credentials is None:
        return tls
    local = cert_source is None and is_loopback(target)
    channel = grpc.local_channel_credentials() if local else tls
    return grpc.composite_channel_credentials(channel, _call_credentials(credentials))


def _tls(cert_source: Any) -> grpc.ChannelCredentials:
    """TLS trusting the system's roots, with the client certificate if one is given."""
    if cert_source is None:
        return grpc.ssl_channel_credentials()
    cert, key = cert_source()
    return grpc.ssl_channel_credentials(certificate_chain=cert, private_key=key)


def _call_credentials(credentials: Any) -> grpc.CallCredentials:
    """A google.auth credentials object as gRPC call credentials: each call
    carries its (refreshed when due) access token, as GAPIC's channels do."""
    import google.auth.credentials
    from google.auth.transport import grpc as auth_grpc
    from google.auth.transport import requests as auth_requests

    if not isinstance(credentials, google.auth.credentials.Credentials):
        raise TypeError(
            "credentials must be grpc.ChannelCredentials or google.auth credentials, "
            f"not {credentials!r}"
        )
    plugin = auth_grpc.AuthMetadataPlugin(credentials, auth_requests.Request())  # type: ignore[no-untyped-call]
    return grpc.metadata_call_credentials(plugin)
