"""GET /videos/tasks/{task}/events: Server-Sent Events fed by WaitOperation."""

from __future__ import annotations

import itertools
import json
import time

import httpx
import pytest

from ..conftest import GatewayThread
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


def until(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def test_events_tell_the_state_each_change_and_the_end_then_close(http):
    task = start_task(http)
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
                time.sleep(2.5)  # two waits' worth of an unchanged task: no events for it
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
            notifier = api.server.server.notifier
            with client.stream("GET", f"/videos/tasks/{task}/events") as response:
                next(events(response))
                until(lambda: f"done:{task}" in notifier._subscribers)  # the stream's wait
        # The request's task ends, and with it the server-side wait it held.
        until(lambda: not gateway.server.server_state.tasks)
        until(lambda: f"done:{task}" not in notifier._subscribers)
    finally:
        gateway.stop()
