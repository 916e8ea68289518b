"""Security: only the owner sees an operation or a video (others get NOT_FOUND,
through gRPC and the gateway alike); tokens missing, malformed, expired or
signed with the wrong key are refused; TLS and mutual TLS work, and
plaintext stays on loopback unless the operator says otherwise."""

from __future__ import annotations

import logging
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import jwt
import pytest
from google.longrunning import operations_pb2, operations_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from longreel.client import VideoClient, exceptions, tls_credentials
from longreel.server.app import StartupError, VideoServer
from longreel.server.config import Config
from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from ..certs import make_pki, signing_key
from ..helpers import details
from ..processors import GatedProcessor

VIDEOCTL = str(Path(sys.executable).with_name("videoctl"))
ALICE, BOB = "alice-key-0123456789abcdef", "bob-key-9876543210fedcba"


class Caller:
    """Stubs that send one caller's token (or none) on every call."""

    def __init__(self, channel: grpc.Channel, token: str | None) -> None:
        self.md = [("authorization", f"Bearer {token}")] if token else []
        self.videos = pb_grpc.VideoServiceStub(channel)
        self.operations = operations_pb2_grpc.OperationsStub(channel)

    def create(self, title: str, **fields: Any) -> operations_pb2.Operation:
        request = pb.CreateVideoRequest(video=pb.Video(title=title), **fields)
        return self.videos.CreateVideo(request, metadata=self.md, timeout=10)

    def get(self, name: str) -> operations_pb2.Operation:
        request = operations_pb2.GetOperationRequest(name=name)
        return self.operations.GetOperation(request, metadata=self.md, timeout=10)

    def wait(self, name: str) -> operations_pb2.Operation:
        request = operations_pb2.WaitOperationRequest(name=name)
        request.timeout.FromSeconds(10)
        return self.operations.WaitOperation(request, metadata=self.md, timeout=15)

    def list_operations(self) -> list[str]:
        request = operations_pb2.ListOperationsRequest(name="operations")
        found = self.operations.ListOperations(request, metadata=self.md, timeout=10)
        return [op.name for op in found.operations]

    def list_videos(self) -> list[str]:
        found = self.videos.ListVideos(pb.ListVideosRequest(), metadata=self.md, timeout=10)
        return [video.name for video in found.videos]


def refused(call: Any, code: grpc.StatusCode = grpc.StatusCode.NOT_FOUND) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    assert err.value.code() == code, err.value
    return err.value


@pytest.fixture
def keys_file(tmp_path):
    path = tmp_path / "api-keys"
    path.write_text(f"# token principal\n{ALICE} alice\n{BOB} bob\n")
    return path


@pytest.fixture
def keyed(start_server, make_backend, keys_file):
    """A server on each store whose callers present API keys."""
    return start_server(
        GatedProcessor(open_gate=True),
        backend=make_backend(),
        auth="api-keys",
        api_keys_file=keys_file,
    )


