"""How a program ends: its status, without finalizing the interpreter.

Native threads of the libraries we use (obstore's tokio runtime, which
completes asyncio futures from its own threads) may still be re-taking the
GIL when Python finalizes. CPython before 3.14 ends such a thread with
pthread_exit, which a Rust thread cannot unwind through, so the process
aborts (SIGABRT) instead of exiting with its status: seen about once in
ten failed starts of video-worker on a loaded machine (PyO3 #4874, CPython
gh-87135). A program does everything it must before it leaves (stores
closed, jobs handed back, traces flushed); here only the logs and the
standard streams are flushed, then the process exits at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import NoReturn


def leave(status: int, message: str | None = None) -> NoReturn:
    """Exit with status, after message (if any) on stderr."""
    if message is not None:
        print(message, file=sys.stderr)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to say
            stream.flush()
    os._exit(status)
