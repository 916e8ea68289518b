"""The OpenAPI 3 document of the gateway: what it really does, route by route.

Kept by hand next to routes.py; tests/integration/test_gateway_schema.py throws generated
requests at every operation and fails on any response this document does not
describe.
"""

from __future__ import annotations

from typing import Any

from .bodies import MAX_BODY, MAX_WAIT
from .events import HEARTBEAT, LIFETIME, PROGRESS_EVERY
from .openapi_schemas import SCHEMAS, VIDEO_ID_PATTERN
from .openapi_schemas import ref as _ref
from .tasks import ORDERS, STATUSES


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
# What any call may meet, listed on each operation (not only under default),
# so generated clients type them: refused credentials (with --auth), the
# server's admission limit (Retry-After), the server down, its deadline.
ERRORS = {
    "400": ERROR,
    "401": _json(_ref("Error"), "UNAUTHENTICATED: credentials missing or refused"),
    "404": ERROR,
    "429": _json(
        _ref("Error"),
        "RESOURCE_EXHAUSTED: too much work queued; try again later",
        **{"Retry-After": "Seconds to wait"},
    ),
    "503": _json(
        _ref("Error"), "UNAVAILABLE: the server is down", **{"Retry-After": "Seconds to wait"}
    ),
    "504": _json(_ref("Error"), "DEADLINE_EXCEEDED: the server did not answer in time"),
    "default": ERROR,
}
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
    "operationId": "getTask",
    "tags": ["tasks"],
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
            "operationId": "createTask",
            "tags": ["tasks"],
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
            "operationId": "listTasks",
            "tags": ["tasks"],
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
            "operationId": "deleteTask",
            "tags": ["tasks"],
            "summary": "Forget a task",
            "description": "A pending task is not cancelled: it is hidden at once and runs "
            "to its end (the video is still made or removed); cancel it to stop it.",
            "parameters": [TASK_ID],
            "responses": {"204": {"description": "Forgotten"}, **ERRORS},
        },
    },
    "/video/tasks/{task}": {
        "get": {
            **GET_TASK,
            "operationId": "getTaskSingularPath",
            "summary": "The same as /videos/tasks/{task} (the path the seeds' curl reads)",
        }
    },
    "/videos/tasks/{task}/events": {
        "get": {
            "operationId": "followTaskEvents",
            "tags": ["tasks"],
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
            "operationId": "cancelTask",
            "tags": ["tasks"],
            "summary": "Cancel a task; a finished one keeps its result",
            "parameters": [TASK_ID],
            "responses": {"200": _json(_ref("Task"), "The task after the request"), **ERRORS},
        }
    },
    "/videos": {
        "get": {
            "operationId": "listVideos",
            "tags": ["videos"],
            "summary": "List videos, oldest first",
            "parameters": PAGING,
            "responses": {"200": _json(_ref("VideoList"), "A page of videos"), **ERRORS},
        }
    },
    "/videos/{video}": {
        "get": {
            "operationId": "getVideo",
            "tags": ["videos"],
            "summary": "Read a video",
            "parameters": [VIDEO_ID],
            "responses": {"200": _json(_ref("Video"), "The video"), **ERRORS},
        },
        "delete": {
            "operationId": "deleteVideo",
            "tags": ["videos"],
            "summary": "Start deleting a video",
            "parameters": [VIDEO_ID, IDEMPOTENCY_KEY, REQUEST_ID],
            "responses": {"202": TASK_STARTED, **REPLAYED, **ERRORS},
        },
    },
    "/videos/{video}/content": {
        "get": {
            "operationId": "getVideoContent",
            "tags": ["content"],
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
            "operationId": "getVideoThumbnail",
            "tags": ["content"],
            "summary": "A PNG of the video's title card",
            "parameters": [VIDEO_ID],
            "responses": {"200": _file("image/png", "The thumbnail"), **ERRORS},
        },
    },
}


def _head(get: dict[str, Any]) -> dict[str, Any]:
    """The HEAD twin of a GET: the same answers, headers only (routes.route)."""
    responses = {
        status: {key: value for key, value in response.items() if key != "content"}
        for status, response in get["responses"].items()
    }
    return {
        **get,
        "operationId": "head" + get["operationId"][0].upper() + get["operationId"][1:],
        "summary": f"Headers only: {get['summary'][0].lower()}{get['summary'][1:]}",
        "responses": responses,
    }


for _path, _item in PATHS.items():
    if "get" in _item and not _path.endswith("/events"):  # every GET but the stream
        _item["head"] = _head(_item["get"])

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
    "tags": [
        {"name": "tasks", "description": "Creations and deletions under way, and how they ended"},
        {"name": "videos", "description": "The videos that exist"},
        {"name": "content", "description": "A video's files: the MP4 and its thumbnail"},
    ],
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
