"""The REST surface under /v1 that the protos' `google.api.http` annotations
and the service config's http rules declare, transcoded to gRPC as Envoy's
grpc-json-transcoder, grpc-gateway and ESPv2 do: from the descriptors, with no
route table of our own.

    rules.py     the bindings: descriptors + longreel_v1.yaml
    template.py  path templates (`*`, `**`, `{name=videos/*}`, `:verb`)
    messages.py  HTTP request → request message; messages → proto3 JSON
    calls.py     the gRPC call over the gateway's stubs, lanes and deadlines
    routes.py    Starlette routes, one per template (404, 405 with Allow)
"""

from __future__ import annotations

from .routes import TemplateRoute, routes
from .rules import Binding, bindings

__all__ = ["Binding", "TemplateRoute", "bindings", "routes"]
