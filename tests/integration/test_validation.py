"""Bad input is refused synchronously with the right status and details (AIP-193)."""

from __future__ import annotations

import grpc
import pytest
from google.longrunning import operations_pb2

from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import create, details, violations

pytestmark = pytest.mark.any_store  # requests are refused before any store is asked

VIDEO = pb.Video(title="T", plot="P")
A_UUID = "f47ac10b-58cc-4372-a567-0e02b2c3d479"  # starts with a letter: only its shape is wrong


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.CreateVideoRequest(), "video"),
        (pb.CreateVideoRequest(video=pb.Video(title="")), "video.title"),
        (pb.CreateVideoRequest(video=pb.Video(title="   ")), "video.title"),
        (pb.CreateVideoRequest(video=pb.Video(title="x" * 201)), "video.title"),
        (pb.CreateVideoRequest(video=pb.Video(title="T", plot="p" * 10_001)), "video.plot"),
        (pb.CreateVideoRequest(video=pb.Video(title="a\x00b")), "video.title"),
        (pb.CreateVideoRequest(video=pb.Video(title="T", plot="\x00")), "video.plot"),
        (pb.CreateVideoRequest(video=VIDEO, video_id="Has Capitals"), "video_id"),
        (pb.CreateVideoRequest(video=VIDEO, video_id="-dash"), "video_id"),
        (pb.CreateVideoRequest(video=VIDEO, video_id="a/b"), "video_id"),
        (pb.CreateVideoRequest(video=VIDEO, video_id="x" * 64), "video_id"),
        (pb.CreateVideoRequest(video=VIDEO, video_id="tasks"), "video_id"),
        (pb.CreateVideoRequest(video=VIDEO, video_id="1st-take"), "video_id"),
        (pb.CreateVideoRequest(video=VIDEO, video_id=A_UUID), "video_id"),
        (pb.CreateVideoRequest(video=VIDEO, video_id=A_UUID.replace("-", "")), "video_id"),
        (pb.CreateVideoRequest(video=VIDEO, request_id="x" * 37), "request_id"),
        (pb.CreateVideoRequest(video=VIDEO, request_id="has space"), "request_id"),
        (pb.CreateVideoRequest(video=VIDEO, request_id="key-1"), "request_id"),
        (pb.CreateVideoRequest(video=VIDEO, request_id=A_UUID.replace("-", "")), "request_id"),
    ],
)
def test_create_with_a_bad_field_is_refused(api, request_, field):
    with pytest.raises(grpc.RpcError) as err:
        api.videos.CreateVideo(request_)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(err.value)
    info = details(err.value)["ErrorInfo"]
    assert (info.reason, info.domain) == ("INVALID_FIELD", "video.longreel.dev")


def test_a_delete_with_a_request_id_that_is_no_uuid_is_refused(api):
    with pytest.raises(grpc.RpcError) as err:
        api.videos.DeleteVideo(pb.DeleteVideoRequest(name="videos/x", request_id="delete-once"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "request_id" in violations(err.value)


def test_a_letter_first_id_and_a_uuid_request_id_in_capitals_are_accepted(api):
    request = pb.CreateVideoRequest(video=VIDEO, video_id="take-2", request_id=A_UUID.upper())
    operation = api.videos.CreateVideo(request)
    assert operation.name.startswith("operations/")


def test_a_missing_video_is_reported_once(api):
    with pytest.raises(grpc.RpcError) as err:
        api.videos.CreateVideo(pb.CreateVideoRequest())
    assert violations(err.value) == {"video": "is required"}


def test_every_bad_field_is_reported_at_once(api):
    with pytest.raises(grpc.RpcError) as err:
        api.videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title=""), video_id="BAD"))
    assert set(violations(err.value)) == {"video.title", "video_id"}


