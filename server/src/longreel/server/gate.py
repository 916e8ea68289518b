"""What every call to our services passes first: who is calling (auth), and
whether that caller is within its request rate. Health and reflection are
not behind it."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import time
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from .auth import Authenticator, Unauthenticated, bearer
from .errors import ApiError, unavailable

MAX_BUCKETS = 10_000  # callers tracked at once; idle ones are dropped first
FORWARDED_FOR = "x-forwarded-for"  # the client's address, as a trusted proxy (the gateway) saw it
LOOPBACK = "loopback"  # in --trusted-proxies: 127.0.0.0/8 and ::1
NONE = "none"  # in --trusted-proxies: no proxy (as '' is, which the environment cannot say)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def trusted_proxies(value: str) -> tuple[Network, ...]:
    """--trusted-proxies (comma-separated addresses or CIDRs, `loopback`, or
    `none` or empty for none) as networks; ValueError on anything else."""
    networks: list[Network] = []
    for item in (i.strip().lower() for i in value.split(",")):
        if item == LOOPBACK:
            networks += [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
        elif item and item != NONE:
            networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
    return tuple(networks)


class RateLimit:
    """A token bucket per caller: `rate` calls a second, bursts of `burst`."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, 2 * rate)
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, when)

    def take(self, caller: str) -> float:
        """0 if the call may go ahead, else the seconds until it could."""
        now = time.monotonic()
        tokens, then = self._buckets.get(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[caller] = (tokens, now)
            return (1 - tokens) / self.rate
        if caller not in self._buckets and len(self._buckets) >= MAX_BUCKETS:
            self._forget_idle(now)
        self._buckets[caller] = (tokens - 1, now)
        return 0.0

    def waiting(self, caller: str) -> float:
        """The seconds until caller could take a token (0: now), taking none."""
        if caller not in self._buckets:
            return 0.0
        tokens, then = self._buckets[caller]
        tokens = min(self.burst, tokens + (time.monotonic() - then) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        full = [c for c, (t, w) in self._buckets.items() if t + (now - w) * self.rate >= self.burst]
        for caller in full or list(self._buckets)[: MAX_BUCKETS // 10]:
            del self._buckets[caller]


class Gate:
    """Authentication, then the caller's rate; failed logins have a budget
    per address of their own (`failures`), so that guessing keys is slow
    whether or not --rate-limit is set."""

    def __init__(
        self,
        authenticator: Authenticator | None,
        limit: RateLimit | None,
        failures: RateLimit | None = None,
        trusted: tuple[Network, ...] = (),
    ) -> None:
        self.authenticator = authenticator
        self.limit = limit
        self.failures = failures
        self.trusted = trusted
        self._open = False

    def open(self) -> None:
        """Let calls in: the store they need is open."""
        self._open = True

    def admit(self, context: grpc.aio.ServicerContext[Any, Any]) -> str:
        """The caller's principal; raises ApiError if the call may not go on."""
        if not self._open:
            raise unavailable("the server is starting: its store is not open yet", "STARTING")
        principal = ""
        if self.authenticator is not None:
            address = self.address(context)
            if self.failures is not None and (wait := self.failures.waiting(address)) > 0:
                # Checked before the credentials: past its budget, no guess is even tried.
                raise _limited("too many failed logins from this address", wait)
            given = [v for k, v in context.invocation_metadata() or () if k == "authorization"]
            if not given:
                # Not a guess: refused, but not counted against the address's budget.
                self._charge(f"failed:{address}")
                raise ApiError(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "this call needs a bearer token",
                    "CREDENTIALS_MISSING",
                )
            try:
                if len(given) > 1:
                    raise Unauthenticated(
                        "CREDENTIALS_MALFORMED", "give one authorization value, not several"
                    )
                principal = self.authenticator.principal(bearer(_text(given[0])))
            except Unauthenticated as exc:
                if self.failures is not None:
                    self.failures.take(address)
                self._charge(f"failed:{address}")
                raise ApiError(grpc.StatusCode.UNAUTHENTICATED, str(exc), exc.reason) from None
        self._charge(principal or self.address(context))
        return principal

    def address(self, context: grpc.aio.ServicerContext[Any, Any]) -> str:
        """The caller's address: its peer's, or, when the peer is a trusted
        proxy (the gateway), the client address that proxy put in
        x-forwarded-for. Anyone else's x-forwarded-for is ignored."""
        peer = context.peer()
        if self.trusted and _in(_peer_ip(peer), self.trusted):
            forwarded = [
                _text(v) for k, v in context.invocation_metadata() or () if k == FORWARDED_FOR
            ]
            if forwarded and forwarded[-1]:
                # The rightmost entry is the one the trusted proxy itself added.
                with contextlib.suppress(ValueError):
                    client = ipaddress.ip_address(forwarded[-1].rsplit(",", 1)[-1].strip())
                    return _host_key(client)
        return _peer_host(peer)

    def _charge(self, caller: str) -> None:
        if self.limit is None or (wait := self.limit.take(caller)) <= 0:
            return
        raise _limited(f"too many calls; at most {self.limit.rate:g} a second per caller", wait)


def _limited(message: str, wait: float) -> ApiError:
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(max(1, int(wait * 1000)))
    return ApiError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        message,
        "RATE_LIMITED",
        details=[error_details_pb2.RetryInfo(retry_delay=delay)],
    )


def _text(value: str | bytes | None) -> str | None:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


@functools.lru_cache(maxsize=4096)  # parsed on every call; a connection keeps its peer
def _peer_ip(peer: str) -> Address | None:
    kind, _, rest = peer.partition(":")
    if kind not in ("ipv4", "ipv6"):
        return None
    try:
        return ipaddress.ip_address(rest.rsplit(":", 1)[0].strip("[]"))
    except ValueError:
        return None


def _in(ip: Address | None, nets: tuple[Network, ...]) -> bool:
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in nets)


def _host_key(ip: Address) -> str:
    """The bucket key of an address, as _peer_host makes it."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 6:
        return f"ipv6:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"ipv4:{ip}"


@functools.lru_cache(maxsize=4096)
def _peer_host(peer: str) -> str:
    """One bucket per address, not per port; per /64 for IPv6, where one host
    commonly holds a whole /64 ('ipv6:[2001:db8::1]:5555' -> 'ipv6:2001:db8::/64')."""
    kind, _, rest = peer.partition(":")
    host = rest.rsplit(":", 1)[0].strip("[]") if ":" in rest else rest
    if kind == "ipv6":
        with contextlib.suppress(ValueError):
            return f"ipv6:{ipaddress.ip_network(f'{host}/64', strict=False)}"
    return f"{kind}:{host}"
