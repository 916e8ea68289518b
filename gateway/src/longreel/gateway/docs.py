"""/openapi.json and a docs page (Swagger UI) whose assets the gateway serves
itself, so it renders with no internet access."""

from __future__ import annotations

import swagger_ui_bundle
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .openapi import DOCUMENT

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>longreel video gateway: API docs</title>
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});
  </script>
</body>
</html>
"""


async def openapi(request: Request) -> Response:
    return JSONResponse(DOCUMENT)


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE)


ROUTES = [
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/docs", page, methods=["GET"]),
    Mount("/docs/static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs"),
]
