"""Resource names and ids: one scheme for videos and operations everywhere."""

from __future__ import annotations

import base64
import re
import secrets

VIDEOS = "videos"
OPERATIONS = "operations"

# User-chosen video ids (AIP-122): lowercase letters, digits and hyphens, not
# starting or ending with a hyphen. A leading digit is allowed so UUIDs fit.
VIDEO_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# The HTTP gateway serves /videos/tasks, so no video may be called that.
RESERVED_VIDEO_IDS = frozenset({"tasks"})
# Ids we mint are 26 base32 characters; anything this shape may be looked up.
OPERATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_id() -> str:
    """A fresh 128-bit random id: URL-safe, unguessable, lowercase."""
    return base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()


def video_name(video_id: str) -> str:
    return f"{VIDEOS}/{video_id}"


def operation_name(operation_id: str) -> str:
    return f"{OPERATIONS}/{operation_id}"


def parse(name: str, collection: str, pattern: re.Pattern[str]) -> str | None:
    """The id in `collection/{id}`, or None if name is not of that form."""
    prefix = collection + "/"
    if not name.startswith(prefix):
        return None
    ident = name[len(prefix) :]
    return ident if pattern.fullmatch(ident) else None
