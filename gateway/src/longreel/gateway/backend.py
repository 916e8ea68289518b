"""The gateway's gRPC side: stubs over one channel for short calls and a
pool of lanes for held ones, a deadline on every unary call.

Held calls (long polls, event streams, content downloads) go over lanes,
channels and so HTTP/2 connections of their own: a server's
MAX_CONCURRENT_STREAMS counts per connection, and held waits on one
connection would queue every short call, and every other caller's wait,
behind them. holds.py caps the held calls so no lane exceeds the server's
per-connection limit.
"""

from __future__ import annotations

import grpc
from google.longrunning import operations_pb2_grpc
from opentelemetry.trace import TracerProvider
from starlette.requests import Request

from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from . import tracing
from .credentials import interceptors
from .holds import HoldLimits, Holds, Ticket

CALL_TIMEOUT = 10.0  # seconds for every unary call
WAIT_SLACK = 5.0  # seconds a long poll's deadline exceeds its wait
# gRPC backs off reconnecting up to 120 s by default: a server back from a
# restart would go on looking down (503) for that long.
RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


class Lane:
    """The stubs a held call uses: over a channel of the lane's own."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.videos = pb_grpc.VideoServiceStub(channel)
        self.waits = operations_pb2_grpc.OperationsStub(channel)


class Backend:
    def __init__(
        self,
        target: str,
        credentials: grpc.ChannelCredentials | None = None,
        tracer_provider: TracerProvider | None = None,
        limits: HoldLimits | None = None,
    ) -> None:
        self.target = target
        self.holds = Holds(limits or HoldLimits())
        traced = tracing.client_interceptors(tracer_provider)
        self._channel = _channel(target, credentials, RECONNECT, traced)
        # A local subchannel pool keeps each lane off the shared connection.
        own = [*RECONNECT, ("grpc.use_local_subchannel_pool", 1)]
        self.lanes = [
            Lane(_channel(target, credentials, own, traced)) for _ in range(self.holds.limits.lanes)
        ]
        self.videos = pb_grpc.VideoServiceStub(self._channel)
        self.operations = operations_pb2_grpc.OperationsStub(self._channel)

    def hold(self, request: Request) -> tuple[Ticket, Lane]:
        """A held call's ticket (release it when done) and its lane; 429 past a cap."""
        ticket = self.holds.take(request)
        return ticket, self.lanes[ticket.lane]

    async def close(self) -> None:
        await self._channel.close()
        for lane in self.lanes:
            await lane.channel.close()


def _channel(
    target: str,
    credentials: grpc.ChannelCredentials | None,
    options: list[tuple[str, int]],
    traced: list[grpc.aio.ClientInterceptor],
) -> grpc.aio.Channel:
    # The tracing interceptors first: the trace's span is open when the
    # Authorization interceptor adds its metadata.
    chain = [*traced, *interceptors()]
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=options, interceptors=chain)
    return grpc.aio.secure_channel(target, credentials, options=options, interceptors=chain)
