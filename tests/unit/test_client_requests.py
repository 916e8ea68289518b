"""How a client method's arguments become its request and its endpoint, as
GAPIC clients make theirs; no server: the rules alone."""

from __future__ import annotations

import grpc
import pytest
from google.api_core.client_options import ClientOptions
from google.longrunning import operations_pb2

from longreel.client import _options, _requests
from longreel.video.v1 import video_service_pb2 as pb


def test_a_dict_a_message_and_flattened_fields_make_equal_requests():
    by_dict = _requests.make(pb.CreateVideoRequest, {"video": {"title": "T"}, "video_id": "v"})
    message = pb.CreateVideoRequest(video=pb.Video(title="T"), video_id="v")
    by_message = _requests.make(pb.CreateVideoRequest, message)
    by_fields = _requests.make(pb.CreateVideoRequest, None, video=pb.Video(title="T"), video_id="v")
    assert by_dict == by_message == by_fields
    assert by_message is not message  # a copy: filling it in leaves the caller's alone


def test_request_and_a_flattened_field_together_are_refused():
    with pytest.raises(ValueError, match="individual field arguments"):
        _requests.make(pb.GetVideoRequest, {"name": "videos/a"}, name="videos/a")


def test_a_request_of_another_type_is_refused():
    with pytest.raises(TypeError, match=r"longreel\.video\.v1\.GetVideoRequest"):
        _requests.make(pb.GetVideoRequest, operations_pb2.GetOperationRequest(name="x"))


def test_request_id_is_filled_only_when_missing():
    given = _requests.with_request_id(pb.DeleteVideoRequest(request_id="mine"))
    made = _requests.with_request_id(pb.DeleteVideoRequest())
    assert given.request_id == "mine" and len(made.request_id) == 36


def test_the_endpoint_comes_from_the_target_or_client_options():
    assert _options.resolve(None, None, None).target == "localhost:50051"
    assert _options.resolve("h:1", None, None).target == "h:1"
    assert _options.resolve(None, {"api_endpoint": "h:2"}, None).target == "h:2"
    assert _options.resolve("h:3", ClientOptions(api_endpoint="h:3"), None).target == "h:3"
    with pytest.raises(ValueError, match="disagree"):
        _options.resolve("h:1", {"api_endpoint": "h:2"}, None)


def test_credentials_are_grpc_ones_or_google_auth_ones():
    tls = grpc.ssl_channel_credentials()
    assert _options.resolve(None, None, tls).credentials is tls
    assert _options.resolve(None, None, None).credentials is None
    with pytest.raises(TypeError, match=r"google\.auth"):
        _options.resolve(None, None, "a token")
    with pytest.raises(ValueError, match="not both"):
        _options.resolve(None, {"client_cert_source": lambda: (b"", b"")}, tls)


def test_google_auth_credentials_become_tls_with_call_credentials():
    from google.auth.credentials import AnonymousCredentials

    where = _options.resolve(None, None, AnonymousCredentials())
    assert isinstance(where.credentials, grpc.ChannelCredentials)
