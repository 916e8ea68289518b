"""The gRPC port against callers who connect and then hold on: a connection
that never finishes its handshake, one that stays idle, and more of them
than the server keeps descriptors for."""

from __future__ import annotations

import socket
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from longreel.server import app

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def _closed_by_server(raw: socket.socket, within: float) -> bool:
    """Whether the server closes raw (reading and dropping what it sends) within seconds."""
    raw.settimeout(0.5)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if not raw.recv(65_536):
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


def _serving(target: str) -> bool:
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status == 1


@pytest.fixture
def short_limits(monkeypatch):
    monkeypatch.setattr(app, "HANDSHAKE_TIMEOUT", 1.0)
    monkeypatch.setattr(app, "MAX_IDLE", 1.0)


def test_a_connection_that_never_says_anything_is_closed(short_limits, start_server):
    api = start_server()
    host, port = api.target.split(":")
    with socket.create_connection((host, int(port))) as silent:
        assert _closed_by_server(silent, within=15)
    assert _serving(api.target)


def test_a_connection_that_stops_half_way_through_its_preface_is_closed(short_limits, start_server):
    api = start_server()
    host, port = api.target.split(":")
    with socket.create_connection((host, int(port))) as slow:
        slow.sendall(PREFACE[:10])
        assert _closed_by_server(slow, within=15)


def test_an_idle_connection_is_let_go_and_the_client_reconnects(short_limits, start_server):
    api = start_server()
    with grpc.insecure_channel(api.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
        states: list[grpc.ChannelConnectivity] = []
        channel.subscribe(states.append)
        deadline = time.monotonic() + 15
        while grpc.ChannelConnectivity.IDLE not in states:  # the server's GOAWAY
            assert time.monotonic() < deadline, states
            time.sleep(0.1)
        channel.unsubscribe(states.append)
        assert stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status == 1


def test_connections_past_the_cap_are_refused_and_the_server_carries_on(monkeypatch, start_server):
    monkeypatch.setattr(app, "MAX_CONNECTIONS", 3)
    api = start_server()
    host, port = api.target.split(":")
    hoard = [socket.create_connection((host, int(port))) for _ in range(3)]
    try:
        for raw in hoard:
            raw.sendall(PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # an empty SETTINGS
            raw.settimeout(10)
            assert raw.recv(9)  # the server's own SETTINGS: it took this one in
        with socket.create_connection((host, int(port))) as extra:
            extra.sendall(PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            assert _closed_by_server(extra, within=15)
    finally:
        for raw in hoard:
            raw.close()
    deadline = time.monotonic() + 15
    while True:  # the slots come back as the hoard leaves
        try:
            if _serving(api.target):
                break
        except grpc.RpcError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
