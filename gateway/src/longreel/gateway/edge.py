"""The HTTP edge: uvicorn's httptools protocol, bounded against hostile callers.

uvicorn keeps a request head of any size in memory and waits for ever on a
client that sends slowly. Here the bytes of a head are counted before the
parser sees them, so its buffers never hold more than the bound; the URL, each
header line, the number of fields and the body are bounded too, the head and
the body each have a deadline, and the connection table is capped
(connections.py). Past a bound the caller gets the API's JSON error and the
connection is closed, lingering so that the caller can read the answer. A
connection refused by the table is held unread for the header deadline
first, so that a refused flood cannot reconnect in a tight loop.

This subclasses uvicorn internals: pyproject pins uvicorn to one minor version.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Callable
from typing import ClassVar

import httptools
import uvicorn
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from . import refusals
from .connections import Connections, TooMany
from .holds import network_of
from .refusals import Limits, Refusal

LINGER = 2.0  # seconds a refused connection is still read (and discarded) before it closes


async def serve(server: uvicorn.Server, sockets: list[socket.socket], limits: Limits) -> None:
    """server.serve(sockets), with TLS handshakes held to the header deadline:
    asyncio's default is 60 s, uvicorn has no setting, and a connection in its
    handshake is not yet in the connection table."""
    loop = asyncio.get_running_loop()
    if server.config.ssl is not None:
        create = functools.partial(loop.create_server, ssl_handshake_timeout=limits.header_timeout)
        loop.create_server = create  # type: ignore[method-assign]
    await server.serve(sockets=sockets)


def protocol(limits: Limits) -> type[EdgeProtocol]:
    """The protocol class for uvicorn.Config(http=...), with its own connection table."""

    class Bounded(EdgeProtocol):
        pass

    Bounded.limits = limits
    Bounded.table = Connections(
        limits.max_connections, limits.max_connections_per_address, limits.max_held
    )
    return Bounded


class EdgeProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with bounds on what arrives; see the module docstring."""

    limits: ClassVar[Limits] = Limits()
    table: ClassVar[Connections] = Connections(Limits.max_connections, 1 << 30)

    _in_head = True  # between requests, or reading a head
    _head_bytes = 0
    _fields = 0
    _body_bytes = 0
    _framed_bytes = 0  # all bytes after the head: body, chunk framing, trailers
    _closing = False
    _discarded = 0  # bytes read and dropped while lingering
    _answering: RequestResponseCycle | None = None  # whose app runs or ran last (cycle: newest)
    _pending: Refusal | None = None  # for a pipelined request, sent once earlier answers end
    _head_begun = False
    _deadline: asyncio.TimerHandle | None = None
    _send_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = network_of(self.client[0]) if self.client else ""
        try:
            self.table.admit(self, address)
        except TooMany as exc:
            self._closing = True
            refusal = refusals.too_many(exc, self.limits)
            if self.table.hold(self):  # the tarpit: answered after the header deadline
                self.flow.pause_reading()
                _shrink_receive_buffer(transport)
                self._deadline = self.loop.call_later(
                    self.limits.header_timeout, self._send, refusal
                )
                return
            # The tarpit is full. Nothing of a request is read yet, so nothing
            # to linger for: the answer is flushed by close(), the descriptor freed.
            self.transport.write(refusal.answer())
            self.transport.close()
            return
        self._arm(self.limits.header_timeout, refusals.head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self.table.release(self)
        self._disarm()
        self._stop_send_deadline()
        super().connection_lost(exc)

    # A client that stops reading pauses writing; uvicorn then waits in
    # flow.drain() for ever, holding the call's slots. Past the send deadline
    # the connection is aborted: the app sees a disconnect and lets go.
    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_deadline is None:
            self._send_deadline = self.loop.call_later(self.limits.send_timeout, self._send_late)

    def resume_writing(self) -> None:
        self._stop_send_deadline()
        super().resume_writing()

    def _stop_send_deadline(self) -> None:
        if self._send_deadline is not None:
            self._send_deadline.cancel()
            self._send_deadline = None

    def _send_late(self) -> None:
        self._send_deadline = None
        self._closing = True
        self.transport.abort()  # close() would wait for the unread bytes to drain

    def evict(self) -> None:
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._closing:  # lingering: read only so that closing does not reset the answer
            self._discarded += len(data)
            if self._discarded > self.limits.max_head:
                self.flow.pause_reading()  # enough: what more it sends costs only it
            return
        self._unset_keepalive_if_required()
        self.table.busy(self)
        while data and not self._closing:
            # Counted before the parser sees them, so that its buffers stay bounded;
            # framing and trailers are not body, but parser memory all the same.
            head = self._in_head
            used, most = (
                (self._head_bytes, self.limits.max_head)
                if head
                else (self._framed_bytes, 2 * self.limits.max_body + self.limits.max_head)
            )
            if used >= most:
                too_large = refusals.head_too_large if head else refusals.body_too_large
                self._refuse(too_large(self.limits))
                return
            piece, data = data[: most - used], data[most - used :]
            if head:
                self._head_bytes += len(piece)
            else:
                self._framed_bytes += len(piece)
            if not self._feed(piece):
                return

    def _feed(self, piece: bytes) -> bool:
        """Parse piece; False once the connection is being refused or upgraded."""
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, Refusal):
                self._refuse(exc.__context__)
            else:
                self._refuse_malformed()
            return False
        except httptools.HttpParserError:
            self._refuse_malformed()
            return False
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()
            return False
        return True

    def _refuse_malformed(self) -> None:
        self.logger.warning("Invalid HTTP request received.")
        self._refuse(Refusal(400, "MALFORMED_REQUEST", "the request is not valid HTTP/1.1"))

    # Parser callbacks: a Refusal raised here stops the parser and reaches _feed.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_begun = True
        self._fields = 0
        self._body_bytes = 0
        # A keep-alive request: its head's clock starts now; a pipelined one's
        # once the answer in progress is complete (on_response_complete).
        if self._deadline is None and not self._answer_in_progress():
            self._arm(self.limits.header_timeout, refusals.head_late)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.limits.max_url:
            raise Refusal(
                414, "URL_TOO_LONG", f"the URL is longer than {self.limits.max_url} bytes"
            )

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        if self._fields > self.limits.max_fields:
            raise Refusal(
                431,
                "TOO_MANY_HEADERS",
                f"the request has over {self.limits.max_fields} header fields",
            )
        if len(name) + len(value) + 2 > self.limits.max_line:
            raise Refusal(
                431,
                "HEADER_LINE_TOO_LONG",
                f"a header line is longer than {self.limits.max_line} bytes",
            )
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_begun = False
        self._disarm()
        declared = _content_length(self.headers)
        if declared is not None and declared > self.limits.max_body:
            raise refusals.body_too_large(self.limits)
        if not self._answer_in_progress():  # else queued: its clock starts when it runs
            self._arm(self.limits.body_timeout, refusals.body_late)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body:  # chunked: no Content-Length to check first
            raise refusals.body_too_large(self.limits)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        self._head_bytes = self._framed_bytes = 0
        self._in_head = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # starts the next pipelined request, if one is queued
        if self.transport.is_closing():
            return
        running = self._answer_in_progress()
        if self._pending is not None:
            if not running and not self.pipeline:
                self._unset_keepalive_if_required()
                self._send(self._pending)
            return
        cycle = self._answering
        if running:
            if cycle is not None and cycle.more_body and self._deadline is None:
                self._arm(self.limits.body_timeout, refusals.body_late)  # its body is still to come
        elif self.pipeline:
            pass
        elif self._head_begun:  # the next head began while this answer was sent
            self._unset_keepalive_if_required()  # its own deadline governs, not keep-alive's
            if self._deadline is None:
                self._arm(self.limits.header_timeout, refusals.head_late)
        else:
            self.table.idle(self)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        self._answering = cycle
        super()._start_asgi_task(cycle, app)

    def _answer_in_progress(self) -> bool:
        """Whether a request's app runs, or its answer is still being written."""
        cycle = self._answering
        return cycle is not None and not cycle.response_complete

    # Deadlines and refusals
    def _arm(self, seconds: float, late: Callable[[Limits], Refusal]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired, late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, late: Callable[[Limits], Refusal]) -> None:
        self._deadline = None
        self._refuse(late(self.limits))

    def _refuse(self, refusal: Refusal) -> None:
        """Answer refusal, stop the request's app if one runs, and close after a
        linger. The refused request is the one being parsed: in its head it has
        no cycle yet, in its body it is self.cycle. An earlier pipelined
        request still being answered is let finish first."""
        self._closing = True
        self._disarm()
        refused = None if self._in_head else self.cycle
        if refused is not None and not refused.response_complete:
            if refused.response_started:  # one answer is on its way: another cannot follow
                self.transport.close()
                return
            refused.disconnected = True  # the app's sends go nowhere; its reads see a disconnect
            refused.message_event.set()
            self.pipeline = type(self.pipeline)(
                (cycle, app) for cycle, app in self.pipeline if cycle is not refused
            )
        if self._answer_in_progress() and self._answering is not refused:
            self._pending = refusal  # sent by on_response_complete, after the earlier answers
            self.flow.resume_reading()  # lingering: read and discard meanwhile
            return
        self._send(refusal)

    def _send(self, refusal: Refusal) -> None:
        """Write refusal as the connection's last answer, and close after a linger."""
        self._pending = None
        if self.transport.is_closing():
            return
        self.transport.write(refusal.answer())
        if self.transport.can_write_eof():
            try:
                self.transport.write_eof()
            except OSError:  # the client has gone: nothing to linger for
                self.transport.close()
                return
        self.flow.resume_reading()
        self.loop.call_later(LINGER, self.transport.close)


def _shrink_receive_buffer(transport: asyncio.Transport) -> None:
    """What a held connection's client sends waits in the kernel, unread: keep it small."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length" and value.isdigit():
            return int(value)  # llhttp has checked it is a number of bounded length
    return None
