"""The slow work itself, behind a small interface (see base.py)."""

from .base import Cancelled, OutOfMemory, PermanentError, Processor, Progress, VideoSpec
from .render import Profile
from .rendering import RenderingProcessor
from .simulated import SimulatedProcessor

__all__ = [
    "Cancelled",
    "OutOfMemory",
    "PermanentError",
    "Processor",
    "Profile",
    "Progress",
    "RenderingProcessor",
    "SimulatedProcessor",
    "VideoSpec",
]
