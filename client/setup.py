"""Generates the API modules from ../protos before every build, and names the
dependencies (one is a sibling folder, which pyproject.toml cannot say).

Generation runs when this file is loaded, not in build_py, because package
discovery runs first and must find longreel.video. The build requirements
bring grpcio-tools and googleapis-common-protos, so `pip install ./client`
needs nothing else.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def sibling(name: str) -> str:
    """A distribution of this checkout that no index holds: pip builds it from
    its folder. In the development workspace (LONGREEL_WORKSPACE=1, the
    Makefile's install) it is installed editable beside this one: the name is enough."""
    if os.environ.get("LONGREEL_WORKSPACE"):
        return f"longreel-{name}"
    return f"longreel-{name} @ {(HERE.parent / name).as_uri()}"


runpy.run_path(str(HERE.parent / "protos" / "generate.py"))["generate"](HERE / "src")
setup(
    install_requires=[
        "grpcio>=1.85.1",
        "protobuf>=7.35,<8",
        "googleapis-common-protos>=1.70",
        # Bounded above on purpose: _retry.py subclasses api-core's Retry and
        # AsyncRetry and reads their private settings (_predicate, _initial,
        # _maximum, _multiplier, _timeout, _on_error), which a major version
        # may rename. (The futures no longer subclass api-core's: they own
        # their state.) The client suite passes on 2.24.0 and 2.44.0; widen
        # after running it on a new major.
        "google-api-core[grpc]>=2.24,<3",
        # credentials= as GAPIC clients take them (google.auth.transport.grpc);
        # api-core brings it too, but the client imports it itself.
        "google-auth>=2.14.1",
        sibling("common"),  # numbers and the loopback check: the standard-library half
    ]
)
