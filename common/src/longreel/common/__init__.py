"""What video-server, video-worker, video-gateway and the client share
without importing one another (DESIGN keeps the gateway and the client away
from the server's modules): logs, the loopback check, the metrics endpoint
and the OTLP tracer provider, and (api_names) the few spellings of the API
the protos cannot carry. Nothing here knows the store."""
