"""Logs: one line per event, one JSON object a line with --log-format json,
carrying the operation, request_id and principal of the call or job it
belongs to; never a token nor a request body. The programs run as real
processes, as an operator runs them."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import httpx
import pytest
from google.longrunning import operations_pb2, operations_pb2_grpc

from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from ..helpers import wait
from ..programs import server_args

BIN = Path(sys.executable).parent
CREATE = "/longreel.video.v1.VideoService/CreateVideo"
ALICE = "alice-key-0123456789abcdef"
WRONG = "sk-live-do-not-log-me-0123456789"
TITLE, PLOT = "Title-never-in-the-log", "Plot-never-in-the-log"
KEY = "a6b5c4d3-e2f1-4a0b-9c8d-7e6f5a4b3c2d"  # the request_id the log lines must carry


def stubs(channel: grpc.Channel) -> SimpleNamespace:
    return SimpleNamespace(
        videos=pb_grpc.VideoServiceStub(channel),
        operations=operations_pb2_grpc.OperationsStub(channel),
    )


def records(log: str) -> list[dict[str, Any]]:
    """Every line of a JSON log, parsed; a line that is not one object fails."""
    parsed = []
    for line in log.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(record, dict), line
        when = datetime.datetime.fromisoformat(record["time"])
        assert record["time"].endswith("Z") and when.utcoffset() == datetime.timedelta(0)
        assert record["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), record
        assert record["logger"] and isinstance(record["message"], str)
        parsed.append(record)
    return parsed


def test_the_server_logs_an_operation_from_accepted_to_finished_in_json(tmp_path, start):
    server = start("video-server", *server_args(tmp_path, "--log-format", "json"))
    with grpc.insecure_channel(server.address) as channel:
        api = stubs(channel)
        request = pb.CreateVideoRequest(video=pb.Video(title=TITLE, plot=PLOT), request_id=KEY)
        op = api.videos.CreateVideo(request, timeout=10)
        assert wait(api, op.name).done
        with pytest.raises(grpc.RpcError) as missing:
            api.operations.GetOperation(
                operations_pb2.GetOperationRequest(name="operations/missing"), timeout=10
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    log = server.stop()
    lines = records(log)

    started = [r for r in lines if r["message"].startswith("video-server listening on")]
    assert [r["level"] for r in started] == ["INFO"]
    accepted = [r for r in lines if r.get("request_id") == KEY]
    assert len(accepted) == 1
    assert accepted[0]["operation"] == op.name
    assert accepted[0]["method"] == CREATE and accepted[0]["verb"] == "create"
    assert accepted[0]["level"] == "INFO" and "accepted create" in accepted[0]["message"]
    finished = [r for r in lines if "outcome" in r]
    assert [(r["operation"], r["outcome"], r["level"]) for r in finished] == [
        (op.name, "done", "INFO")
    ]
    assert finished[0]["duration_ms"] >= 0
    claimed = [r for r in lines if r["message"].startswith("claimed")]
    assert [r["operation"] for r in claimed] == [op.name]
    # A caller's NOT_FOUND is no trouble of the server's; nothing else went wrong.
    assert [r for r in lines if r["level"] not in ("DEBUG", "INFO")] == []
    assert TITLE not in log and PLOT not in log


def test_the_gateway_writes_its_access_log_in_json(tmp_path, start):
    server = start("video-server", *server_args(tmp_path, "--log-level", "warning"))
    gateway = start(
        "video-gateway", "--listen", "127.0.0.1:0", "--target", server.address,
        "--log-format", "json",
    )  # fmt: skip
    with httpx.Client(base_url=gateway.address, timeout=10) as http:
        made = http.post("/videos/tasks", json={"title": TITLE}, headers={"Idempotency-Key": "k1"})
        assert made.status_code == 202
        assert http.get("/nowhere", params={"secret": "query-never-in-the-log"}).status_code == 404
    log = gateway.stop()
    lines = records(log)

    started = [r for r in lines if r["message"].startswith("video-gateway listening on")]
    assert [r["level"] for r in started] == ["INFO"]
    access = [r for r in lines if r["logger"] == "longreel.gateway.access"]
    assert [(r["method"], r["path"], r["status"], r["level"]) for r in access] == [
        ("POST", "/videos/tasks", 202, "INFO"),
        ("GET", "/nowhere", 404, "INFO"),
    ]
    assert all(r["duration_ms"] >= 0 for r in access)
    assert any(r["logger"].startswith("uvicorn") for r in lines)  # uvicorn's lines, ours too
    assert "query-never-in-the-log" not in log and TITLE not in log


@pytest.mark.parametrize("form", ["text", "json"])
def test_no_token_nor_body_reaches_any_log(tmp_path, start, form):
    keys = tmp_path / "api-keys"
    keys.write_text(f"{ALICE} alice\n")
    server = start(
        "video-server",
        *server_args(tmp_path, "--auth", "api-keys", "--api-keys-file", str(keys)),
        "--log-format", form, "--log-level", "debug",
    )  # fmt: skip
    gateway = start(
        "video-gateway", "--listen", "127.0.0.1:0", "--target", server.address,
        "--log-format", form, "--log-level", "debug",
    )  # fmt: skip
    with grpc.insecure_channel(server.address) as channel:
        api = stubs(channel)
        request = pb.CreateVideoRequest(video=pb.Video(title=TITLE, plot=PLOT))
        alice = [("authorization", f"Bearer {ALICE}")]
        op = api.videos.CreateVideo(request, metadata=alice, timeout=10)
        ask = operations_pb2.WaitOperationRequest(name=op.name)
        ask.timeout.FromSeconds(10)
        assert api.operations.WaitOperation(ask, metadata=alice, timeout=15).done
        with pytest.raises(grpc.RpcError) as refused:
            api.videos.ListVideos(
                pb.ListVideosRequest(), metadata=[("authorization", f"Bearer {WRONG}")]
            )
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with httpx.Client(base_url=gateway.address, timeout=10) as http:
        made = http.post(
            "/videos/tasks",
            json={"title": TITLE, "plot": PLOT},
            headers={"Authorization": f"Bearer {ALICE}"},
        )
        assert made.status_code == 202
        task = made.headers["content-location"]
        assert http.get(task, headers={"Authorization": f"Bearer {ALICE}"}).status_code in (
            200,
            303,
        )
        assert http.get(task, headers={"Authorization": f"Bearer {WRONG}"}).status_code == 401
    server_log, gateway_log = server.stop(), gateway.stop()

    for log in (server_log, gateway_log):
        for secret in (ALICE, WRONG, "do-not-log-me", TITLE, PLOT):
            assert secret not in log
    assert "alice" in server_log  # the principal is there, by name
    assert task in gateway_log
    if form == "json":
        records(server_log)
        records(gateway_log)


@pytest.mark.parametrize("command", ["video-server", "video-worker", "video-gateway"])
def test_bad_log_flags_are_a_usage_error_in_every_program(command):
    for args, env in (
        (["--log-format", "xml"], {}),
        (["--log-level", "loud"], {}),
        ([], {"VIDEO_LOG_FORMAT": "xml"}),
        ([], {"VIDEO_LOG_LEVEL": "loud"}),
    ):
        result = subprocess.run(
            [str(BIN / command), *args], capture_output=True, text=True, timeout=30,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("VIDEO_")}, **env},
        )  # fmt: skip
        assert result.returncode == 2, (args, env, result.stderr)
        assert result.stderr.splitlines()[-1].startswith(f"{command}: error:"), result.stderr
