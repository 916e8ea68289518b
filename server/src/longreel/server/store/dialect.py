"""How the store's rules (rules.py) run: the steps a rule yields, a dialect's
named queries, and the two drivers, one that runs a rule on the caller's
thread (SQLite's writer) and one that awaits each step (PostgreSQL).

A rule is a generator: it yields a Query for each named query it needs and a
Signal for each change others wait on, and is sent each query's answer. It
never touches a connection, so it is written once for every dialect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Query:
    """Run the dialect's query `name`: the rule is sent its first row (None
    if there is none), every row (fetch="all"), or how many rows it changed
    ("count"). `fill` completes a template (a caller's scope, a filter)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    fetch: Literal["one", "all", "count"] = "one"
    fill: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Signal:
    """Wake whoever waits on `key`, once the transaction commits; never if it does not."""

    key: str


Step = Query | Signal
Rule = Generator[Step, Any, T]


@dataclass(frozen=True, slots=True)
class Dialect:
    """One SQL dialect: its named queries and how it writes a parameter and truth."""

    queries: Mapping[str, str]
    param: Callable[[str], str]  # the placeholder of a named parameter
    true: str  # a condition that holds for every row

    def sql(self, query: Query) -> str:
        text = self.queries[query.name]
        return text.format(**query.fill) if query.fill else text


def drive(rule: Rule[T], execute: Callable[[Query], Any], signal: Callable[[str], None]) -> T:
    """Run a rule to its end, each step on the caller's thread."""
    answer: Any = None
    while True:
        try:
            step = rule.send(answer)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        if isinstance(step, Signal):
            signal(step.key)
            answer = None
        else:
            answer = execute(step)


async def drive_async(
    rule: Rule[T],
    execute: Callable[[Query], Awaitable[Any]],
    signal: Callable[[str], Awaitable[None]],
) -> T:
    """Run a rule to its end, awaiting each step."""
    answer: Any = None
    while True:
        try:
            step = rule.send(answer)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        if isinstance(step, Signal):
            await signal(step.key)
            answer = None
        else:
            answer = await execute(step)
