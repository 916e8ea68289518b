"""Starlette routes made from the bindings: one per path template, dispatching
on the method, so a known path with another method is a 405 that names the
methods it allows (Allow), and a path no template matches falls through to the
app's 404. Both leave through app.py's handlers as google.rpc.Status JSON.

A GET binding answers HEAD too, as the seeds' routes do, but a server-streaming
one (`:read`) does not: its HEAD would hold a lane and stream the whole video
to throw it away, for headers that say nothing (a JSON array, no length).
It is a 405 whose Allow leaves HEAD out, as the seeds' event stream is
(routes.py `head=False`); the file's own HEAD is /videos/{video}/content.

gRPC failures are answered here, not by app.py's handler: that one renames
field violations to the seeds' HTTP names (`title`, `Idempotency-Key`),
while a /v1 caller speaks in the proto's field paths (`video.title`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import grpc
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from ..errors import error_response, status_of
from . import calls
from .messages import enum_integers, request_message, response_part, to_json
from .rules import Binding, bindings
from .template import PathTemplate


class TemplateRoute(BaseRoute):
    """Every binding of one path template, by HTTP method."""

    def __init__(self, template: PathTemplate, by_method: dict[str, Binding]) -> None:
        self.template = template
        self.path = template.text  # the metrics label (metrics.route_template)
        self.by_method = by_method

    @property
    def allowed(self) -> list[str]:
        get = self.by_method.get("GET")
        return sorted(set(self.by_method) | ({"HEAD"} if _answers_head(get) else set()))

    def binding(self, scope: Scope) -> Binding | None:
        """The binding for the request's method; HEAD is its GET's, where allowed."""
        method = str(scope["method"])
        if method == "HEAD":
            get = self.by_method.get("GET")
            return get if _answers_head(get) else None
        return self.by_method.get(method)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        captured = self.template.match(_raw_path(scope))
        if captured is None:
            return Match.NONE, {}
        child = {"path_params": captured}
        return (Match.FULL if self.binding(scope) is not None else Match.PARTIAL), child

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)  # transcoded routes have no names

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        binding = self.binding(scope)
        if binding is None:
            raise HTTPException(405, headers={"Allow": ", ".join(self.allowed)})
        request = Request(scope, receive, send)
        try:
            response = await transcode(request, binding, dict(scope["path_params"]))
        except grpc.aio.AioRpcError as exc:
            response = error_response(status_of(exc, http_names=False))
        await response(scope, receive, send)


async def transcode(request: Request, binding: Binding, captured: dict[str, str]) -> Response:
    """HTTP in, one gRPC call, proto3 JSON out."""
    message = await request_message(request, binding, captured)
    enum_ints = enum_integers(request)
    if binding.streams:
        return await calls.stream(request, binding, message, enum_ints)
    answer = await calls.unary(request, binding, message)
    return JSONResponse(to_json(response_part(answer, binding), enum_ints))


def routes(found: Iterable[Binding] | None = None) -> list[TemplateRoute]:
    """One route per template, in the bindings' order (most specific first)."""
    grouped: dict[str, dict[str, Binding]] = {}
    templates: dict[str, PathTemplate] = {}
    for binding in bindings() if found is None else found:
        text = binding.template.text
        templates.setdefault(text, binding.template)
        if binding.http_method in grouped.setdefault(text, {}):
            raise ValueError(f"two bindings for {binding.http_method} {text}")
        grouped[text][binding.http_method] = binding
    return [TemplateRoute(templates[text], by_method) for text, by_method in grouped.items()]


def _answers_head(get: Binding | None) -> bool:
    return get is not None and not get.streams


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.decode("latin-1").split("?", 1)[0]
    return quote(str(scope["path"]))
