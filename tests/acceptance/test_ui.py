"""The web page at /ui, driven in a real browser (Debian's Chromium through
Playwright) against a real server and gateway on loopback ports (the browser
and the pages: conftest.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, expect

from longreel.server.media import MediaFiles
from longreel.server.processor import Profile, RenderingProcessor

from ..processors import HoldingProcessor
from .conftest import WAIT

PROGRESS_SECONDS = 6.0  # a simulated job long enough to watch its progress move
CLIP = Profile(width=320, height=180, fps=12, seconds=2.0)  # a real MP4, made quickly
ALICE, BOB = "alice-key-0123456789abcdef", "bob-key-9876543210fedcba"


def status(row: Locator) -> Locator:
    return row.locator(".status")


def test_progress_moves_live_to_done_without_reloading_or_polling(
    start_server, start_gateway, open_ui
):
    http = start_gateway(start_server(HoldingProcessor(PROGRESS_SECONDS)))
    ui = open_ui(f"{http.url}/")
    assert ui.page.url == f"{http.url}/ui"
    ui.page.evaluate("window.kept = 'the same page'")
    asked = []
    ui.page.on("request", lambda request: asked.append((request.method, request.url)))

    row = ui.create("Watched live", "A plot")
    bar = row.get_by_role("progressbar", name="Watched live")
    expect(bar).to_have_attribute("value", re.compile(r"^[1-9][0-9]?$"), timeout=WAIT)
    expect(status(row)).to_have_text("pending")
    expect(row.locator(".message")).to_contain_text("rendering: step")
    ui.screenshot("ui-progress.png")
    expect(bar).to_have_attribute("value", "100", timeout=WAIT)
    expect(status(row)).to_have_text("done", timeout=WAIT)
    expect(row.locator("time")).to_have_count(2)  # created and ended

    assert ui.page.evaluate("window.kept") == "the same page"
    task = row.get_attribute("data-task")
    reads = [(m, u) for m, u in asked if f"/videos/tasks/{task}" in u]
    assert reads == [("GET", f"{http.url}/videos/tasks/{task}/events")], reads
    assert ui.problems == []


def test_cancel_ends_a_long_job_cancelled_and_remove_forgets_it(
    start_server, start_gateway, open_ui
):
    http = start_gateway(start_server(HoldingProcessor(PROGRESS_SECONDS)))
    ui = open_ui(f"{http.url}/ui")
    row = ui.create(f"{HoldingProcessor.HOLD} a long one")
    expect(row.locator(".message")).to_have_text("held until cancelled", timeout=WAIT)

    row.get_by_role("button", name="Cancel").focus()
    ui.page.keyboard.press("Enter")
    expect(status(row)).to_have_text("cancelled", timeout=WAIT)
    expect(row.locator(".message")).to_contain_text("CANCELLED")
    expect(row.get_by_role("button", name="Cancel")).to_have_count(0)
    task = row.get_attribute("data-task")

    row.get_by_role("button", name="Remove from list").click()
    expect(row).to_have_count(0)
    expect(ui.page.locator("#empty")).to_be_visible()
    assert http.client.get(f"/videos/tasks/{task}").status_code == 404
    assert ui.problems == []


def test_a_running_operation_keeps_its_title_after_a_reload(start_server, start_gateway, open_ui):
    http = start_gateway(start_server(HoldingProcessor(PROGRESS_SECONDS)))
    ui = open_ui(f"{http.url}/ui")
    row = ui.create(f"{HoldingProcessor.HOLD} the long take")
    expect(row.locator(".message")).to_have_text("held until cancelled", timeout=WAIT)
    task = row.get_attribute("data-task")

    ui.page.reload()  # no video yet: the title comes from the operation's metadata
    row = ui.page.locator(f'li[data-task="{task}"]')
    expect(row.locator("h3")).to_have_text(f"“{HoldingProcessor.HOLD} the long take”")
    expect(status(row)).to_have_text("pending")
    assert ui.problems == []


def test_a_title_that_looks_like_markup_is_shown_as_text(start_server, start_gateway, open_ui):
    http = start_gateway(start_server(HoldingProcessor(0.5)))
    ui = open_ui(f"{http.url}/ui")
    title = "<img src=x onerror=alert(1)>"
    row = ui.create(title, "<script>alert(2)</script>")
    expect(status(row)).to_have_text("done", timeout=WAIT)
    expect(row.locator("h3")).to_have_text(f"“{title}”")
    expect(row.locator(".plot")).to_have_text("<script>alert(2)</script>")

    ui.page.reload()  # now the title comes from the video, read back from the server
    row = ui.row(title)
    expect(row.locator("h3")).to_have_text(f"“{title}”", timeout=WAIT)
    expect(ui.page.locator("main img, main script")).to_have_count(0)
    assert ui.problems == []


def test_an_error_from_the_api_is_shown_in_a_readable_line(start_server, start_gateway, open_ui):
    http = start_gateway(start_server(HoldingProcessor(0.5)))
    ui = open_ui(f"{http.url}/ui")
    ui.submit("   ")
    alert = ui.page.get_by_role("alert")
    expect(alert).to_have_text(
        "Creating the video: INVALID_ARGUMENT: title: is required and must not be blank"
    )
    expect(ui.page.locator("li.task")).to_have_count(0)


def test_the_page_fits_a_phone(start_server, start_gateway, open_ui):
    http = start_gateway(start_server(HoldingProcessor(0.5)))
    ui = open_ui(f"{http.url}/ui", width=360)
    row = ui.create("x" * 200, "y" * 500)
    expect(status(row)).to_have_text("done", timeout=WAIT)
    expect(row.locator(".plot")).to_be_visible()
    width = ui.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    assert ui.problems == []


@pytest.fixture
def renders(start_server, tmp_path):
    """A server that really renders (short clips), with any other settings."""

    def start(**config: Any) -> Any:
        media = MediaFiles(tmp_path / "media")
        return start_server(RenderingProcessor(media, CLIP), media_dir=media.folder, **config)

    return start


def plays(player: Locator) -> None:
    """The video decodes and its time moves once playing (muted, as autoplay allows)."""
    start = player.evaluate("v => { v.muted = true; v.play(); return v.currentTime; }")
    player.page.wait_for_function(
        "([v, start]) => v.readyState >= 2 && v.currentTime > start + 0.2",
        arg=[player.element_handle(), start],
        timeout=WAIT,
    )


def test_a_finished_video_plays_in_the_page_and_delete_removes_it(renders, start_gateway, open_ui):
    http = start_gateway(renders())
    ui = open_ui(f"{http.url}/ui")
    row = ui.create("Sunrise", "A slow morning over the sea.")
    expect(status(row)).to_have_text("done", timeout=WAIT)
    poster = row.get_by_role("button", name="Play “Sunrise”")
    expect(poster.locator("img")).to_have_attribute(
        "src", re.compile(r"^/videos/[a-z0-9]+/thumbnail$"), timeout=WAIT
    )
    expect(ui.page.locator("video")).to_have_count(0)  # a poster until played
    poster.click()
    player = row.locator("video")
    expect(player).to_have_attribute("poster", re.compile(r"^/videos/[a-z0-9]+/thumbnail$"))
    expect(player).to_have_attribute("src", re.compile(r"^/videos/[a-z0-9]+/content$"))
    plays(player)
    ui.screenshot("ui-done.png")
    video = player.get_attribute("src").removesuffix("/content")

    row.get_by_role("button", name="Delete video").click()
    deleting = ui.row("Delete “Sunrise”")
    expect(status(deleting)).to_have_text("done", timeout=WAIT)
    expect(row.locator("video")).to_have_count(0)
    expect(row).to_contain_text("The video has been deleted.")
    expect(row.get_by_role("button", name="Delete video")).to_have_count(0)
    assert http.client.get(video).status_code == 404
    assert ui.problems == []


def test_with_a_token_the_page_lists_the_callers_own_and_plays_them(
    renders, start_gateway, open_ui, tmp_path
):
    keys = tmp_path / "api-keys"
    keys.write_text(f"{ALICE} alice\n{BOB} bob\n")
    http = start_gateway(renders(auth="api-keys", api_keys_file=keys))
    bobs = {"Authorization": f"Bearer {BOB}"}
    assert http.client.post("/videos/tasks", json={"title": "Bob's"}, headers=bobs).is_success

    ui = open_ui(f"{http.url}/ui")
    expect(ui.page.get_by_role("alert")).to_contain_text("Listing your operations: UNAUTHENTICATED")
    ui.page.locator("#access summary").click()
    ui.page.get_by_label("Token").fill(ALICE)
    ui.page.get_by_role("button", name="Use token").click()
    expect(ui.page.get_by_role("alert")).to_be_hidden()
    expect(ui.page.locator("#empty")).to_be_visible(timeout=WAIT)

    row = ui.create("Alice's", "Hers alone.")
    expect(status(row)).to_have_text("done", timeout=WAIT)
    poster = row.get_by_role("button", name="Play “Alice's”")
    expect(poster.locator("img")).to_have_attribute("src", re.compile(r"^blob:"), timeout=WAIT)
    poster.focus()
    ui.page.keyboard.press("Enter")  # the poster is a button: the keyboard plays it too
    player = row.locator("video")
    expect(player).to_have_attribute("src", re.compile(r"^blob:"))  # fetched with the token
    plays(player)
    ui.page.reload()  # the token stays for the tab
    expect(ui.row("Alice's")).to_have_count(1, timeout=WAIT)
    expect(ui.page.locator("li.task")).to_have_count(1)  # not Bob's
