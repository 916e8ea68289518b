"""The OpenAPI 3 document of the gateway: what it really does, route by route.

Kept by hand next to routes.py; tests/integration/test_gateway_schema.py throws generated
requests at every operation and fails on any response this document does not
describe.
"""

from __future__ import annotations

from typing import Any

from .bodies import MAX_BODY, MAX_WAIT
from .events import HEARTBEAT, LIFETIME, PROGRESS_EVERY
from .tasks import ORDERS, STATUSES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, **headers: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return response


def _file(media_type: str, description: str, **headers: str) -> dict[str, Any]:
    response = _json({"type": "string", "format": "binary"}, description, **headers)
    response["content"] = {media_type: response["content"]["application/json"]}
    return response


_CONDITIONS = [
    {"name": name, "in": "header", "schema": {"type": "string"}, "description": text}
    for name, text in (
        ("Range", "bytes=FIRST-LAST, FIRST- or -SUFFIX: one range"),
        ("If-Range", "An ETag: the range only if the file still has it"),
        ("If-None-Match", "An ETag: 304 if the file still has it"),
    )
]
ERROR = _json(_ref("Error"), "An error in the google.rpc.Status shape")
ERRORS = {"400": ERROR, "404": ERROR, "503": ERROR, "default": ERROR}
TASK_STARTED = _json(
    _ref("Task"),
    "Accepted: the task runs in the background",
    **{
        "Content-Location": "The task's URL, /videos/tasks/{task}",
        "Location": "The same URL",
        "Retry-After": "Seconds to wait before reading the task",
    },
)
# A repeat (same Idempotency-Key) of a task that has finished answers as reading it does.
REPLAYED = {
    "200": _json(_ref("Task"), "A repeated request whose task has ended (failed, cancelled)"),
    "303": _json(
        _ref("Task"),
        "A repeated request whose video exists: Location names it",
        Location="/videos/{video}",
    ),
}
PAGING = [
    {
        "name": "pageSize",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0, "maximum": 1000},
        "description": "Items per page: 50 if 0, at most 1000",
    },
    {
        "name": "pageToken",
        "in": "query",
        "schema": {"type": "string", "maxLength": 512},
        "description": "nextPageToken of the previous page",
    },
]
# What the server calls blank (Python's str.isspace), spelled out: ECMA-262's \s,
# which JSON Schema patterns use, lacks \x1c-\x1f and \x85 and adds \ufeff.
BLANK = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
VIDEO_ID_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
# An id a caller may choose (AIP-122): a letter first, and not a UUID.
NEW_VIDEO_ID_PATTERN = "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
UUID_LIKE_PATTERN = "^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$"
TASK_ID = {
    "name": "task",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
}
VIDEO_ID = {
    "name": "video",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": VIDEO_ID_PATTERN, "not": {"enum": ["tasks"]}},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "schema": {
        "type": "string",
        "pattern": '^([A-Za-z0-9._~-]{1,36}|"[A-Za-z0-9._~-]{1,36}")$',
    },
    "description": "Makes the call idempotent: the same key with the same request returns the "
    "first task. 1-36 of letters, digits, '-', '_', '.', '~', optionally in double quotes.",
}
REQUEST_ID = {
    **IDEMPOTENCY_KEY,
    "name": "Request-Id",
    "description": "The same as Idempotency-Key, which wins if both are sent.",
}
WAIT = {
    "name": "wait",
    "in": "query",
    "schema": {"type": "string", "pattern": r"^[0-9]{1,20}(\.[0-9]{1,20})?(ms|s)?$"},
    "description": f"Long poll: answer as soon as the task ends, or after this long (longer "
    f"waits are cut to {MAX_WAIT:.0f}s), e.g. 10s",
}

GET_TASK = {
    "summary": "Read a task: 200 while pending, 303 to the video once created",
    "parameters": [TASK_ID, WAIT],
    "responses": {
        "200": _json(
            _ref("Task"),
            "Pending, failed, cancelled, or a finished delete",
            **{
                "Retry-After": "Seconds to wait before reading again (pending only)",
                "Content-Location": "The task's URL",
            },
        ),
        "303": _json(
            _ref("Task"),
            "Done: Location names the created video",
            Location="/videos/{video}",
            **{"Content-Location": "The task's URL"},
        ),
        **ERRORS,
    },
}

