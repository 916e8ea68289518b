"""Reachable from every language: a Node.js client from the protos alone, C++ and
Java stubs from protoc, and the protos pass buf lint and buf breaking. The tools come from
`make test`'s setup (tests/node, grpcio-tools); a missing one fails loudly."""

from __future__ import annotations

import json
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

from ..processors import GatedProcessor

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
PROTOS = ROOT / "protos"


@pytest.fixture(scope="module")
def google_protos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    staged = tmp_path_factory.mktemp("google-protos")
    runpy.run_path(str(PROTOS / "generate.py"))["stage_google"](staged)
    return staged


def tool(path: Path | str | None, how: str) -> str:
    if path is None or not Path(path).exists():
        pytest.fail(f"{path or how} is missing: run `make test` (it installs it: {how})")
    return str(path)


def test_a_node_client_creates_waits_and_decodes_the_packed_video(start_server, google_protos):
    node = tool(shutil.which("node"), "apt-get install nodejs")
    tool(NODE_DIR / "node_modules" / "@grpc" / "grpc-js", "npm ci --prefix tests/node")
    api = start_server(GatedProcessor(open_gate=True))
    result = subprocess.run(
        [node, str(NODE_DIR / "client.js"), api.target, str(PROTOS), str(google_protos)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["responseType"] == "type.googleapis.com/longreel.video.v1.Video"
    assert answer["response"]["title"] == "From Node"
    assert answer["metadata"]["verb"] == "create"
    assert answer["metadata"]["progress_percent"] == 100
    assert answer["fetched"]["name"] == answer["response"]["name"]


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("--cpp_out", "longreel/video/v1/video_service.pb.h"),
        ("--java_out", "dev/longreel/video/v1/VideoServiceProto.java"),
        ("--csharp_out", "VideoService.cs"),
    ],
)
def test_protoc_generates_other_languages_without_complaint(
    tmp_path, google_protos, flag, expected
):
    protoc = tool(shutil.which("protoc"), "apt-get install protobuf-compiler")
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run(
        [protoc, f"-I{PROTOS}", f"-I{google_protos}", f"{flag}={out}",
         "longreel/video/v1/video_service.proto"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not even a warning
    assert (out / expected).exists()


def test_the_protos_pass_buf_lint(google_protos, tmp_path):
    buf = tool(NODE_DIR / "node_modules" / ".bin" / "buf", "npm ci --prefix tests/node")
    workspace = tmp_path / "workspace"
    shutil.copytree(PROTOS, workspace / "protos", ignore=shutil.ignore_patterns("*.py"))
    shutil.copytree(google_protos, workspace / "build" / "google-protos")
    shutil.copy(ROOT / "buf.yaml", workspace / "buf.yaml")
    result = subprocess.run(
        [buf, "lint"], cwd=workspace, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def buf_workspace(google_protos: Path, tmp_path: Path) -> Path:
    """A copy of protos/ and buf.yaml with the staged Google protos beside them."""
    workspace = tmp_path / "workspace"
    shutil.copytree(PROTOS, workspace / "protos", ignore=shutil.ignore_patterns("*.py"))
    shutil.copytree(google_protos, workspace / "build" / "google-protos")
    shutil.copy(ROOT / "buf.yaml", workspace / "buf.yaml")
    return workspace


def buf_breaking(workspace: Path) -> subprocess.CompletedProcess[str]:
    buf = tool(NODE_DIR / "node_modules" / ".bin" / "buf", "npm ci --prefix tests/node")
    released = workspace / "protos" / "released" / "v1.binpb"
    return subprocess.run(
        [buf, "breaking", "--against", str(released)],
        cwd=workspace, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_protos_keep_every_promise_of_the_released_ones(google_protos, tmp_path):
    result = buf_breaking(buf_workspace(google_protos, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_buf_breaking_refuses_a_field_whose_type_changed(google_protos, tmp_path):
    """The baseline is live: a wire-breaking edit of a released field fails."""
    workspace = buf_workspace(google_protos, tmp_path)
    proto = workspace / "protos" / "longreel" / "video" / "v1" / "video_service.proto"
    text = proto.read_text()
    assert "int32 progress_percent = 9" in text
    proto.write_text(text.replace("int32 progress_percent = 9", "int64 progress_percent = 9"))
    result = buf_breaking(workspace)
    assert result.returncode != 0
    assert "progress_percent" in result.stdout + result.stderr
