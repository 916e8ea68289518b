"""Numbers from callers and command lines, parsed with a bounded length.

Python's int() takes up to 4,300 digits, "1_000", spaces and non-ASCII digits,
and float() takes "nan" and "inf": an attacker's 5,000-digit header became a
traceback, and `--lease-seconds nan` one more. Everything a caller or a flag
gives as a number goes through here instead: ASCII digits only, a length cap,
a range.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

MAX_DIGITS = 20  # a 64-bit number and then some; longer is refused unread
_WHOLE = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")
_DECIMAL = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}(?:\.[0-9]{{1,{MAX_DIGITS}}})?")


def whole(text: str, maximum: int, minimum: int = 0) -> int:
    """A whole number in [minimum, maximum] written in ASCII digits; ValueError otherwise."""
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"not a whole number of at most {MAX_DIGITS} digits")
    number = int(text)
    if not minimum <= number <= maximum:
        raise ValueError(f"out of range ({minimum} to {maximum})")
    return number


def decimal(text: str, maximum: float, minimum: float = 0.0) -> float:
    """A number such as 12 or 0.5 in [minimum, maximum]; no sign, exponent, nan or inf."""
    if not _DECIMAL.fullmatch(text):
        raise ValueError("not a decimal number such as 10 or 0.5")
    number = float(text)
    if not minimum <= number <= maximum:
        raise ValueError(f"out of range ({minimum:g} to {maximum:g})")
    return number


def int_flag(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type=` for a whole number in [low, high]: a bad value is
    exit 2 with one line, never a traceback or a silent wrap-around."""

    def parse(text: str) -> int:
        sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text)
        try:
            number = sign * whole(digits.strip(), max(abs(low), abs(high)))
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}")
        return number

    return parse


def float_flag(low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """An argparse `type=` for a finite number in [low, high] (above: low excluded)."""

    def parse(text: str) -> float:
        try:
            number = float(text) if len(text) <= 40 else math.nan
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or not low <= number <= high or (above and number == low):
            side = "above" if above else "from"
            raise argparse.ArgumentTypeError(f"must be a number {side} {low:g}, up to {high:g}")
        return number

    return parse


port = int_flag(0, 65535)


def host_port(text: str) -> str:
    """An argparse `type=` for HOST:PORT (IPv6 in brackets), port 0-65535."""
    host, colon, number = text.rpartition(":")
    try:
        valid = bool(colon and host) and whole(number, 65535) >= 0
    except ValueError:
        valid = False
    if not valid:
        raise argparse.ArgumentTypeError(
            f"must be HOST:PORT with a port from 0 to 65535, not {text[:80]!r}"
        )
    return text
