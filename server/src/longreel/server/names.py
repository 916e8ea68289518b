"""Resource names and ids: one scheme for videos and operations everywhere."""

from __future__ import annotations

import base64
import re
import secrets

from longreel.common import api_names

VIDEOS = "videos"
OPERATIONS = "operations"

# Any video id a name may carry: lowercase letters, digits and hyphens, not
# starting or ending with a hyphen. Ids we mint (base32) may start with a
# digit, and ids chosen before AIP-122 was followed may look like UUIDs.
VIDEO_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A video id a caller may choose now (AIP-122, RFC 1034): it starts with a
# letter, and is not shaped like a UUID (see UUID_LIKE).
NEW_VIDEO_ID = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
# What "syntactically appears to be a UUID" means: 32 hex digits, with or
# without the four hyphens of the canonical 8-4-4-4-12 form.
UUID_LIKE = api_names.UUID_LIKE
# A request_id (AIP-155, field_info.format = UUID4): a UUID in its canonical
# 8-4-4-4-12 text, any version, either case. Both are common's, so the
# gateway tells a UUID as this server does.
UUID = api_names.UUID
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
