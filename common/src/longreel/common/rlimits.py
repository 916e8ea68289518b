"""Process limits raised at start, so that the service's own caps decide, not the shell's."""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (1024 is a common soft
    default, fewer than the connections a service should hold); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:  # e.g. a hard limit of "unlimited" on macOS
        log.debug("open-files limit stays at %d: %s", soft, exc)
        return soft
    return hard
