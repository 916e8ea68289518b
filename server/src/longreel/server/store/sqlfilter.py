"""Turns a parsed filter into a SQL condition with bound parameters.

Column names come only from the backend's whitelist and values only travel as
parameters, so nothing the caller typed is ever pasted into SQL.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..filtering import And, Compare, Filter, Not, Value

_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def compile_filter(
    tree: Filter, columns: Mapping[str, str], placeholder: str = "?"
) -> tuple[str, list[Value]]:
    params: list[Value] = []

    def walk(node: Filter) -> str:
        if isinstance(node, Compare):
            params.append(node.value)
            return f"{columns[node.column]} {_SQL_OPS[node.op]} {placeholder}"
        if isinstance(node, Not):
            return f"NOT ({walk(node.part)})"
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(walk(part) for part in node.parts) + ")"

    return walk(tree), params
