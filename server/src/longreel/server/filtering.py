"""AIP-160 filters, parsed into a small typed tree that stores turn into SQL.

Supported: comparisons `field OP value` with OP one of = != < <= > >=,
combined with AND, OR (which binds tighter than AND, as AIP-160 says), NOT or
a leading `-`, parentheses, and adjacency meaning AND. Strings may be quoted
with "..." or '...'. Each collection declares its fields; anything else is a
FilterError with a message fit for the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from longreel.common import numbers

Kind = Literal["bool", "int", "string", "timestamp"]
Value = bool | int | str

MAX_DEPTH = 16  # nested parentheses and negations together
INT32 = (-(2**31), 2**31 - 1)
EQUALITY = ("=", "!=")
ORDERING = ("=", "!=", "<", "<=", ">", ">=")


class FilterError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FieldSpec:
    column: str
    kind: Kind
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Compare:
    column: str
    op: str
    value: Value


@dataclass(frozen=True, slots=True)
class And:
    parts: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    parts: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    part: Filter


Filter = Compare | And | Or | Not

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op><=|>=|!=|=|<|>|:)
      | (?P<paren>[()])
      | (?P<word>[^\s()"'=<>!:]+)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"unexpected character {text[pos]!r} at position {pos + 1}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, FieldSpec]) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.fields = fields
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterError("filter ends too early")
        self.pos += 1
        return token

    def nested(self, parse: Callable[[], Filter]) -> Filter:
        """parse() one level deeper; refuses filters nested beyond MAX_DEPTH."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"filter nests deeper than {MAX_DEPTH} levels")
        try:
            return parse()
        finally:
            self.depth -= 1

    def expression(self) -> Filter:
        parts = [self.sequence()]
        while (tok := self.peek()) is not None and tok != ("paren", ")"):
            if tok == ("word", "AND"):
                self.take()
            parts.append(self.sequence())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def sequence(self) -> Filter:
        parts = [self.factor()]
        while self.peek() == ("word", "OR"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def factor(self) -> Filter:
        kind, text = self.take()
        if (kind, text) == ("word", "NOT"):
            return self.nested(lambda: Not(self.factor()))
        if kind == "word" and text.startswith("-") and len(text) > 1:
            self.tokens.insert(self.pos, ("word", text[1:]))
            return self.nested(lambda: Not(self.factor()))
        if (kind, text) == ("paren", "("):
            return self.nested(self.parenthesised)
        if kind != "word" or text in ("AND", "OR"):
            raise FilterError(f"expected a field name, found {text!r}")
        return self.comparison(text)

    def parenthesised(self) -> Filter:
        inner = self.expression()
        if self.peek() != ("paren", ")"):
            raise FilterError("missing ')'")
        self.take()
        return inner

    def comparison(self, name: str) -> Compare:
        spec = self.fields.get(name)
        if spec is None:
            known = ", ".join(sorted(self.fields))
            raise FilterError(f"unknown field {name!r}; filterable fields: {known}")
        kind, op = self.take()
        allowed = ORDERING if spec.kind in ("int", "timestamp") else EQUALITY
        if kind != "op" or op not in allowed:
            raise FilterError(f"field {name!r} takes the operators {' '.join(allowed)}, not {op!r}")
        kind, raw = self.take()
        if kind not in ("word", "string"):
            raise FilterError(f"expected a value after {name} {op}, found {raw!r}")
        text = _unquote(raw) if kind == "string" else raw
        return Compare(spec.column, op, _convert(name, spec, text))


def _unquote(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


def _convert(name: str, spec: FieldSpec, text: str) -> Value:
    if spec.kind == "bool":
        if text.lower() not in ("true", "false"):
            raise FilterError(f"field {name!r} is true or false, not {text!r}")
        return text.lower() == "true"
    if spec.kind == "int":
        return _int32(name, text)
    if spec.kind == "timestamp":
        return _timestamp(name, text)
    if "\x00" in text:
        raise FilterError(f"field {name!r} cannot be compared with a NUL character")
    if spec.choices and text not in spec.choices:
        raise FilterError(f"field {name!r} is one of {', '.join(spec.choices)}, not {text!r}")
    return text


def _int32(name: str, text: str) -> int:
    """A whole number in ASCII digits (an optional minus), never int()'s
    underscores, spaces, other scripts' digits or 4,300-digit strings."""
    digits = text.removeprefix("-")
    shown = text if len(text) <= 40 else text[:40] + "…"
    if not (digits.isascii() and digits.isdigit()):
        raise FilterError(f"field {name!r} is a whole number, not {shown!r}")
    try:
        number = numbers.whole(digits, 2**31) * (-1 if digits != text else 1)
    except ValueError:
        number = None
    if number is None or not INT32[0] <= number <= INT32[1]:
        raise FilterError(f"field {name!r} is a 32-bit number; {shown} is out of range")
    return number


def _timestamp(name: str, text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise FilterError(
            f'field {name!r} is an RFC 3339 time in quotes, such as "2026-01-31T12:00:00Z"'
        )
    return int(moment.timestamp() * 1_000_000)


def parse(text: str, fields: Mapping[str, FieldSpec]) -> Filter | None:
    """The filter tree for `text`, or None for an empty filter."""
    if not text.strip():
        return None
    parser = _Parser(text, fields)
    tree = parser.expression()
    if parser.peek() is not None:
        raise FilterError(f"unexpected {parser.peek()[1]!r}")  # type: ignore[index]
    return tree
