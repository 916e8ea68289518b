"""The /v1 REST surface the protos' google.api.http annotations (and the
service config's rules for Operations) declare, transcoded by the gateway:
proto3 JSON in and out, google.rpc.Status errors, over real sockets."""

from __future__ import annotations

import base64
import json
import socket
import threading

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from longreel.gateway.holds import HoldLimits
from longreel.gateway.metrics import GatewayMetrics
from longreel.server.media import MediaFiles
from longreel.server.processor import Profile, RenderingProcessor

from ..helpers import until, waiters
from ..processors import GatedProcessor

pytestmark = pytest.mark.any_store  # the transcoding, not the store, is under test

OPERATION_METADATA = "type.googleapis.com/longreel.video.v1.OperationMetadata"
VIDEO = "type.googleapis.com/longreel.video.v1.Video"
EMPTY = "type.googleapis.com/google.protobuf.Empty"
REQUEST_ID = "4c1d9b2e-7a3f-4e6b-8d5c-2f1a0b9e8d7c"  # AIP-155: request_id is a UUID
TINY = Profile(width=96, height=64, fps=12, seconds=1.0)


def create(client, video_id, title="My movie", **params):
    return client.post(
        "/v1/videos", params={"videoId": video_id, **params}, json={"title": title, "plot": "P"}
    )


def wait(client, operation_name, timeout="10s"):
    answer = client.post(f"/v1/{operation_name}:wait", json={"timeout": timeout})
    assert answer.status_code == 200, answer.text
    return answer.json()


def made(http, video_id, title="My movie"):
    """A video created through /v1, its render let through."""
    op = create(http.client, video_id, title).json()
    http.api.processor.gate.set()
    return wait(http.client, op["name"])


def error_of(answer, http_status, status):
    assert answer.status_code == http_status, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    error = answer.json()["error"]
    assert (error["code"], error["status"]) == (http_status, status)
    assert error["message"]
    return error


def test_create_answers_an_operation_in_proto3_json_and_repeats_by_request_id(http):
    answer = create(http.client, "first", requestId=REQUEST_ID)
    assert answer.status_code == 200
    op = answer.json()
    assert op["name"].startswith("operations/")
    assert op.get("done", False) is False
    assert op["metadata"]["@type"] == OPERATION_METADATA
    assert (op["metadata"]["target"], op["metadata"]["verb"]) == ("videos/first", "create")
    assert create(http.client, "first", requestId=REQUEST_ID).json()["name"] == op["name"]


def test_a_created_operation_is_read_until_done_and_holds_the_video(http):
    op = create(http.client, "read-me", "Read me").json()
    pending = http.client.get(f"/v1/{op['name']}")
    assert pending.status_code == 200
    assert pending.json()["name"] == op["name"]
    assert pending.json().get("done", False) is False
    http.api.processor.gate.set()
    assert wait(http.client, op["name"])["done"] is True
    done = http.client.get(f"/v1/{op['name']}").json()
    assert done["done"] is True
    video = done["response"]
    assert video["@type"] == VIDEO
    assert (video["name"], video["title"], video["plot"]) == ("videos/read-me", "Read me", "P")
    assert "createTime" in video
    assert "error" not in done


def test_videos_are_read_listed_in_pages_and_deleted(http):
    for video_id in ("one", "two"):
        made(http, video_id, video_id.title())
    got = http.client.get("/v1/videos/one")
    assert got.status_code == 200
    assert got.json()["title"] == "One"
    first = http.client.get("/v1/videos", params={"pageSize": 1}).json()
    assert [v["name"] for v in first["videos"]] == ["videos/one"]
    token = first["nextPageToken"]
    rest = http.client.get("/v1/videos", params={"page_size": "1", "pageToken": token}).json()
    assert [v["name"] for v in rest["videos"]] == ["videos/two"]

    gone = http.client.delete("/v1/videos/one")
    assert gone.status_code == 200
    assert gone.json()["metadata"]["verb"] == "delete"
    assert wait(http.client, gone.json()["name"])["response"] == {"@type": EMPTY}
    error_of(http.client.get("/v1/videos/one"), 404, "NOT_FOUND")


def test_operations_are_listed_filtered_cancelled_and_deleted(http):
    running = create(http.client, "running").json()["name"]
    listed = http.client.get("/v1/operations", params={"filter": "done = false"}).json()
    assert [op["name"] for op in listed["operations"]] == [running]

    cancelled = http.client.post(f"/v1/{running}:cancel")  # no body at all: {}
    assert (cancelled.status_code, cancelled.json()) == (200, {})
    ended = wait(http.client, running)
    assert ended["done"] is True
    assert ended["error"]["code"] == 1  # CANCELLED, as google.rpc.Status JSON
    assert ended["metadata"]["requestedCancellation"] is True
    done = http.client.get("/v1/operations", params={"filter": "done = true", "pageSize": 5})
    assert [op["name"] for op in done.json()["operations"]] == [running]

    deleted = http.client.delete(f"/v1/{running}")
    assert (deleted.status_code, deleted.json()) == (200, {})
    error_of(http.client.get(f"/v1/{running}"), 404, "NOT_FOUND")


