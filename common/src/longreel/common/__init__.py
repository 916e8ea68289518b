"""What video-server, video-worker, video-gateway and the client share
without importing one another (DESIGN keeps the gateway and the client away
from the server's modules): logs, the loopback check, the metrics endpoint
and the OTLP tracer provider. Nothing here knows the API or the store."""
