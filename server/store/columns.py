"""What both SQL backends select and filter on: their schemas share these names."""

from __future__ import annotations

CANCELLED = 1  # google.rpc.Code.CANCELLED, the error_code of a cancelled operation

# The order OperationRow takes them in.
OPERATION_COLUMNS = (
    "id, seq, verb, target, done, progress_percent, status_message, cancel_requested,"
    " create_time, update_time, end_time, response, error"
)
# A video's keyset is its list_seq (see the migrations), not the reservation order.
VIDEO_COLUMNS = "id, list_seq, title, plot, create_time, update_time"
VISIBLE_VIDEO = "state IN ('active', 'deleting')"
# Filterable columns of operations; the filter compiler accepts no others.
FILTER_COLUMNS = {
    "done": "done",
    "verb": "verb",
    "target": "target",
    "error_code": "error_code",
    "create_time": "create_time",
}