def test_wait_without_a_timeout_and_with_a_short_one_answers_the_operation(http):
    op = create(http.client, "waited").json()["name"]
    short = wait(http.client, op, timeout="0.05s")
    assert (short["name"], short.get("done", False)) == (op, False)
    http.api.processor.gate.set()
    answer = http.client.post(f"/v1/{op}:wait", json={})
    assert answer.json()["done"] is True


def test_an_unknown_body_field_is_a_400_status_naming_it(http):
    answer = http.client.post("/v1/videos", json={"title": "T", "colour": "red"})
    error = error_of(answer, 400, "INVALID_ARGUMENT")
    assert "colour" in error["message"]


def test_an_unknown_query_parameter_is_a_400_naming_it(http):
    error = error_of(http.client.get("/v1/videos", params={"size": "3"}), 400, "INVALID_ARGUMENT")
    violations = next(d for d in error["details"] if "fieldViolations" in d)["fieldViolations"]
    assert violations[0]["field"] == "size"


def test_a_query_parameter_may_not_set_what_the_path_or_body_sets(http):
    answer = http.client.get("/v1/videos/x", params={"name": "videos/y"})
    error_of(answer, 400, "INVALID_ARGUMENT")
    answer = http.client.post(
        "/v1/videos", params={"video.title": "Q"}, json={"title": "T", "plot": "P"}
    )
    error_of(answer, 400, "INVALID_ARGUMENT")


def test_the_servers_field_violations_keep_the_protos_field_paths(http):
    error = error_of(
        http.client.post("/v1/videos", json={"plot": "no title"}), 400, "INVALID_ARGUMENT"
    )
    violations = next(d for d in error["details"] if "fieldViolations" in d)["fieldViolations"]
    assert "video.title" in [v["field"] for v in violations]  # not the seeds' `title`


def test_unknown_routes_are_404_and_wrong_methods_405_as_status_json(http):
    for path in ("/v1/nothing", "/v1/videos/a/b", "/v1/videos/x:explode", "/v2/videos"):
        error_of(http.client.get(path), 404, "NOT_FOUND")
    answer = http.client.put("/v1/videos")
    error_of(answer, 405, "UNIMPLEMENTED")
    assert answer.headers["Allow"] == "GET, HEAD, POST"
    wrong_verb = http.client.get("/v1/operations/x:cancel")
    error_of(wrong_verb, 405, "UNIMPLEMENTED")
    assert wrong_verb.headers["Allow"] == "POST"


def test_a_unary_get_answers_head_but_a_server_stream_is_405_before_any_lane_or_call(
    start_server, start_gateway
):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    api = start_server(GatedProcessor(), tracer_provider=provider)
    http = start_gateway(api, holds=HoldLimits(per_caller=1, per_address=1000, total=100))

    def reads() -> list[object]:  # ReadVideoContent calls the server has served
        return [
            s
            for s in exporter.get_finished_spans()
            if s.name == "/longreel.video.v1.VideoService/ReadVideoContent"
            and s.kind == SpanKind.SERVER
        ]

    op = create(http.client, "pending").json()["name"]
    head = http.client.head(f"/v1/{op}")  # GetOperation: unary, so HEAD is its GET's head
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["Content-Type"] == "application/json"

    # The caller's one held call is a :wait on an operation that does not end yet.
    held = threading.Thread(target=wait, args=(http.client, op, "30s"))
    held.start()
    try:
        until(lambda: waiters(api, op) == 1, what="the :wait at the server")
        error_of(http.client.get("/v1/videos/nope:read"), 429, "RESOURCE_EXHAUSTED")  # cap full
        head = http.client.head("/v1/videos/nope:read")  # not 429: it asks for no lane
        assert (head.status_code, head.headers.get("Allow")) == (405, "GET")
    finally:
        api.processor.gate.set()  # the :wait ends, pass or fail
        held.join(timeout=30)
    assert not held.is_alive()

    assert http.client.head("/v1/videos/nope:read").status_code == 405
    assert reads() == []  # no call either
    error_of(http.client.get("/v1/videos/nope:read"), 404, "NOT_FOUND")
    until(lambda: len(reads()) == 1, what="the GET's call, seen as the HEADs' were not")
    assert http.client.put("/v1/videos/x:read").headers["Allow"] == "GET"


