"""`--content-redirect`: GET /videos/{video}/content (and /thumbnail) answer
307 to a short-lived presigned URL of the file in the bucket, so that the
bytes go from the bucket to the caller and never through the gateway or
the server.

The caller's right to the file is checked as before (GetVideo with their
own token: another caller's video is 404), and If-None-Match still answers
304 with the ETag of the recorded SHA-256. The redirect itself may be kept
by the caller's cache (private) for a fifth of the URL's life, so a player
seeking through a video asks the gateway once a minute rather than per
range, and never follows a link that has expired. HEAD is answered by the
gateway itself, as without the option: a presigned GET does not sign HEAD.
The web page (/ui) fetches files with the caller's token and follows the
redirect: its Content-Security-Policy then names the bucket's origin, and
the bucket must allow the gateway's origin to GET (CORS).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import obstore
from obstore.store import S3Store

from longreel.common.s3 import final_name, open_bucket

VALID_FOR = 300.0  # seconds a presigned URL works
CACHED_FOR = 60  # seconds a caller may reuse the redirect: well inside VALID_FOR


class Redirects:
    """Presigned URLs of rendered files, in the bucket the server keeps them in."""

    def __init__(
        self, media_url: str, *, endpoint: str | None, region: str | None, insecure: bool
    ) -> None:
        """BucketError (common/s3.py) for settings that cannot work."""
        self.store: S3Store = open_bucket(
            media_url, endpoint=endpoint, region=region, insecure=insecure
        )
        # Where the links lead, for the web page's Content-Security-Policy.
        where = urlsplit(endpoint) if endpoint else None
        self.origin = f"{where.scheme}://{where.netloc}" if where else "https://*.amazonaws.com"

    async def location(self, video_id: str, sha256: str, thumbnail: bool) -> str:
        """Signed locally, with the credentials: no request to the bucket."""
        key = final_name(video_id, sha256, thumbnail)
        return await obstore.sign_async(self.store, "GET", key, timedelta(seconds=VALID_FOR))

    def headers(self, location: str) -> dict[str, str]:
        return {"Location": location, "Cache-Control": f"private, max-age={CACHED_FOR}"}
