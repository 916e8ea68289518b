"""The Python client library against a real server: futures, errors, retries."""

from __future__ import annotations

import threading

import grpc
import pytest
from google.api_core import exceptions, retry
from google.api_core.client_options import ClientOptions
from google.protobuf import empty_pb2
from google.rpc import error_details_pb2

from longreel.client import Operation, VideoClient
from longreel.server.processor import PermanentError
from longreel.video.v1 import video_service_pb2 as pb

from ..callers import ALICE, BOB, write_keys
from ..helpers import wait
from ..processors import GatedProcessor

pytestmark = pytest.mark.any_store  # the client library, not the store, is under test


class Recorder(grpc.UnaryUnaryClientInterceptor):
    """Notes each method called, and can lose the first answer of one method
    after the server has acted on it, as a dropped connection would."""

    def __init__(self, lose_first: str | None = None) -> None:
        self.methods: list[str] = []
        self.lose_first = lose_first

    def intercept_unary_unary(self, continuation, details, request):
        method = details.method.rsplit("/", 1)[1]
        self.methods.append(method)
        outcome = continuation(details, request)
        if method == self.lose_first:
            self.lose_first = None
            outcome.result()  # the server did the work; the caller never hears of it
            raise LostAnswer()
        return outcome


class LostAnswer(grpc.RpcError, grpc.Call):
    def code(self):
        return grpc.StatusCode.UNAVAILABLE

    def details(self):
        return "connection dropped"

    def trailing_metadata(self):
        return None

    def initial_metadata(self):
        return None

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False


@pytest.fixture
def client(api):
    with VideoClient(api.target) as made:
        yield made


def recorded_client(api, recorder: Recorder) -> VideoClient:
    return VideoClient(channel=grpc.intercept_channel(grpc.insecure_channel(api.target), recorder))


def test_create_returns_an_api_core_future_whose_result_is_the_video(api, client):
    op = client.create_video(video={"title": "My movie", "plot": "A plot"}, video_id="my-movie")
    assert isinstance(op, Operation)
    assert op.name.startswith("operations/")
    assert not op.done() and op.running()
    assert op.metadata.verb == "create"
    api.processor.gate.set()
    video = op.result(timeout=30)
    assert (video.name, video.title, video.plot) == ("videos/my-movie", "My movie", "A plot")
    assert op.done() and not op.cancelled()
    assert op.metadata.progress_percent == 100
    assert client.get_video(name="my-movie") == video


def test_result_learns_of_completion_by_long_poll_not_by_polling(api):
    recorder = Recorder()
    with recorded_client(api, recorder) as client:
        op = client.create_video(video={"title": "Watched"})
        assert api.processor.started.wait(5)
        threading.Timer(0.5, api.processor.gate.set).start()
        recorder.methods.clear()
        op.result(timeout=30)
    assert recorder.methods and set(recorder.methods) == {"WaitOperation"}


def test_result_times_out_as_a_future_does(api, client):
    import concurrent.futures

    op = client.create_video(video={"title": "Slow"})
    with pytest.raises(concurrent.futures.TimeoutError):
        op.result(timeout=0.5)
    api.processor.gate.set()
    assert op.result(timeout=30).title == "Slow"


def test_cancel_makes_the_future_cancelled_and_result_raise(api, client):
    op = client.create_video(video={"title": "Doomed"})
    assert api.processor.started.wait(5)
    assert op.cancel()
    with pytest.raises(exceptions.Cancelled):
        op.result(timeout=30)
    assert op.cancelled()
    assert op.metadata.requested_cancellation


def test_exception_of_a_failed_operation_is_the_api_core_exception(start_server):
    processor = GatedProcessor(open_gate=True)
    processor.fail_with, processor.failures_left = PermanentError("cannot render"), 1
    api = start_server(processor)
    with VideoClient(api.target) as client:
        error = client.create_video(video={"title": "Bad"}).exception(timeout=30)
    assert isinstance(error, exceptions.FailedPrecondition)
    assert error.message == "cannot render"


def test_bad_input_raises_invalid_argument_with_the_field_violations(client):
    with pytest.raises(exceptions.InvalidArgument) as err:
        client.create_video(video={"title": ""}, video_id="Not Valid")
    violations = [
        v.field
        for d in err.value.details
        if isinstance(d, error_details_pb2.BadRequest)
        for v in d.field_violations
    ]
    assert violations == ["video.title", "video_id"]
    assert err.value.reason == "INVALID_FIELD"


