"""Pagers for the list methods, shaped as GAPIC's generated `pagers.py`.

A pager holds the first page (fetched when the list method is called, so a
bad request fails there) and fetches the next one as iteration needs it:

    pager = client.list_videos(request={"page_size": 10})
    for video in pager: ...                   # every video, page after page
    for page in pager.pages: ...              # or each ListVideosResponse
    pager.next_page_token                     # the latest page's, to resume later
    client.list_videos(request={"page_token": token})   # ... from there

Attributes not found on the pager are looked up on the latest response, as
GAPIC's are. Each next page is the same Call with the page token set, so
it carries the first call's retry, timeout and metadata.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

from google.longrunning import operations_pb2

from longreel.video.v1 import video_service_pb2 as pb

from ._core import Call

Response = TypeVar("Response", pb.ListVideosResponse, operations_pb2.ListOperationsResponse)
Item = TypeVar("Item", pb.Video, operations_pb2.Operation)


class _Pages(Generic[Response]):
    """What both pager kinds share: the call, the latest page, delegation."""

    _field: str  # the repeated field that holds a page's items
    _call: Call[Response]
    _response: Response

    def __init__(self, call: Call[Response], response: Response) -> None:
        self._call = call
        self._response = response

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # our own, not yet set (copy, pickle): not the response's
            raise AttributeError(name)
        return getattr(self._response, name)

    def _next_call(self) -> Call[Response]:
        request = type(self._call.request)()
        request.CopyFrom(self._call.request)
        request.page_token = self._response.next_page_token  # type: ignore[attr-defined]
        self._call = dataclasses.replace(self._call, request=request)
        return self._call

    def __repr__(self) -> str:
        return f"{type(self).__name__}<{self._response!r}>"


class _Pager(_Pages[Response], Generic[Response, Item]):
    _send: Callable[[Call[Response]], Response]

    def __init__(
        self, send: Callable[[Call[Response]], Response], call: Call[Response], response: Response
    ) -> None:
        super().__init__(call, response)
        self._send = send

    @property
    def pages(self) -> Iterator[Response]:
        yield self._response
        while self._response.next_page_token:
            self._response = self._send(self._next_call())
            yield self._response

    def __iter__(self) -> Iterator[Item]:
        for page in self.pages:
            yield from getattr(page, self._field)


class _AsyncPager(_Pages[Response], Generic[Response, Item]):
    _send: Callable[[Call[Response]], Awaitable[Response]]

    def __init__(
        self,
        send: Callable[[Call[Response]], Awaitable[Response]],
        call: Call[Response],
        response: Response,
    ) -> None:
        super().__init__(call, response)
        self._send = send

    @property
    async def pages(self) -> AsyncIterator[Response]:
        yield self._response
        while self._response.next_page_token:
            self._response = await self._send(self._next_call())
            yield self._response

    def __aiter__(self) -> AsyncIterator[Item]:
        return self._items()

    async def _items(self) -> AsyncIterator[Item]:
        async for page in self.pages:
            for item in getattr(page, self._field):
                yield item


class ListVideosPager(_Pager[pb.ListVideosResponse, pb.Video]):
    """Iterates over every Video, oldest first; `.pages`, `.next_page_token`."""

    _field = "videos"


class ListVideosAsyncPager(_AsyncPager[pb.ListVideosResponse, pb.Video]):
    """`async for video in await client.list_videos()`; `.pages`, `.next_page_token`."""

    _field = "videos"


class ListOperationsPager(_Pager[operations_pb2.ListOperationsResponse, operations_pb2.Operation]):
    """Iterates over every Operation, oldest first; `.pages`, `.next_page_token`."""

    _field = "operations"


class ListOperationsAsyncPager(
    _AsyncPager[operations_pb2.ListOperationsResponse, operations_pb2.Operation]
):
    """`async for op in await client.list_operations()`; `.pages`, `.next_page_token`."""

    _field = "operations"
