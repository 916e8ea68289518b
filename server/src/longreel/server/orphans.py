"""Published files that no video records: swept, so that crashes do not
fill the bucket (or the folder) with files nobody can reach.

An attempt uploads its files and only then records them, in one
transaction that holds only while its lease does. What it uploaded but
could not record is an orphan: the attempt crashed between the two, or
lost its lease to another. The next attempt at the same video removes its
predecessors' files when it starts (processor/rendering.py), but an attempt
that published after that start, or after the video was deleted, leaves
files behind. This sweep finds them: every file whose content is not the
one its video records (or whose video is gone), older than ABANDONED.

The age keeps the sweep off a live attempt's files, uploaded but not yet
recorded: an upload is recorded within seconds, or never. Processes that
run workers sweep (they are the ones whose crashes leave orphans); a
server with --no-workers does not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from .media import Final, MediaStore
from .store import Store

log = logging.getLogger(__name__)

ABANDONED = 600.0  # seconds a published file may go unrecorded before it is an orphan
# Seconds between sweeps of the whole bucket or folder: each lists every file
# and reads each video's record once, so not often; a start sweeps at once.
SWEEP_EVERY = 86_400.0


async def sweep(store: Store, media: MediaStore, older_than: float = ABANDONED) -> int:
    """Remove the orphans older than `older_than` seconds; how many files went."""
    by_video: dict[str, list[Final]] = defaultdict(list)
    cutoff = time.time() - older_than
    for final in await media.finals():
        if final.modified < cutoff:
            by_video[final.video_id].append(final)
    removed = 0
    for video_id, finals in by_video.items():
        row = await store.get_video(video_id)  # read after the listing: a record wins
        kept = row.media.sha256[:16] if row is not None and row.media is not None else None
        orphans = [final for final in finals if final.sha16 != kept]
        await media.remove(orphans)
        removed += len(orphans)
    if removed:
        log.info("removed %d orphaned files (published, never recorded)", removed)
    return removed


async def keep_sweeping(store: Store, media: MediaStore, every: float = SWEEP_EVERY) -> None:
    """Sweep now (what a crash left), then every `every` seconds; failures are
    logged and tried again at the next round."""
    while True:
        try:
            await sweep(store, media)
        except Exception as exc:  # the storage or the store out of reach: next round
            log.warning("could not sweep orphaned files: %s", exc)
        await asyncio.sleep(every)
