"""Names the dependencies here, not in pyproject.toml, because two of them are
sibling folders of this checkout (the client's API modules, and common), which
a static dependency list cannot point at."""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def sibling(name: str, extras: str = "") -> str:
    """A distribution of this checkout that no index holds: pip builds it from
    its folder. In the development workspace (LONGREEL_WORKSPACE=1, the
    Makefile's install) it is installed editable beside this one: the name is enough."""
    requirement = f"longreel-{name}{extras}"
    if os.environ.get("LONGREEL_WORKSPACE"):
        return requirement
    return f"{requirement} @ {(HERE.parent / name).as_uri()}"


setup(
    install_requires=[
        sibling("client"),  # the API modules
        sibling("common", "[service,s3]"),  # s3: --content-redirect (redirect.py)
        "grpcio>=1.85.1",
        "googleapis-common-protos>=1.70",
        "protobuf>=7.35,<8",
        "starlette>=0.40",
        "uvicorn[standard]>=0.55,<0.56",  # edge.py subclasses its httptools protocol
        "swagger-ui-bundle>=1.1",
        "PyYAML>=6",  # the service config's http rules (transcode/rules.py)
        "prometheus-client>=0.20",
        "opentelemetry-api>=1.30",  # trace context through requests; no-op without tracing
    ]
)
