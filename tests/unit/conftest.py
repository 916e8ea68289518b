"""The store the contract modules (test_store*.py) share: opened on each
backend that `make_store` is made for (tests/conftest.py), closed after."""

from __future__ import annotations

import pytest


@pytest.fixture
async def store(make_store):
    opened = make_store()
    await opened.open()
    yield opened
    await opened.close()
