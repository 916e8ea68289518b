"""Every error reaches HTTP callers with the mapped status and a google.rpc.Status body."""

from __future__ import annotations

import contextlib
import logging
import socket
import time

import grpc
import pytest
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from longreel.gateway.errors import HTTP_STATUS, build_status, error_response

from ..helpers import until

pytestmark = pytest.mark.any_store  # errors are mapped the same whatever the store

JSON = {"Content-Type": "application/json"}


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (status, code)
    assert error["message"]
    return error


def violated_fields(error: dict) -> set[str]:
    return {
        v["field"]
        for d in error.get("details", [])
        if d["@type"].endswith("google.rpc.BadRequest")
        for v in d["fieldViolations"]
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "T", "plot": "p" * 10_001}, "plot"),
        ({"title": "T", "id": "Not An Id"}, "id"),
        ({"title": 5}, "title"),
        ({"title": None}, "title"),
        ({"title": "T", "plot": ["list"]}, "plot"),
        ({}, "title"),
        ({"title": "T", "director": "me"}, "director"),
        ({"title": "T", "id": "tasks"}, "id"),
    ],
)
def test_a_bad_task_body_is_400_naming_the_field(http, body, field):
    error = error_of(http.client.post("/videos/tasks", json=body), 400, "INVALID_ARGUMENT")
    assert field in violated_fields(error)


def test_a_bad_idempotency_key_is_400_naming_the_header(http):
    response = http.client.post(
        "/videos/tasks", json={"title": "T"}, headers={"Idempotency-Key": "has spaces in it"}
    )
    assert "Idempotency-Key" in violated_fields(error_of(response, 400, "INVALID_ARGUMENT"))


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'"a string"', b"\xff\xfe", b""])
def test_a_body_that_is_not_a_json_object_is_400(http, content):
    response = http.client.post("/videos/tasks", content=content, headers=JSON)
    error = error_of(response, 400, "INVALID_ARGUMENT")
    assert "JSON" in error["message"]


@pytest.mark.parametrize("media", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_declared_json_is_415(http, media):
    headers = {"Content-Type": media} if media else {}
    response = http.client.post("/videos/tasks", content=b'{"title": "T"}', headers=headers)
    error_of(response, 415, "INVALID_ARGUMENT")


def test_a_body_over_the_limit_is_413(http):
    response = http.client.post("/videos/tasks", json={"title": "T", "plot": "p" * 70_000})
    error_of(response, 413, "INVALID_ARGUMENT")


def test_a_chunked_body_over_the_limit_is_413(http):
    def chunks():
        yield b'{"title": "T", "plot": "'
        for _ in range(100):
            yield b"p" * 1024
        yield b'"}'

    response = http.client.post("/videos/tasks", content=chunks(), headers=JSON)
    error_of(response, 413, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/videos/nope", 404, "NOT_FOUND"),
        ("DELETE", "/videos/nope", 404, "NOT_FOUND"),
        ("GET", "/videos/Not_A_Name", 400, "INVALID_ARGUMENT"),
        ("GET", "/videos/tasks/nope", 404, "NOT_FOUND"),
        ("GET", "/video/tasks/nope", 404, "NOT_FOUND"),
        ("GET", "/videos/tasks/bad.id", 400, "INVALID_ARGUMENT"),
        ("POST", "/videos/tasks/nope:cancel", 404, "NOT_FOUND"),
        ("DELETE", "/videos/tasks/nope", 404, "NOT_FOUND"),
        ("GET", "/videos/tasks/nope?wait=forever", 400, "INVALID_ARGUMENT"),
        ("GET", "/videos/tasks/nope?wait=-1s", 400, "INVALID_ARGUMENT"),
        ("GET", "/videos/tasks?status=lost", 400, "INVALID_ARGUMENT"),
        ("GET", "/videos?pageSize=-1", 400, "INVALID_ARGUMENT"),
        ("GET", "/videos?pageSize=many", 400, "INVALID_ARGUMENT"),
        ("GET", "/videos?pageSize=%C2%B2", 400, "INVALID_ARGUMENT"),
        ("GET", "/videos/", 404, "NOT_FOUND"),
        ("GET", "/videos/tasks?status=", 400, "INVALID_ARGUMENT"),
        ("GET", "/videos?pageToken=forged", 400, "INVALID_ARGUMENT"),
        ("GET", "/videos/tasks?pageToken=forged", 400, "INVALID_ARGUMENT"),
        ("GET", "/nowhere", 404, "NOT_FOUND"),
        ("PUT", "/videos", 405, "UNIMPLEMENTED"),
        ("PATCH", "/videos/tasks/x", 405, "UNIMPLEMENTED"),
    ],
)
def test_errors_map_to_their_http_status(http, method, path, status, code):
    error_of(http.client.request(method, path), status, code)


def test_creating_a_video_whose_id_is_taken_is_409(http):
    http.client.post("/videos/tasks", json={"title": "T", "id": "taken"})
    response = http.client.post("/videos/tasks", json={"title": "T", "id": "taken"})
    error = error_of(response, 409, "ALREADY_EXISTS")
    assert any(d["@type"].endswith("ResourceInfo") for d in error["details"])


def test_a_server_that_is_down_is_503_with_retry_after_not_a_hang(start_gateway):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    http = start_gateway(closed)
    for method, path in [("GET", "/videos"), ("GET", "/videos/tasks/x"), ("POST", "/videos/tasks")]:
        started = time.monotonic()
        response = http.client.request(method, path, json={"title": "T"})
        assert time.monotonic() - started < 5  # at once, not after the call's 10 s deadline
        error = error_of(response, 503, "UNAVAILABLE")
        assert response.headers["Retry-After"] == "1"
        assert "127.0.0.1" not in error["message"]


