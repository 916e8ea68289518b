"""Where rendered files live, without a server: the names of final files,
the --media-url and --s3-endpoint checks, the folder's MediaStore, and the
one-line reasons a bucket's failures are given in."""

from __future__ import annotations

import asyncio

import pytest

from longreel.common.s3 import BucketError, check_endpoint, parse_url, why
from longreel.server import flags
from longreel.server.__main__ import parse_args
from longreel.server.app import media_store
from longreel.server.config import Config
from longreel.server.media import MediaFiles, MediaMissing, parse_final
from longreel.server.media_s3 import S3Media


def test_final_names_carry_the_video_and_its_content_and_nothing_else_parses():
    final = parse_final("abc.0123456789abcdef.mp4", 5.0)
    assert final is not None and (final.video_id, final.sha16) == ("abc", "0123456789abcdef")
    for stranger in ("abc.0123.mp4", "abc.0123456789abcdef.mp4.part", "abc.0123456789abcdef.txt",
                     "x.txt", ".0123456789abcdef.png"):  # fmt: skip
        assert parse_final(stranger, 0.0) is None


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://videos/longreel/media", "videos", "longreel/media"),
        ("s3://my.bucket-1", "my.bucket-1", ""),
    ],
)
def test_a_media_url_names_a_bucket_and_a_prefix(url, bucket, prefix):
    assert parse_url(url) == (bucket, prefix)


@pytest.mark.parametrize(
    "url", ["s3://", "s3://UPPER/x", "s3://ab/x", "gs://videos/x", "s3://v/x?a=1"]
)
def test_a_bad_media_url_is_a_usage_error_naming_the_flag(url, capsys):
    with pytest.raises(SystemExit) as exit:
        parse_args(["--media-url", url])
    assert exit.value.code == 2
    assert "--media-url" in capsys.readouterr().err


def test_a_file_url_or_none_is_the_folder(tmp_path):
    args = parse_args(["--data-dir", str(tmp_path), "--media-url", f"file://{tmp_path}/elsewhere"])
    media = media_store(flags.to_config(args))
    assert isinstance(media, MediaFiles) and media.folder == tmp_path / "elsewhere"
    default = media_store(Config(data_dir=tmp_path))
    assert isinstance(default, MediaFiles) and default.folder == tmp_path / "media"


def test_a_bucket_renders_into_scratch_under_the_data_directory(tmp_path):
    config = Config(data_dir=tmp_path, media_url="s3://videos/p", s3_endpoint="http://[::1]:9000")
    media = media_store(config)
    assert isinstance(media, S3Media) and media.scratch == tmp_path / "scratch"


@pytest.mark.parametrize(
    ("endpoint", "insecure", "allowed"),
    [
        ("https://s3.example.com", False, True),
        ("http://127.0.0.1:9000", False, True),
        ("http://localhost:9000", False, True),
        ("http://[::1]:9000", False, True),
        ("http://10.0.0.5:9000", False, False),
        ("http://s3.internal:9000", False, False),
        ("http://10.0.0.5:9000", True, True),
        ("ftp://127.0.0.1", True, False),
        ("127.0.0.1:9000", True, False),
    ],
)
def test_plaintext_endpoints_stay_on_loopback_unless_insecure(endpoint, insecure, allowed):
    if allowed:
        check_endpoint(endpoint, insecure)
    else:
        with pytest.raises(BucketError):
            check_endpoint(endpoint, insecure)


def test_the_folder_reads_ranges_and_misses_cleanly(tmp_path):
    media = MediaFiles(tmp_path)
    parts = media.parts("v", "t")
    parts[0].write_bytes(bytes(range(256)) * 10)
    parts[1].write_bytes(b"png")
    sha = "ab" * 32

    async def scenario() -> None:
        await media.publish("v", sha, parts)
        assert await media.size("v", sha, False) == 2560
        pieces = await media.read("v", sha, False, 10, 5)
        assert b"".join([p async for p in pieces]) == bytes(range(10, 15))
        assert {f.name for f in await media.finals("v")} == {
            f"v.{sha[:16]}.mp4",
            f"v.{sha[:16]}.png",
        }
        await media.remove(await media.finals("v"))
        await media.remove(await media.finals("v"))  # twice: nothing, no error
        with pytest.raises(MediaMissing):
            await media.read("v", sha, False, 0, 0)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("... 404 Not Found: <Error><Code>NoSuchBucket</Code>", "the bucket does not exist"),
        ("... 403 Forbidden: <Code>SignatureDoesNotMatch</Code>", "the secret key is wrong"),
        ("Error performing list request: ... HTTP error: error sending request", "cannot connect"),
        (
            "Generic S3 error: Error performing PUT http://h/b/k in 3ms, after 3 retries - Server"
            " returned non-2xx status code: 500 Internal Server Error: <Error><Code>InternalError"
            "</Code>\n\nDebug source: ...",
            "PUT http://h/b/k: 500 Internal Server Error (InternalError)",
        ),
    ],
)
def test_a_buckets_failure_reads_in_one_line(message, reason):
    said = why(Exception(message))
    assert reason in said and "\n" not in said


def test_the_gateways_redirect_needs_the_bucket(capsys):
    from longreel.gateway.flags import parse_args as gateway_args

    with pytest.raises(SystemExit) as exit:
        gateway_args(["--content-redirect"])
    assert exit.value.code == 2
    assert "--content-redirect needs the bucket" in capsys.readouterr().err
    args = gateway_args(["--content-redirect", "--media-url", "s3://videos/longreel"])
    assert args.content_redirect and args.media_url == "s3://videos/longreel"
