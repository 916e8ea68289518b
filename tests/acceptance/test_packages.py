"""Each distribution installs alone from its folder, with plain pip, into a
fresh virtualenv, and works: the client pulls in nothing of the server's, and
a server, a gateway and videoctl each from its own virtualenv make a video
together. The packages are built here as a user builds them (no editable
install, no workspace), so a dependency that only the workspace provides fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ..programs import server_args

# Three virtualenvs installed from PyPI in the module's fixture: minutes on a
# loaded machine, past the suite's 120 s per test.
pytestmark = pytest.mark.timeout(900)

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("client", "server", "gateway")
BUILT = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".generated")
# What a caller of the API must not be made to install.
SERVER_ONLY = {
    "av", "pillow", "psycopg", "psycopg-binary", "psycopg-pool", "starlette", "uvicorn",
    "pyjwt", "prometheus-client", "opentelemetry-sdk", "rich",
}  # fmt: skip


def _checkout(where: Path) -> Path:
    """The folders a user's checkout has, copied: setuptools builds in the
    source folder (build/), so installs running side by side from one folder
    would trip over each other's files, as two users' checkouts do not."""
    for folder in (*PACKAGES, "common", "protos"):
        shutil.copytree(ROOT / folder, where / folder, ignore=BUILT)
    return where


def _install(home: Path, package: str) -> Path:
    """A fresh virtualenv with `pip install ./package`; its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k != "LONGREEL_WORKSPACE"}
    result = subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", f"./{package}"],
        cwd=_checkout(home.with_name(f"{package}-checkout")), env=env,
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"pip install ./{package}:\n{result.stderr[-4000:]}"
    return home / "bin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    homes = tmp_path_factory.mktemp("venvs")
    with ThreadPoolExecutor(len(PACKAGES)) as pool:
        bins = pool.map(lambda p: _install(homes / p, p), PACKAGES)
        return dict(zip(PACKAGES, bins, strict=True))


def _installed_names(bin_dir: Path) -> set[str]:
    listed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list", "--format", "json",
         "--disable-pip-version-check"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return {row["name"].lower().replace("_", "-") for row in json.loads(listed.stdout)}


def test_the_client_installs_alone_and_brings_nothing_of_the_server(installed):
    client = installed["client"]
    names = _installed_names(client)
    assert {"longreel-client", "grpcio", "google-api-core"} <= names
    assert not names & SERVER_ONLY, names & SERVER_ONLY
    assert not names & {"longreel-server", "longreel-gateway"}
    help_text = subprocess.run(
        [str(client / "videoctl"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert help_text.returncode == 0 and "usage: videoctl" in help_text.stdout
    imported = subprocess.run(
        [str(client / "python"), "-c",
         "import longreel.client, longreel.video.v1.video_service_pb2; print('ok')"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert imported.stdout.strip() == "ok", imported.stderr
    # The service configs travel with the API modules: the retry policy and the HTTP rules.
    shipped = subprocess.run(
        [str(client / "python"), "-c",
         "from importlib import resources; import json\n"
         "api = resources.files('longreel.video.v1')\n"
         "config = json.loads(api.joinpath('longreel_grpc_service_config.json').read_text())\n"
         "rules = api.joinpath('longreel_v1.yaml').read_text()\n"
         "print(len(config['methodConfig']), 'http:' in rules)"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shipped.stdout.split() == ["3", "True"], shipped.stderr


def test_a_server_a_gateway_and_videoctl_each_installed_alone_make_a_video(
    installed, start, tmp_path
):
    server = start(str(installed["server"] / "video-server"), *server_args(tmp_path))
    gateway = start(
        str(installed["gateway"] / "video-gateway"),
        "--listen", "127.0.0.1:0", "--target", server.address,
    )  # fmt: skip
    created = subprocess.run(
        [str(installed["client"] / "videoctl"), "--target", server.address, "--output", "json",
         "create", "--title", "Alone", "--plot", "Three virtualenvs", "--wait"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    video = json.loads(created.stdout)
    assert video["title"] == "Alone"
    with urllib.request.urlopen(f"{gateway.address}/{video['name']}", timeout=30) as got:
        assert json.loads(got.read())["title"] == "Alone"
    # /v1 comes from the service config, package data of the client the gateway installed.
    with urllib.request.urlopen(f"{gateway.address}/v1/{video['name']}", timeout=30) as got:
        assert json.loads(got.read())["title"] == "Alone"
