"""A Prometheus registry served at HOST:PORT/metrics, on a port of its own.

prometheus_client's own server starts a thread for every connection and waits
on it for ever, and does a TLS handshake on its accepting thread: one slow
client could hold it, or a thousand hold a thousand threads. This one serves
a few connections at once, closes the others at once, and gives each one a
deadline for all of it, handshake included. Scrapers need one connection.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

MAX_CONNECTIONS = 8  # served at once; more are closed on arrival
DEADLINE = 10.0  # seconds for a connection's whole exchange
IO_TIMEOUT = 5.0  # seconds for any one read or write


class MetricsUnavailable(Exception):
    """The metrics endpoint cannot start; the message says why, for a person."""


class Endpoint:
    """A registry served at HOST:PORT/metrics on threads of its own: a scrape
    never waits for the event loop, and reads only memory (see StoreCounts)."""

    def __init__(self, server: WSGIServer, host: str, scheme: str) -> None:
        self._server = server
        self.port: int = server.server_port
        self.url = f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving (blocks up to half a second: the server's poll interval)."""
        self._server.shutdown()
        self._server.server_close()


class _Handler(WSGIRequestHandler):
    timeout = IO_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged."""


class _BoundedServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    max_connections = MAX_CONNECTIONS
    deadline = DEADLINE
    tls: ssl.SSLContext | None = None

    def server_activate(self) -> None:
        super().server_activate()
        self._slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # full: this one is closed unread
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        cut = threading.Timer(self.deadline, _cut, (request,))
        cut.start()
        try:
            request.settimeout(IO_TIMEOUT)
            if self.tls is not None:  # here, on the connection's thread, not the accepting one
                request = self.tls.wrap_socket(request, server_side=True)
            super().process_request_thread(request, client_address)
        except (OSError, ssl.SSLError):
            self.shutdown_request(request)
        finally:
            cut.cancel()
            self._slots.release()


def _cut(request: socket.socket) -> None:
    """End a connection past its deadline: its thread's blocked read returns."""
    with contextlib.suppress(OSError):  # closed already
        request.shutdown(socket.SHUT_RDWR)


def serve(
    registry: CollectorRegistry,
    host: str,
    port: int,
    tls: tuple[Path, Path] | None = None,
    *,
    max_connections: int = MAX_CONNECTIONS,
    deadline: float = DEADLINE,
) -> Endpoint:
    """Serve registry on host:port (0: a free port), over HTTPS when given a
    certificate and its key; a taken port is an error."""

    class Server(_BoundedServer):
        pass

    Server.max_connections, Server.deadline = max_connections, deadline
    try:
        if tls is not None:
            Server.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            Server.tls.load_cert_chain(str(tls[0]), str(tls[1]))
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        Server.address_family, address = info[0][0], str(info[0][4][0])
        server = make_server(address, port, make_wsgi_app(registry), Server, _Handler)
    except OSError as exc:
        raise MetricsUnavailable(
            f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}"
            " (choose another with --metrics-port)"
        ) from None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return Endpoint(server, host, "http" if tls is None else "https")
