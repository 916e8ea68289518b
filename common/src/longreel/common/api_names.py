"""Spellings of the API that the protos cannot carry, kept in one place
because the client, the gateway and the server must agree on them to the
letter: a header one side spells differently is silently ignored by the other,
and a UUID the gateway takes as one but the server does not is a request the
server refuses only after the gateway promised it would not.

Standard library only: the client imports it too.
"""

from __future__ import annotations

import re

# google.longrunning's ListOperationsRequest has no order_by (AIP-132), so a
# caller asks for an order in this request metadata key instead, in the
# field's syntax: "create_time desc" lists the latest first. gRPC metadata
# keys are lower case.
ORDER_BY_KEY = "x-longreel-order-by"

# A UUID in its canonical 8-4-4-4-12 text, any version, either case: what a
# request_id must be (AIP-155, field_info.format = UUID4), and so what the
# gateway passes through as one rather than deriving one from the key.
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# What "syntactically appears to be a UUID" means (AIP-122: no resource id
# may): 32 hex digits, with or without the four hyphens of the canonical form.
UUID_LIKE = re.compile(rf"{UUID.pattern}|[0-9a-f]{{32}}", re.I)
