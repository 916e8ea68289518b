"""The Store methods every SQL backend answers the same way: each runs one
of the store's rules (rules.py) in its dialect, read or written as the
backend reads and writes. A backend gives its dialect and how it runs a
rule (_write, _read, _read_row), and overrides what it does its own way
(PostgreSQL: a fused create, group-committed finishes)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypeVar

from ..filtering import Filter
from . import rules
from .base import ClaimedJob, NewOperation, OperationRow, Outcome, VideoRow
from .dialect import Dialect, Query, Rule

T = TypeVar("T")
Make = Callable[[], Rule[T]]  # a rule's maker: an attempt run again runs a fresh one


class RuledStore:
    dialect: Dialect

    async def _write(self, rule: Make[T]) -> T:
        """The rule in a write transaction of its own; its signals once committed."""
        raise NotImplementedError

    async def _read(self, rule: Make[T]) -> T:
        """A rule that only reads."""
        raise NotImplementedError

    async def _read_row(self, rule: Make[T]) -> T:
        """A rule that reads one row by key."""
        return await self._read(rule)

    def now(self) -> int:
        """The store's clock (see Store.now)."""
        raise NotImplementedError

    async def secret(self) -> bytes:
        candidate = secrets.token_bytes(32)
        return await self._write(lambda: rules.secret(candidate))

    async def start_create(self, op: NewOperation, title: str, plot: str) -> OperationRow:
        return await self._write(lambda: rules.start_create(self.dialect, op, title, plot))

    async def start_delete(self, op: NewOperation) -> OperationRow:
        return await self._write(lambda: rules.start_delete(self.dialect, op))

    async def get_operation(
        self, operation_id: str, principal: str | None = None
    ) -> OperationRow | None:
        return await self._read_row(
            lambda: rules.fetch_operation(self.dialect, operation_id, principal)
        )

    async def list_operations(
        self,
        where: Filter | None,
        after_seq: int,
        limit: int,
        principal: str | None = None,
        newest_first: bool = False,
    ) -> list[OperationRow]:
        return await self._read(
            lambda: rules.list_operations(
                self.dialect, where, after_seq, limit, principal, newest_first
            )
        )

    async def get_video(self, video_id: str, principal: str | None = None) -> VideoRow | None:
        return await self._read_row(lambda: rules.get_video(self.dialect, video_id, principal))

    async def list_videos(
        self, after_seq: int, limit: int, principal: str | None = None
    ) -> list[VideoRow]:
        return await self._read(
            lambda: rules.list_videos(self.dialect, after_seq, limit, principal)
        )

    async def cancel_operation(
        self, operation_id: str, now: int, error: bytes, principal: str | None = None
    ) -> OperationRow:
        return await self._write(
            lambda: rules.cancel(self.dialect, operation_id, now, error, principal)
        )

    async def delete_operation(self, operation_id: str, principal: str | None = None) -> None:
        now = self.now()
        await self._write(
            lambda: rules.delete_operation(self.dialect, operation_id, principal, now)
        )

    async def expire_operations(self, ended_before: int, limit: int) -> int:
        query = Query("expire", {"before": ended_before, "limit": limit}, "count")
        return int(await self._write(lambda: rules.single(query)))

    async def claim_job(self, owner: str, now: int, lease: int) -> ClaimedJob | None:
        return await self._write(lambda: rules.claim(owner, now, lease))

    async def heartbeat(
        self, operation_id: str, owner: str, now: int, lease: int, percent: int, message: str
    ) -> bool:
        return await self._write(
            lambda: rules.heartbeat(operation_id, owner, now, lease, percent, message)
        )

    async def finish(self, operation_id: str, owner: str, now: int, outcome: Outcome) -> None:
        await self._write(lambda: rules.finish_leased(operation_id, owner, now, outcome))

    async def retry_later(
        self, operation_id: str, owner: str, now: int, not_before: int, message: str
    ) -> None:
        await self._write(lambda: rules.retry_later(operation_id, owner, now, not_before, message))

    async def release(self, operation_id: str, owner: str) -> None:
        await self._write(lambda: rules.release(operation_id, owner))
