"""The async client mirrors the sync one, method for method, so the two cannot drift.

No server: the classes are compared as written, and one call of each is
checked against the same Call description.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from google.api_core.gapic_v1.method import DEFAULT

from longreel.client import AsyncOperation, AsyncVideoClient, Operation, VideoClient

# What the async client names differently, annotation by annotation (whole names only).
ASYNC_TWIN = {
    r"(?<![.\w])Operation\b": "AsyncOperation",
    r"(?<![.\w])Iterator\b": "AsyncIterator",
    r"\bgrpc\.Channel\b": "grpc.aio.Channel",
    r"\bretry\.Retry\b": "retry_async.AsyncRetry",
    r"(?<![.\w])VideoClient\b": "AsyncVideoClient",
    r"\b(List\w+)Pager\b": r"\1AsyncPager",
}
# The special methods a caller uses, by their async names.
SPECIAL = {"__init__": "__init__", "__enter__": "__aenter__", "__exit__": "__aexit__"}
SPECIAL |= {twin: twin for twin in SPECIAL.values()}


def public(cls: type) -> dict[str, Any]:
    """The callables a caller uses, keyed by their async names."""
    names = (n for n in dir(cls) if not n.startswith("_") or n in SPECIAL)
    return {SPECIAL.get(n, n): getattr(cls, n) for n in names if callable(getattr(cls, n))}


def as_async(annotation: str) -> str:
    for sync, twin in ASYNC_TWIN.items():
        annotation = re.sub(sync, twin, annotation)
    return annotation


def test_both_clients_have_the_same_public_methods():
    assert sorted(public(VideoClient)) == sorted(public(AsyncVideoClient))


@pytest.mark.parametrize("name", sorted(public(VideoClient)))
def test_each_async_method_has_the_sync_ones_signature(name):
    sync = inspect.signature(public(VideoClient)[name])
    twin = inspect.signature(public(AsyncVideoClient)[name])
    assert [(p.name, p.kind, p.default) for p in twin.parameters.values()] == [
        (p.name, p.kind, p.default) for p in sync.parameters.values()
    ]
    expected = {p.name: as_async(str(p.annotation)) for p in sync.parameters.values()}
    assert {p.name: str(p.annotation) for p in twin.parameters.values()} == expected
    assert str(twin.return_annotation) == as_async(str(sync.return_annotation))


@pytest.mark.parametrize("name", sorted(set(public(VideoClient)) - {"__init__"}))
def test_each_async_method_is_awaited_or_iterated_where_the_sync_one_returns(name):
    method = public(AsyncVideoClient)[name]
    returns = str(inspect.signature(method).return_annotation)
    assert inspect.iscoroutinefunction(method) != returns.startswith("AsyncIterator["), name


def test_the_futures_have_the_same_public_names():
    def names(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    assert names(Operation) == names(AsyncOperation)
    assert AsyncOperation.name is Operation.name  # one property, in one mixin


async def test_both_clients_describe_a_call_alike():
    request = {"video": {"title": "T", "plot": "P"}, "video_id": "id", "request_id": "r"}
    settings = (DEFAULT, 5.0, [("x-extra", "1")])
    with VideoClient("localhost:1", token="t") as sync:
        async with AsyncVideoClient("localhost:1", token="t") as twin:
            calls = [c._build_create_video(request, None, None, settings) for c in (sync, twin)]
    assert calls[0].request == calls[1].request
    assert (calls[0].stub, calls[0].method, calls[0].timeout, calls[0].metadata) == (
        calls[1].stub, calls[1].method, calls[1].timeout, calls[1].metadata,
    )  # fmt: skip
    assert calls[0].metadata == (("authorization", "Bearer t"), ("x-extra", "1"))
