"""Health follows the store: NOT_SERVING while it cannot take a write, SERVING
again once it can. The server itself stays up throughout."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from grpc_health.v1 import health, health_pb2

from .store import Store, StoreError

log = logging.getLogger(__name__)

PROBE_INTERVAL = 2.0  # seconds between probes of the store
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def follow_store(
    store: Store, servicer: health.aio.HealthServicer, services: Iterable[str]
) -> None:
    """Run until cancelled, flipping every service's status with the store's."""
    names = ["", *services]
    serving = True
    while True:
        await asyncio.sleep(PROBE_INTERVAL)
        try:
            await store.ping()
            ok = True
        except StoreError as exc:
            ok = False
            if serving:
                log.error("the store cannot take writes; health is NOT_SERVING: %s", exc)
        if ok != serving:
            if ok:
                log.warning("the store is back; health is SERVING")
            for name in names:
                await servicer.set(name, SERVING if ok else NOT_SERVING)
            serving = ok