def test_unknown_names_raise_not_found(client):
    with pytest.raises(exceptions.NotFound):
        client.get_video(name="nope")
    with pytest.raises(exceptions.NotFound):
        client.operation(name="operations/nope")


def test_a_retry_after_a_lost_answer_creates_one_video(api):
    recorder = Recorder(lose_first="CreateVideo")
    api.processor.gate.set()
    with recorded_client(api, recorder) as client:
        video = client.create_video(video={"title": "Only once"}).result(timeout=30)
        assert recorder.methods.count("CreateVideo") == 2  # the lost answer was retried
        assert [v.name for v in client.list_videos()] == [video.name]


def test_an_operation_started_elsewhere_can_be_resumed(api, client):
    started = api.videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title="Elsewhere")))
    resumed = client.operation(name=started.name)
    api.processor.gate.set()
    assert resumed.result(timeout=30).title == "Elsewhere"
    deleted = client.delete_video(name=resumed.result().name)
    assert deleted.result(timeout=30) == empty_pb2.Empty()
    assert client.operation(name=deleted.name).result(timeout=30) == empty_pb2.Empty()


def test_done_callbacks_are_called(api, client):
    called = threading.Event()
    op = client.create_video(video={"title": "Called back"})
    op.add_done_callback(lambda future: called.set())
    api.processor.gate.set()
    assert called.wait(30)


def test_lists_iterate_over_every_page(api, client):
    api.processor.gate.set()
    for i in range(5):
        client.create_video(video={"title": f"Film {i}"}).result(timeout=30)
    titles = [v.title for v in client.list_videos(request={"page_size": 2})]
    assert titles == [f"Film {i}" for i in range(5)]
    ops = list(client.list_operations(request={"filter": "done = true", "page_size": 2}))
    assert len(ops) == 5
    client.delete_operation(name=ops[0].name)
    assert len(list(client.list_operations())) == 4


def test_result_with_timeout_zero_still_asks_the_server(api, client):
    api.processor.gate.set()
    op = client.create_video(video={"title": "Quick"})
    wait(api, op.name)  # done on the server; the future has not looked yet
    assert op.result(timeout=0).title == "Quick"


def test_the_clients_timeout_bounds_every_call_retries_included():
    import socket
    import time

    with socket.socket() as silent:  # accepts connections, never speaks HTTP/2
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        target = f"127.0.0.1:{silent.getsockname()[1]}"
        with VideoClient(target, timeout=1.0) as client:
            started = time.monotonic()
            with pytest.raises((exceptions.DeadlineExceeded, exceptions.RetryError)):
                client.get_video(name="anything")
            assert time.monotonic() - started < 5


def test_result_gives_up_at_its_timeout_when_the_server_is_gone(api, start_server):
    import concurrent.futures
    import time

    with VideoClient(api.target) as client:
        op = client.create_video(video={"title": "Orphan"})
        api.server.stop()
        started = time.monotonic()
        with pytest.raises(concurrent.futures.TimeoutError):
            op.result(timeout=2)
        assert time.monotonic() - started < 8  # the caller's timeout, not a retry budget


def test_done_callbacks_run_even_when_the_wait_fails_for_good(api):
    called = threading.Event()
    client = VideoClient(api.target)
    op = client.create_video(video={"title": "Abandoned"})
    op.add_done_callback(lambda future: called.set())
    client.close()  # the background wait ends with the closed channel's error
    assert called.wait(30)
    assert op.exception() is not None


# --- the GAPIC shape: request= or flattened fields, per-call settings, pagers, options ---


def test_request_as_message_as_dict_or_flattened_fields_make_the_same_call(api, client):
    api.processor.gate.set()
    by_fields = client.create_video(video=pb.Video(title="Fields"), video_id="by-fields")
    by_dict = client.create_video(request={"video": {"title": "Dict"}, "video_id": "by-dict"})
    message = pb.CreateVideoRequest(video=pb.Video(title="Message"), video_id="by-message")
    by_message = client.create_video(request=message)
    made = [op.result(timeout=30).name for op in (by_fields, by_dict, by_message)]
    assert made == ["videos/by-fields", "videos/by-dict", "videos/by-message"]
    assert message.request_id == ""  # the caller's request is copied, never filled in
    assert client.get_video(request={"name": "videos/by-dict"}).title == "Dict"
    assert client.get_video(pb.GetVideoRequest(name="videos/by-message")).title == "Message"


