"""Generates the protobuf/gRPC modules from protos/ before every build.

All metadata lives in pyproject.toml. Generation runs when this file is
loaded, not in build_py, because setuptools checks that every package
directory (gen/longreel/video among them) exists before any command runs.
The build requirements in pyproject.toml bring grpcio-tools and
googleapis-common-protos, so `pip install .` needs nothing else.
"""

from __future__ import annotations

import runpy
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent

runpy.run_path(str(ROOT / "protos" / "generate.py"))["generate"](ROOT / "gen")
setup()
