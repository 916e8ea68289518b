"""The gateway's access log: one line per HTTP request, once it is answered.

Ours rather than uvicorn's, whose line carries the query string and no
timing: this one has method, path, status and duration as fields, and puts
the method and path on every line logged while the request is served. The
query string and headers are never written (credentials travel there).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from longreel.common import logs

log = logging.getLogger("longreel.gateway.access")


class AccessLog:
    """ASGI middleware; a request whose client left before an answer has no status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: int | None = None

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        with logs.context(method=scope["method"], path=scope["path"]):
            try:
                await self.app(scope, receive, recording_send)
            finally:
                took = round((time.perf_counter() - started) * 1000, 1)
                log.info(
                    "%s %s %s in %.1f ms",
                    scope["method"],
                    scope["path"],
                    status or "unanswered",
                    took,
                    extra={"status": status, "duration_ms": took},
                )
