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
from google.longrunning import operations_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from longreel.client import VideoClient, exceptions, tls_credentials
from longreel.server.app import StartupError, VideoServer
from longreel.server.config import Config
from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from ..callers import ALICE, BOB, Caller, refused, write_keys
from ..certs import make_pki, signing_key
from ..helpers import details
from ..processors import GatedProcessor

SAME_KEY = "0d5b2a8e-3c1f-4e6a-9b7d-2f4c6e8a0b1d"  # a request_id both callers send
VIDEOCTL = str(Path(sys.executable).with_name("videoctl"))


@pytest.fixture
def keys_file(tmp_path):
    return write_keys(tmp_path / "api-keys")


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
    op = alice.wait(alice.create("Alice's film", request_id=SAME_KEY).name)
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
    bobs = bob.create("Bob's film", request_id=SAME_KEY)
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
        assert (
            client.create_video(video={"title": "Over TLS"}).result(timeout=30).title == "Over TLS"
        )
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
