"""The server's and the worker's settings as one value, and the error a bad
one raises.

A module of its own, importing nothing of the wiring: app.py assembles from
a Config, security.py and tracing.py read one, and flags.py builds one from
the command line, without an import circle between them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .processor import Profile
from .processor.rendering import MEMORY_MB

DATABASE_FILE = "videos.db"  # the SQLite database under the data directory
MIN_LEASE_SECONDS = 1.0  # the heartbeat renews a lease every third of it
MAX_ATTEMPTS = 100  # --max-attempts at most: past it, a failing job is retried for days


class ConfigError(Exception):
    """The settings cannot be used; the message says why, for a person."""


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/longreel, else ~/.local/share/longreel."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "longreel"


@dataclass
class Config:
    listen: str = "127.0.0.1:50051"
    data_dir: Path = field(default_factory=default_data_dir)
    database: str | None = None  # postgresql://...; None: SQLite under data_dir
    workers: int = 2
    processor: str = "render"  # render | simulated
    media_dir: Path | None = None  # rendered files; None: media/ under data_dir
    media_url: str | None = None  # s3://BUCKET/PREFIX (media_s3.py); None or file:: the folder
    s3_endpoint: str | None = None  # http(s)://HOST:PORT of an S3 API other than AWS's
    s3_region: str | None = None
    profile: Profile = field(default_factory=Profile)  # size, rate and length of renders
    render_memory_mb: int = MEMORY_MB  # address space of each render process; 0: no limit
    work_seconds: float = 5.0  # how long the simulated processor takes per video
    lease_seconds: float = 30.0  # at least MIN_LEASE_SECONDS
    max_attempts: int = 5  # tries at a job before its operation fails; 1 to MAX_ATTEMPTS
    shutdown_grace: float = 5.0  # seconds in-flight calls get to finish on stop
    max_backlog: int = 10_000  # unfinished operations; past it, new ones are refused
    retention_seconds: float = 7 * 86_400  # finished operations are kept this long
    sweep_interval: float = 60.0  # seconds between sweeps for expired operations
    tls_cert: Path | None = None  # PEM certificate chain; with tls_key, the server speaks TLS
    tls_key: Path | None = None
    tls_client_ca: Path | None = None  # PEM CAs; clients must then present a certificate (mTLS)
    insecure: bool = False  # allow plaintext on an address other than loopback
    auth: str = "none"  # none | api-keys | jwt
    api_keys_file: Path | None = None
    jwt_key: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    rate_limit: float = 0.0  # calls a second per caller; 0: no limit
    failed_login_limit: float = 60.0  # failed logins a minute per address; 0: no limit
    # Peers whose x-forwarded-for names the client (the gateway): addresses, CIDRs, `loopback`
    trusted_proxies: str = "loopback"
    max_calls_in_flight: int = 8_000  # past it, new calls are shed (admission.py)
    max_waits_per_caller: int = 4_000  # held WaitOperation and ReadVideoContent calls
    reflection: bool = True
    otlp_endpoint: str | None = None  # OTLP/gRPC collector for traces; None: no tracing
    metrics_port: int | None = None  # Prometheus metrics on the listen host; 0: a free port