def test_request_and_flattened_fields_together_raise_value_error_before_any_call(api):
    recorder = Recorder()
    with recorded_client(api, recorder) as client:
        with pytest.raises(ValueError, match="individual field arguments"):
            client.create_video(request={"video": {"title": "A"}}, video_id="b")
        with pytest.raises(ValueError, match="individual field arguments"):
            client.get_video(request={"name": "videos/x"}, name="videos/x")
        with pytest.raises(ValueError, match="individual field arguments"):
            client.wait_operation(request={"name": "operations/x"}, name="operations/x")
    assert recorder.methods == []


@pytest.fixture
def keyed(start_server, make_backend, tmp_path):
    """A server that knows its callers by the bearer token in their metadata."""
    return start_server(
        GatedProcessor(open_gate=True),
        backend=make_backend(),
        auth="api-keys",
        api_keys_file=write_keys(tmp_path / "keys"),
    )


def test_per_call_metadata_reaches_the_server(keyed):
    with VideoClient(keyed.target) as anonymous:
        with pytest.raises(exceptions.Unauthenticated):
            anonymous.list_videos()
        # The server authenticates by metadata alone: this call names alice.
        op = anonymous.create_video(
            video={"title": "Hers"}, metadata=[("authorization", f"Bearer {ALICE}")]
        )
    with (
        VideoClient(keyed.target, token=ALICE) as alice,
        VideoClient(keyed.target, token=BOB) as bob,
    ):
        assert alice.operation(op.name).result(timeout=30).title == "Hers"
        with pytest.raises(exceptions.NotFound):  # bob cannot see what alice made
            bob.get_operation(name=op.name)


def test_retry_per_call_replaces_the_clients(api):
    quick = retry.Retry(
        predicate=retry.if_exception_type(exceptions.ServiceUnavailable), initial=0.01
    )
    api.processor.gate.set()
    with recorded_client(api, Recorder()) as client:
        name = client.create_video(video={"title": "Read"}).result(timeout=30).name
    recorder = Recorder(lose_first="GetVideo")
    with recorded_client(api, recorder) as client:
        with pytest.raises(exceptions.ServiceUnavailable):
            client.get_video(name=name, retry=None)  # no retries: the lost answer is the answer
        recorder.lose_first = "GetVideo"
        assert client.get_video(name=name, retry=quick).title == "Read"
    assert recorder.methods == ["GetVideo"] * 3


def test_a_pager_resumes_from_its_page_token(api, client):
    api.processor.gate.set()
    for i in range(5):
        client.create_video(video={"title": f"Film {i}"}).result(timeout=30)
    pager = client.list_videos(request={"page_size": 2})
    first = next(iter(pager.pages))
    assert [v.title for v in first.videos] == ["Film 0", "Film 1"]
    token = pager.next_page_token  # the latest page's, looked up on the response
    assert token
    rest = client.list_videos(request={"page_size": 2, "page_token": token})
    assert [v.title for v in rest] == ["Film 2", "Film 3", "Film 4"]
    assert [len(page.videos) for page in client.list_videos(request={"page_size": 2}).pages] == [
        2, 2, 1,
    ]  # fmt: skip
    assert rest.next_page_token == ""


def test_client_options_name_the_endpoint(api):
    api.processor.gate.set()
    with VideoClient(client_options=ClientOptions(api_endpoint=api.target)) as client:
        assert list(client.list_videos()) == []
    with VideoClient(client_options={"api_endpoint": api.target}) as client:
        assert list(client.list_operations(filter="done = true")) == []
    with pytest.raises(ValueError, match="disagree"):
        VideoClient("127.0.0.1:1", client_options={"api_endpoint": api.target})


def test_google_auth_credentials_are_sent_as_call_credentials(keyed):
    from google.oauth2.credentials import Credentials

    # To loopback, over gRPC's local credentials; elsewhere, over TLS.
    with VideoClient(keyed.target, credentials=Credentials(token=ALICE)) as alice:
        video = alice.create_video(video={"title": "Signed in"}).result(timeout=30)
    with VideoClient(keyed.target, token=BOB) as bob, pytest.raises(exceptions.NotFound):
        bob.get_video(name=video.name)  # alice's, as the server saw the token
