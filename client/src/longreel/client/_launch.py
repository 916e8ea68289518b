"""The `videoctl` console script: imports the CLI inside the guard, so Ctrl-C
or a closed pipe at any moment ends it quietly, with the usual exit codes."""

from __future__ import annotations

import os
import sys


def main() -> None:
    try:
        from .cli import main as run

        code = run()
        sys.stdout.flush()
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # `videoctl list | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141
    sys.exit(code)


if __name__ == "__main__":
    main()
