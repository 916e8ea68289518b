"""google.api.http path templates: parsing and matching, as google/api/http.proto defines them.

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;

`*` matches one segment, `**` zero or more (only last, before the verb), and
`{name}` is `{name=*}`. Values are percent-decoded as http.proto says: a
single-segment capture wholly, a multi-segment one except `%2F`, so a `/`
sent encoded stays distinguishable from a separator.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

STAR, DOUBLE_STAR = "*", "**"


class TemplateError(ValueError):
    """A path template that http.proto's grammar does not allow."""


@dataclass(frozen=True)
class Variable:
    """A capture: the request field it fills and the template segments [start, end) it spans."""

    field_path: str
    start: int
    end: int


@dataclass(frozen=True)
class PathTemplate:
    """A parsed template; `segments` holds literals, `*` and `**`."""

    text: str
    segments: tuple[str, ...]
    variables: tuple[Variable, ...]
    verb: str

    @classmethod
    def parse(cls, text: str) -> PathTemplate:
        if not text.startswith("/"):
            raise TemplateError(f"{text!r}: a template starts with /")
        body, verb = _split_verb(text[1:])
        segments: list[str] = []
        variables: list[Variable] = []
        for token in _tokens(body):
            if token.startswith("{"):
                field_path, _, inner = token[1:-1].partition("=")
                start = len(segments)
                segments.extend((inner or STAR).split("/"))
                variables.append(Variable(field_path, start, len(segments)))
            else:
                segments.append(token)
        if DOUBLE_STAR in segments[:-1]:
            raise TemplateError(f"{text!r}: ** may only be the last segment")
        if any(not s for s in segments):
            raise TemplateError(f"{text!r}: an empty segment")
        return cls(text, tuple(segments), tuple(variables), verb)

    @property
    def wildcards(self) -> tuple[int, int]:
        """(`**` count, `*` count): fewer means more specific, tried first."""
        return self.segments.count(DOUBLE_STAR), self.segments.count(STAR)

    def match(self, raw_path: str) -> dict[str, str] | None:
        """The captured field values for a raw (still percent-encoded) path, or None."""
        if not raw_path.startswith("/"):
            return None
        parts = raw_path[1:].split("/")
        last, colon, verb = parts[-1].rpartition(":")
        if colon and self.verb == verb:
            parts[-1] = last
        elif self.verb or colon:
            return None  # a verb the template lacks, or lacks the template's
        if not _fits(self.segments, parts):
            return None
        captured = {}
        for variable in self.variables:
            end = len(parts) if self.segments[variable.end - 1] == DOUBLE_STAR else variable.end
            taken = parts[variable.start : end]
            if len(taken) == 1 and self.segments[variable.start] == STAR:
                captured[variable.field_path] = unquote(taken[0])
            else:
                captured[variable.field_path] = "/".join(_keep_slashes(p) for p in taken)
        return captured


def _fits(segments: tuple[str, ...], parts: list[str]) -> bool:
    if segments and segments[-1] == DOUBLE_STAR:
        head = segments[:-1]
        if len(parts) < len(head):
            return False
    elif len(parts) != len(segments):
        return False
    else:
        head = segments
    for pattern, part in zip(head, parts, strict=False):
        if not part or (pattern != STAR and unquote(part) != pattern):
            return False
    return all(parts[len(head) :])  # `**` takes no empty segments either


def _keep_slashes(part: str) -> str:
    return unquote(part.replace("%2F", "%252F").replace("%2f", "%252F"))


def _split_verb(body: str) -> tuple[str, str]:
    """The segments and the verb: a ':' outside braces, after the last '/'."""
    depth, cut = 0, -1
    for index, char in enumerate(body):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == ":" and depth == 0:
            cut = index
    if cut < 0 or "/" in body[cut:]:
        return body, ""
    return body[:cut], body[cut + 1 :]


def _tokens(body: str) -> list[str]:
    """Split on the '/'s outside braces: a variable's `=` part holds its own."""
    tokens, depth, current = [], 0, ""
    for char in body:
        if char == "/" and depth == 0:
            tokens.append(current)
            current = ""
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth not in (0, 1):
            raise TemplateError(f"{body!r}: unbalanced or nested braces")
        current += char
    if depth:
        raise TemplateError(f"{body!r}: unbalanced braces")
    return [*tokens, current]
