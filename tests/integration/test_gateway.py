"""The gateway's task contract, row by row, over real sockets."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from longreel.server.processor import PermanentError

from ..helpers import until
from ..processors import GatedProcessor

pytestmark = pytest.mark.any_store  # the gateway's mapping, not the store, is under test

JSON = {"Content-Type": "application/json"}


def post_task(http, body=None, **headers):
    return http.client.post(
        "/videos/tasks", json=body or {"title": "My movie", "plot": "A plot"}, headers=headers
    )


def test_post_answers_202_with_where_to_watch_the_task(http):
    response = post_task(http)
    assert response.status_code == 202
    url = response.headers["Content-Location"]
    assert response.headers["Location"] == url
    assert int(response.headers["Retry-After"]) >= 1
    task = response.json()
    assert url == f"/videos/tasks/{task['id']}"
    assert task["status"] == "pending"
    assert task["verb"] == "create"
    assert task["title"] == "My movie"
    assert task["links"] == [{"rel": "self", "href": url}]


def test_a_pending_task_is_200_with_progress_and_retry_after(http):
    url = post_task(http).headers["Content-Location"]
    assert http.api.processor.started.wait(5)

    def half_way() -> httpx.Response | None:  # once the progress is written
        response = http.client.get(url)
        return response if response.json().get("progress", {}).get("percent") == 50 else None

    response = until(half_way, what="one progress write")
    assert response.status_code == 200
    assert response.headers["Retry-After"] == "1"
    task = response.json()
    assert task["status"] == "pending"
    assert task["progress"] == {"percent": 50, "message": "rendering: half way"}


def test_a_done_task_redirects_to_the_video_and_lists_it_as_a_link(http):
    url = post_task(http, {"title": "Made", "id": "made"}).headers["Content-Location"]
    http.api.processor.gate.set()
    response = http.client.get(url, params={"wait": "10s"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/videos/made"
    task = response.json()
    assert task["status"] == "done"
    assert task["progress"]["percent"] == 100
    assert task["resources"] == [
        {"name": "videos/made", "links": [{"rel": "self", "href": "/videos/made"}]}
    ]
    video = http.client.get("/videos/made").json()
    assert (video["name"], video["title"]) == ("videos/made", "Made")
    assert "createTime" in video


def test_the_singular_task_path_serves_the_same_task(http):
    url = post_task(http).headers["Content-Location"]
    plural = http.client.get(url).json()
    singular = http.client.get(url.replace("/videos/", "/video/")).json()
    assert singular["id"] == plural["id"]


def test_a_failed_task_is_200_with_its_error(start_server, start_gateway):
    processor = GatedProcessor(open_gate=True)
    processor.fail_with, processor.failures_left = PermanentError("cannot render"), 1
    http = start_gateway(start_server(processor))
    url = post_task(http).headers["Content-Location"]
    response = http.client.get(url, params={"wait": "10s"})
    assert response.status_code == 200
    task = response.json()
    assert task["status"] == "failed"
    assert task["error"]["message"] == "cannot render"
    assert task["error"]["status"] == "FAILED_PRECONDITION"
    assert "resources" not in task


def test_cancel_ends_a_running_task_cancelled(http):
    url = post_task(http).headers["Content-Location"]
    assert http.api.processor.started.wait(5)
    response = http.client.post(f"{url}:cancel")
    assert response.status_code == 200
    assert response.json()["requestedCancellation"] is True
    task = http.client.get(url, params={"wait": "10s"}).json()
    assert task["status"] == "cancelled"
    assert task["error"]["status"] == "CANCELLED"


def test_delete_a_video_is_a_task_that_ends_200_done_and_the_video_is_gone(http):
    http.api.processor.gate.set()
    created = post_task(http, {"title": "Short-lived", "id": "brief"}).headers["Content-Location"]
    assert http.client.get(created, params={"wait": "10s"}).status_code == 303
    response = http.client.delete("/videos/brief")
    assert response.status_code == 202
    url = response.headers["Content-Location"]
    assert response.json()["verb"] == "delete"
    done = http.client.get(url, params={"wait": "10s"})
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert http.client.get("/videos/brief").status_code == 404


def test_an_idempotency_key_makes_one_task_of_two_posts(http):
    first = post_task(http, **{"Idempotency-Key": "5b0c1e6a-2f1d-4f3a-9d8e-1c2b3a4d5e6f"})
    again = post_task(http, **{"Idempotency-Key": "5b0c1e6a-2f1d-4f3a-9d8e-1c2b3a4d5e6f"})
    assert first.status_code == again.status_code == 202
    assert again.headers["Content-Location"] == first.headers["Content-Location"]
    other = post_task(http, **{"Request-Id": "another-key"})
    assert other.headers["Content-Location"] != first.headers["Content-Location"]
    tasks = http.client.get("/videos/tasks").json()["tasks"]
    assert len(tasks) == 2


def test_an_idempotency_key_reused_for_another_body_is_a_conflict(http):
    post_task(http, {"title": "One"}, **{"Idempotency-Key": "k1"})
    response = post_task(http, {"title": "Two"}, **{"Idempotency-Key": "k1"})
    assert response.status_code == 409
    assert response.json()["error"]["status"] == "ALREADY_EXISTS"


def test_tasks_list_by_status_and_page(http):
    http.api.processor.gate.set()
    done_url = post_task(http, {"title": "Finished"}).headers["Content-Location"]
    http.client.get(done_url, params={"wait": "10s"})
    http.api.processor.gate.clear()
    pending_url = post_task(http, {"title": "Running"}).headers["Content-Location"]
    assert http.api.processor.started.wait(5)

    def ids(status):
        tasks = http.client.get("/videos/tasks", params={"status": status}).json()["tasks"]
        return [f"/videos/tasks/{t['id']}" for t in tasks]

    assert ids("pending") == [pending_url]
    assert ids("done") == [done_url]
    assert ids("failed") == ids("cancelled") == []
    first = http.client.get("/videos/tasks", params={"pageSize": 1}).json()
    assert len(first["tasks"]) == 1
    second = http.client.get(
        "/videos/tasks", params={"pageSize": 1, "pageToken": first["nextPageToken"]}
    ).json()
    assert [t["id"] for t in first["tasks"] + second["tasks"]] == [
        u.rsplit("/", 1)[1] for u in (done_url, pending_url)
    ]
    assert "nextPageToken" not in second


def test_tasks_list_newest_first_in_pages_with_order_by(http):
    urls = [post_task(http, {"title": f"T{i}"}).headers["Content-Location"] for i in range(3)]
    newest = [u.rsplit("/", 1)[1] for u in reversed(urls)]
    seen, token = [], ""
    while True:
        params = {"pageSize": 2, "orderBy": "createTime desc", "pageToken": token}
        page = http.client.get("/videos/tasks", params=params).json()
        seen += [t["id"] for t in page["tasks"]]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert seen == newest
    plain = http.client.get("/videos/tasks").json()["tasks"]
    assert [t["id"] for t in plain] == newest[::-1]
    wrong = http.client.get("/videos/tasks", params={"orderBy": "title"})
    assert wrong.status_code == 400
    assert "orderBy" in wrong.text


def test_videos_list_in_pages(http):
    http.api.processor.gate.set()
    for i in range(3):
        url = post_task(http, {"title": f"Film {i}"}).headers["Content-Location"]
        http.client.get(url, params={"wait": "10s"})
    page = http.client.get("/videos", params={"pageSize": 2}).json()
    assert [v["title"] for v in page["videos"]] == ["Film 0", "Film 1"]
    rest = http.client.get("/videos", params={"pageToken": page["nextPageToken"]}).json()
    assert [v["title"] for v in rest["videos"]] == ["Film 2"]
    assert http.client.get("/videos", params={"pageSize": 0}).status_code == 200


def test_delete_a_task_forgets_it_finished_or_not(http):
    running = post_task(http).headers["Content-Location"]
    assert http.client.delete(running).status_code == 204
    assert http.client.get(running).status_code == 404
    http.api.processor.gate.set()
    url = post_task(http).headers["Content-Location"]
    http.client.get(url, params={"wait": "10s"})
    assert http.client.delete(url).status_code == 204
    assert http.client.get(url).status_code == 404


def test_a_long_poll_answers_as_soon_as_the_task_is_done(http):
    url = post_task(http).headers["Content-Location"]
    assert http.api.processor.started.wait(5)
    threading.Timer(0.3, http.api.processor.gate.set).start()
    started = time.monotonic()
    response = http.client.get(url, params={"wait": "30s"})
    assert response.status_code == 303
    # Woken by the completion, not by the server's 5 s re-read nor the end of the wait.
    assert time.monotonic() - started < 3


def test_a_long_poll_longer_than_allowed_is_cut_to_the_maximum():
    from starlette.requests import Request

    from longreel.gateway.bodies import MAX_WAIT, wait_seconds

    def wait(query: bytes) -> float | None:
        return wait_seconds(Request({"type": "http", "query_string": query, "headers": []}))

    assert wait(b"wait=3600s") == MAX_WAIT
    assert wait(b"wait=500ms") == 0.5
    assert wait(b"wait=7") == 7
    assert wait(b"") is None


def test_a_long_poll_that_runs_out_answers_pending(http):
    url = post_task(http).headers["Content-Location"]
    response = http.client.get(url, params={"wait": "300ms"})
    assert response.status_code == 200
    assert response.json()["status"] == "pending"


def test_openapi_and_docs_are_served_offline(http):
    document = http.client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {"/videos/tasks", "/videos/tasks/{task}", "/video/tasks/{task}"} <= set(
        document["paths"]
    )
    page = http.client.get("/docs")
    assert page.status_code == 200
    assert "/docs/static/swagger-ui-bundle.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    script = http.client.get("/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000


def test_the_web_page_is_served_offline_under_a_content_security_policy(http):
    home = http.client.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["Location"]) == (303, "/ui")
    page = http.client.get("/ui")
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert 'href="/docs"' in page.text
    assert '"/ui/ui.js"' in page.text and '"/ui/ui.css"' in page.text
    modules = [f"/ui/{name}.js" for name in ("ui", "row", "streams", "api", "dom")]
    for path, media_type in [
        *((m, "text/javascript") for m in modules),
        ("/ui/ui.css", "text/css"),
    ]:
        asset = http.client.get(path)
        assert asset.headers["Content-Type"].startswith(media_type)
        assert "http://" not in asset.text and "https://" not in asset.text
        again = http.client.get(path, headers={"If-None-Match": asset.headers["ETag"]})
        assert again.status_code == 304
    assert "http://" not in page.text and "https://" not in page.text


def test_a_repeated_post_of_a_finished_task_answers_as_a_read(http):
    http.api.processor.gate.set()
    first = post_task(http, **{"Idempotency-Key": "finished-key"})
    http.client.get(first.headers["Content-Location"], params={"wait": "10s"})
    again = post_task(http, **{"Idempotency-Key": "finished-key"})
    assert again.status_code == 303
    assert "Retry-After" not in again.headers
    assert again.headers["Content-Location"] == first.headers["Content-Location"]


def test_a_quoted_idempotency_key_is_the_same_key(http):
    bare = post_task(http, **{"Idempotency-Key": "8e03978e-40d5-43e8-bc93-6894a57f9324"})
    quoted = post_task(http, **{"Idempotency-Key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"'})
    assert quoted.headers["Content-Location"] == bare.headers["Content-Location"]


def test_an_idempotency_key_makes_one_delete_task(http):
    http.api.processor.gate.set()
    made = post_task(http, {"title": "T", "id": "twice"}).headers["Content-Location"]
    http.client.get(made, params={"wait": "10s"})
    http.api.processor.gate.clear()
    first = http.client.delete("/videos/twice", headers={"Idempotency-Key": "del-1"})
    again = http.client.delete("/videos/twice", headers={"Idempotency-Key": "del-1"})
    assert first.status_code == again.status_code == 202
    assert again.headers["Content-Location"] == first.headers["Content-Location"]


def test_task_answers_are_never_cached(http):
    response = post_task(http)
    assert response.headers["Cache-Control"] == "no-store"
    assert http.client.get(response.headers["Content-Location"]).headers["Cache-Control"] == (
        "no-store"
    )


def test_head_works_where_get_does(http):
    url = post_task(http).headers["Content-Location"]
    response = http.client.head(url)
    assert response.status_code == 200
    assert response.content == b""


def test_failed_and_cancelled_tasks_are_listed_by_status(start_server, start_gateway):
    processor = GatedProcessor()
    processor.fail_with, processor.failures_left = PermanentError("no"), 1
    http = start_gateway(start_server(processor))
    failing = post_task(http, {"title": "Fails"}).headers["Content-Location"]
    assert processor.started.wait(5)
    processor.gate.set()
    http.client.get(failing, params={"wait": "10s"})
    processor.gate.clear()
    cancelled = post_task(http, {"title": "Cancelled"}).headers["Content-Location"]
    http.client.post(f"{cancelled}:cancel")
    http.client.get(cancelled, params={"wait": "10s"})

    def listed(status):
        return [
            t["id"]
            for t in http.client.get("/videos/tasks", params={"status": status}).json()["tasks"]
        ]

    assert listed("failed") == [failing.rsplit("/", 1)[1]]
    assert listed("cancelled") == [cancelled.rsplit("/", 1)[1]]
