"""/ui: the web page for people, three files shipped in the package (ui/).

No build step and nothing fetched from elsewhere, so it works offline. The
Content-Security-Policy lets only the gateway's own script and style run:
titles and plots are the callers' input, and the script writes them as text,
but a slip would still not execute anything.
"""

from __future__ import annotations

import hashlib
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .content import matches


def csp(files: str = "") -> str:
    """The page's policy; `files`: the bucket's origin, where the gateway
    redirects file downloads (--content-redirect), which fetch() follows."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"connect-src 'self'{' ' + files if files else ''}",
            # blob: for videos fetched with the caller's token (a <video> cannot send one)
            "img-src 'self' blob:",
            "media-src 'self' blob:",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


CSP = csp()
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate (ETag), so a new release shows at once
}
TYPES = {
    "index.html": "text/html; charset=utf-8",  # at /ui; the others at /ui/{name}
    "ui.js": "text/javascript; charset=utf-8",  # a module; it imports the four below
    "api.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "row.js": "text/javascript; charset=utf-8",
    "streams.js": "text/javascript; charset=utf-8",
    "ui.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}


class Asset:
    """One file, read once: a missing file fails at import, not on a request."""

    def __init__(self, name: str) -> None:
        self.body = (resources.files(__package__) / "ui" / name).read_bytes()
        self.media_type = TYPES[name]
        self.tag = f'"{hashlib.sha256(self.body).hexdigest()[:32]}"'

    async def serve(self, request: Request) -> Response:
        headers = {**HEADERS, "ETag": self.tag}
        redirects = getattr(request.app.state, "redirects", None)
        if redirects is not None:
            headers["Content-Security-Policy"] = csp(redirects.origin)
        if matches(request.headers.get("If-None-Match"), self.tag):
            return Response(status_code=304, headers=headers)
        return Response(self.body, headers=headers, media_type=self.media_type)


PAGE = "index.html"
ROUTES = [
    Route("/ui" if name == PAGE else f"/ui/{name}", Asset(name).serve, methods=["GET"])
    for name in TYPES
]
