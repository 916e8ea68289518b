"""Checks of request fields: every problem found becomes one BadRequest
field violation, and all of a request's problems are reported together."""

from __future__ import annotations

from . import names
from .errors import invalid_argument
from .store.pagination import InvalidPageToken, PageTokens

MAX_TITLE = 200  # characters
MAX_PLOT = 10_000  # characters
MAX_FILTER = 1_000  # characters
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1_000
MAX_PAGE_TOKEN = 512  # characters; a token we issue is far shorter


class Violations:
    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []

    def add(self, field: str, description: str) -> None:
        self.found.append((field, description))

    def raise_if_any(self) -> None:
        if self.found:
            raise invalid_argument(self.found)


def text(v: Violations, field: str, value: str, *, limit: int, required: bool) -> None:
    if required and not value.strip():
        v.add(field, "is required and must not be blank")
    elif len(value) > limit:
        v.add(field, f"is {len(value)} characters long; the limit is {limit}")
    elif "\x00" in value:
        v.add(field, "must not contain NUL characters")


def video_id(v: Violations, field: str, value: str) -> None:
    """A caller-chosen id, as AIP-122 and AIP-133 ask: a letter first, no UUIDs."""
    if value and not names.NEW_VIDEO_ID.fullmatch(value):
        v.add(
            field,
            "must be 1 to 63 lowercase letters, digits or hyphens, starting with a letter"
            " and ending with a letter or digit",
        )
    elif names.UUID_LIKE.fullmatch(value):
        v.add(field, "must not look like a UUID (AIP-122); leave it empty to get a server id")
    elif value in names.RESERVED_VIDEO_IDS:
        v.add(field, f"{value!r} is reserved; choose another id")


def request_id(v: Violations, field: str, value: str) -> None:
    """AIP-155: a UUID (version 4 recommended), as field_info.format says."""
    if value and not names.UUID.fullmatch(value):
        v.add(field, "must be a UUID such as 7b0d6f7e-5d7c-4a59-9c51-0d8e6b1c2a10 (AIP-155)")


def name(v: Violations, field: str, value: str, collection: str) -> str:
    """The id in a `collection/{id}` name; records a violation if malformed."""
    pattern = names.VIDEO_ID if collection == names.VIDEOS else names.OPERATION_ID
    ident = names.parse(value, collection, pattern)
    if ident is None:
        shown = value if len(value) <= 80 else value[:80] + "…"
        v.add(field, f"must be a resource name of the form {collection}/{{id}}, not {shown!r}")
        return ""
    return ident


def page_size(v: Violations, value: int) -> int:
    """AIP-158: 0 means the default, larger than the maximum means the maximum."""
    if value < 0:
        v.add("page_size", "must not be negative")
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def page_token(tokens: PageTokens, token: str, query: str) -> int:
    """The keyset position a page token carries; INVALID_ARGUMENT if forged or misused."""
    if len(token) > MAX_PAGE_TOKEN:  # ours are ~70 characters; longer is not read
        raise invalid_argument([("page_token", "is not one this server issued")])
    try:
        return tokens.decode(token, query)
    except InvalidPageToken as exc:
        raise invalid_argument([("page_token", str(exc))]) from None
