"""Command-line flags with VIDEO_* environment fallbacks, defined one way by
every program (video-server, video-worker, video-gateway, videoctl).

A flag given on the command line wins; else its environment variable, when
set and not empty; else its default. An empty variable counts as unset, as
`VIDEO_METRICS_PORT=` in a compose file or a unit file means "not given";
a flag whose empty value means something takes a word for it instead
(--trusted-proxies none).

A variable's value is checked exactly as the flag's would be (its type, its
range, its choices) when the arguments are parsed, not when the parser is
built: `--help` works whatever the environment holds, and a bad value is
exit 2 with one line naming the variable and the flag, such as
`video-server: error: argument --workers: VIDEO_WORKERS='x': must be a whole
number from 0 to 1000`. A flag given on the command line is the only one
checked: the variable it overrides is not read.

`--help` shows each flag's variable in brackets, after its help; the
programs' formatter adds the default (the variable's value, when set).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Any

Container = argparse.ArgumentParser | argparse._ArgumentGroup


class _FromEnvironment(str):
    """A default read from a variable: a string that knows the variable's name."""

    variable: str


def add_flag(
    parser: Container,
    *names: str,
    env: str,
    default: Any = None,
    help: str,
    type: Callable[[str], Any] | None = None,
    choices: Sequence[Any] | None = None,
    metavar: str | None = None,
    dest: str | None = None,
) -> argparse.Action:
    """Add the flag `names` (e.g. "--workers") to parser, falling back to the
    variable env, then to default. A string default goes through `type` as
    a command-line value would; a default of another type is taken as it is."""
    text = os.environ.get(env, "")
    if text:
        default = _FromEnvironment(text)
        default.variable = env
    return parser.add_argument(
        *names,
        default=default,
        type=_checked(type or str, choices),
        choices=choices,
        metavar=metavar,
        dest=dest,
        help=f"{help} [{env}]",
    )


def _checked(convert: Callable[[str], Any], choices: Sequence[Any] | None) -> Callable[[str], Any]:
    """convert, and for a variable's value, the check of choices that argparse
    makes of command-line values only, with the variable named in any error."""

    def parse(text: str) -> Any:
        if not isinstance(text, _FromEnvironment):
            return convert(text)
        shown = f"{text.variable}={text[:80]!r}"
        try:
            value = convert(str(text))
        except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(f"{shown}: {exc or 'not a valid value'}") from None
        if choices is not None and value not in choices:
            allowed = ", ".join(map(str, choices))
            raise argparse.ArgumentTypeError(f"{shown}: must be one of {allowed}")
        return value

    # argparse names the type in its "invalid <type> value" message.
    parse.__name__ = getattr(convert, "__name__", "value")
    return parse
