"""The system of record: operations, videos and jobs behind one interface.

The store knows nothing of gRPC or protobuf: responses and errors are opaque
bytes that the API layer serialises.
"""

from .base import (
    AlreadyExists,
    ClaimedJob,
    Conflict,
    FinishedCounts,
    InvalidValue,
    LeaseLost,
    NewOperation,
    NotFound,
    OperationRow,
    Outcome,
    QueueCounts,
    RequestIdReused,
    Store,
    StoreError,
    StoreUnavailable,
    VideoRow,
)

__all__ = [
    "AlreadyExists",
    "ClaimedJob",
    "Conflict",
    "FinishedCounts",
    "InvalidValue",
    "LeaseLost",
    "NewOperation",
    "NotFound",
    "OperationRow",
    "Outcome",
    "QueueCounts",
    "RequestIdReused",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "VideoRow",
]