def raw_post(url: str, path: str, framing: bytes = b"", body: bytes = b"") -> tuple[str, object]:
    """POST over a bare socket, headers exactly as given (httpx and http.client
    add Content-Length: 0 to a POST without a body; curl -X POST does not)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n".encode()
            + framing
            + b"\r\n"
            + body
        )
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    head, _, content = answer.partition(b"\r\n\r\n")
    return head.decode().split("\r\n")[0], json.loads(content)


def test_a_body_star_post_without_any_body_is_an_empty_request(http):
    first, second = (create(http.client, name).json()["name"] for name in ("curl", "chunked"))
    # curl -X POST: no Content-Length, no Transfer-Encoding, no Content-Type.
    assert raw_post(http.url, f"/v1/{first}:cancel") == ("HTTP/1.1 200 OK", {})
    chunked = raw_post(
        http.url, f"/v1/{second}:cancel", b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n"
    )
    assert chunked == ("HTTP/1.1 200 OK", {})
    for name in (first, second):
        assert wait(http.client, name)["error"]["code"] == 1  # CANCELLED: the call was made
    status, error = raw_post(
        http.url, f"/v1/{first}:cancel", b"Content-Type: text/plain\r\nContent-Length: 2\r\n", b"{}"
    )
    assert status.startswith("HTTP/1.1 415")  # a body with bytes still needs JSON's type
    assert {"reason": "UNSUPPORTED_MEDIA_TYPE"}.items() <= error["error"]["details"][0].items()


def test_a_body_that_is_not_json_is_refused(http):
    answer = http.client.post(
        "/v1/videos", content=b"title=T", headers={"Content-Type": "text/plain"}
    )
    error_of(answer, 415, "INVALID_ARGUMENT")
    answer = http.client.post(
        "/v1/videos", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    error_of(answer, 400, "INVALID_ARGUMENT")


def test_a_body_star_method_takes_no_query_parameters(http):
    op = create(http.client, "q").json()["name"]
    answer = http.client.post(f"/v1/{op}:wait", params={"timeout": "1s"}, json={})
    error_of(answer, 400, "INVALID_ARGUMENT")


def test_system_parameters_are_not_fields_and_enums_may_be_numbers(http):
    answer = http.client.get("/v1/videos", params={"$alt": "json;enum-encoding=int"})
    assert answer.status_code == 200
    assert answer.json() == {}  # proto3 JSON leaves out empty fields


def test_the_seeds_routes_answer_beside_v1(http):
    task = http.client.post("/videos/tasks", json={"title": "Seed"})
    assert task.status_code == 202
    op = f"operations/{task.json()['id']}"
    assert http.client.get(f"/v1/{op}").json()["name"] == op


def test_the_bearer_token_reaches_the_server_and_content_streams_as_a_json_array(
    start_server, start_gateway, tmp_path
):
    keys = tmp_path / "api-keys"
    keys.write_text("alice-key-0123456789abcdef alice\n")
    media = MediaFiles(tmp_path / "media")
    api = start_server(
        RenderingProcessor(media, TINY), media_dir=media.folder, auth="api-keys", api_keys_file=keys
    )
    http = start_gateway(api).client
    alice = {"Authorization": "Bearer alice-key-0123456789abcdef"}
    error_of(http.get("/v1/videos"), 401, "UNAUTHENTICATED")
    op = http.post("/v1/videos", params={"videoId": "film"}, json={"title": "Film"}, headers=alice)
    done = http.post(f"/v1/{op.json()['name']}:wait", json={"timeout": "60s"}, headers=alice)
    video = done.json()["response"]
    data = media.video("film", video["sha256"]).read_bytes()
    assert int(video["sizeBytes"]) == len(data)  # int64 is a string in proto3 JSON

    whole = http.get("/v1/videos/film:read", headers=alice)
    assert whole.status_code == 200
    assert whole.headers["Content-Type"] == "application/json"
    chunks = whole.json()
    assert isinstance(chunks, list) and chunks
    assert b"".join(base64.b64decode(c["data"]) for c in chunks) == data
    part = http.get(
        "/v1/videos/film:read", params={"readOffset": 10, "readLimit": 25}, headers=alice
    )
    assert b"".join(base64.b64decode(c["data"]) for c in part.json()) == data[10:35]
    thumb = http.get("/v1/videos/film:read", params={"part": "THUMBNAIL"}, headers=alice)
    assert base64.b64decode(thumb.json()[0]["data"]).startswith(b"\x89PNG")
    past = http.get("/v1/videos/film:read", params={"readOffset": len(data) + 1}, headers=alice)
    error_of(past, 400, "OUT_OF_RANGE")
    error_of(http.get("/v1/videos/nope:read", headers=alice), 404, "NOT_FOUND")


def test_metrics_label_v1_requests_by_template_never_by_name(start_server, start_gateway):
    registry = CollectorRegistry()
    http = start_gateway(start_server(GatedProcessor()), GatewayMetrics(registry))
    op = create(http.client, "counted").json()["name"]
    assert http.client.get(f"/v1/{op}").status_code == 200
    assert http.client.get("/v1/videos/nope").status_code == 404
    assert http.client.put("/v1/videos").status_code == 405

    def requests(method, route, code):
        labels = {"method": method, "route": route, "code": code}
        return registry.get_sample_value("longreel_gateway_requests_total", labels)

    assert requests("POST", "/v1/videos", "200") == 1
    assert requests("GET", "/v1/{name=operations/**}", "200") == 1
    assert requests("GET", "/v1/{name=videos/*}", "404") == 1
    assert requests("PUT", "/v1/videos", "405") == 1
