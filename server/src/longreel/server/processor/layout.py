"""Lay text out in lines and pages at a cost bounded by the frame, not the text.

A caller picks the text; the operator picks the frame size and the length.
So lines are made lazily and only as many as `max_pages` pages can hold; a
cut text ends with an ellipsis; no line holds more characters than the frame
is pixels wide; and runs of what draws nothing (blank lines, zero-width and
control characters, stacks of combining marks) are thinned before measuring.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Protocol

ELLIPSIS = "…"
MAX_MARKS = 4  # combining marks kept on one character; more only pile up ink
BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")  # what str.splitlines splits at
WORD = re.compile(r"\S+")


class Font(Protocol):
    def getlength(self, text: str) -> float: ...


def clean(text: str) -> str:
    """Text with one kind of line break, no control or format characters (zero
    width spaces, direction marks: they draw nothing), no lone surrogates, at
    most MAX_MARKS combining marks a character and no run of blank lines."""
    kept: list[str] = []
    marks = 0
    for char in text:
        category = unicodedata.category(char)
        if char in BREAKS:
            char, marks = "\n", 0
        elif category == "Cc":
            char = " " if char.isspace() else ""
        elif category == "Cf":
            char = ""
        elif category == "Cs":  # a lone surrogate: no font draws it, UTF-8 cannot hold it
            char = "\ufffd"
        elif category.startswith("M"):
            marks += 1
            char = char if marks <= MAX_MARKS else ""
        else:
            marks = 0
        kept.append(char)
    return re.sub(r"\n\s*\n", "\n\n", "".join(kept)).strip()


def lines(text: str, font: Font, width: float) -> Iterator[str]:
    """Lines of clean(text) no wider than width, made as they are asked for;
    a word longer than a line is cut."""
    most = max(1, int(width))  # characters a line may hold: one a pixel
    space = font.getlength(" ")
    for paragraph in clean(text).split("\n"):
        line, used = "", 0.0
        for match in WORD.finditer(paragraph):
            word = match.group()
            # Widths add up (kerning across a space is nil), so a line is
            # measured once a word, not once a word for each word before it.
            size = font.getlength(word[: most + 1])
            gap = space if line else 0.0
            if used + gap + size <= width and len(line) + len(word) + 1 <= most:
                line, used = f"{line} {word}" if line else word, used + gap + size
                continue
            if line:
                yield line
            while len(word) > 1 and (len(word) > most or size > width):
                cut = fitting(word, font, width, most)
                yield word[:cut]
                word = word[cut:]
                size = font.getlength(word[: most + 1])
            line, used = word, size
        yield line


def fitting(word: str, font: Font, width: float, most: int) -> int:
    """How many leading characters of word fit in width (at least one), by
    binary search: a 10,000-character word without spaces (CJK text has
    none) is cut in O(log n) measurements a line, not O(n)."""
    low, high = 1, min(len(word), most)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(word[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def pages(text: str, font: Font, width: float, per_page: int, max_pages: int) -> list[list[str]]:
    """At most max_pages pages of per_page lines; if the text goes on past
    them, the last line ends with an ellipsis. Blank lines do not start a page."""
    made: list[list[str]] = []
    page: list[str] = []
    if max_pages < 1:
        return made
    for line in lines(text, font, width):
        if len(page) == per_page:
            if len(made) + 1 == max_pages:
                page[-1] = ellipsized(page[-1], font, width)
                break
            made.append(page)
            page = []
        if page or line:
            page.append(line)
    if page and max_pages > len(made):
        made.append(page)
    return made


def ellipsized(line: str, font: Font, width: float) -> str:
    """line, shortened as need be so that it ends with an ellipsis within width."""
    room = width - font.getlength(ELLIPSIS)
    cut = fitting(line, font, room, max(1, int(width) - 1)) if line else 0
    return line[:cut].rstrip() + ELLIPSIS