PATHS: dict[str, Any] = {
    "/videos/tasks": {
        "post": {
            "summary": "Start creating a video",
            "parameters": [IDEMPOTENCY_KEY, REQUEST_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("NewVideo")}},
            },
            "responses": {
                "202": TASK_STARTED,
                **REPLAYED,
                "408": ERROR,
                "409": ERROR,
                "413": ERROR,
                "415": ERROR,
                **ERRORS,
            },
        },
        "get": {
            "summary": "List tasks, oldest first, or newest first with orderBy=createTime desc",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": list(STATUSES)},
                },
                {
                    "name": "orderBy",
                    "in": "query",
                    "description": "AIP-132: the order they were made in (the default), "
                    "or `createTime desc` for the latest first",
                    "schema": {"type": "string", "enum": list(ORDERS)},
                },
                *PAGING,
            ],
            "responses": {"200": _json(_ref("TaskList"), "A page of tasks"), **ERRORS},
        },
    },
    "/videos/tasks/{task}": {
        "get": GET_TASK,
        "delete": {
            "summary": "Forget a task",
            "description": "A pending task is not cancelled: it is hidden at once and runs "
            "to its end (the video is still made or removed); cancel it to stop it.",
            "parameters": [TASK_ID],
            "responses": {"204": {"description": "Forgotten"}, **ERRORS},
        },
    },
    "/video/tasks/{task}": {"get": {**GET_TASK, "summary": "The same as /videos/tasks/{task}"}},
    "/videos/tasks/{task}/events": {
        "get": {
            "summary": "Follow a task as Server-Sent Events until it ends",
            "description": "`event: progress` with the task now and each time its progress, "
            f"status message or cancellation changes (looked at every {PROGRESS_EVERY:g} s), "
            "then `event: done` with the ended task, and the stream closes; `event: error` "
            "with an Error body if the server fails mid-way. A comment line after "
            f"{HEARTBEAT:g} s of silence keeps proxies from closing the stream, which closes "
            f"after {LIFETIME:g} s at most: open another.",
            "parameters": [TASK_ID],
            "responses": {
                "200": {
                    "description": "The stream",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                **ERRORS,
            },
        }
    },
    "/videos/tasks/{task}:cancel": {
        "post": {
            "summary": "Cancel a task; a finished one keeps its result",
            "parameters": [TASK_ID],
            "responses": {"200": _json(_ref("Task"), "The task after the request"), **ERRORS},
        }
    },
    "/videos": {
        "get": {
            "summary": "List videos, oldest first",
            "parameters": PAGING,
            "responses": {"200": _json(_ref("VideoList"), "A page of videos"), **ERRORS},
        }
    },
    "/videos/{video}": {
        "get": {
            "summary": "Read a video",
            "parameters": [VIDEO_ID],
            "responses": {"200": _json(_ref("Video"), "The video"), **ERRORS},
        },
        "delete": {
            "summary": "Start deleting a video",
            "parameters": [VIDEO_ID, IDEMPOTENCY_KEY, REQUEST_ID],
            "responses": {"202": TASK_STARTED, **REPLAYED, **ERRORS},
        },
    },
    "/videos/{video}/content": {
        "get": {
            "summary": "The rendered MP4, whole or a byte range (a browser can play and seek it)",
            "parameters": [VIDEO_ID, *_CONDITIONS],
            "responses": {
                "200": _file("video/mp4", "The whole file", ETag="The file's SHA-256"),
                "206": _file("video/mp4", "The range asked for", **{"Content-Range": "Which"}),
                "304": {"description": "Not modified (If-None-Match matched the ETag)"},
                "416": ERROR,
                **ERRORS,
            },
        },
    },
    "/videos/{video}/thumbnail": {
        "get": {
            "summary": "A PNG of the video's title card",
            "parameters": [VIDEO_ID],
            "responses": {"200": _file("image/png", "The thumbnail"), **ERRORS},
        },
    },
}

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
            "videos": {"type": "array", "items": _ref("Video")},
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
            "error": _ref("Status"),
        },
    },
    "TaskList": {
        "type": "object",
        "required": ["tasks"],
        "properties": {
            "tasks": {"type": "array", "items": _ref("Task")},
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
    "Error": {"type": "object", "required": ["error"], "properties": {"error": _ref("Status")}},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "longreel video gateway",
        "version": "v1",
        "description": "Videos are slow to make: POST /videos/tasks answers 202 with the task's "
        'URL in Content-Location; reading the task answers 200 {"status": "pending"} until '
        "it is done, then 303 See Other with Location: /videos/{video}. Bodies are JSON "
        f"(at most {MAX_BODY} bytes); errors use the google.rpc.Status shape.",
    },
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "Passed to the gRPC server as is; needed when it runs with"
                " --auth api-keys or --auth jwt (401 with WWW-Authenticate otherwise)",
            }
        },
    },
    # Without credentials when the server does not authenticate, with them when it does.
    "security": [{}, {"bearer": []}],
}
