"""A Python client generated from protos/ by Google's own generator
(gapic-generator, transport grpc+rest), as a Google Cloud user would make
one: our proto, the service YAML for the Operations mixin's HTTP rules, and
our grpc_service_config.json for its retries and timeouts.

The generated package is named longreel_gapic.video_v1 (its default,
longreel.video_v1 with a longreel.video alias, would shadow our own
longreel.video). Generation takes 2.5-3 s, so the test module makes one and shares it.
The client runs in a process of its own (see gapic_scenarios.py).
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
API = PROTOS / "longreel" / "video" / "v1"
SERVICE_YAML = API / "longreel_v1.yaml"
RETRY_CONFIG = API / "longreel_grpc_service_config.json"
PACKAGE = "longreel_gapic.video_v1"
SCENARIOS = Path(__file__).resolve().parent / "gapic_scenarios.py"

OPTIONS = [
    "transport=grpc+rest",
    f"service-yaml={SERVICE_YAML}",
    f"retry-config={RETRY_CONFIG}",
    "python-gapic-namespace=longreel_gapic",
    "python-gapic-name=video",
    "autogen-snippets=false",  # samples: half the generation time, unused here
]


def command(out: Path, includes: list[Path]) -> list[str]:
    """The protoc run, as docs/api.md ("Generated clients") gives it."""
    return [
        sys.executable, "-m", "grpc_tools.protoc",
        *(f"-I{d}" for d in includes),
        f"--python_gapic_out={out}",
        f"--python_gapic_opt={','.join(OPTIONS)}",
        str((API / "video_service.proto").relative_to(PROTOS)),
    ]  # fmt: skip


def generate(out: Path) -> None:
    """Write the generated client's package into `out` (a sys.path entry).
    The plugin, protoc-gen-python_gapic, is found beside this Python."""
    out.mkdir(parents=True, exist_ok=True)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    with tempfile.TemporaryDirectory() as tmp:
        include_dirs = runpy.run_path(str(PROTOS / "generate.py"))["google_include_dirs"]
        includes = [PROTOS, *include_dirs(Path(tmp))]
        result = subprocess.run(
            command(out, includes), cwd=PROTOS, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"gapic-generator failed:\n{result.stderr}")


def run(generated: Path, scenario: str, transport: str, endpoint: str) -> dict[str, Any]:
    """One scenario of gapic_scenarios.py in a Python of its own: what it saw."""
    result = subprocess.run(
        [sys.executable, str(SCENARIOS), str(generated), scenario, transport, endpoint],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"{scenario} over {transport} failed:\n{result.stderr}")
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer
