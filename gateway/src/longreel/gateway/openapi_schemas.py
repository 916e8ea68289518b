"""The schemas of the gateway's OpenAPI document (openapi.py): the bodies it
reads and writes, as JSON Schema, with the same bounds the server checks."""

from __future__ import annotations

from typing import Any

from longreel.common.api_names import UUID_LIKE

from .tasks import STATUSES


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# What the server calls blank (Python's str.isspace), spelled out: ECMA-262's \s,
# which JSON Schema patterns use, lacks \x1c-\x1f and \x85 and adds \ufeff.
BLANK = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
VIDEO_ID_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
# An id a caller may choose (AIP-122): a letter first, and not a UUID.
NEW_VIDEO_ID_PATTERN = "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
# The server's own test, as the server spells it (lower case: a video id is).
UUID_LIKE_PATTERN = f"^({UUID_LIKE.pattern})$"

_TIME = {"type": "string", "format": "date-time"}
_LINKS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["rel", "href"],
        "properties": {"rel": {"type": "string"}, "href": {"type": "string"}},
    },
}
SCHEMAS: dict[str, Any] = {
    "NewVideo": {
        "type": "object",
        "required": ["title"],
        "additionalProperties": False,
        "properties": {
            "title": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "pattern": rf"^[^\x00]*[^\x00{BLANK}][^\x00]*$",
                "description": "Not blank; no NUL characters",
            },
            "plot": {
                "type": "string",
                "maxLength": 10_000,
                "pattern": r"^[^\x00]*$",
                "description": "No NUL characters",
            },
            "id": {
                "type": "string",
                "pattern": NEW_VIDEO_ID_PATTERN,
                "not": {"anyOf": [{"enum": ["tasks"]}, {"pattern": UUID_LIKE_PATTERN}]},
                "description": "The video's id (AIP-122): a letter first, not a UUID; the"
                " server picks one if absent",
            },
        },
    },
    "Video": {
        "type": "object",
        "required": ["name", "title"],
        "properties": {
            "name": {"type": "string", "example": "videos/my-movie"},
            "title": {"type": "string"},
            "plot": {"type": "string"},
            "createTime": _TIME,
            "updateTime": _TIME,
            "uri": {"type": "string", "example": "/videos/my-movie/content"},
            "duration": {"type": "string", "example": "10s"},
            "sizeBytes": {"type": "string", "description": "int64, as a string"},
            "sha256": {"type": "string"},
            "thumbnailUri": {"type": "string", "example": "/videos/my-movie/thumbnail"},
        },
    },
    "VideoList": {
        "type": "object",
        "required": ["videos"],
        "properties": {
            "videos": {"type": "array", "items": ref("Video")},
            "nextPageToken": {"type": "string"},
        },
    },
    "Task": {
        "type": "object",
        "required": ["id", "name", "status", "verb", "target", "title", "progress", "links"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string", "example": "operations/abc"},
            "status": {"type": "string", "enum": list(STATUSES)},
            "verb": {"type": "string", "enum": ["create", "delete"]},
            "target": {"type": "string", "example": "videos/my-movie"},
            "title": {
                "type": "string",
                "example": "My movie",
                "description": "The video's title, from the moment the task exists",
            },
            "progress": {
                "type": "object",
                "required": ["percent", "message"],
                "properties": {
                    "percent": {"type": "integer", "minimum": 0, "maximum": 100},
                    "message": {"type": "string"},
                },
            },
            "requestedCancellation": {
                "type": "boolean",
                "description": "OperationMetadata.requested_cancellation",
            },
            "createTime": _TIME,
            "updateTime": _TIME,
            "endTime": _TIME,
            "links": _LINKS,
            "resources": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "links"],
                    "properties": {"name": {"type": "string"}, "links": _LINKS},
                },
            },
            "error": ref("Status"),
        },
    },
    "TaskList": {
        "type": "object",
        "required": ["tasks"],
        "properties": {
            "tasks": {"type": "array", "items": ref("Task")},
            "nextPageToken": {"type": "string"},
        },
    },
    "Status": {
        "type": "object",
        "required": ["code", "message", "status"],
        "properties": {
            "code": {"type": "integer", "description": "The HTTP status"},
            "message": {"type": "string"},
            "status": {"type": "string", "description": "The gRPC code name"},
            "details": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Error": {"type": "object", "required": ["error"], "properties": {"error": ref("Status")}},
}
