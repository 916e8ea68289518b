"""A Prometheus registry served at HOST:PORT/metrics, on a port of its own."""

from __future__ import annotations

from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server


class MetricsUnavailable(Exception):
    """The metrics endpoint cannot start; the message says why, for a person."""


class Endpoint:
    """A registry served at HOST:PORT/metrics by prometheus_client's WSGI
    server, on threads of its own: a scrape never waits for the event loop,
    and reads only memory (see StoreCounts)."""

    def __init__(self, server: WSGIServer, host: str, scheme: str) -> None:
        self._server = server
        self.port: int = server.server_port
        self.url = f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving (blocks up to half a second: the server's poll interval)."""
        self._server.shutdown()
        self._server.server_close()


def serve(
    registry: CollectorRegistry, host: str, port: int, tls: tuple[Path, Path] | None = None
) -> Endpoint:
    """Serve registry on host:port (0: a free port), over HTTPS when given a
    certificate and its key; a taken port is an error."""
    files = (None, None) if tls is None else (str(tls[0]), str(tls[1]))  # certfile, keyfile
    try:
        server, _ = start_http_server(port, host, registry, *files)
    except OSError as exc:
        raise MetricsUnavailable(
            f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}"
            " (choose another with --metrics-port)"
        ) from None
    return Endpoint(server, host, "http" if tls is None else "https")
