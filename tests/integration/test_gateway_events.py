"""GET /videos/tasks/{task}/events: Server-Sent Events fed by WaitOperation."""

from __future__ import annotations

import itertools
import json

import httpx
import pytest

from longreel.server import notify

from ..conftest import GatewayThread
from ..helpers import until, waiters
from ..processors import GatedProcessor

pytestmark = pytest.mark.any_store  # events are fed by WaitOperation, whatever the store


def events(response):
    """(kind, data) for each event of a text/event-stream, comments skipped."""
    kind, data = None, []
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
        elif line == "" and data:
            yield kind, json.loads("\n".join(data))
            kind, data = None, []


def start_task(http):
    return http.client.post("/videos/tasks", json={"title": "Streamed"}).json()["id"]


def test_events_tell_the_state_each_change_and_the_end_then_close(http, monkeypatch):
    notifier = http.api.server.server.notifier
    waits: list[str] = []  # a key per wait the server begins: the stream's long polls
    subscribe = notifier.subscribe
    monkeypatch.setattr(notifier, "subscribe", lambda key: waits.append(key) or subscribe(key))
    task = start_task(http)
    done = notify.operation_done(task)

    def let_two_waits_end() -> None:  # each a long poll that finds the task unchanged
        begun = waits.count(done)
        until(lambda: waits.count(done) >= begun + 3, what="two unchanged waits")

    seen = []
    with http.client.stream("GET", f"/videos/tasks/{task}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        for kind, body in events(response):
            seen.append(
                (kind, body["status"], body["progress"]["percent"], body["progress"]["message"])
            )
            if body["progress"]["percent"] == 50 and not http.api.processor.gate.is_set():
                let_two_waits_end()  # and no events for them
                http.api.processor.gate.set()
        # The loop ended: the stream closed itself after the end.
    assert seen[0][:2] == ("progress", "pending")
    assert ("progress", "pending", 50, "rendering: half way") in seen
    assert seen[-1][:3] == ("done", "done", 100)
    assert all(a != b for a, b in itertools.pairwise(seen)), seen


def test_events_of_a_task_that_has_ended_are_one_done_event(http):
    task = start_task(http)
    http.api.processor.gate.set()
    assert http.client.get(f"/videos/tasks/{task}", params={"wait": "10s"}).status_code == 303
    with http.client.stream("GET", f"/videos/tasks/{task}/events") as response:
        assert [(kind, body["status"]) for kind, body in events(response)] == [("done", "done")]


def test_events_of_an_unknown_task_are_an_ordinary_404(http):
    response = http.client.get("/videos/tasks/nosuchtask/events")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["status"] == "NOT_FOUND"


def test_a_client_that_leaves_ends_the_stream_and_the_wait_behind_it(start_server):
    api = start_server(GatedProcessor())
    gateway = GatewayThread(api.target)
    url = gateway.start()
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            task = client.post("/videos/tasks", json={"title": "Left"}).json()["id"]
            assert api.processor.started.wait(10)
            with client.stream("GET", f"/videos/tasks/{task}/events") as response:
                next(events(response))
                until(lambda: waiters(api, f"operations/{task}"), what="the stream's wait")
        # The request's task ends, and with it the server-side wait it held.
        until(lambda: not gateway.server.server_state.tasks)
        until(lambda: not waiters(api, f"operations/{task}"), what="the wait ended")
    finally:
        gateway.stop()