def test_another_caller_cannot_see_wait_cancel_or_delete_what_is_not_theirs(keyed):
    alice, bob = Caller(keyed.channel, ALICE), Caller(keyed.channel, BOB)
    op = alice.wait(alice.create("Alice's film", request_id="same-key").name)
    video = pb.Video()
    op.response.Unpack(video)
    running = alice.create("Still going")  # the gate is open: it may end soon; names suffice

    for name in (op.name, running.name):
        err = refused(lambda n=name: bob.get(n))
        assert details(err)["ErrorInfo"].reason == "OPERATION_NOT_FOUND"
        refused(lambda n=name: bob.wait(n))
        refused(
            lambda n=name: bob.operations.CancelOperation(
                operations_pb2.CancelOperationRequest(name=n), metadata=bob.md, timeout=10
            )
        )
        refused(
            lambda n=name: bob.operations.DeleteOperation(
                operations_pb2.DeleteOperationRequest(name=n), metadata=bob.md, timeout=10
            )
        )
    refused(lambda: bob.videos.GetVideo(pb.GetVideoRequest(name=video.name), metadata=bob.md))
    content = pb.ReadVideoContentRequest(name=video.name)
    refused(lambda: list(bob.videos.ReadVideoContent(content, metadata=bob.md, timeout=10)))
    # Its owner gets further: to "nothing rendered" (the test processor renders nothing).
    refused(
        lambda: list(alice.videos.ReadVideoContent(content, metadata=alice.md, timeout=10)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    refused(lambda: bob.videos.DeleteVideo(pb.DeleteVideoRequest(name=video.name), metadata=bob.md))
    assert bob.list_operations() == [] and bob.list_videos() == []

    # The same request_id from another caller is another request, not a replay.
    bobs = bob.create("Bob's film", request_id="same-key")
    assert bobs.name != op.name
    assert bob.list_operations() == [bobs.name]
    assert set(alice.list_operations()) == {op.name, running.name}
    assert alice.list_videos()[0] == video.name
    assert alice.get(op.name).done  # all of it still there for its owner


def test_missing_malformed_and_unknown_tokens_are_unauthenticated(keyed):
    stub = pb_grpc.VideoServiceStub(keyed.channel)
    for metadata, reason in (
        ([], "CREDENTIALS_MISSING"),
        ([("authorization", f"Basic {ALICE}")], "CREDENTIALS_MALFORMED"),
        ([("authorization", "Bearer ")], "CREDENTIALS_MALFORMED"),
        ([("authorization", "Bearer not-a-key")], "TOKEN_INVALID"),
    ):
        err = refused(
            lambda md=metadata: stub.ListVideos(pb.ListVideosRequest(), metadata=md, timeout=10),
            grpc.StatusCode.UNAUTHENTICATED,
        )
        assert details(err)["ErrorInfo"].reason == reason
    # Health stays open: load balancers probe without credentials.
    health = health_pb2_grpc.HealthStub(keyed.channel)
    status = health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
    assert status == health_pb2.HealthCheckResponse.SERVING


def test_no_token_reaches_the_log(start_server, keys_file, caplog):
    caplog.set_level(logging.DEBUG)
    api = start_server(auth="api-keys", api_keys_file=keys_file)
    secret = "Bearer sk-live-do-not-log-me-0123456789"
    stub = pb_grpc.VideoServiceStub(api.channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.ListVideos(pb.ListVideosRequest(), metadata=[("authorization", secret)], timeout=10)
    assert "do-not-log-me" not in err.value.details()
    Caller(api.channel, ALICE).list_videos()
    text = caplog.text
    assert "do-not-log-me" not in text and ALICE not in text


def jwt_server(start_server, key_file, **config: Any):
    return start_server(
        GatedProcessor(open_gate=True),
        auth="jwt",
        jwt_key=key_file,
        jwt_issuer="https://issuer.test",
        jwt_audience="longreel",
        **config,
    )


def token(key: Any, alg: str = "ES256", **claims: Any) -> str:
    body = {
        "sub": "carol",
        "iss": "https://issuer.test",
        "aud": "longreel",
        "exp": int(time.time()) + 300,
        **claims,
    }
    return jwt.encode(body, key, algorithm=alg)


def test_jwts_name_their_caller_and_bad_ones_are_refused(start_server, tmp_path):
    key, public = signing_key(tmp_path, "issuer")
    stranger, _ = signing_key(tmp_path, "stranger")
    api = jwt_server(start_server, public)
    carol = Caller(api.channel, token(key))
    name = carol.create("Carol's film").name
    assert Caller(api.channel, token(key)).get(name).name == name
    assert Caller(api.channel, token(key, sub="dave")).list_operations() == []

    public_pem = public.read_text()
    for bad, reason in (
        (token(key, exp=int(time.time()) - 3600), "TOKEN_EXPIRED"),
        (token(stranger), "TOKEN_INVALID"),  # signed with the wrong key
        (token(key, aud="someone-else"), "TOKEN_INVALID"),
        (token(key, iss="https://evil.test"), "TOKEN_INVALID"),
        (jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256"), "TOKEN_INVALID"),
        ("not.a.jwt", "TOKEN_INVALID"),
        # Algorithm confusion: the public key used as an HMAC secret.
        (_hs256_with(public_pem), "TOKEN_INVALID"),
    ):
        err = refused(
            lambda b=bad: Caller(api.channel, b).get(name), grpc.StatusCode.UNAUTHENTICATED
        )
        assert details(err)["ErrorInfo"].reason == reason, bad


def _hs256_with(secret: str) -> str:
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(
        json.dumps(
            {"sub": "mallory", "iss": "https://issuer.test", "aud": "longreel",
             "exp": int(time.time()) + 300}
        ).encode()
    )  # fmt: skip
    signature = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


def test_the_gateway_passes_each_callers_own_credentials(keyed, start_gateway):
    base = start_gateway(keyed.target).url
    alice = {"Authorization": f"Bearer {ALICE}"}
    bob = {"Authorization": f"Bearer {BOB}"}
    with httpx.Client(base_url=base, timeout=10) as http:
        missing = http.post("/videos/tasks", json={"title": "No key"})
        assert missing.status_code == 401
        assert missing.headers["WWW-Authenticate"] == 'Bearer realm="longreel"'
        wrong = http.get("/videos", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
        assert wrong.json()["error"]["status"] == "UNAUTHENTICATED"
        odd = http.get("/videos", headers={"Authorization": "Bearer caf\u00e9".encode()})
        assert odd.status_code == 401

        started = http.post("/videos/tasks", json={"title": "Alice's"}, headers=alice)
        assert started.status_code == 202
        task = started.headers["Content-Location"]
        assert http.get(task, headers=bob).status_code == 404
        assert http.get(task, headers=alice).status_code in (200, 303)
        assert http.get("/videos/tasks", headers=bob).json().get("tasks", []) == []


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path / "pki")


def assert_unreachable(client: VideoClient) -> None:
    """The handshake fails: the call ends UNAVAILABLE within the client's timeout."""
    with pytest.raises((exceptions.ServiceUnavailable, exceptions.RetryError)):
        next(iter(client.list_videos()))


def test_tls_and_mutual_tls_handshakes(start_server, pki, tmp_path):
    api = start_server(GatedProcessor(open_gate=True), tls_cert=pki.server_cert,
                       tls_key=pki.server_key)  # fmt: skip
    with VideoClient(api.target, credentials=tls_credentials(pki.ca)) as client:
        assert client.create_video("Over TLS").result(timeout=30).title == "Over TLS"
    # A client that does not trust the server's CA, and one that speaks plaintext.
    for credentials in (tls_credentials(pki.other_ca), None):
        with VideoClient(api.target, credentials=credentials, timeout=3) as client:
            assert_unreachable(client)

    mutual = start_server(GatedProcessor(open_gate=True), data_dir=tmp_path / "mutual",
                          tls_cert=pki.server_cert, tls_key=pki.server_key,
                          tls_client_ca=pki.ca)  # fmt: skip
    with VideoClient(mutual.target, credentials=tls_credentials(pki.ca), timeout=3) as client:
        assert_unreachable(client)  # it has no client certificate to show
    with_cert = tls_credentials(pki.ca, pki.client_cert, pki.client_key)
    with VideoClient(mutual.target, credentials=with_cert) as client:
        assert list(client.list_videos()) == []


def test_videoctl_with_a_token_over_tls(start_server, pki, keys_file):
    api = start_server(
        GatedProcessor(open_gate=True),
        tls_cert=pki.server_cert,
        tls_key=pki.server_key,
        auth="api-keys",
        api_keys_file=keys_file,
    )
    port = api.target.rsplit(":", 1)[1]
    base = [VIDEOCTL, "--target", f"localhost:{port}", "--tls-ca", str(pki.ca)]
    made = subprocess.run([*base, "--token", ALICE, "create", "--title", "By CLI", "--wait"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "By CLI" in made.stdout
    anonymous = subprocess.run([*base, "list"], capture_output=True, text=True, timeout=60)
    assert anonymous.returncode == 1
    assert anonymous.stderr.startswith("videoctl: UNAUTHENTICATED: this call needs a bearer token")


def test_plaintext_off_loopback_needs_insecure_and_bad_settings_fail_at_start(tmp_path, pki):
    for config, message in (
        (Config(listen="0.0.0.0:0"), "not loopback"),
        (Config(tls_cert=pki.server_cert), "go together"),
        (Config(auth="api-keys"), "--api-keys-file"),
        (Config(auth="api-keys", api_keys_file=tmp_path / "none"), "cannot read"),
        (Config(auth="jwt", jwt_key=pki.server_key), "private key"),
        (Config(tls_cert=pki.ca, tls_key=tmp_path / "none"), "cannot read"),
    ):
        with pytest.raises(StartupError, match=message):
            VideoServer(config)
    result = subprocess.run(
        [sys.executable, "-m", "longreel.server", "--listen", "0.0.0.0:0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "refusing to serve plaintext on 0.0.0.0:0" in result.stderr


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


def test_the_gateway_serves_https_and_reaches_the_server_over_tls(start_server, pki):
    api = start_server(GatedProcessor(open_gate=True), tls_cert=pki.server_cert,
                       tls_key=pki.server_key)  # fmt: skip
    gateway = subprocess.Popen(
        [str(Path(sys.executable).with_name("video-gateway")), "--listen", "127.0.0.1:0",
         "--target", api.target, "--tls-ca", str(pki.ca),
         "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert gateway.stdout is not None
        line = gateway.stdout.readline()
        assert "https://127.0.0.1:" in line and "over TLS" in line, line
        url = line.split("listening on ")[1].split(";")[0]
        trust = ssl.create_default_context(cafile=str(pki.ca))
        with httpx.Client(base_url=url, verify=trust, timeout=10) as http:
            made = http.post("/videos/tasks", json={"title": "Secure"})
            assert made.status_code == 202, made.text
        plain = httpx.Client(base_url=url.replace("https", "http"), timeout=10)
        with plain, pytest.raises(httpx.HTTPError):
            plain.get("/videos")
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
        if gateway.stdout:
            gateway.stdout.close()


def test_a_jwt_key_in_a_certificate_and_tokens_of_other_algorithms(start_server, pki):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    api = jwt_server(start_server, pki.server_cert)  # the issuer's certificate, as IdPs publish
    signer = serialization.load_pem_private_key(pki.server_key.read_bytes(), password=None)
    assert Caller(api.channel, token(signer)).list_operations() == []
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for alg, key in (("RS256", other), ("PS256", other), ("HS256", "s" * 32)):
        err = refused(
            lambda a=alg, k=key: Caller(api.channel, token(k, alg=a)).list_operations(),
            grpc.StatusCode.UNAUTHENTICATED,
        )
        assert details(err)["ErrorInfo"].reason == "TOKEN_INVALID"


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


def test_bad_security_files_and_plaintext_tokens_are_refused_up_front(tmp_path, pki):
    short = tmp_path / "short-keys"
    short.write_text("abc alice\n")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
    for config, message in (
        (Config(tls_cert=pki.server_cert, tls_key=pki.client_key), "not a certificate and its key"),
        (Config(tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=garbage),
         "--tls-client-ca"),
        (Config(auth="api-keys", api_keys_file=short), "at least 20 characters"),
        (Config(auth="jwt", jwt_key=garbage), "not a PEM public key"),
        (Config(rate_limit=float("nan")), "--rate-limit"),
    ):  # fmt: skip
        with pytest.raises(StartupError, match=message):
            VideoServer(config)
    with pytest.raises(ValueError, match="plaintext"):
        VideoClient("192.0.2.1:50051", token=ALICE)
    gateway = subprocess.run(
        [str(Path(sys.executable).with_name("video-gateway")), "--target", "192.0.2.1:50051"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert gateway.returncode == 2
    assert "refusing to forward callers' credentials in plaintext" in gateway.stderr


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
