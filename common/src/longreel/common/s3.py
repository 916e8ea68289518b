"""An S3 bucket as the server (its rendered files) and the gateway (presigned
links to them) both open it: the URL, the endpoint's plaintext rule, the
names of the files, and one-line reasons for failures.

One module for both, so that a file the server names is the file the
gateway signs. obstore comes with the `s3` extra; the names and checks here
need only the standard library.
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .flags import Container, add_flag
from .net import is_loopback

if TYPE_CHECKING:
    from obstore.store import S3Store

KINDS = ("mp4", "png")  # a video and its thumbnail
RETRIES = 3  # tries at a failed request (connection, 5xx) before it fails
RETRY_TIMEOUT = timedelta(seconds=10)  # the most one request spends retrying
CONNECT_TIMEOUT = timedelta(seconds=5)
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's bucket naming rules
REQUEST = re.compile(r"Error performing (?:\w+ request: Error performing )?([A-Z]+) (\S+)")
STATUS = re.compile(r"status code: (\d{3}[^:]*)")
CODE = re.compile(r"<Code>(\w+)</Code>")


class BucketError(Exception):
    """The bucket cannot be opened as configured; the message says why, in one line."""


def final_name(video_id: str, sha256: str, thumbnail: bool = False) -> str:
    """A rendered file's name (its key under the prefix): video id and content."""
    return f"{video_id}.{sha256[:16]}.{KINDS[1] if thumbnail else KINDS[0]}"


def add_flags(parser: Container, *, url_help: str, endpoint_help: str) -> None:
    """--media-url, --s3-endpoint and --s3-region, alike in every program
    (the endpoint and region under the AWS tools' own variables)."""
    add_flag(parser, "--media-url", env="VIDEO_MEDIA_URL", type=media_url, metavar="URL",
             help=url_help)  # fmt: skip
    add_flag(parser, "--s3-endpoint", env="AWS_ENDPOINT_URL", metavar="URL", help=endpoint_help)
    add_flag(parser, "--s3-region", env="AWS_REGION", help="the bucket's region")


def media_url(text: str) -> str:
    """An argparse `type=` for --media-url: s3://BUCKET/PREFIX, or file:PATH (a folder)."""
    if text.startswith("file:"):
        return text
    try:
        parse_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def parse_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of s3://BUCKET/PREFIX; ValueError, saying why, otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not BUCKET.fullmatch(parts.netloc):
        raise ValueError("must be s3://BUCKET/PREFIX (a bucket name: 3-63 lowercase letters,"
                         " digits, dots or hyphens), or a file: URL")  # fmt: skip
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or a fragment")
    return parts.netloc, parts.path.strip("/")


def check_endpoint(endpoint: str, insecure: bool) -> None:
    """Plaintext stays on loopback, as everywhere in longreel: an http://
    endpoint elsewhere would carry signed requests and every file in the
    clear. --insecure allows it (a private network, a sidecar)."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BucketError(f"--s3-endpoint must be http(s)://HOST[:PORT], not {endpoint!r}")
    if parts.scheme == "http" and not insecure and not is_loopback(f"[{parts.hostname}]:0"):
        raise BucketError(
            f"refusing the plaintext S3 endpoint {endpoint}, which is not loopback:"
            " use https, or give --insecure if that is meant"
        )


def open_bucket(url: str, *, endpoint: str | None, region: str | None, insecure: bool) -> S3Store:
    """The bucket's prefix as an obstore store; credentials from the standard
    AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
    or the machine's role, read by obstore as every AWS tool reads them.
    BucketError for settings that cannot work; nothing is asked of the
    bucket yet."""
    from obstore.exceptions import BaseError
    from obstore.store import S3Store

    try:
        bucket, prefix = parse_url(url)
    except ValueError as exc:
        raise BucketError(f"--media-url {url}: {exc}") from None
    config: dict[str, Any] = {}
    if endpoint:
        check_endpoint(endpoint, insecure)
        config["endpoint"] = endpoint
    if region:
        config["region"] = region
    plaintext = bool(endpoint and endpoint.startswith("http://"))
    try:
        return S3Store(
            bucket,
            prefix=prefix or None,
            config=config,  # type: ignore[arg-type]
            client_options={"allow_http": plaintext, "connect_timeout": CONNECT_TIMEOUT},
            retry_config={"max_retries": RETRIES, "retry_timeout": RETRY_TIMEOUT},
        )
    except BaseError as exc:
        raise BucketError(f"--media-url {url}: {first_line(exc)}") from None


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def why(exc: BaseException) -> str:
    """A person's reason for a failed request, in one line, from obstore's
    long message (which carries the response body and a debug dump)."""
    text = str(exc)
    for code, reason in (
        ("NoSuchBucket", "the bucket does not exist"),
        ("InvalidAccessKeyId", "the access key is not known (AWS_ACCESS_KEY_ID)"),
        ("SignatureDoesNotMatch", "the secret key is wrong (AWS_SECRET_ACCESS_KEY)"),
        ("AccessDenied", "access denied to these credentials"),
        ("error sending request", "cannot connect (is --s3-endpoint right?)"),
    ):
        if code in text:
            return reason
    request, status, s3_code = REQUEST.search(text), STATUS.search(text), CODE.search(text)
    if request and status:
        told = f" ({s3_code[1]})" if s3_code else ""
        return f"{request[1]} {request[2]}: {status[1]}{told}"
    return first_line(exc)
