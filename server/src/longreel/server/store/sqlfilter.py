"""Turns a parsed filter into a SQL condition with bound parameters.

Column names come only from the backend's whitelist and values only travel as
parameters, so nothing the caller typed is ever pasted into SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..filtering import And, Compare, Filter, Not, Value

_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def compile_filter(
    tree: Filter, columns: Mapping[str, str], param: Callable[[str], str]
) -> tuple[str, dict[str, Value]]:
    """The condition, with each value a named parameter (`filter0`, ...)
    written as the dialect writes one (param)."""
    params: dict[str, Value] = {}

    def walk(node: Filter) -> str:
        if isinstance(node, Compare):
            name = f"filter{len(params)}"
            params[name] = node.value
            return f"{columns[node.column]} {_SQL_OPS[node.op]} {param(name)}"
        if isinstance(node, Not):
            return f"NOT ({walk(node.part)})"
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(walk(part) for part in node.parts) + ")"

    return walk(tree), params
