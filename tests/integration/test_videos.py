"""VideoService end to end: create, wait, get, list, delete over a real socket."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import empty_pb2

from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import create, metadata, video, wait


def test_create_returns_an_unfinished_operation_with_metadata(api):
    op = create(api, title="My movie", plot="Plot of the movie I'm about to render")
    assert op.name.startswith("operations/")
    assert not op.done
    meta = metadata(op)
    assert meta.verb == "create"
    assert meta.target.startswith("videos/")
    assert meta.HasField("create_time")
    assert not meta.HasField("end_time")
    assert meta.title == "My movie"


def test_a_deletion_names_the_video_it_removes_before_and_after(api):
    api.processor.gate.set()
    made = video(wait(api, create(api, title="Short-lived").name))
    api.processor.gate.clear()
    op = api.videos.DeleteVideo(pb.DeleteVideoRequest(name=made.name))
    assert (metadata(op).verb, metadata(op).title) == ("delete", "Short-lived")
    api.processor.gate.set()
    done = wait(api, op.name)
    assert done.done and metadata(done).title == "Short-lived"


def test_wait_returns_the_video_once_rendered_and_get_finds_it(api):
    op = create(api, title="My movie", plot="Plot")
    api.processor.gate.set()
    done = wait(api, op.name)
    assert done.done
    assert not done.HasField("error")
    made = video(done)
    assert (made.title, made.plot) == ("My movie", "Plot")
    assert made.name == metadata(done).target
    assert metadata(done).progress_percent == 100
    assert metadata(done).HasField("end_time")
    got = api.videos.GetVideo(pb.GetVideoRequest(name=made.name))
    assert got == made


def test_a_video_does_not_exist_until_its_creation_is_done(api):
    op = create(api, video_id="pending-one")
    with pytest.raises(grpc.RpcError) as err:
        api.videos.GetVideo(pb.GetVideoRequest(name="videos/pending-one"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    api.processor.gate.set()
    wait(api, op.name)
    assert api.videos.GetVideo(pb.GetVideoRequest(name="videos/pending-one")).title == "My movie"


def test_a_chosen_video_id_names_the_video_and_cannot_be_taken_twice(api):
    first = create(api, video_id="my-movie")
    assert metadata(first).target == "videos/my-movie"
    with pytest.raises(grpc.RpcError) as err:
        create(api, video_id="my-movie")
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_list_videos_pages_through_all_of_them_oldest_first(start_server):
    from ..processors import GatedProcessor

    api = start_server(GatedProcessor(open_gate=True))
    names = [video(wait(api, create(api, title=f"Film {i}").name)).name for i in range(7)]
    seen, token = [], ""
    while True:
        page = api.videos.ListVideos(pb.ListVideosRequest(page_size=3, page_token=token))
        assert len(page.videos) <= 3
        seen += [v.name for v in page.videos]
        token = page.next_page_token
        if not token:
            break
    assert seen == names


def test_delete_removes_the_video_in_its_own_operation(api):
    api.processor.gate.set()
    made = video(wait(api, create(api).name))
    op = api.videos.DeleteVideo(pb.DeleteVideoRequest(name=made.name))
    assert metadata(op).verb == "delete"
    assert metadata(op).target == made.name
    done = wait(api, op.name)
    assert done.done
    assert not done.HasField("error")
    assert done.response.Is(empty_pb2.Empty.DESCRIPTOR)
    with pytest.raises(grpc.RpcError) as err:
        api.videos.GetVideo(pb.GetVideoRequest(name=made.name))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_second_delete_while_one_runs_answers_with_the_first(api):
    api.processor.gate.set()
    made = video(wait(api, create(api).name))
    api.processor.gate.clear()
    first = api.videos.DeleteVideo(pb.DeleteVideoRequest(name=made.name))
    again = api.videos.DeleteVideo(pb.DeleteVideoRequest(name=made.name))
    assert again.name == first.name


def test_the_same_request_id_gives_the_same_operation(api):
    first = create(api, title="Once", request_id="7b0d6f7e-5d7c-4a59-9c51-0d8e6b1c2a10")
    again = create(api, title="Once", request_id="7b0d6f7e-5d7c-4a59-9c51-0d8e6b1c2a10")
    assert again.name == first.name
    api.processor.gate.set()
    wait(api, first.name)
    after_done = create(api, title="Once", request_id="7b0d6f7e-5d7c-4a59-9c51-0d8e6b1c2a10")
    assert after_done.name == first.name
    assert after_done.done
    listed = api.videos.ListVideos(pb.ListVideosRequest())
    assert [v.title for v in listed.videos] == ["Once"]


def test_a_request_id_reused_for_another_request_is_refused(api):
    create(api, title="One", request_id="3f6c1b2a-9d8e-4c7b-a6f5-e4d3c2b1a091")
    with pytest.raises(grpc.RpcError) as err:
        create(api, title="Another", request_id="3f6c1b2a-9d8e-4c7b-a6f5-e4d3c2b1a091")
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "request_id" in err.value.details()


def test_delete_with_a_request_id_is_idempotent(api):
    api.processor.gate.set()
    made = video(wait(api, create(api).name))
    api.processor.gate.clear()
    once = "c2a1f0e9-d8c7-4b6a-9584-736251403a2b"
    request = pb.DeleteVideoRequest(name=made.name, request_id=once)
    first = api.videos.DeleteVideo(request)
    assert api.videos.DeleteVideo(request).name == first.name


def test_a_video_still_being_created_cannot_be_deleted(api):
    create(api, video_id="unborn")
    with pytest.raises(grpc.RpcError) as err:
        api.videos.DeleteVideo(pb.DeleteVideoRequest(name="videos/unborn"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_page_of_long_videos_stays_within_what_clients_accept(start_server):
    from ..processors import GatedProcessor

    api = start_server(GatedProcessor(open_gate=True))
    ops = [create(api, title=f"Epic {i}", plot="p" * 10_000) for i in range(260)]
    for op in ops:
        wait(api, op.name)
    first = api.videos.ListVideos(pb.ListVideosRequest(page_size=1000))
    assert 0 < len(first.videos) < 260
    assert first.ByteSize() < 4 << 20
    rest = api.videos.ListVideos(
        pb.ListVideosRequest(page_size=1000, page_token=first.next_page_token)
    )
    assert len(first.videos) + len(rest.videos) == 260
    assert not rest.next_page_token