def test_the_gateway_finds_a_restarted_server_within_seconds(start_server, start_gateway, tmp_path):
    from ..processors import GatedProcessor

    api = start_server(GatedProcessor(open_gate=True), data_dir=tmp_path / "one")
    http = start_gateway(api)
    assert http.client.get("/videos").status_code == 200
    api.server.stop()
    assert http.client.get("/videos").status_code == 503
    # Stand in for the server and turn away the gateway's reconnects until its
    # backoff has grown: the sixth comes about 1 s after the fifth (from 0.1 s).
    host, port = api.target.split(":")
    turned_away: list[float] = []
    with socket.create_server((host, int(port))) as stand_in:
        stand_in.settimeout(0.1)

        def sixth_reconnect() -> bool:
            with contextlib.suppress(TimeoutError):
                stand_in.accept()[0].close()
                turned_away.append(time.monotonic())
            return len(turned_away) >= 6

        until(sixth_reconnect, what="six reconnects")
    start_server(GatedProcessor(open_gate=True), data_dir=tmp_path / "one", listen=api.target)
    until(
        lambda: http.client.get("/videos").status_code == 200,
        timeout=5,
        what="a 200 once the server came back",
    )


def test_a_body_that_does_not_arrive_is_408(http, monkeypatch):
    from longreel.gateway import bodies

    monkeypatch.setattr(bodies, "BODY_TIMEOUT", 0.5)
    host, port = http.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(
            b"POST /videos/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"ti'
        )
        answer = ""
        while '"BODY_TIMEOUT"' not in answer:  # headers and body may come apart
            chunk = raw.recv(4096).decode()
            if not chunk:
                break
            answer += chunk
    assert answer.startswith("HTTP/1.1 408")
    assert '"BODY_TIMEOUT"' in answer


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"[" * 50_000, None),
        (b'{"title": ' + b"9" * 5_000 + b"}", None),
        (b'{"title": "\\ud800"}', "title"),
    ],
)
def test_json_that_python_cannot_hold_is_400_not_500(http, content, field):
    response = http.client.post("/videos/tasks", content=content, headers=JSON)
    error = error_of(response, 400, "INVALID_ARGUMENT")
    if field:
        assert field in violated_fields(error)


def test_field_violations_use_the_http_names(http):
    response = http.client.get("/videos", params={"pageToken": "forged"})
    error = error_of(response, 400, "INVALID_ARGUMENT")
    assert violated_fields(error) == {"pageToken"}
    assert "page_token" not in error["message"]
    bad_key = http.client.post(
        "/videos/tasks", json={"title": "T"}, headers={"Idempotency-Key": "has spaces"}
    )
    assert bad_key.json()["error"]["message"].startswith("Idempotency-Key:")


def test_a_405_names_every_method_the_path_allows(http):
    for path, allowed in [
        ("/videos/tasks", {"GET", "HEAD", "POST"}),
        ("/videos/tasks/x", {"GET", "HEAD", "DELETE"}),
        ("/videos/x", {"GET", "HEAD", "DELETE"}),
        ("/videos/tasks/x/events", {"GET"}),  # a stream's headers alone say nothing
    ]:
        response = http.client.put(path)
        error_of(response, 405, "UNIMPLEMENTED")
        assert set(response.headers["Allow"].replace(" ", "").split(",")) == allowed


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "PUT", "PATCH"])
def test_a_custom_method_with_the_wrong_http_method_is_405_with_allow(http, method):
    """`GET /videos/tasks/{id}:cancel` is the cancel route's 405, not a read
    of a task named `{id}:cancel` (400)."""
    response = http.client.request(method, "/videos/tasks/x:cancel")
    assert response.status_code == 405, response.text
    assert response.headers["Allow"].replace(" ", "") == "POST"
    if method != "HEAD":
        error_of(response, 405, "UNIMPLEMENTED")


@pytest.mark.parametrize(
    "path",
    ["/videos/tasks/x:undo", "/videos/x:cancel", "/video/tasks/x:cancel", "/videos/x:y/content"],
)
def test_an_unknown_custom_method_is_404(http, path):
    error_of(http.client.get(path), 404, "NOT_FOUND")


def test_every_grpc_code_has_an_http_status():
    assert set(HTTP_STATUS) == set(grpc.StatusCode)
    expected = {
        "INVALID_ARGUMENT": 400, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "ABORTED": 409,
        "FAILED_PRECONDITION": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403,
        "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "UNAVAILABLE": 503,
        "DEADLINE_EXCEEDED": 504, "UNIMPLEMENTED": 501, "INTERNAL": 500, "UNKNOWN": 500,
        "DATA_LOSS": 500, "OUT_OF_RANGE": 400,
    }  # fmt: skip
    assert {
        code.name: HTTP_STATUS[code] for code in grpc.StatusCode if code.name != "OK"
    } == expected


def test_resource_exhausted_is_429_with_the_servers_retry_delay():
    delay = duration_pb2.Duration(seconds=7)
    status = build_status(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "backlog full",
        [error_details_pb2.RetryInfo(retry_delay=delay)],
    )
    response = error_response(status)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


def test_a_client_that_leaves_mid_body_is_no_error_in_the_log(http, caplog):
    caplog.set_level(logging.INFO)
    host, port = http.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(
            b"POST /videos/tasks HTTP/1.1\r\nHost: localhost\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ti'
        )
    until(
        lambda: [r for r in caplog.records if r.name == "longreel.gateway.access"],
        what="an access line for the abandoned request",
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
