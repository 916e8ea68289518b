"""Fixtures the hostile-gateway modules share: the gateway program as a
subprocess, with short header and body deadlines so refusals come quickly."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ..gateway_process import Gateway, gateway_processes


@pytest.fixture
def start_gateway() -> Iterator[Callable[..., Gateway]]:
    with gateway_processes() as start:
        yield start


@pytest.fixture
def gateway(start_gateway: Callable[..., Gateway]) -> Gateway:
    return start_gateway("--header-timeout", "1", "--body-timeout", "1")