BAD_NAMES = [
    "",
    "videos/",
    "videos/a/b",
    "operations/x",
    "videos/UPPER",
    "v/x",
    "videos/" + "a" * 70,
]
BAD_OPERATION_NAMES = ["", "operations/", "operations/a/b", "videos/x", "operations/" + "a" * 65]


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize("method", ["GetVideo", "DeleteVideo"])
def test_a_malformed_video_name_is_an_invalid_argument(api, method, name):
    request = (
        pb.GetVideoRequest(name=name) if method == "GetVideo" else pb.DeleteVideoRequest(name=name)
    )
    with pytest.raises(grpc.RpcError) as err:
        getattr(api.videos, method)(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "name" in violations(err.value)


@pytest.mark.parametrize("name", BAD_OPERATION_NAMES)
@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("GetOperation", operations_pb2.GetOperationRequest),
        ("CancelOperation", operations_pb2.CancelOperationRequest),
        ("DeleteOperation", operations_pb2.DeleteOperationRequest),
        ("WaitOperation", operations_pb2.WaitOperationRequest),
    ],
)
def test_a_malformed_operation_name_is_an_invalid_argument(api, method, kind, name):
    with pytest.raises(grpc.RpcError) as err:
        getattr(api.operations, method)(kind(name=name), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "name" in violations(err.value)


@pytest.mark.parametrize(
    ("method", "request_"),
    [
        ("GetVideo", pb.GetVideoRequest(name="videos/nope")),
        ("DeleteVideo", pb.DeleteVideoRequest(name="videos/nope")),
    ],
)
def test_an_unknown_video_is_not_found(api, method, request_):
    with pytest.raises(grpc.RpcError) as err:
        getattr(api.videos, method)(request_)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    found = details(err.value)
    assert found["ErrorInfo"].reason == "VIDEO_NOT_FOUND"
    assert found["ResourceInfo"].resource_name == "videos/nope"


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("GetOperation", operations_pb2.GetOperationRequest),
        ("CancelOperation", operations_pb2.CancelOperationRequest),
        ("DeleteOperation", operations_pb2.DeleteOperationRequest),
        ("WaitOperation", operations_pb2.WaitOperationRequest),
    ],
)
def test_an_unknown_operation_is_not_found(api, method, kind):
    with pytest.raises(grpc.RpcError) as err:
        getattr(api.operations, method)(kind(name="operations/nope"), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert details(err.value)["ErrorInfo"].reason == "OPERATION_NOT_FOUND"


def test_a_negative_page_size_is_refused(api):
    with pytest.raises(grpc.RpcError) as err:
        api.videos.ListVideos(pb.ListVideosRequest(page_size=-1))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_size" in violations(err.value)
    with pytest.raises(grpc.RpcError) as err:
        api.operations.ListOperations(operations_pb2.ListOperationsRequest(page_size=-5))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_size" in violations(err.value)


def page_token(api):
    for i in range(3):
        create(api, title=f"Film {i}")
    page = api.operations.ListOperations(operations_pb2.ListOperationsRequest(page_size=1))
    assert page.next_page_token
    return page.next_page_token


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: "not-a-token",
        lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),
        lambda t: "A" + t[1:] if t[0] != "A" else "B" + t[1:],
        lambda t: t + "A",
        lambda t: "%%%",
    ],
)
def test_a_tampered_page_token_is_refused(api, tamper):
    token = tamper(page_token(api))
    with pytest.raises(grpc.RpcError) as err:
        api.operations.ListOperations(operations_pb2.ListOperationsRequest(page_token=token))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in violations(err.value)


def test_a_page_token_cannot_be_reused_with_another_filter(api):
    token = page_token(api)
    with pytest.raises(grpc.RpcError) as err:
        api.operations.ListOperations(
            operations_pb2.ListOperationsRequest(page_token=token, filter="done = true")
        )
    assert "page_token" in violations(err.value)


def test_a_video_page_token_is_not_an_operations_token(api):
    token = page_token(api)
    with pytest.raises(grpc.RpcError) as err:
        api.videos.ListVideos(pb.ListVideosRequest(page_token=token))
    assert "page_token" in violations(err.value)


def test_list_operations_refuses_another_collection_name(api):
    with pytest.raises(grpc.RpcError) as err:
        api.operations.ListOperations(operations_pb2.ListOperationsRequest(name="videos"))
    assert "name" in violations(err.value)


def test_a_negative_wait_timeout_is_refused(api):
    from google.protobuf import duration_pb2

    op = create(api)
    with pytest.raises(grpc.RpcError) as err:
        api.operations.WaitOperation(
            operations_pb2.WaitOperationRequest(
                name=op.name, timeout=duration_pb2.Duration(seconds=-1)
            )
        )
    assert "timeout" in violations(err.value)
