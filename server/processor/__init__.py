"""The slow work itself, behind a small interface (see base.py)."""

from .base import Cancelled, PermanentError, Processor, Progress, VideoSpec
from .simulated import SimulatedProcessor

__all__ = [
    "Cancelled",
    "PermanentError",
    "Processor",
    "Progress",
    "SimulatedProcessor",
    "VideoSpec",
]
