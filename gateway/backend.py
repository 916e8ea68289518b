"""The gateway's gRPC side: stubs over two channels, a deadline on every call.

Long polls (WaitOperation) get a channel, and so an HTTP/2 connection, of
their own: a server's MAX_CONCURRENT_STREAMS counts per connection, and
thousands of held waits would otherwise queue every short call behind them.
"""

from __future__ import annotations

import grpc
from google.longrunning import operations_pb2_grpc
from opentelemetry.trace import TracerProvider

from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from . import tracing
from .credentials import interceptors

CALL_TIMEOUT = 10.0  # seconds for every unary call
WAIT_SLACK = 5.0  # seconds a long poll's deadline exceeds its wait
# gRPC backs off reconnecting up to 120 s by default: a server back from a
# restart would go on looking down (503) for that long.
RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


class Backend:
    def __init__(
        self,
        target: str,
        credentials: grpc.ChannelCredentials | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.target = target
        traced = tracing.client_interceptors(tracer_provider)
        self._channel = _channel(target, credentials, RECONNECT, traced)
        # A local subchannel pool keeps this channel off the shared connection.
        self._wait_channel = _channel(
            target, credentials, [*RECONNECT, ("grpc.use_local_subchannel_pool", 1)], traced
        )
        self.videos = pb_grpc.VideoServiceStub(self._channel)
        self.operations = operations_pb2_grpc.OperationsStub(self._channel)
        self.waits = operations_pb2_grpc.OperationsStub(self._wait_channel)

    async def close(self) -> None:
        await self._channel.close()
        await self._wait_channel.close()


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
