"""The retry policy we publish (longreel_grpc_service_config.json, shipped in
the client package) says what our own client does, so a generated client or
a plain gRPC channel that reads it behaves as ours: same codes retried, same
backoff, same per-call timeout, every method covered.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import grpc
import pytest
from google.api_core import exceptions

from longreel.client import _core, _retry
from longreel.video.v1 import video_service_pb2 as pb

CONFIG = "longreel_grpc_service_config.json"
OPERATIONS = ["GetOperation", "ListOperations", "CancelOperation", "DeleteOperation"]


def load() -> dict[str, Any]:
    """The config as the installed client package carries it."""
    text = resources.files("longreel.video.v1").joinpath(CONFIG).read_text()
    config: dict[str, Any] = json.loads(text)
    return config


def method_config(service: str, method: str) -> dict[str, Any]:
    matches = [
        entry
        for entry in load()["methodConfig"]
        if {"service": service, "method": method} in entry["name"]
    ]
    assert len(matches) == 1, f"{service}/{method} is named by {len(matches)} entries"
    return matches[0]


def seconds(duration: str) -> float:
    assert duration.endswith("s")
    return float(duration[:-1])


def test_every_rpc_of_the_video_service_has_a_config():
    methods = pb.DESCRIPTOR.services_by_name["VideoService"].methods
    for method in methods:
        method_config("longreel.video.v1.VideoService", method.name)


@pytest.mark.parametrize(
    ("service", "method"),
    [("longreel.video.v1.VideoService", m) for m in ["CreateVideo", "GetVideo", "ListVideos"]]
    + [("longreel.video.v1.VideoService", "DeleteVideo")]
    + [("google.longrunning.Operations", m) for m in OPERATIONS],
)
def test_unary_calls_retry_unavailable_with_the_clients_backoff_and_timeout(service, method):
    config = method_config(service, method)
    ours = _core.default_retry(_retry.Retry)
    policy = config["retryPolicy"]
    assert seconds(config["timeout"]) == _core.DEFAULT_TIMEOUT
    assert seconds(policy["initialBackoff"]) == ours._initial
    assert seconds(policy["maxBackoff"]) == ours._maximum
    assert policy["backoffMultiplier"] == ours._multiplier
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE"]
    retried = exceptions.from_grpc_status(grpc.StatusCode.UNAVAILABLE, "gone")
    assert ours._predicate(retried)
    # gRPC's own retries stop at 5 attempts; more would be refused by the channel.
    assert 2 <= policy["maxAttempts"] <= 5


def test_wait_operation_also_retries_deadline_exceeded_and_holds_longer_than_a_slice():
    config = method_config("google.longrunning.Operations", "WaitOperation")
    codes = config["retryPolicy"]["retryableStatusCodes"]
    assert sorted(codes) == ["DEADLINE_EXCEEDED", "UNAVAILABLE"]
    for name in codes:
        error = exceptions.from_grpc_status(grpc.StatusCode[name], "again")
        assert _core.WAIT_RETRYABLE(error)
    assert seconds(config["timeout"]) == _core.WAIT_SLICE + _core.WAIT_SLACK


def test_a_stream_of_bytes_is_never_retried_half_sent():
    config = method_config("longreel.video.v1.VideoService", "ReadVideoContent")
    assert "retryPolicy" not in config


def test_a_grpc_channel_accepts_the_config_as_it_is():
    """gRPC validates a channel's service config before its first call: a
    malformed one fails every call with INVALID_ARGUMENT. Ours gets as far as
    connecting (to a port where nothing listens)."""
    options = [("grpc.service_config", json.dumps(load())), ("grpc.enable_retries", 1)]
    with grpc.insecure_channel("127.0.0.1:9", options=options) as channel:
        get_video = channel.unary_unary("/longreel.video.v1.VideoService/GetVideo")
        with pytest.raises(grpc.RpcError) as raised:
            get_video(b"", timeout=30)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE, raised.value.details()
