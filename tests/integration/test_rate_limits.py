"""Rate limits: a caller past its rate gets RESOURCE_EXHAUSTED and when to
retry; failed logins are limited per client, behind the gateway too, where
the caller is named by its connection's address (or a trusted proxy's
x-forwarded-for), never by a header the caller wrote."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import httpx
import pytest

from longreel.server.app import StartupError, VideoServer
from longreel.server.config import Config
from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from ..callers import ALICE, BOB, Caller, refused, write_keys
from ..helpers import details


@pytest.fixture
def keys_file(tmp_path):
    return write_keys(tmp_path / "api-keys")


def test_a_caller_past_its_rate_gets_resource_exhausted_and_when_to_retry(start_server, keys_file):
    api = start_server(auth="api-keys", api_keys_file=keys_file, rate_limit=5)
    alice, bob = Caller(api.channel, ALICE), Caller(api.channel, BOB)
    answers = []
    for _ in range(50):
        try:
            answers.append(alice.list_videos())
        except grpc.RpcError as exc:
            answers.append(exc)
    first_refusal = next(a for a in answers if isinstance(a, grpc.RpcError))
    assert answers.index(first_refusal) >= 5  # a burst of 10 allowed, refill 5 a second
    assert first_refusal.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    found = details(first_refusal)
    assert found["ErrorInfo"].reason == "RATE_LIMITED"
    assert found["RetryInfo"].retry_delay.ToMilliseconds() > 0
    assert bob.list_videos() == []  # another caller has a bucket of its own


def test_failed_logins_are_rate_limited_and_one_authorization_only(start_server, keys_file):
    api = start_server(auth="api-keys", api_keys_file=keys_file, rate_limit=2)
    stub = pb_grpc.VideoServiceStub(api.channel)
    twice = [("authorization", f"Bearer {BOB}"), ("authorization", f"Bearer {ALICE}")]
    err = refused(
        lambda: stub.ListVideos(pb.ListVideosRequest(), metadata=twice, timeout=10),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    assert details(err)["ErrorInfo"].reason == "CREDENTIALS_MALFORMED"
    guesser = Caller(api.channel, "guess-0000000000000000")
    codes = set()
    for _ in range(20):
        try:
            guesser.list_videos()
        except grpc.RpcError as exc:
            codes.add(exc.code())
    assert codes == {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED}


def _from(url: str, source: str, token: str | None = None) -> httpx.Client:
    """An HTTP client whose connections come from `source` (a loopback address)."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=url, transport=transport, headers=headers, timeout=30)


def test_one_callers_failed_logins_through_the_gateway_lock_out_that_caller_only(
    start_server, start_gateway, keys_file
):
    """Issue 17: behind the gateway every caller's peer is the gateway; the
    failed-login budget must still be per client (x-forwarded-for), and a
    missing credential is no guess, so it spends none."""
    # 10 a minute (one back every 6 s), so that the test's own pace refills nothing.
    api = start_server(auth="api-keys", api_keys_file=keys_file, failed_login_limit=10)
    url = start_gateway(api).url
    with _from(url, "127.0.0.3") as anonymous:
        assert {anonymous.get("/videos").status_code for _ in range(30)} == {401}
    with _from(url, "127.0.0.3", ALICE) as same_address_with_key:
        assert same_address_with_key.get("/videos").status_code == 200  # budget unspent
    with _from(url, "127.0.0.2", "guess-0000000000000000") as guesser:
        codes = [guesser.get("/videos").status_code for _ in range(20)]
    assert codes[:10] == [401] * 10 and set(codes[11:]) == {429}, codes
    with _from(url, "127.0.0.2", ALICE) as guesser_with_key:  # past its budget: still slow
        assert guesser_with_key.get("/videos").status_code == 429
    with _from(url, "127.0.0.1", ALICE) as honest:  # every other caller behind the gateway
        assert honest.get("/videos").status_code == 200
    with _from(url, "127.0.0.1") as honest_anonymous:
        assert honest_anonymous.get("/videos").status_code == 401


@pytest.mark.parametrize("trusted", ["10.0.0.1", "loopback"])
def test_x_forwarded_for_counts_only_from_a_trusted_proxy(start_server, keys_file, trusted):
    api = start_server(auth="api-keys", api_keys_file=keys_file, trusted_proxies=trusted)
    stub = pb_grpc.VideoServiceStub(api.channel)
    codes = set()
    for n in range(70):  # each guess claims to come from another address
        metadata = [("authorization", "Bearer guess-0000000000000000"),
                    ("x-forwarded-for", f"192.0.2.{n}")]  # fmt: skip
        try:
            stub.ListVideos(pb.ListVideosRequest(), metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            codes.add(exc.code())
    if trusted == "loopback":  # the peer (127.0.0.1) is a trusted proxy: 70 clients, 1 guess each
        assert codes == {grpc.StatusCode.UNAUTHENTICATED}
    else:  # not trusted: the metadata is ignored, and the peer spends its own budget
        assert codes == {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED}


def test_a_failed_login_limit_below_one_a_minute_is_refused(tmp_path):
    for value in ("0.5", "0.01"):
        run = subprocess.run(
            [str(Path(sys.executable).with_name("video-server")), "--failed-login-limit", value,
             "--data-dir", str(tmp_path / "data")],
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        assert run.returncode == 2 and "--failed-login-limit" in run.stderr, run.stderr
    with pytest.raises(StartupError, match="--failed-login-limit"):
        VideoServer(Config(failed_login_limit=0.5, data_dir=tmp_path / "data"))


def test_an_http_x_forwarded_for_does_not_buy_a_caller_a_fresh_budget(
    start_server, start_gateway, keys_file
):
    """The gateway names the caller by its connection's address, never by a
    header the caller wrote (uvicorn's proxy headers, on by default from
    127.0.0.1, would let any local caller pick its address per request)."""
    api = start_server(auth="api-keys", api_keys_file=keys_file, failed_login_limit=10)
    url = start_gateway(api).url
    with _from(url, "127.0.0.1", "guess-0000000000000000") as guesser:
        codes = [
            guesser.get("/videos", headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code
            for n in range(20)
        ]
    assert codes[:10] == [401] * 10 and set(codes[11:]) == {429}, codes


def test_the_per_address_rate_limit_behind_the_gateway_is_per_client(start_server, start_gateway):
    """Under --auth none the rate limit's key is the address: the client's,
    as the gateway forwards it, not the gateway's own."""
    api = start_server(rate_limit=0.2)  # bursts of 1: the second call at once is 429
    url = start_gateway(api).url
    with _from(url, "127.0.0.2") as busy:
        assert [busy.get("/videos").status_code for _ in range(3)][1:] == [429, 429]
    with _from(url, "127.0.0.3") as other:
        assert other.get("/videos").status_code == 200
