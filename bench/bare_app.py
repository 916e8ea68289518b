"""The baseline for the gateway case: a bare Starlette app on uvicorn,
served the way video-gateway serves, answering canned bodies of the sizes
the gateway's answers have. `python -m bench.bare_app POST_BYTES GET_BYTES`;
prints `listening on http://127.0.0.1:PORT` first."""

from __future__ import annotations

import asyncio
import socket
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def app(post_bytes: int, get_bytes: int) -> Starlette:
    posted, got = b"x" * post_bytes, b"x" * get_bytes

    async def create(request: Request) -> Response:
        await request.body()
        return Response(posted, 202, media_type="application/json")

    async def read(request: Request) -> Response:
        return Response(got, 200, media_type="application/json")

    return Starlette(routes=[Route("/videos/tasks", create, methods=["POST"]),
                             Route("/videos/tasks/{task}", read)])  # fmt: skip


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        app(int(sys.argv[1]), int(sys.argv[2])),
        log_level="error", access_log=False, server_header=False,
    )  # fmt: skip
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    main()
