"""The slow work itself, behind a small interface (see base.py)."""

from .base import Cancelled, PermanentError, Processor, Progress, VideoSpec
from .render import Profile
from .rendering import RenderingProcessor
from .simulated import SimulatedProcessor

__all__ = [
    "Cancelled",
    "PermanentError",
    "Processor",
    "Profile",
    "Progress",
    "RenderingProcessor",
    "SimulatedProcessor",
    "VideoSpec",
]
